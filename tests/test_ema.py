"""The EMA generator: its update rule by hand, BatchNorm statistics copied, and every way out of
the model (generate, predict, .keras, presets, exports) sampling it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from zoo_checks import real_batches, small_options


def small_gan(name="vanilla_gan", data_shape=(2,), ema_decay=0.5):
    options = {**small_options(name, data_shape), "ema_decay": ema_decay}
    gan = ganzoo.get(name, data_shape=data_shape, seed=4, **options)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
    return gan


def test_ema_follows_the_warm_up_rule_by_hand():
    gan = small_gan(ema_decay=0.2)
    batches = list(real_batches((2,), 8, 2))
    weights = [[w.numpy() for w in gan.generator.weights]]
    for batch in batches:
        gan.train_on_batch(batch)
        weights.append([w.numpy() for w in gan.generator.weights])
    # d_t = min(0.2, (1 + t) / (10 + t)): the warm-up's 2/11 after the first generator step, then
    # the cap 0.2 (below the warm-up's 3/12).
    expected = weights[0]
    for step, decay in ((1, 2 / 11), (2, 0.2)):
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, weights[step])]
    for average, value in zip(gan.ema_generator.weights, expected):
        np.testing.assert_allclose(average.numpy(), value, rtol=1e-5, atol=1e-7)
    assert any(not np.allclose(a.numpy(), w) for a, w in zip(gan.ema_generator.weights, weights[-1]))


def test_batchnorm_statistics_are_copied_not_averaged():
    gan = small_gan("dcgan", (28, 28, 1), ema_decay=0.99)
    gan.fit(real_batches((28, 28, 1), 8, 3), verbose=0)
    for layer, average in zip(gan.generator.layers, gan.ema_generator.layers):
        if isinstance(layer, keras.layers.BatchNormalization):
            np.testing.assert_array_equal(average.moving_mean.numpy(), layer.moving_mean.numpy())
            np.testing.assert_array_equal(average.moving_variance.numpy(), layer.moving_variance.numpy())
            assert not np.allclose(average.gamma.numpy(), layer.gamma.numpy())  # averaged


def test_sampling_uses_the_ema_generator_and_the_raw_one_on_request():
    gan = small_gan()
    gan.fit(real_batches((2,), 8, 3), verbose=0)
    latent = tf.random.stateless_normal([5, gan.latent_dim], [7, 0])
    np.testing.assert_allclose(gan(latent), gan.ema_generator(latent), atol=1e-6)
    np.testing.assert_allclose(gan.predict(latent, verbose=0), gan.ema_generator(latent), atol=1e-6)
    raw = gan.generate(5, seed=7, use_ema=False)
    np.testing.assert_allclose(raw, gan.generator(tf.random.stateless_normal([5, gan.latent_dim], [7, 0])),
                               atol=1e-6)
    assert not np.allclose(gan.generate(5, seed=7), raw)
    assert gan.sampling_generator is gan.ema_generator
    assert ganzoo.get("vanilla_gan", (2,), **small_options("vanilla_gan", (2,))).sampling_generator.name == "generator"


def test_ema_survives_keras_round_trip_presets_and_export(tmp_path):
    gan = small_gan()
    gan.fit(real_batches((2,), 8, 3), verbose=0)
    expected = gan.generate(6, seed=1)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert loaded.ema_decay == 0.5
    np.testing.assert_array_equal(loaded.generate(6, seed=1), expected)
    np.testing.assert_array_equal(loaded.generate(6, seed=1, use_ema=False), gan.generate(6, seed=1, use_ema=False))

    # A generator-only preset ships the EMA generator's weights.
    gan.save_to_preset(str(tmp_path / "preset"), generator_only=True)
    preset = ganzoo.load_preset(str(tmp_path / "preset"))
    np.testing.assert_allclose(preset.generate(6, seed=1), expected, atol=1e-6)

    path = gan.export(str(tmp_path / "exports"), name="ema")
    latent = np.random.default_rng(0).normal(size=(4, gan.latent_dim)).astype("float32")
    served = tf.saved_model.load(path).signatures["serving_default"](latent=tf.constant(latent))["samples"]
    np.testing.assert_allclose(served, gan.ema_generator(latent), atol=1e-5)


def test_ema_decay_must_lie_in_the_unit_interval():
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"ema_decay.* in \(0, 1\)"):
            ganzoo.get("vanilla_gan", (2,), ema_decay=bad)
