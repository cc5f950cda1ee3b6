"""Each objective against a value computed by hand."""

import math

import numpy as np
import tensorflow as tf

from ganzoo import losses

LN2 = math.log(2.0)


def softplus(x):
    return math.log1p(math.exp(x))


def test_minimax_discriminator_loss_hand_values():
    # D = sigmoid(0) = 1/2 on both: -log 1/2 - log(1 - 1/2) = 2 ln 2.
    np.testing.assert_allclose(losses.minimax_discriminator_loss(tf.zeros([1, 1]), tf.zeros([1, 1])), [2 * LN2], rtol=1e-6)
    # real logit 2, fake logit -1: -log sigmoid(2) - log(1 - sigmoid(-1)) = softplus(-2) + softplus(-1).
    value = losses.minimax_discriminator_loss(tf.constant([[2.0]]), tf.constant([[-1.0]]))
    np.testing.assert_allclose(value, [softplus(-2) + softplus(-1)], rtol=1e-6)
    np.testing.assert_allclose(value, [-math.log(1 / (1 + math.exp(-2))) - math.log(1 - 1 / (1 + math.exp(1)))], rtol=1e-6)


def test_generator_losses_hand_values():
    fake = tf.constant([[0.0], [-1.0]])
    # minimax: log(1 - D(G(z))) = log(1 - sigmoid(l)).
    np.testing.assert_allclose(losses.minimax_generator_loss(fake), [-LN2, math.log(1 - 1 / (1 + math.exp(1)))], rtol=1e-6)
    # non-saturating: -log D(G(z)).
    np.testing.assert_allclose(losses.non_saturating_generator_loss(fake), [LN2, softplus(1.0)], rtol=1e-6)


def test_non_saturating_keeps_gradient_where_minimax_saturates():
    fake = tf.constant([[-10.0]])  # the discriminator is sure this sample is fake
    grads = []
    for loss in (losses.minimax_generator_loss, losses.non_saturating_generator_loss):
        with tf.GradientTape() as tape:
            tape.watch(fake)
            value = loss(fake)
        grads.append(abs(float(tape.gradient(value, fake)[0, 0])))
    assert grads[0] < 1e-4 < 0.99 < grads[1]


def test_wasserstein_losses_hand_values():
    real, fake = tf.constant([[3.0], [1.0]]), tf.constant([[1.0], [-1.0]])
    np.testing.assert_allclose(losses.wasserstein_critic_loss(real, fake), [-2.0, -2.0])
    np.testing.assert_allclose(losses.wasserstein_generator_loss(fake), [-1.0, 1.0])


def test_gradient_penalty_hand_value():
    # f(x) = ||x||² / 2 has gradient x; x̂ = 0.5·(3, 4) + 0.5·(1, 0) = (2, 2), norm 2√2.
    real, fake = tf.constant([[3.0, 4.0]]), tf.constant([[1.0, 0.0]])
    critic = lambda x: 0.5 * tf.reduce_sum(tf.square(x), axis=1, keepdims=True)  # noqa: E731
    penalty = losses.gradient_penalty(critic, real, fake, tf.constant([0.5]))
    np.testing.assert_allclose(penalty, [(2 * math.sqrt(2) - 1) ** 2], rtol=1e-5)
    # A linear critic with ||w|| = 2 has penalty (2 - 1)² = 1 for every α.
    w = tf.constant([[1.2], [1.6]])
    penalty = losses.gradient_penalty(lambda x: x @ w, tf.ones([3, 2]), tf.zeros([3, 2]), tf.constant([0.0, 0.3, 1.0]))
    np.testing.assert_allclose(penalty, [1.0, 1.0, 1.0], rtol=1e-5)


def test_gradient_penalty_is_finite_when_the_critic_gradient_is_zero():
    weight = tf.Variable([[0.0], [0.0]])  # a critic whose input gradient is exactly 0
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(lambda x: x @ weight, tf.ones([2, 2]), tf.zeros([2, 2]), tf.constant([0.2, 0.7]))
        total = tf.reduce_sum(penalty)
    gradient = tape.gradient(total, weight)
    np.testing.assert_allclose(penalty, [1.0, 1.0], rtol=1e-5)
    assert np.all(np.isfinite(gradient.numpy()))


def test_generator_logit_gradient_is_the_losses_gradient():
    logits = tf.constant([-30.0, -3.0, 0.0, 2.5, 20.0])
    for name, generator_loss in (("minimax", losses.minimax_generator_loss),
                                 ("non_saturating", losses.non_saturating_generator_loss)):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            per_example = generator_loss(logits)
        np.testing.assert_allclose(losses.GENERATOR_LOGIT_GRADIENT[name](logits), tape.gradient(per_example, logits),
                                   rtol=1e-6, atol=1e-30)
    # At the balance D = 1/2 both are 1/2 in size; minimax's vanishes as D rejects a fake.
    np.testing.assert_allclose(losses.GENERATOR_LOGIT_GRADIENT["minimax"](tf.constant([0.0])), [-0.5])
    assert abs(float(losses.GENERATOR_LOGIT_GRADIENT["minimax"](tf.constant([-30.0]))[0])) < 1e-12
