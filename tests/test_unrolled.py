"""The unrolled GAN's generator gradient, checked against finite differences."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganzoo import UnrolledGAN


@pytest.fixture
def float64():
    # Both: the dtype policy, once materialised by an earlier layer, no longer follows floatx.
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")


def tiny_unrolled_gan(optimizer, second_order=True, unroll_steps=3):
    """Smooth (tanh) networks, so the objective is differentiable everywhere."""
    keras.utils.set_random_seed(0)
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(2)])
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(1)])
    gan = UnrolledGAN(generator, discriminator, objective="minimax", unroll_steps=unroll_steps,
                      second_order=second_order, seed=0)
    gan.compile(d_optimizer=optimizer, g_optimizer=keras.optimizers.SGD(0.1))
    return gan


def unrolled_objective(gan, real, latent):
    return tf.reduce_mean(gan.generator_objective(real, latent)[0])


def finite_difference_gradient(gan, real, latent, epsilon=1e-6):
    gradients = []
    for variable in gan.generator.trainable_variables:
        value = variable.numpy()
        gradient = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            values = []
            for sign in (1, -1):
                shifted = value.copy()
                shifted[index] += sign * epsilon
                variable.assign(shifted)
                values.append(float(unrolled_objective(gan, real, latent)))
            variable.assign(value)
            gradient[index] = (values[0] - values[1]) / (2 * epsilon)
        gradients.append(gradient)
    return gradients


def tape_gradient(gan, real, latent):
    with tf.GradientTape() as tape:
        loss = unrolled_objective(gan, real, latent)
    return [g.numpy() for g in tape.gradient(loss, gan.generator.trainable_variables)]


@pytest.mark.parametrize("optimizer", [lambda: keras.optimizers.SGD(0.5), lambda: keras.optimizers.Adam(0.05, beta_1=0.5)])
def test_generator_gradient_matches_finite_differences_of_the_unrolled_objective(float64, optimizer):
    gan = tiny_unrolled_gan(optimizer())
    rng = np.random.default_rng(1)
    real, latent = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    if isinstance(gan.d_optimizer, keras.optimizers.Adam):
        # Start the look-ahead from non-trivial Adam moments, as in the middle of training.
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(gan.discriminator(real) ** 2)
        grads = tape.gradient(loss, gan.discriminator.trainable_variables)
        gan.d_optimizer.apply_gradients(zip(grads, gan.discriminator.trainable_variables))
    before = [v.numpy() for v in gan.discriminator.trainable_variables + gan.d_optimizer.variables]
    analytic = tape_gradient(gan, real, latent)
    numeric = finite_difference_gradient(gan, real, latent)
    for a, n in zip(analytic, numeric):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-8)
    # The look-ahead is functional: the real discriminator and its optimiser are untouched.
    after = [v.numpy() for v in gan.discriminator.trainable_variables + gan.d_optimizer.variables]
    for b, a in zip(before, after):
        np.testing.assert_array_equal(b, a)


def test_first_order_option_stops_the_gradient_through_the_unrolled_updates(float64):
    rng = np.random.default_rng(2)
    real, latent = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    second = tape_gradient(tiny_unrolled_gan(keras.optimizers.SGD(0.5), second_order=True), real, latent)
    first_order_gan = tiny_unrolled_gan(keras.optimizers.SGD(0.5), second_order=False)
    first = tape_gradient(first_order_gan, real, latent)
    assert any(not np.allclose(f, s, rtol=1e-3) for f, s in zip(first, second))
    # First order == the plain generator gradient against the discriminator after K steps,
    # taken with those K steps' weights held constant.
    for _ in range(first_order_gan.unroll_steps):
        fake = first_order_gan.generator(latent)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(first_order_gan.objective.discriminator_loss(first_order_gan.discriminator(real), first_order_gan.discriminator(fake)))
        variables = first_order_gan.discriminator.trainable_variables
        first_order_gan.d_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(first_order_gan.objective.generator_loss(first_order_gan.discriminator(first_order_gan.generator(latent))))
    expected = tape.gradient(loss, first_order_gan.generator.trainable_variables)
    for f, e in zip(first, expected):
        np.testing.assert_allclose(f, e, rtol=1e-6, atol=1e-10)


def test_functional_adam_step_equals_keras_adam():
    gan = tiny_unrolled_gan(keras.optimizers.Adam(0.01, beta_1=0.5), unroll_steps=1)
    real, latent = np.ones((4, 2), "float32"), np.full((4, 2), 0.5, "float32")
    variables = gan.discriminator.trainable_variables
    fake = gan.generator(latent)
    for _ in range(2):  # the second step starts from non-zero moments and iterations = 1
        weights = [tf.identity(v.value) for v in variables]
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(gan.objective.discriminator_loss(gan.discriminator(real), gan.discriminator(fake)))
        grads = tape.gradient(loss, variables)
        functional, _ = gan._functional_update(weights, grads, gan._optimizer_slots())
        gan.d_optimizer.apply_gradients(zip(grads, variables))
        for f, v in zip(functional, variables):
            np.testing.assert_allclose(f, v, rtol=1e-6, atol=1e-7)


def test_unsupported_discriminator_optimizer_is_refused():
    with pytest.raises(ValueError, match="Adam or plain SGD"):  # at compile, before any training
        tiny_unrolled_gan(keras.optimizers.RMSprop(0.01))
