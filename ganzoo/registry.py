"""The zoo's registry: model name -> builder function, with the options each builder accepts.

A builder is a plain function `builder(data_shape, **options) -> GAN` whose docstring's first
line describes the model; its keyword arguments are the options `get` accepts.
"""

import inspect

from ganzoo import precision as precision_lib

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


def model_options(name):
    """{option: default} of the keyword arguments model `name` accepts besides data_shape."""
    parameters = inspect.signature(_builder(name)).parameters
    return {key: p.default for key, p in parameters.items() if key != "data_shape"}


def get(name, data_shape, precision=None, **options):
    """Builds the registered model `name` for data of `data_shape`: (D,) for vectors,
    (H, W, C) for images. `options` override the model's defaults; an unknown one is an error.
    `precision` ("float32", "mixed_bfloat16", "mixed_float16", "auto"; None: Keras's global
    dtype policy) is the policy the model computes in, recorded with it (see `ganzoo.precision`)."""
    unknown = sorted(set(options) - set(model_options(name)))
    if unknown:
        raise ValueError(
            f"Unknown option(s) {', '.join(unknown)} for model {name!r}. "
            f"Valid options: {', '.join(model_options(name))}."
        )
    data_shape = tuple(int(d) for d in data_shape)
    if len(data_shape) not in (1, 3) or min(data_shape) < 1:
        raise ValueError(f"data_shape must be (D,) for vectors or (H, W, C) for images; got {data_shape}.")
    with precision_lib.policy_scope(precision):
        return _builder(name)(data_shape=data_shape, **options)


def list_models():
    """{name: one-line description} of every registered model."""
    return {name: inspect.getdoc(builder).splitlines()[0] for name, builder in sorted(_BUILDERS.items())}
