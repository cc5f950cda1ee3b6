"""PacGAN: packing by hand, one loss per pack, the gradient penalty over packs, the paper's defaults."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo import losses
from ganzoo.layers import Pack


def test_pack_concatenates_consecutive_examples():
    vectors = np.arange(8, dtype="float32").reshape(4, 2)
    np.testing.assert_array_equal(Pack(2)(vectors), [[0, 1, 2, 3], [4, 5, 6, 7]])
    images = np.arange(4 * 2 * 2 * 3, dtype="float32").reshape(4, 2, 2, 3)
    packed = Pack(2)(images).numpy()
    assert packed.shape == (2, 2, 2, 6)
    np.testing.assert_array_equal(packed[1, :, :, :3], images[2])  # channel-stacked: pack 1 = images 2, 3
    np.testing.assert_array_equal(packed[1, :, :, 3:], images[3])
    assert Pack(4).compute_output_shape((None, 28, 28, 1)) == (None, 28, 28, 4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="multiple of 2"):
        Pack(2)(np.zeros((3, 2), "float32"))
    with pytest.raises(ValueError, match="positive integer"):
        Pack(0)


def test_discriminator_scores_packs_and_losses_are_per_pack():
    gan = ganzoo.get("pacgan", (2,), pack=4, latent_dim=3, generator_units=(8,), discriminator_units=(8,), seed=0)
    gan.compile()
    real = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    fake = np.random.default_rng(1).normal(size=(8, 2)).astype("float32")
    assert gan.discriminator.input_shape == (None, 2) and gan.discriminator.layers[2].input.shape == (None, 8)
    per_pack, real_scores, fake_scores, _ = gan.discriminator_objective(real, fake, np.zeros(8, "float32"))
    assert per_pack.shape == (2,) and real_scores.shape == (2, 1)
    # Score of pack 0 is the MLP on the 8 numbers of examples 0-3.
    dense = [layer for layer in gan.discriminator.layers if isinstance(layer, keras.layers.Dense)]
    hidden = keras.ops.leaky_relu(real[:4].reshape(1, 8) @ dense[0].kernel + dense[0].bias, 0.2)
    np.testing.assert_allclose(real_scores[0], (hidden @ dense[1].kernel + dense[1].bias)[0],
                               rtol=1e-5, atol=1e-6)  # a score near 0: float32 sums in another order differ by ~1e-8
    # The loss is averaged over packs.
    assert float(gan._scale(per_pack)) == pytest.approx(float(np.mean(per_pack)), rel=1e-6)


def test_gradient_penalty_takes_the_norm_over_each_pack():
    w = np.array([3.0, 0.0, 0.0, 4.0], "float32")  # a linear critic of packs of two 2-D points

    def critic(x):
        return Pack(2)(x) @ w[:, None]

    real, fake = np.ones((4, 2), "float32"), np.zeros((4, 2), "float32")
    penalty = losses.gradient_penalty(critic, real, fake, np.full(4, 0.5, "float32"))
    np.testing.assert_allclose(penalty, [(5.0 - 1.0) ** 2] * 2, rtol=1e-5)  # ||w|| = 5 over the pack


def test_paper_defaults_and_any_objective():
    gan = ganzoo.get("pacgan", (2,))
    gan.compile()
    assert gan.objective == "non_saturating" and gan.latent_dim == 2
    assert gan.discriminator.layers[1].pack == 2
    assert [l.units for l in gan.generator.layers if isinstance(l, keras.layers.Dense)] == [400] * 4 + [2]
    assert sum(isinstance(l, keras.layers.BatchNormalization) for l in gan.generator.layers) == 4
    assert [l.units for l in gan.discriminator.layers if isinstance(l, keras.layers.Dense)] == [200] * 3 + [1]
    assert type(gan.g_optimizer).__name__ == "Adam"
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(1e-4) and gan.g_optimizer.beta_1 == 0.8

    critic = ganzoo.get("pacgan", (2,), pack=2, objective="wasserstein", gradient_penalty_weight=10.0, d_steps=2,
                        latent_dim=3, generator_units=(8,), discriminator_units=(8,), seed=0)
    critic.compile()
    points = ganzoo.data.mixture("ring8").sample(8 * 4, seed=0)
    history = critic.fit(tf.data.Dataset.from_tensor_slices(points).batch(8, drop_remainder=True), verbose=0)
    assert np.isfinite(history.history["gradient_penalty"][-1])
    assert int(critic.d_optimizer.iterations) == 2 * int(critic.g_optimizer.iterations) == 4


def test_an_image_critic_with_a_penalty_uses_layer_normalization():
    critic = ganzoo.get("pacgan", (28, 28, 1), filters=4, objective="wasserstein", gradient_penalty_weight=10.0)
    kinds = {type(layer).__name__ for layer in critic.discriminator.layers}
    assert "LayerNormalization" in kinds and not any("BatchNormalization" in kind for kind in kinds)
    assert any("BatchNormalization" in type(layer).__name__
               for layer in ganzoo.get("pacgan", (28, 28, 1), filters=4).discriminator.layers)
    with pytest.raises(ValueError, match="must not use BatchNorm"):
        ganzoo.get("pacgan", (28, 28, 1), gradient_penalty_weight=10.0, critic_normalization="batch")
