"""Adversarial objectives and regularisers as small pure functions.

Every loss takes the discriminator's raw outputs (logits for the GAN objectives, critic values
for the Wasserstein one) and returns **one value per example**, so the caller chooses the
reduction: `GAN.train_step` sums and divides by the *global* batch, which keeps gradients right
under `tf.distribute` (each replica's gradients are summed across replicas).

Objectives are selected by name through `OBJECTIVES`, one dict, not if/elif chains.
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
    import tensorflow as tf  # ganzoo targets the TensorFlow backend (checked at import).

    alpha = ops.reshape(alpha, [-1] + [1] * (len(real.shape) - 1))
    interpolated = alpha * real + (1.0 - alpha) * fake
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        scores = critic(interpolated)
    gradients = tape.gradient(scores, interpolated)
    # One norm per critic score: a packing critic (PacGAN) scores packs of m consecutive
    # examples, its input is the whole pack, so the norm runs over the pack.
    num_scores = ops.shape(ops.reshape(scores, [-1]))[0]
    norms = safe_norm(ops.reshape(gradients, [num_scores, -1]), axis=1)
    return ops.square(norms - 1.0)


def clip_weights(variables, clip_value):
    """Clamps each variable to [-c, c] in place (Arjovsky et al. 2017, Algorithm 1, line 7)."""
    for variable in variables:
        variable.assign(ops.clip(variable, -clip_value, clip_value))


def _per_example(scores):
    """Discriminator outputs of shape [batch, 1] (or [batch]) as a [batch] vector."""
    return ops.reshape(scores, [-1])


# name -> (discriminator loss, generator loss, whether outputs are logits of a probability)
OBJECTIVES = {
    "minimax": (minimax_discriminator_loss, minimax_generator_loss, True),
    "non_saturating": (minimax_discriminator_loss, non_saturating_generator_loss, True),
    "wasserstein": (wasserstein_critic_loss, wasserstein_generator_loss, False),
}


def get_objective(name):
    """Returns (discriminator_loss, generator_loss, outputs_are_logits) for an objective name."""
    if name not in OBJECTIVES:
        raise ValueError(
            f"Unknown objective {name!r}. Valid objectives: {', '.join(sorted(OBJECTIVES))}."
        )
    return OBJECTIVES[name]



# The generator loss's gradient w.r.t. D's logit l on a generated example, per example: the
# factor through which every generator gradient flows. Minimax: d/dl log(1 - σ(l)) = -σ(l) =
# -D(G(z)), which vanishes as D rejects the fakes (Goodfellow et al. 2014, Sec. 3); non-saturating:
# d/dl -log σ(l) = -(1 - σ(l)), largest exactly then. |·| is ½ for both at the balance D = ½.
GENERATOR_LOGIT_GRADIENT = {
    "minimax": lambda logits: -ops.sigmoid(_per_example(logits)),
    "non_saturating": lambda logits: -ops.sigmoid(-_per_example(logits)),  # = σ(l) - 1, exact near 0 too
}
