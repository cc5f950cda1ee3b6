"""Mixed precision: which Keras dtype policy a GAN computes in, and what each one needs.

A GAN's precision is the Keras dtype policy its layers were built under, recorded in every
layer's config and in the GAN's own, so a `.keras` file reloads computing as it was saved:

    float32          everything in float32 (the default)
    mixed_bfloat16   layers compute in bfloat16, variables stay float32 (CPUs with AVX512_BF16
                     or AMX, and GPUs/TPUs); bfloat16 has float32's range: no loss scaling
    mixed_float16    layers compute in float16 (GPUs); float16's range is narrow, so both
                     optimisers are wrapped in `keras.optimizers.LossScaleOptimizer`

Whatever the policy, ganzoo keeps the discriminator's score, the generator's output, every
loss, penalty and metric, and every output leaving the library in float32: the networks pin
their output layers to float32 (`ganzoo.networks`) and `GAN` casts what it reads from them.
"""

import contextlib

import keras
from keras import ops

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def check(precision):
    """Returns `precision` if ganzoo supports it, else raises a ValueError naming the choices."""
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}.")
    return precision


@contextlib.contextmanager
def policy_scope(precision):
    """Builds the layers created inside under `precision` (None: leaves the global policy),
    then restores the global policy, so building one model leaves no process-wide change."""
    if precision is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(check(precision))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def needs_loss_scaling(dtype_policy):
    """float16 gradients underflow without loss scaling; bfloat16 and float32 ones do not."""
    return keras.dtype_policies.get(dtype_policy).compute_dtype == "float16"


def with_loss_scaling(optimizer):
    """`optimizer` wrapped in dynamic loss scaling, unless it is wrapped already."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)


def inner_optimizer(optimizer):
    """The optimizer whose update rule runs: the wrapped one of a LossScaleOptimizer."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def at_least_float32(x):
    """`x` cast to float32 if it is bfloat16 or float16 (float64, as in exact tests, stays)."""
    return ops.cast(x, "float32") if keras.backend.standardize_dtype(x.dtype) in ("bfloat16", "float16") else x
