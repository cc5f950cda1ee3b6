"""The zoo's registry: model name -> builder function, with the options each builder accepts.

A builder is a plain function `builder(data_shape, **options) -> GAN` whose docstring's first
line describes the model; its keyword arguments are the options `get` accepts.
"""

import inspect

import numpy as np

from ganzoo import objectives as _objectives, precision as precision_lib, regularizers as _regularizers

_BUILDERS = {}


def register(name):
    """Decorator that adds a builder to the zoo under `name`; a name can be taken only once."""

    def decorator(builder):
        if name in _BUILDERS:
            raise ValueError(f"A model named {name!r} is already registered.")
        _BUILDERS[name] = builder
        return builder

    return decorator


def _builder(name):
    if name not in _BUILDERS:
        raise ValueError(f"Unknown model {name!r}. Registered models: {', '.join(sorted(_BUILDERS))}.")
    return _BUILDERS[name]


def is_positive_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def is_integer(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# What each option must be, by name across the zoo, checked before anything is built: a wrong
# type or range would otherwise fail deep inside Keras with a message about something else.
# (A default of None, "pick for me", is always accepted.)
OPTION_RULES = {
    "latent_dim": (is_positive_int, "a positive integer"),
    "filters": (is_positive_int, "a positive integer"),
    "d_steps": (is_positive_int, "a positive integer"),
    "unroll_steps": (lambda v: is_integer(v) and v >= 0,
                     "an integer >= 0 (0: a plain GAN, for comparison)"),
    "pack": (is_positive_int, "a positive integer"),
    "generator_units": (lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(map(is_positive_int, v)),
                        "a non-empty list of positive integers"),
    "discriminator_units": (lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and all(map(is_positive_int, v)),
                            "a non-empty list of positive integers"),
    "learning_rate": (lambda v: is_number(v) and v > 0, "a positive number"),
    "d_learning_rate": (lambda v: is_number(v) and v > 0, "a positive number"),
    "g_learning_rate": (lambda v: is_number(v) and v > 0, "a positive number"),
    "beta_1": (lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "clip_value": (lambda v: is_number(v) and v > 0, "a positive number"),
    "gradient_penalty_weight": (lambda v: is_number(v) and v >= 0, "a number >= 0"),
    "ema_decay": (lambda v: is_number(v) and 0 < v < 1, "a number in (0, 1), e.g. 0.999"),
    "seed": (is_integer, "an integer"),
    "second_order": (lambda v: isinstance(v, bool), "True or False"),
    "generator_batch_norm": (lambda v: isinstance(v, bool), "True or False"),
    "synchronized_batch_norm": (lambda v: isinstance(v, bool), "True or False"),
    "objective": (lambda v: isinstance(v, (str, dict, _objectives.Objective)),
                  "an objective's name (minimax, non_saturating, wasserstein, hinge, least_squares) or an Objective"),
    "regularizers": (lambda v: isinstance(v, (list, tuple, str, dict, _regularizers.Regularizer)),
                     "a list of regularisers (gradient_penalty, weight_clipping, r1, spectral_norm, "
                     "{'name': ..., **options}, or Regularizer instances)"),
    "architecture": (lambda v: isinstance(v, str), "a string"),
    "critic_normalization": (lambda v: v in ("auto", "batch", "layer", "none"), "one of auto, batch, layer, none"),
    "num_classes": (lambda v: is_integer(v) and v >= 2, "an integer >= 2"),
    "conditioning": (lambda v: v in ("projection", "concat"), "projection or concat"),
    "class_names": (lambda v: isinstance(v, (list, tuple)) and all(isinstance(n, str) for n in v), "a list of names"),
    "auxiliary_weight": (lambda v: is_number(v) and v > 0, "a positive number"),
    "num_residual_blocks": (lambda v: is_integer(v) and v >= 0, "an integer >= 0 (9 for 256x256, 6 for 128x128)"),
    "num_downsampling": (lambda v: is_integer(v) and v >= 0, "an integer >= 0"),
    "discriminator_layers": (is_positive_int, "a positive integer (3: 70x70 patches; 2 for 28x28)"),
    "cycle_weight": (lambda v: is_number(v) and v >= 0, "a number >= 0"),
    "identity_weight": (lambda v: is_number(v) and v >= 0, "a number >= 0 (relative to cycle_weight)"),
    "pool_size": (lambda v: is_integer(v) and v >= 0, "an integer >= 0 (0: no image pool)"),
    "w_dim": (is_positive_int, "a positive integer"),
    "mapping_layers": (is_positive_int, "a positive integer (StyleGAN: 8)"),
    "channel_base": (is_positive_int, "a positive integer (channels at resolution r: min(channel_base // r, channel_max))"),
    "channel_max": (is_positive_int, "a positive integer"),
    "r1_weight": (lambda v: is_number(v) and v > 0, "a positive number (R1's γ)"),
    "style_mixing_probability": (lambda v: is_number(v) and 0 <= v <= 1, "a number in [0, 1]"),
}


def check_options(name, options):
    """Raises ValueError for an option `name` does not take, or a value of the wrong kind."""
    valid = model_options(name)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"Unknown option(s) {', '.join(unknown)} for model {name!r}. "
                         f"Valid options: {', '.join(valid)}.")
    for key, value in options.items():
        rule = OPTION_RULES.get(key)
        if value is not None and rule and not rule[0](value):
            raise ValueError(f"Model option {key} of {name!r} must be {rule[1]}; got {value!r}.")


def model_options(name):
    """{option: default} of the keyword arguments model `name` accepts besides data_shape."""
    parameters = inspect.signature(_builder(name)).parameters
    return {key: p.default for key, p in parameters.items() if key != "data_shape"}


def get(name, data_shape, precision=None, **options):
    """Builds the registered model `name` for data of `data_shape`: (D,) for vectors,
    (H, W, C) for images. `options` override the model's defaults; an unknown one is an error.
    `precision` ("float32", "mixed_bfloat16", "mixed_float16", "auto"; None: Keras's global
    dtype policy) is the policy the model computes in, recorded with it (see `ganzoo.precision`)."""
    check_options(name, options)
    data_shape = tuple(int(d) for d in data_shape)
    if len(data_shape) not in (1, 3) or min(data_shape) < 1:
        raise ValueError(f"data_shape must be (D,) for vectors or (H, W, C) for images; got {data_shape}.")
    with precision_lib.policy_scope(precision):
        return _builder(name)(data_shape=data_shape, **options)


def list_models():
    """{name: one-line description} of every registered model."""
    return {name: inspect.getdoc(builder).splitlines()[0] for name, builder in sorted(_BUILDERS.items())}
