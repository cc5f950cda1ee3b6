"""FusedBatchNormalization computes what keras.layers.BatchNormalization computes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganzoo.layers import FusedBatchNormalization


def twin_layers(**options):
    """A Keras BatchNormalization and a fused one with the same (non-trivial) weights."""
    keras_layer, fused = keras.layers.BatchNormalization(**options), FusedBatchNormalization(**options)
    for layer in (keras_layer, fused):
        layer.build((None, 5, 5, 3))
    rng = np.random.default_rng(1)
    for name in ("gamma", "beta", "moving_mean", "moving_variance"):
        value = rng.uniform(0.5, 1.5, 3).astype("float32")
        getattr(keras_layer, name).assign(value)
        getattr(fused, name).assign(value)
    return keras_layer, fused


def test_training_outputs_moving_statistics_and_gradients_match_keras():
    keras_layer, fused = twin_layers(momentum=0.9, epsilon=1e-5)
    x = tf.constant(np.random.default_rng(0).normal(2.0, 3.0, (8, 5, 5, 3)).astype("float32"))
    results = []
    for layer in (keras_layer, fused):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * tf.sin(x))  # weights the outputs unevenly
        gradients = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append([y, layer.moving_mean, layer.moving_variance, *gradients])
    for expected, actual in zip(*results):
        np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=2e-4, atol=2e-4)
    # Inference uses the moving statistics, through Keras's own code.
    np.testing.assert_allclose(fused(x, training=False), keras_layer(x, training=False), rtol=1e-5, atol=1e-6)


def test_bfloat16_inputs_stay_bfloat16_and_statistics_float32():
    keras_layer, fused = twin_layers(dtype="mixed_bfloat16")
    x = tf.constant(np.random.default_rng(0).normal(size=(8, 5, 5, 3)).astype("float32"))
    y = fused(tf.cast(x, "bfloat16"), training=True)
    assert y.dtype == tf.bfloat16 and fused.moving_mean.dtype == "float32"
    np.testing.assert_allclose(tf.cast(y, "float32"), tf.cast(keras_layer(tf.cast(x, "bfloat16"), training=True), "float32"),
                               atol=0.05)
    np.testing.assert_allclose(fused.moving_variance.numpy(), keras_layer.moving_variance.numpy(), rtol=1e-2)


def test_second_order_gradient_matches_keras():
    # The unrolled GAN differentiates through discriminator updates: d/dx of a gradient.
    x = tf.constant(np.random.default_rng(0).normal(size=(4, 5, 5, 3)).astype("float32"))
    second_order = []
    for layer in twin_layers():
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                y = tf.reduce_sum(layer(x, training=True) ** 3)
            gamma_gradient = inner.gradient(y, layer.gamma)
            z = tf.reduce_sum(gamma_gradient ** 2)
        second_order.append(outer.gradient(z, x).numpy())
    expected, actual = second_order
    assert np.abs(expected).max() > 1  # a gradient with something to compare
    np.testing.assert_allclose(actual, expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())


@pytest.mark.parametrize("options", [{"axis": 1}, {"renorm": True}])
def test_other_cases_fall_back_to_keras(options):
    keras_layer, fused = keras.layers.BatchNormalization(**options), FusedBatchNormalization(**options)
    x = tf.constant(np.random.default_rng(0).normal(size=(4, 3, 5, 5)).astype("float32"))
    np.testing.assert_allclose(fused(x, training=True), keras_layer(x, training=True), rtol=1e-5, atol=1e-6)
