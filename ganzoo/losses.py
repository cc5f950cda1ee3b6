"""Adversarial losses and penalties as small pure functions.

Every loss takes the discriminator's raw outputs (logits for the GAN objectives, critic values
for the Wasserstein and hinge ones) and returns **one value per example**, so the caller chooses
the reduction: `GAN.train_step` sums and divides by the *global* batch, which keeps gradients
right under `tf.distribute` (each replica's gradients are summed across replicas).

`ganzoo.objectives` pairs them into objectives and `ganzoo.regularizers` wraps the penalties.
"""

from keras import ops


def minimax_discriminator_loss(real_logits, fake_logits):
    """-log D(x) - log(1 - D(G(z))) per example (Goodfellow et al. 2014, Eq. 1).

    With D = sigmoid(logit): -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) =
    softplus(l), which are the numerically stable forms.
    """
    return _per_example(ops.softplus(-real_logits)) + _per_example(ops.softplus(fake_logits))


def minimax_generator_loss(fake_logits):
    """log(1 - D(G(z))) per example: the generator minimises the minimax value directly.

    Saturates when the discriminator wins (D(G(z)) ~ 0 gives a vanishing gradient), the
    problem the non-saturating loss and the WGANs address (Goodfellow et al. 2014, Sec. 3).
    """
    return -_per_example(ops.softplus(fake_logits))


def non_saturating_generator_loss(fake_logits):
    """-log D(G(z)) per example: the 'non-saturating' heuristic (Goodfellow et al. 2014)."""
    return _per_example(ops.softplus(-fake_logits))


def wasserstein_critic_loss(real_scores, fake_scores):
    """f(G(z)) - f(x) per example (Arjovsky et al. 2017, Algorithm 1, line 5, negated)."""
    return _per_example(fake_scores) - _per_example(real_scores)


def wasserstein_generator_loss(fake_scores):
    """-f(G(z)) per example (Arjovsky et al. 2017, Algorithm 1, line 10)."""
    return -_per_example(fake_scores)


def hinge_discriminator_loss(real_scores, fake_scores):
    """max(0, 1 - D(x)) + max(0, 1 + D(G(z))) per example (Lim & Ye 2017; Miyato et al. 2018, Eq. 16)."""
    return _per_example(ops.relu(1.0 - real_scores)) + _per_example(ops.relu(1.0 + fake_scores))


def hinge_generator_loss(fake_scores):
    """-D(G(z)) per example (Miyato et al. 2018; SAGAN)."""
    return -_per_example(fake_scores)


def least_squares_discriminator_loss(real_scores, fake_scores):
    """½(D(x) - 1)² + ½D(G(z))² per example (Mao et al. 2017, Eq. 9 with a = 0, b = 1)."""
    return 0.5 * _per_example(ops.square(real_scores - 1.0)) + 0.5 * _per_example(ops.square(fake_scores))


def least_squares_generator_loss(fake_scores):
    """½(D(G(z)) - 1)² per example (Mao et al. 2017, Eq. 9 with c = 1)."""
    return 0.5 * _per_example(ops.square(fake_scores - 1.0))


def safe_norm(x, axis, epsilon=1e-12):
    """Euclidean norm whose gradient stays finite at x = 0 (plain sqrt's is inf there)."""
    return ops.sqrt(ops.sum(ops.square(x), axis=axis) + epsilon)


def gradient_penalty(critic, real, fake, alpha):
    """(||grad_x̂ f(x̂)||₂ - 1)² per example, x̂ = α·x + (1-α)·G(z) (Gulrajani et al. 2017).

    Args:
        critic: callable mapping a batch to critic scores.
        real, fake: batches of the same shape.
        alpha: interpolation weights, shape [batch], drawn from U[0, 1] per example
            (not a normal distribution, as in the keras-io example that inspired many copies).

    Returns one penalty per critic score: per example, or per pack for a packing critic.
    """
    alpha = ops.reshape(alpha, [-1] + [1] * (len(real.shape) - 1))
    interpolated = alpha * real + (1.0 - alpha) * fake
    return ops.square(safe_norm(input_gradients(critic, interpolated), axis=1) - 1.0)


def r1_penalty(critic, real):
    """||grad_x D(x)||₂² per example on real data (Mescheder et al. 2018, Eq. 9, without γ/2)."""
    return ops.sum(ops.square(input_gradients(critic, real)), axis=1)


def input_gradients(critic, inputs):
    """The gradient of each of the critic's scores w.r.t. its input, flattened: [scores, -1].

    A packing critic (PacGAN) scores packs of m consecutive examples and its input is the
    whole pack, so each row holds a pack's gradient."""
    import tensorflow as tf  # ganzoo targets the TensorFlow backend (checked at import).

    with tf.GradientTape() as tape:
        tape.watch(inputs)
        scores = critic(inputs)
    gradients = tape.gradient(scores, inputs)
    num_scores = ops.shape(ops.reshape(scores, [-1]))[0]
    return ops.reshape(gradients, [num_scores, -1])


def _per_example(scores):
    """Discriminator outputs of shape [batch, 1] (or [batch]) as a [batch] vector."""
    return ops.reshape(scores, [-1])


# The generator loss's gradient w.r.t. D's logit l on a generated example, per example: the
# factor through which every generator gradient flows. Minimax: d/dl log(1 - σ(l)) = -σ(l) =
# -D(G(z)), which vanishes as D rejects the fakes (Goodfellow et al. 2014, Sec. 3); non-saturating:
# d/dl -log σ(l) = -(1 - σ(l)), largest exactly then. |·| is ½ for both at the balance D = ½.
GENERATOR_LOGIT_GRADIENT = {
    "minimax": lambda logits: -ops.sigmoid(_per_example(logits)),
    "non_saturating": lambda logits: -ops.sigmoid(-_per_example(logits)),  # = σ(l) - 1, exact near 0 too
}
