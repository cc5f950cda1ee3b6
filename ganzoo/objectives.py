"""Adversarial objectives as values: what D and G minimise, and how D's scores read.

An `Objective` holds the two losses (per example, from `ganzoo.losses`), the metrics its scores
report, and the training-health signals that mean something for it. `GAN` takes one by value,
name or config (`get`), saves it with the model (`serialize`), and never branches on which one
it is. Built in: minimax and non-saturating (Goodfellow et al. 2014), Wasserstein (Arjovsky et
al. 2017), hinge (Lim & Ye 2017; Miyato et al. 2018; SAGAN) and least squares (Mao et al. 2017).

A new objective is a subclass with `name`, the two losses and its metrics, registered with
`keras.saving.register_keras_serializable` so that saved models find it again.
"""

import keras
from keras import ops

from ganzoo import losses, named_values


class Objective(named_values.NamedValue):
    """Base class: the discriminator's and the generator's losses, per example.

    Subclasses set:
        name: the objective's name in `ganzoo.get(..., objective=name)` and saved configs.
        reads: how D's scores read: "probability" (logits of D(x)), "critic" (unbounded values)
            or "least_squares" (D(x) itself, with targets 1 for real and 0 for generated).
        metric_names: what `score_metrics` reports every step (training and evaluation).
        health_metric_names: what `health_metrics` reports in training (with health signals on).
    """

    name = None
    reads = "probability"
    metric_names = ()
    health_metric_names = ()
    needs_lipschitz = False  # the loss is bounded only for a Lipschitz critic (GAN warns without a regulariser)

    def discriminator_loss(self, real_scores, fake_scores):
        raise NotImplementedError

    def generator_loss(self, fake_scores):
        raise NotImplementedError

    def score_metrics(self, real_scores, fake_scores):
        """{name: value} of `metric_names` for one discriminator update's scores."""
        raise NotImplementedError

    def health_metrics(self, real_scores, fake_scores, generator_fake_scores):
        """{name: value} of `health_metric_names`: D's scores in its last update, and the
        scores the generator's update was taken against."""
        return {}

    def __eq__(self, other):
        if isinstance(other, str):  # `gan.objective == "hinge"`, as when objectives were names
            return not self.get_config() and other == self.name
        return super().__eq__(other)

    def __hash__(self):
        return hash(self.name) if not self.get_config() else hash(type(self))


def _mean(values):
    return ops.mean(ops.reshape(values, [-1]))


def _accuracies(real_scores, fake_scores, threshold):
    """D's accuracy on real (score above `threshold`) and on generated data (below it)."""
    return {"d_acc_real": _mean(ops.cast(real_scores > threshold, "float32")),
            "d_acc_fake": _mean(ops.cast(fake_scores < threshold, "float32"))}


class _LogitObjective(Objective):
    """D outputs logits of a probability: minimax and non-saturating share D's loss."""

    reads = "probability"
    metric_names = ("d_real", "d_fake")
    # g_logit_grad: |dL_G/dl| on the fakes, the factor every generator gradient flows through
    # (losses.GENERATOR_LOGIT_GRADIENT); what vanishes when D wins under minimax.
    health_metric_names = ("d_acc_real", "d_acc_fake", "g_logit_grad")

    def discriminator_loss(self, real_scores, fake_scores):
        return losses.minimax_discriminator_loss(real_scores, fake_scores)

    def score_metrics(self, real_scores, fake_scores):
        return {"d_real": _mean(ops.sigmoid(real_scores)), "d_fake": _mean(ops.sigmoid(fake_scores))}

    def health_metrics(self, real_scores, fake_scores, generator_fake_scores):
        return {**_accuracies(real_scores, fake_scores, 0.0),
                "g_logit_grad": _mean(ops.abs(losses.GENERATOR_LOGIT_GRADIENT[self.name](generator_fake_scores)))}


@keras.saving.register_keras_serializable(package="ganzoo")
class Minimax(_LogitObjective):
    """Goodfellow et al. 2014, Eq. 1: G minimises log(1 - D(G(z))); saturates when D wins."""

    name = "minimax"

    def generator_loss(self, fake_scores):
        return losses.minimax_generator_loss(fake_scores)


@keras.saving.register_keras_serializable(package="ganzoo")
class NonSaturating(_LogitObjective):
    """Goodfellow et al. 2014, Sec. 3: G minimises -log D(G(z)) instead."""

    name = "non_saturating"

    def generator_loss(self, fake_scores):
        return losses.non_saturating_generator_loss(fake_scores)


@keras.saving.register_keras_serializable(package="ganzoo")
class Wasserstein(Objective):
    """Arjovsky et al. 2017: the critic minimises E[f(G(z))] - E[f(x)], G minimises -E[f(G(z))].

    Needs a Lipschitz critic: weight clipping, a gradient penalty or spectral normalisation
    (`ganzoo.regularizers`). Reports the critic's values and E[f(x)] - E[f(G(z))], its estimate
    of the Wasserstein distance (up to the Lipschitz constant)."""

    name = "wasserstein"
    reads = "critic"
    needs_lipschitz = True
    metric_names = ("critic_real", "critic_fake", "wasserstein_estimate")

    def discriminator_loss(self, real_scores, fake_scores):
        return losses.wasserstein_critic_loss(real_scores, fake_scores)

    def generator_loss(self, fake_scores):
        return losses.wasserstein_generator_loss(fake_scores)

    def score_metrics(self, real_scores, fake_scores):
        real, fake = _mean(real_scores), _mean(fake_scores)
        return {"critic_real": real, "critic_fake": fake, "wasserstein_estimate": real - fake}


@keras.saving.register_keras_serializable(package="ganzoo")
class Hinge(Objective):
    """Lim & Ye 2017, as SNGAN and SAGAN use it: hinge loss for D, G minimises -D(G(z)).

    D minimises max(0, 1 - D(x)) + max(0, 1 + D(G(z))). D's raw scores are margins: above 0 it calls an example real, so its accuracies are
    reported; G's gradient w.r.t. a score is always -1, so there is no logit gradient to watch."""

    name = "hinge"
    reads = "critic"
    metric_names = ("critic_real", "critic_fake")
    health_metric_names = ("d_acc_real", "d_acc_fake")

    def discriminator_loss(self, real_scores, fake_scores):
        return losses.hinge_discriminator_loss(real_scores, fake_scores)

    def generator_loss(self, fake_scores):
        return losses.hinge_generator_loss(fake_scores)

    def score_metrics(self, real_scores, fake_scores):
        return {"critic_real": _mean(real_scores), "critic_fake": _mean(fake_scores)}

    def health_metrics(self, real_scores, fake_scores, generator_fake_scores):
        return _accuracies(real_scores, fake_scores, 0.0)


@keras.saving.register_keras_serializable(package="ganzoo")
class LeastSquares(Objective):
    """Mao et al. 2017 (LSGAN): least-squares losses, D's targets 1 (real) and 0, G's 1.

    Eq. 9 with a = 0, b = c = 1: D minimises ½(D(x) - 1)² + ½D(G(z))², G minimises
    ½(D(G(z)) - 1)². D's output is its score itself (no sigmoid): `d_real`, `d_fake` are its means (targets 1
    and 0), its accuracies split at ½, and `g_logit_grad` = |D(G(z)) - 1|, which unlike
    minimax's does not vanish when D rejects the fakes."""

    name = "least_squares"
    reads = "least_squares"
    metric_names = ("d_real", "d_fake")
    health_metric_names = ("d_acc_real", "d_acc_fake", "g_logit_grad")

    def discriminator_loss(self, real_scores, fake_scores):
        return losses.least_squares_discriminator_loss(real_scores, fake_scores)

    def generator_loss(self, fake_scores):
        return losses.least_squares_generator_loss(fake_scores)

    def score_metrics(self, real_scores, fake_scores):
        return {"d_real": _mean(real_scores), "d_fake": _mean(fake_scores)}

    def health_metrics(self, real_scores, fake_scores, generator_fake_scores):
        return {**_accuracies(real_scores, fake_scores, 0.5),
                "g_logit_grad": _mean(ops.abs(generator_fake_scores - 1.0))}


OBJECTIVES = {cls.name: cls for cls in (Minimax, NonSaturating, Wasserstein, Hinge, LeastSquares)}


def get(identifier):
    """An Objective from an instance, a name ("hinge"), {"name": ...} or a serialized config."""
    return named_values.resolve(identifier, Objective, OBJECTIVES, "objective")


def serialize(objective):
    """A built-in objective's name (what older ganzoo files hold too), else its Keras config."""
    if OBJECTIVES.get(objective.name) is type(objective) and not objective.get_config():
        return objective.name
    return keras.saving.serialize_keras_object(objective)
