"""The standard checks every zoo model goes through (one shared helper, used by test_zoo.py)."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import ganzoo

# Every model of the zoo on the data it runs on: the mixtures (2-D points) and images.
VECTOR_CASES = [(name, (2,)) for name in ("vanilla_gan", "wgan", "wgan_gp", "unrolled_gan", "pacgan")]
IMAGE_CASES = [(name, (28, 28, 1)) for name in ("dcgan", "wgan", "wgan_gp", "unrolled_gan", "vanilla_gan", "pacgan")]
STYLE_CASES = [("stylegan", (16, 16, 1))]  # 6 ws at 16x16
# Models checked with an EMA generator, so that training, saving, sampling and exporting
# are checked through it too (the other models, without one).
EMA_MODELS = ("pacgan", "dcgan", "stylegan")

# Small versions of each model, so a step takes milliseconds on a CPU.
SMALL_VECTOR_OPTIONS = {"latent_dim": 8, "generator_units": (16,), "discriminator_units": (16,)}
SMALL_IMAGE_OPTIONS = {"latent_dim": 8, "filters": 4}
SMALL_STYLEGAN_OPTIONS = {"latent_dim": 8, "w_dim": 8, "mapping_layers": 2, "channel_base": 64, "channel_max": 8}


def _fashion_mnist_found():
    try:
        ganzoo.data.fashion_mnist_arrays("test", download=False)
    except FileNotFoundError:
        return False
    return True


# Tests that read Fashion-MNIST run wherever ganzoo finds it without a download: ~/.keras or
# Debian's package (CI installs it).
needs_fashion_mnist = pytest.mark.skipif(not _fashion_mnist_found(),
                                         reason="Fashion-MNIST not found: apt-get install dataset-fashion-mnist")


def small_options(name, data_shape):
    if len(data_shape) == 1:
        options = dict(SMALL_VECTOR_OPTIONS)
    elif name == "stylegan":
        options = dict(SMALL_STYLEGAN_OPTIONS)
    elif name == "vanilla_gan":
        options = {"latent_dim": 8, "generator_units": (32,), "discriminator_units": (32,)}
    else:
        options = dict(SMALL_IMAGE_OPTIONS)
    if name in EMA_MODELS:
        options["ema_decay"] = 0.5
    return options


def real_batches(data_shape, batch_size, num_batches, seed=0):
    """A deterministic dataset of real minibatches (mixture points or random images)."""
    if len(data_shape) == 1:
        points = ganzoo.data.mixture("ring8").sample(batch_size * num_batches, seed=seed)
    else:
        points = np.random.default_rng(seed).uniform(-1, 1, (batch_size * num_batches, *data_shape)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(points).batch(batch_size, drop_remainder=True)


def weights_of(model):
    return [v.numpy() for v in model.weights]


def check_trains(gan, data_shape, steps=3, batch_size=8):
    """A few fit steps: finite losses, every network moved, k critic updates per G update."""
    k = gan.d_steps
    before_g, before_d = weights_of(gan.generator), weights_of(gan.discriminator)
    history = gan.fit(real_batches(data_shape, batch_size, steps * k), epochs=1, verbose=0)
    for name, values in history.history.items():
        assert np.isfinite(values[-1]), f"{name} is not finite: {values}"
    assert {"d_loss", "g_loss"} <= set(history.history)
    assert int(gan.g_optimizer.iterations) == steps
    assert int(gan.d_optimizer.iterations) == k * int(gan.g_optimizer.iterations)
    for before, after in ((before_g, weights_of(gan.generator)), (before_d, weights_of(gan.discriminator))):
        assert any(not np.allclose(b, a) for b, a in zip(before, after)), "weights did not move"
    return history


def check_round_trip(gan, path):
    """Saved and loaded, the model is the same model: config, weights, optimiser state, samples."""
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(gan)
    hyperparameters = lambda m: {k: v for k, v in m.get_config().items() if k not in ("generator", "discriminator")}  # noqa: E731
    assert hyperparameters(loaded) == hyperparameters(gan)
    assert [type(layer) for layer in loaded.generator.layers] == [type(layer) for layer in gan.generator.layers]
    for a, b in zip(weights_of(gan), weights_of(loaded)):
        np.testing.assert_array_equal(a, b)
    for optimizer in ("d_optimizer", "g_optimizer"):
        original, restored = getattr(gan, optimizer), getattr(loaded, optimizer)
        assert type(original) is type(restored)
        assert int(restored.iterations) == int(original.iterations)
        for a, b in zip(original.variables, restored.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(loaded.generate(5, seed=3), gan.generate(5, seed=3), atol=1e-6)
    return loaded


def run_tensorflow_only(script, *args, timeout=600):
    """Runs `script` in a fresh interpreter that imports TensorFlow (no ganzoo, no keras of its own)."""
    assert "ganzoo" not in script and "import keras" not in script
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env,
                            timeout=timeout, cwd="/")
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def tiny_ring8_config(num_samples, **train):
    """The text of a config file: a tiny vanilla GAN on `num_samples` ring8 points, with `train`."""
    return (
        "def get_config():\n"
        "    return {\n"
        '        "model": {"name": "vanilla_gan", "latent_dim": 4, "generator_units": [8], "discriminator_units": [8]},\n'
        f'        "data": {{"name": "ring8", "batch_size": 8, "num_samples": {num_samples}}},\n'
        f"        \"train\": {train!r},\n"
        "    }\n"
    )
