"""Experiment configs: Python files with a `get_config()` returning plain data, validated on load.

A config has four sections:

    model:   {"name": <registered model>, <that model's options>...}
    data:    the keyword arguments of `ganzoo.data.load` (name, batch_size, ...)
    compile: the keyword arguments of `GAN.compile`: d_optimizer, g_optimizer (None: the
             paper's defaults), steps_per_execution, jit_compile, health_signals
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

from ganzoo import data, precision, registry
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
    ("train", "diagnostics", (_diagnostics_setting, f"true, false, or a dict overriding some of {', '.join(THRESHOLDS)}")),
]


def _check_keys(where, section, valid):
    if not isinstance(section, dict):
        raise ValueError(f"Config section {where} must be a dict; got {type(section).__name__}.")
    unknown = sorted(set(section) - set(valid))
    if unknown:
        raise ValueError(f"Unknown key(s) {', '.join(unknown)} in {where}. Valid keys: {', '.join(valid)}.")


def _decaying(optimizer, learning_rate, decay_steps, **options):
    """An optimizer config whose learning rate decays to 0 over `decay_steps` (cosine)."""
    schedule = {"module": "keras.optimizers.schedules", "class_name": "CosineDecay",
                "config": {"initial_learning_rate": learning_rate, "decay_steps": decay_steps}}
    return {"class_name": optimizer, "config": {"learning_rate": schedule, **options}}


# The mode benchmark's budgets (benchmarks/modes.md) in generator updates: where vanilla_gan and
# PacGAN converge on each mixture. An unrolled GAN (K = 5) or WGAN-GP update costs ~6x a vanilla
# one (the unrolled steps; 5 critic updates with a double backward pass), a WGAN update ~4x, so
# their runs are shorter: what the benchmark's CPU budget paid for, not where they converge.
MIXTURE_BUDGETS = {"ring8": 20_000, "grid25": 50_000}
SLOW_MODEL_BUDGETS = {"unrolled_gan": 6_000, "wgan": 10_000, "wgan_gp": 6_000}


def mixture_budget(model_name, mixture_name):
    """Generator updates of `model_name` on `mixture_name` in the mode benchmark."""
    return SLOW_MODEL_BUDGETS.get(model_name, MIXTURE_BUDGETS[mixture_name])


def mixture_experiment(model_name, mixture_name, generator_steps=None, **model_options):
    """The shared protocol of the 2-D mixture configs (and of tools/benchmark_modes.py).

    100,000 points of `mixture_name` (the PacGAN protocol's training set), minibatches of 512
    (Metz et al. 2017), `generator_steps` generator updates (epochs of 200; default the mode
    benchmark's budget, `mixture_budget`). Every model gets
    the same networks, G and D 3 x 128 with a 16-d latent: the registered defaults (the unrolled
    GAN paper's 2 x 128 / 1 x 128, latent 256) learn the 0.01-std modes too slowly for this
    budget. Optimisers: Adam(1e-3, beta1 0.5) for vanilla_gan, and each other model's paper
    setting: the unrolled GAN's Adam 1e-4 (D) / 1e-3 (G) (with 1e-3 for D, the generator's
    second-order gradient through the unrolled Adam steps diverged), RMSProp 5e-5 for WGAN, and
    for WGAN-GP the setting of its authors' toy-data script (gan_toy.py: "smaller lambda seems to
    help for toy tasks specifically"), penalty weight 0.1 and Adam β (0.5, 0.9), at vanilla_gan's
    learning rate 1e-3, since the script's 1e-4 ran 100,000 updates: with the image default
    (λ 10, Adam 1e-4 (0, 0.9)) 6,000 updates found 2.0 ring8 modes over 5 seeds at 0.2% high
    quality; λ 0.1 found 8 at 25.7% with 1e-4 and 8 at 93.6% with 1e-3 (seed 0).
    Every learning rate decays to 0 over the run (cosine), which
    sharpens the modes: on ring8, vanilla_gan's high-quality share went from 33% to 70% at the
    same budget (seed 0). PacGAN is vanilla_gan's setting with a packing discriminator: the
    same networks (no BatchNorm in G), the same Adam and its paper's non-saturating loss; each
    minibatch of 512 points makes 512 / m packs.
    """
    generator_steps = generator_steps or mixture_budget(model_name, mixture_name)
    critic_steps = 5 if model_name.startswith("wgan") else 1
    if model_name == "pacgan":
        model_options = {"generator_batch_norm": False, **model_options}
    if model_name == "wgan_gp":
        model_options = {"gradient_penalty_weight": 0.1, **model_options}
    # model -> (optimizer, discriminator learning rate, generator learning rate, options)
    settings = {"wgan": ("RMSprop", 5e-5, 5e-5, {}),
                "wgan_gp": ("Adam", 1e-3, 1e-3, {"beta_1": 0.5, "beta_2": 0.9}),
                "unrolled_gan": ("Adam", 1e-4, 1e-3, {"beta_1": 0.5})}
    optimizer, d_learning_rate, g_learning_rate, extra = settings.get(model_name, ("Adam", 1e-3, 1e-3, {"beta_1": 0.5}))
    return {
        "model": {"name": model_name, "latent_dim": 16, "generator_units": [128, 128, 128],
                  "discriminator_units": [128, 128, 128], **model_options},
        "data": {"name": mixture_name, "batch_size": 512, "num_samples": 100_000},
        "compile": {"d_optimizer": _decaying(optimizer, d_learning_rate, generator_steps * critic_steps, **extra),
                    "g_optimizer": _decaying(optimizer, g_learning_rate, generator_steps, **extra)},
        "train": {"epochs": generator_steps // 200, "steps_per_epoch": 200, "num_sample_images": 2500},
    }
