"""Experiment configs: Python files with a `get_config()` returning plain data, validated on load.

A config has four sections:

    model:   {"name": <registered model>, <that model's options>...}
    data:    the keyword arguments of `ganzoo.data.load` (name, batch_size, ...)
    compile: the keyword arguments of `GAN.compile`: d_optimizer, g_optimizer (None: the
             paper's defaults), steps_per_execution, jit_compile, health_signals
    train:   see TRAIN_DEFAULTS

Files live in the repository's `configs/` (installed under <prefix>/share/ganzoo/configs);
a config is named by its path or by its file name without `.py`. A file can import the modules
beside it (e.g. `_mixture_protocol`, the mode benchmark's protocol); files starting with `_` are
not configs.
"""

import ast
import json
import copy
import importlib.util
import inspect
import os
import sys

from ganzoo import data, precision, registry, schedules
from ganzoo.diagnostics import THRESHOLDS, check_thresholds

TRAIN_DEFAULTS = {
    "epochs": 1,
    "steps_per_epoch": None,   # generator updates per epoch; None: one pass over the data
    "checkpoint_every": 200,   # train steps between mid-epoch backups (and at each epoch end)
    "num_sample_images": 64,   # samples in each epoch's grid, from one fixed latent batch
    "sample_seed": 0,
    "verbose": "auto",         # Keras's progress bar: "auto", 0, 1 or 2
    "precision": "float32",    # float32, mixed_bfloat16, mixed_float16, or auto (ganzoo.precision)
    "diagnostics": True,       # health events (ganzoo.diagnostics): true, false, or {threshold: value, ...}
    "learning_rate_decay": None,  # "cosine": both learning rates decay to 0 over the run (ganzoo.schedules)
}
COMPILE_KEYS = ("d_optimizer", "g_optimizer", "steps_per_execution", "jit_compile", "health_signals")
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
    directory = os.path.dirname(os.path.abspath(path))
    before = set(sys.modules)
    sys.path.insert(0, directory)  # for the modules beside it
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as error:
        raise ValueError(f"Config file {path} imports {error.name!r}, which is neither beside it nor installed: "
                         f"copy it from ganzoo's configs/ next to the file.") from None
    finally:
        sys.path.remove(directory)
        for name in set(sys.modules) - before:  # so that another directory's module of the same name loads
            if os.path.dirname(os.path.abspath(getattr(sys.modules[name], "__file__", None) or "")) == directory:
                del sys.modules[name]
    if not hasattr(module, "get_config"):
        raise ValueError(f"Config file {path} must define get_config() returning a dict.")
    config = module.get_config()
    for override in overrides:
        apply_override(config, override)
    return validate(config)


def apply_override(config, override):
    """Sets "section.key=value" in place; the value is a Python literal, a JSON one (true,
    false, null, as config.json writes them), or else a string."""
    key, sep, text = override.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot:
        raise ValueError(f"Overrides look like section.key=value (e.g. train.epochs=2); got {override!r}.")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        try:
            value = json.loads(text)
        except ValueError:
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
    registry.check_options(model["name"], {k: v for k, v in model.items() if k != "name"})
    _check_keys("data", config["data"], DATA_KEYS)
    if "name" not in config["data"]:
        raise ValueError("The data section needs a name (e.g. 'fashion_mnist', 'ring8').")
    data.check_name(config["data"]["name"], config["data"].get("data_dir"))
    _check_keys("compile", config["compile"], COMPILE_KEYS)
    _check_keys("train", config["train"], TRAIN_DEFAULTS)
    config["train"] = {**TRAIN_DEFAULTS, **config["train"]}
    for section, key, (rule, expected) in VALUE_RULES:
        value = config[section].get(key)
        if value is not None and not rule(value):
            raise ValueError(f"{section}.{key} must be {expected}; got {value!r}.")
    precision.check(config["train"]["precision"], allow_auto=True)
    return config


def _diagnostics_setting(value):
    if isinstance(value, bool):
        return True
    if not isinstance(value, dict):
        return False
    try:
        check_thresholds(value)
    except ValueError as error:  # names the threshold and what it must be
        raise ValueError(f"train.diagnostics: {error}") from None
    return True


_COUNT = (registry.is_positive_int, "a positive integer")
_INTEGER = (registry.is_integer, "an integer")
# (section, key, (rule, what it must be)); None means the key's default ("one pass", "none").
VALUE_RULES = [
    ("data", "batch_size", _COUNT),
    ("data", "num_samples", _COUNT),
    ("data", "seed", _INTEGER),
    ("train", "epochs", _COUNT),
    ("train", "steps_per_epoch", (_COUNT[0], "a positive integer, or None for one pass over the data")),
    ("train", "checkpoint_every", (_COUNT[0], "a positive integer (train steps), or None for epoch ends only")),
    ("train", "num_sample_images", _COUNT),
    ("train", "sample_seed", _INTEGER),
    ("train", "verbose", (lambda v: v in ("auto", 0, 1, 2) and not isinstance(v, bool), '"auto", 0, 1 or 2')),
    ("train", "learning_rate_decay", (lambda v: v in schedules.DECAYS, f"one of {', '.join(schedules.DECAYS)}, or None")),
    ("train", "diagnostics", (_diagnostics_setting, f"true, false, or a dict overriding some of {', '.join(THRESHOLDS)}")),
]


def _check_keys(where, section, valid):
    if not isinstance(section, dict):
        raise ValueError(f"Config section {where} must be a dict; got {type(section).__name__}.")
    unknown = sorted(set(section) - set(valid))
    if unknown:
        raise ValueError(f"Unknown key(s) {', '.join(unknown)} in {where}. Valid keys: {', '.join(valid)}.")
