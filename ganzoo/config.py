"""Experiment configs: Python files with a `get_config()` returning plain data, validated on load.

A config has four sections:

    model:   {"name": <registered model>, <that model's options>...}
    data:    the keyword arguments of `ganzoo.data.load` (name, batch_size, ...)
    compile: {"d_optimizer": ..., "g_optimizer": ...}  (None: the paper's defaults)
    train:   see TRAIN_DEFAULTS

Files live in the repository's `configs/` (installed under <prefix>/share/ganzoo/configs);
a config is named by its path or by its file name without `.py`.
"""

import ast
import copy
import importlib.util
import inspect
import os
import sys

from ganzoo import data, registry

TRAIN_DEFAULTS = {
    "epochs": 1,
    "steps_per_epoch": None,   # generator updates per epoch; None: one pass over the data
    "checkpoint_every": 200,   # train steps between mid-epoch backups (and at each epoch end)
    "num_sample_images": 64,   # samples in each epoch's grid, from one fixed latent batch
    "sample_seed": 0,
    "verbose": "auto",         # Keras's progress bar: "auto", 0, 1 or 2
}
COMPILE_KEYS = ("d_optimizer", "g_optimizer")
DATA_KEYS = tuple(inspect.signature(data.load).parameters)
SECTIONS = ("model", "data", "compile", "train")


def config_dirs():
    """Where config names are looked up: the source tree's configs/, then the installed copy."""
    source_tree = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
    return [source_tree, os.path.join(sys.prefix, "share", "ganzoo", "configs")]


def available_configs():
    names = set()
    for directory in config_dirs():
        if os.path.isdir(directory):
            names.update(f[:-3] for f in os.listdir(directory) if f.endswith(".py") and not f.startswith("_"))
    return sorted(names)


def resolve_path(name_or_path):
    if os.path.isfile(name_or_path):
        return name_or_path
    for directory in config_dirs():
        path = os.path.join(directory, name_or_path + ".py")
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"No config file or name {name_or_path!r}. Available configs: {', '.join(available_configs())}."
    )


def load(name_or_path, overrides=()):
    """Reads, overrides (["train.epochs=2", ...]) and validates a config; returns the dict."""
    path = resolve_path(name_or_path)
    spec = importlib.util.spec_from_file_location(f"ganzoo_config_{os.path.basename(path)[:-3]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "get_config"):
        raise ValueError(f"Config file {path} must define get_config() returning a dict.")
    config = module.get_config()
    for override in overrides:
        apply_override(config, override)
    return validate(config)


def apply_override(config, override):
    """Sets "section.key=value" in place; the value is a Python literal or else a string."""
    key, sep, text = override.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot:
        raise ValueError(f"Overrides look like section.key=value (e.g. train.epochs=2); got {override!r}.")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
    config.setdefault(section, {})[name] = value


def validate(config):
    """Checks every section and key, fills the defaults, and returns a new dict."""
    config = copy.deepcopy(config)
    _check_keys("config", config, SECTIONS)
    for section in SECTIONS:
        config.setdefault(section, {})
    model = config["model"]
    if "name" not in model:
        raise ValueError(f"The model section needs a name; registered models: {', '.join(registry.list_models())}.")
    _check_keys(f"model {model['name']!r}", model, ("name", *registry.model_options(model["name"])))
    _check_keys("data", config["data"], DATA_KEYS)
    if "name" not in config["data"]:
        raise ValueError("The data section needs a name (e.g. 'fashion_mnist', 'ring8').")
    _check_keys("compile", config["compile"], COMPILE_KEYS)
    _check_keys("train", config["train"], TRAIN_DEFAULTS)
    config["train"] = {**TRAIN_DEFAULTS, **config["train"]}
    return config


def _check_keys(where, section, valid):
    if not isinstance(section, dict):
        raise ValueError(f"Config section {where} must be a dict; got {type(section).__name__}.")
    unknown = sorted(set(section) - set(valid))
    if unknown:
        raise ValueError(f"Unknown key(s) {', '.join(unknown)} in {where}. Valid keys: {', '.join(valid)}.")


def mixture_experiment(model_name, mixture_name, epochs=25, batch_size=512, **model_options):
    """The shared shape of the 2-D mixture configs: 100,000 points of `mixture_name`
    (the PacGAN protocol's training set), minibatches of 512 (Metz et al. 2017)."""
    return {
        "model": {"name": model_name, **model_options},
        "data": {"name": mixture_name, "batch_size": batch_size, "num_samples": 100_000},
        "compile": {},
        "train": {"epochs": epochs, "num_sample_images": 2500},
    }
