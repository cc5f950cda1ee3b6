"""Mixed precision: which Keras dtype policy a GAN computes in, and what each one needs.

A GAN's precision is the Keras dtype policy its layers were built under, recorded in every
layer's config and in the GAN's own, so a `.keras` file reloads computing as it was saved:

    float32          everything in float32 (the default)
    mixed_bfloat16   layers compute in bfloat16, variables stay float32 (CPUs with AVX512_BF16
                     or AMX, and GPUs/TPUs); bfloat16 has float32's range: no loss scaling
    mixed_float16    layers compute in float16 (GPUs); float16's range is narrow, so both
                     optimisers are wrapped in `keras.optimizers.LossScaleOptimizer`
    auto             (configs) mixed_bfloat16 on a CPU with native bfloat16 arithmetic
                     (AVX512_BF16 or AMX) and no GPU, else float32: see `resolve`

Whatever the policy, ganzoo keeps the discriminator's score, the generator's output, every
loss, penalty and metric, and every output leaving the library in float32: the networks pin
their output layers to float32 (`ganzoo.networks`) and `GAN` casts what it reads from them.
"""

import contextlib

import keras
from keras import ops

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
AUTO = "auto"
NATIVE_BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def check(precision, allow_auto=False):
    """Returns `precision` if ganzoo supports it, else raises a ValueError naming the choices."""
    valid = PRECISIONS + ((AUTO,) if allow_auto else ())
    if precision not in valid:
        raise ValueError(f"Unknown precision {precision!r}; valid: {', '.join(valid)}.")
    return precision


def resolve(precision):
    """The policy "auto" stands for on this machine; any other precision as it is.

    mixed_bfloat16 where the CPU computes bfloat16 natively and there is no GPU: on such a
    CPU (oneDNN uses AVX512_BF16/AMX) a DCGAN step runs ~1.5x faster than in float32 with the
    same sample quality (benchmarks/throughput.md, benchmarks/precision_quality.md); without
    those instructions bfloat16 is emulated and slower. On GPUs "auto" keeps float32: choose
    mixed_float16 or mixed_bfloat16 for the GPU's generation yourself.
    """
    if precision != AUTO:
        return check(precision)
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "float32"
    return "mixed_bfloat16" if any(flag in cpu_flags() for flag in NATIVE_BFLOAT16_CPU_FLAGS) else "float32"


def cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (an empty set where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


@contextlib.contextmanager
def policy_scope(precision):
    """Builds the layers created inside under `precision` ("auto" resolved; None: leaves the
    global policy), then restores the global policy: building a model changes nothing else."""
    if precision is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(resolve(precision))
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


def float32_config(config):
    """A serialized model's config with every mixed dtype policy replaced by float32."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and config.get("config", {}).get("name") in PRECISIONS[1:]:
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: float32_config(value) for key, value in config.items()}
    if isinstance(config, list):
        return [float32_config(value) for value in config]
    return config


def as_float32(model):
    """An uncompiled copy of `model` computing in float32, with its weights (variables are
    float32 under every policy). Presets ship so: bfloat16 kernels differ between CPUs, while
    float32 samples come out the same wherever they are drawn."""
    config = keras.saving.serialize_keras_object(model)
    config.pop("compile_config", None)  # a mixed_float16 model's loss scaling has no place in float32
    copy = keras.saving.deserialize_keras_object(float32_config(config))
    copy.set_weights(model.get_weights())
    return copy
