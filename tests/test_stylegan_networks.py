"""StyleGAN2 networks (ganzoo.stylegan_networks): shapes, the modulated convolution against the
paper's fused formula, equalised learning rate, truncation, style mixing, w_avg, noise,
saving and EMA cloning, minibatch stddev, mixed precision. Tiny widths throughout."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganzoo import stylegan_networks as sn
from ganzoo.gan import GAN

LATENT, W_DIM = 16, 16
SMALL = dict(channel_base=128, channel_max=16)  # 16 channels up to 8x8, then 8, 4, 2


def small_generator(resolution=8, **kwargs):
    return sn.StyleGenerator(latent_dim=LATENT, w_dim=W_DIM, resolution=resolution, mapping_layers=2,
                             seed=7, **{**SMALL, **kwargs})


def latents(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, LATENT)).astype("float32")


def noise_layers(generator):
    return [layer for layer in generator.synthesis.layers if isinstance(layer, sn.NoiseInjection)]


def conv_same(x, kernel):
    """NumPy cross-correlation with zero "same" padding: x [b, H, W, in] (or [H, W, in] per
    sample kernels [b, k, k, in, out]), as TensorFlow's conv2d computes it."""
    k = kernel.shape[-4]
    pad = k // 2
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    batch, height, width, _ = x.shape
    per_sample = kernel.ndim == 5
    out = np.zeros((batch, height, width, kernel.shape[-1]))
    for b in range(batch):
        weight = kernel[b] if per_sample else kernel
        for i in range(height):
            for j in range(width):
                out[b, i, j] = np.einsum("hwc,hwco->o", padded[b, i:i + k, j:j + k], weight)
    return out


@pytest.mark.parametrize("resolution", [8, 16, 32, 64])
def test_shapes_at_every_resolution(resolution):
    num_ws = 2 * int(math.log2(resolution)) - 2
    assert sn.num_ws_for(resolution) == num_ws
    generator = small_generator(resolution, image_channels=3)
    z = latents(2)
    assert tuple(generator.mapping(z).shape) == (2, W_DIM)
    assert generator.num_ws == num_ws
    assert tuple(generator.synthesis.input_shape) == (None, num_ws, W_DIM)
    ws = generator.map(z)
    assert tuple(ws.shape) == (2, num_ws, W_DIM)
    assert tuple(generator.synthesize(ws).shape) == (2, resolution, resolution, 3)
    images = generator(z, training=False)
    assert tuple(images.shape) == (2, resolution, resolution, 3) and images.dtype == tf.float32
    assert generator.output_shape == (None, resolution, resolution, 3)
    discriminator = sn.stylegan_discriminator(resolution, image_channels=3, **SMALL)
    scores = discriminator(images)
    assert tuple(scores.shape) == (2, 1) and scores.dtype == tf.float32
    assert np.all(np.isfinite(scores))


def test_channels_and_resolution_checks():
    assert [sn.channels_at(r, 2048, 128) for r in (4, 8, 16, 32, 64)] == [128, 128, 128, 64, 32]
    for bad in (4, 12, 28):
        with pytest.raises(ValueError, match="power of two"):
            sn.synthesis_network(bad, W_DIM)
    with pytest.raises(ValueError, match="activation"):
        sn.EqualizedDense(4, activation="relu")


def test_equalized_dense_runtime_scale():
    layer = sn.EqualizedDense(4, lr_multiplier=0.1, bias_initializer_value=0.5)
    x = np.random.default_rng(1).normal(size=(3, 6)).astype("float32")
    y = layer(x)
    kernel, bias = (w.numpy() for w in layer.weights)
    np.testing.assert_allclose(bias, 0.5)  # stored as the official code stores it
    np.testing.assert_allclose(y, x @ kernel * (0.1 / math.sqrt(6)) + bias * 0.1, rtol=1e-5, atol=1e-5)
    lrelu = sn.EqualizedDense(4, activation="lrelu")
    lrelu.build((None, 6))
    kernel, bias = (w.numpy() for w in lrelu.weights)
    pre = x @ kernel / math.sqrt(6) + bias
    np.testing.assert_allclose(lrelu(x), np.where(pre > 0, pre, 0.2 * pre) * math.sqrt(2), rtol=1e-5, atol=1e-5)
    # Stored ~ N(0, 1/lr²): every weight starts at He's scale once the runtime gain applies.
    wide = sn.EqualizedDense(256, lr_multiplier=0.01)
    wide.build((None, 256))
    assert abs(float(np.std(wide.kernel.numpy())) - 100.0) < 3.0


def test_equalized_conv_runtime_scale():
    layer = sn.EqualizedConv2D(2, 3, lr_multiplier=0.5, bias_initializer_value=0.25)
    x = np.random.default_rng(2).normal(size=(2, 5, 5, 3)).astype("float32")
    y = layer(x)
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    expected = conv_same(x, kernel * 0.5 / math.sqrt(3 * 9)) + bias * 0.5
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def fused_modulated_conv(x, w, layer, demodulate):
    """The paper's formula (Karras et al. 2020, Eqs. 1 and 3) in NumPy: per sample, the weight
    scaled by its styles, demodulated, convolved."""
    affine_kernel, affine_bias = layer.affine.kernel.numpy(), layer.affine.bias.numpy()
    styles = w @ affine_kernel / math.sqrt(w.shape[-1]) + affine_bias                 # [b, in]
    kernel = layer.kernel.numpy()
    weight = kernel / math.sqrt(kernel.shape[0] * kernel.shape[1] * kernel.shape[2])  # [k, k, in, out]
    modulated = weight[None] * styles[:, None, None, :, None]                         # [b, k, k, in, out]
    if demodulate:
        modulated = modulated / np.sqrt(np.sum(modulated**2, axis=(1, 2, 3), keepdims=True) + 1e-8)
    return conv_same(x, modulated)


@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv_equals_fused_formula(demodulate):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 4, 4, 3)).astype("float32")
    w = rng.normal(size=(2, 5)).astype("float32")
    layer = sn.ModulatedConv2D(2, 3, demodulate=demodulate)
    y = layer([x, w])
    np.testing.assert_allclose(y, fused_modulated_conv(x, w, layer, demodulate), rtol=1e-4, atol=1e-5)


def test_upsampling_modulated_conv_upsamples_then_convolves():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 3, 3, 3)).astype("float32")
    w = rng.normal(size=(2, 5)).astype("float32")
    layer = sn.ModulatedConv2D(2, 3, upsample=True)
    y = layer([x, w])
    assert tuple(y.shape) == (2, 6, 6, 2)
    upsampled = sn.upsample_2x(tf.constant(x)).numpy()
    np.testing.assert_allclose(y, fused_modulated_conv(upsampled, w, layer, True), rtol=1e-4, atol=1e-5)


def test_demodulation_restores_unit_variance():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(32, 16, 16, 32)).astype("float32")
    w = 3.0 * rng.normal(size=(32, W_DIM)).astype("float32")  # styles far from 1
    interior = (slice(None), slice(1, -1), slice(1, -1))      # zero padding thins the borders
    demodulated = sn.ModulatedConv2D(32, 3, demodulate=True)([x, w]).numpy()[interior]
    assert abs(float(np.std(demodulated)) - 1.0) < 0.05
    # Per example and output channel too, whatever that example's styles.
    per_map = np.std(demodulated, axis=(1, 2))
    assert abs(float(np.median(per_map)) - 1.0) < 0.1
    plain = sn.ModulatedConv2D(32, 3, demodulate=False)([x, w]).numpy()[interior]
    assert abs(float(np.std(plain)) - 1.0) > 0.5


def test_truncation():
    generator = small_generator()
    w_avg = np.random.default_rng(6).normal(size=(W_DIM,)).astype("float32")
    generator.w_avg.assign(w_avg)
    z = latents(3)
    ws = generator.map(z, truncation_psi=0.0)
    np.testing.assert_allclose(ws, np.broadcast_to(w_avg, (3, generator.num_ws, W_DIM)), atol=1e-6)
    images = generator(z, truncation_psi=0.0).numpy()
    np.testing.assert_allclose(images[1:], np.broadcast_to(images[:1], images[1:].shape), atol=1e-5)
    np.testing.assert_allclose(images, generator.synthesize(ws), atol=1e-5)
    w = generator.mapping(z).numpy()
    np.testing.assert_allclose(generator.map(z, truncation_psi=1.0), np.repeat(w[:, None], generator.num_ws, 1),
                               atol=1e-6)
    half = generator.map(z, truncation_psi=0.5, truncation_cutoff=2).numpy()
    np.testing.assert_allclose(half[:, :2], np.repeat((w_avg + 0.5 * (w - w_avg))[:, None], 2, 1), atol=1e-5)
    np.testing.assert_allclose(half[:, 2:], np.repeat(w[:, None], generator.num_ws - 2, 1), atol=1e-6)


def test_style_mixing():
    generator = small_generator(16)
    z_a, z_b = latents(3, seed=1), latents(3, seed=2)
    ws_a, ws_b = generator.map(z_a), generator.map(z_b)
    np.testing.assert_array_equal(generator.mix(ws_a, ws_b, 0), ws_b)
    np.testing.assert_array_equal(generator.mix(ws_a, ws_b, generator.num_ws), ws_a)
    np.testing.assert_allclose(generator.synthesize(generator.mix(ws_a, ws_b, 0)), generator(z_b), atol=1e-6)
    np.testing.assert_allclose(generator.synthesize(generator.mix(ws_a, ws_b, generator.num_ws)), generator(z_a),
                               atol=1e-6)
    crossover = tf.constant([0, 2, generator.num_ws])
    mixed = generator.mix(ws_a, ws_b, crossover).numpy()
    np.testing.assert_array_equal(mixed[0], ws_b[0])
    np.testing.assert_array_equal(mixed[1, :2], ws_a[1, :2])
    np.testing.assert_array_equal(mixed[1, 2:], ws_b[1, 2:])
    np.testing.assert_array_equal(mixed[2], ws_a[2])
    assert tuple(generator.synthesize(mixed).shape) == (3, 16, 16, 1)


def test_update_w_avg():
    generator = small_generator()
    rng = np.random.default_rng(8)
    start = rng.normal(size=(W_DIM,)).astype("float32")
    generator.w_avg.assign(start)
    w = rng.normal(size=(5, W_DIM)).astype("float32")
    generator.update_w_avg(w)
    mean = w.mean(axis=0)
    expected = mean + 0.995 * (start - mean)  # torch: w.mean(0).lerp(w_avg, beta)
    np.testing.assert_allclose(generator.w_avg.numpy(), expected, rtol=1e-6, atol=1e-6)
    generator.update_w_avg(np.repeat(w[:, None], generator.num_ws, 1))  # map()'s ws work too
    np.testing.assert_allclose(generator.w_avg.numpy(), mean + 0.995 * (expected - mean), rtol=1e-6, atol=1e-6)
    assert not generator.w_avg.trainable


def test_noise_is_fixed_at_inference_and_random_in_training():
    generator = small_generator(16)
    layers = noise_layers(generator)
    assert len(layers) == 1 + 2 * 2  # one synthesis layer at 4x4, two per later block
    assert all(float(layer.strength.numpy()) == 0.0 for layer in layers)
    z = latents(2)
    quiet = generator(z, training=False).numpy()
    np.testing.assert_allclose(generator(z, training=True), quiet, atol=1e-6)  # strengths 0: no noise yet
    for layer in layers:
        layer.strength.assign(1.0)
    inference = generator(z, training=False).numpy()
    assert np.abs(inference - quiet).max() > 1e-4  # the constant buffers are now heard
    np.testing.assert_array_equal(generator(z, training=False), inference)
    first, second = generator(z, training=True).numpy(), generator(z, training=True).numpy()
    assert np.abs(first - second).max() > 1e-4
    assert np.abs(first - inference).max() > 1e-4
    # The buffers are seeded: a generator built with the same seed has the same ones.
    again = small_generator(16)
    for mine, theirs in zip(layers, noise_layers(again)):
        np.testing.assert_array_equal(mine.noise_const.numpy(), theirs.noise_const.numpy())
    # ... and every layer its own (b8_conv0 and b8_conv1 are both 8x8).
    assert not np.array_equal(layers[1].noise_const.numpy(), layers[2].noise_const.numpy())


def test_keras_round_trip_and_ema_clone(tmp_path):
    generator = small_generator(16)
    generator.w_avg.assign(np.linspace(-1.0, 1.0, W_DIM).astype("float32"))
    for layer in noise_layers(generator):
        layer.strength.assign(0.5)
    z = latents(3)
    images = generator(z, training=False).numpy()
    truncated = generator(z, truncation_psi=0.7).numpy()

    path = tmp_path / "generator.keras"
    generator.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, sn.StyleGenerator) and loaded.num_ws == generator.num_ws
    np.testing.assert_allclose(loaded.w_avg.numpy(), generator.w_avg.numpy())
    np.testing.assert_allclose(loaded(z, training=False), images, atol=1e-6)
    np.testing.assert_allclose(loaded(z, truncation_psi=0.7), truncated, atol=1e-6)

    # The EMA copy exactly as ganzoo.gan.GAN makes it, then its weights zipped with ours.
    ema = generator.__class__.from_config({**generator.get_config(), "name": "ema_generator"})
    ema.set_weights(generator.get_weights())
    ema.trainable = False
    assert len(ema.weights) == len(generator.weights)
    for copy, weight in zip(ema.weights, generator.weights):
        assert copy.path.split("/", 1)[-1] == weight.path.split("/", 1)[-1]
        assert tuple(copy.shape) == tuple(weight.shape)
    # Non-trainable: w_avg, and each noise layer's fixed buffer and training-noise draw counter.
    assert [w.trainable for w in generator.weights].count(False) == 1 + 2 * len(noise_layers(generator))
    np.testing.assert_allclose(ema(z, training=False), images, atol=1e-6)


def test_gan_accepts_the_stylegan_networks():
    generator = small_generator()
    discriminator = sn.stylegan_discriminator(8, **SMALL)
    gan = GAN(generator, discriminator, ema_decay=0.999, seed=0)
    assert gan.latent_dim == LATENT and gan.data_shape == (8, 8, 1)
    assert isinstance(gan.ema_generator, sn.StyleGenerator)
    np.testing.assert_allclose(gan.generate(2, seed=3), gan.generate(2, seed=3))


@pytest.mark.parametrize("batch", [1, 3, 4, 8])
def test_minibatch_stddev_at_any_batch_size(batch):
    discriminator = sn.stylegan_discriminator(8, **SMALL)
    images = np.random.default_rng(batch).normal(size=(batch, 8, 8, 1)).astype("float32")
    scores = discriminator(images)
    assert tuple(scores.shape) == (batch, 1) and np.all(np.isfinite(scores))
    scores_graph = tf.function(lambda x: discriminator(x))(tf.constant(images))  # unknown batch size in a graph
    np.testing.assert_allclose(scores_graph, scores, rtol=1e-5, atol=1e-5)


def test_minibatch_stddev_by_hand():
    layer = sn.MinibatchStdDev(group_size=4)
    assert [int(layer.group(tf.constant(n))) for n in (1, 2, 3, 4, 5, 6, 8, 12)] == [1, 2, 3, 4, 1, 3, 4, 4]
    x = np.random.default_rng(9).normal(size=(8, 2, 2, 3)).astype("float32")
    y = layer(x).numpy()
    np.testing.assert_array_equal(y[..., :3], x)
    # Group size 4, two groups: example i is in group i mod 2 (the official reshape).
    for group in (0, 1):
        members = x[group::2]
        expected = np.sqrt(members.var(axis=0) + 1e-8).mean()
        np.testing.assert_allclose(y[group::2, :, :, 3], expected, rtol=1e-5)


def test_mixed_bfloat16_forward_pass():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        generator = small_generator(16)
        discriminator = sn.stylegan_discriminator(16, **SMALL)
        for layer in noise_layers(generator):
            layer.strength.assign(1.0)
        z = latents(3)
        conv = generator.synthesis.get_layer("b8_conv0")
        assert conv.compute_dtype == "bfloat16" and conv.kernel.dtype == "float32"
        assert generator.map(z).dtype == tf.float32
        for training in (False, True):
            images = generator(z, training=training)
            scores = discriminator(images, training=training)
            assert images.dtype == tf.float32 and scores.dtype == tf.float32
            assert np.all(np.isfinite(images)) and np.all(np.isfinite(scores))
        np.testing.assert_array_equal(generator(z), generator(z))
        # The layers compute in bfloat16 (and do not silently promote to float32).
        x = np.ones((2, 4, 4, 3), "float32")
        assert sn.EqualizedConv2D(4, 3)(x).dtype == tf.bfloat16
        assert sn.EqualizedDense(4)(x[:, 0, 0]).dtype == tf.bfloat16
        assert sn.ModulatedConv2D(4, 3, upsample=True)([x, x[:, 0, 0]]).dtype == tf.bfloat16
        generator.update_w_avg(generator.map(z))
        assert generator.w_avg.dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")
