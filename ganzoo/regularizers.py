"""Discriminator regularisers as values: a penalty added to D's loss, a constraint applied after
its update, or a change to its network.

`GAN(..., regularizers=[...])` takes instances, names ("gradient_penalty", "weight_clipping",
"r1", "spectral_norm") or serialized configs (`get`), saves them with the model, and asks each
one what it does; it never branches on which one it is:

- `penalty(...)`: per-score values added to the discriminator's loss (gradient penalty, R1),
  and the metrics that report them;
- `constrain(weights)`: the discriminator's weights after each of its updates (weight clipping);
- `prepare_discriminator(discriminator)`: the network the GAN trains (spectral normalisation);
- `check(discriminator)`: refuses a discriminator the regulariser cannot act on as intended.
"""

import keras
from keras import ops

from ganzoo import losses, named_values


class Regularizer(named_values.NamedValue):
    """Base class. Subclasses set `name` and override what they do.

    Attributes:
        name: the name `get` knows it by.
        metric_names: what `penalty` reports.
        constrains_weights: whether `constrain` changes the weights (then the GAN applies it
            after every discriminator update).
        forbids_batch_norm: whether a BatchNorm discriminator defeats it (see `check`).
        normalization_instead: what the builders' `critic_normalization="auto"` gives the
            discriminator in place of BatchNorm when this regulariser forbids it.
        bounds_lipschitz: whether it keeps the critic Lipschitz (what a Wasserstein critic needs).
    """

    name = None
    metric_names = ()
    constrains_weights = False
    forbids_batch_norm = False
    normalization_instead = "layer"
    bounds_lipschitz = False

    def penalty(self, critic, real, fake, alpha, real_scores, step=None):
        """(per-score penalty to add to D's loss, or None; {metric: value or (value, weight)}).

        `critic` maps a batch to scores; `alpha` are the step's U[0, 1] interpolation weights
        per example; `real_scores` are D's scores on `real` (their shape is one penalty's);
        `step` is the discriminator's update count (None: in a look-ahead, apply every time)."""
        return None, {}

    def constrain(self, weights):
        """The discriminator's trainable weights (tensors) as they should be after an update."""
        return weights

    def prepare_discriminator(self, discriminator):
        """The discriminator the GAN trains; must be idempotent (a reloaded GAN's network has
        been prepared already)."""
        return discriminator

    def check(self, discriminator):
        """Raises ValueError for a discriminator this regulariser cannot act on as intended."""
        if self.forbids_batch_norm and has_batch_norm(discriminator):
            raise ValueError(
                f"With {self!r} the discriminator must not use BatchNorm: {self._batch_norm_reason} "
                "Build it with critic_normalization='layer' or 'none' (the zoo's builders pick "
                "layer normalisation for it with critic_normalization='auto').")

    _batch_norm_reason = ""



_PER_EXAMPLE_REASON = ("its penalty is on each example's input gradient, and BatchNorm makes every score depend on "
                       "the whole batch (Gulrajani et al. 2017, Sec. 4).")


@keras.saving.register_keras_serializable(package="ganzoo")
class GradientPenalty(Regularizer):
    """Gulrajani et al. 2017 (WGAN-GP): λ·(||∇f(x̂)||₂ - 1)² at x̂ between real and generated data.

    See `losses.gradient_penalty`. Reports `gradient_penalty`, the mean
    of (||∇f(x̂)||₂ - 1)² before the weight."""

    name = "gradient_penalty"
    metric_names = ("gradient_penalty",)
    forbids_batch_norm = True
    bounds_lipschitz = True
    _batch_norm_reason = _PER_EXAMPLE_REASON

    def __init__(self, weight=10.0):
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight <= 0:
            raise ValueError(f"GradientPenalty's weight must be a positive number (λ, e.g. 10); got {weight!r}.")
        self.weight = float(weight)

    def penalty(self, critic, real, fake, alpha, real_scores, step=None):
        penalty = losses.gradient_penalty(critic, real, fake, alpha)
        return self.weight * penalty, {"gradient_penalty": ops.mean(penalty)}

    def get_config(self):
        return {"weight": self.weight}


@keras.saving.register_keras_serializable(package="ganzoo")
class WeightClipping(Regularizer):
    """Arjovsky et al. 2017 (WGAN): every critic weight clipped to [-c, c] after each update.

    Algorithm 1, line 7. BatchNorm undoes it: normalisation divides out the scale of the weights before it, so the
    clipped weights no longer bound the critic's Lipschitz constant, and a BatchNorm critic is
    refused. The paper's own DCGAN critic had BatchNorm all the same; `allow_batch_norm=True`
    builds that (the `wgan` model does, for images) knowing the bound does not hold."""

    name = "weight_clipping"
    constrains_weights = True
    bounds_lipschitz = True
    normalization_instead = "none"  # layer normalisation would divide out the weights' scale too
    _batch_norm_reason = ("BatchNorm divides out the scale of the weights before it, so clipping them no longer "
                          "bounds the critic's Lipschitz constant.")

    def __init__(self, clip_value=0.01, allow_batch_norm=False):
        if not isinstance(clip_value, (int, float)) or isinstance(clip_value, bool) or clip_value <= 0:
            raise ValueError(f"WeightClipping's clip_value must be a positive number (c, e.g. 0.01); got {clip_value!r}.")
        self.clip_value = float(clip_value)
        self.allow_batch_norm = bool(allow_batch_norm)
        self.forbids_batch_norm = not self.allow_batch_norm

    def constrain(self, weights):
        return [ops.clip(weight, -self.clip_value, self.clip_value) for weight in weights]

    def get_config(self):
        return {"clip_value": self.clip_value, "allow_batch_norm": self.allow_batch_norm}


@keras.saving.register_keras_serializable(package="ganzoo")
class R1(Regularizer):
    """Mescheder et al. 2018 (R1): (γ/2)·||∇D(x)||₂² on real data, optionally lazy (StyleGAN2).

    Eq. 9: it keeps D flat on the data manifold. Reports `r1_penalty`, the mean ||∇D(x)||₂² (on the steps it is taken).

    `interval` > 1 is StyleGAN2's lazy regularisation (Karras et al. 2020, Sec. 3.1): the
    penalty is taken on one discriminator update in `interval`, multiplied by `interval` so
    that its average weight is unchanged (StyleGAN2: γ = 10 at 1024², interval 16)."""

    name = "r1"
    metric_names = ("r1_penalty",)
    forbids_batch_norm = True
    _batch_norm_reason = _PER_EXAMPLE_REASON

    def __init__(self, weight=10.0, interval=1):
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight <= 0:
            raise ValueError(f"R1's weight must be a positive number (γ, e.g. 10); got {weight!r}.")
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ValueError(f"R1's interval must be a positive integer (1: every update; 16: StyleGAN2's lazy R1); "
                             f"got {interval!r}.")
        self.weight = float(weight)
        self.interval = interval

    def penalty(self, critic, real, fake, alpha, real_scores, step=None):
        scale = 0.5 * self.weight
        if self.interval == 1 or step is None:
            penalty = losses.r1_penalty(critic, real)
            return scale * penalty, {"r1_penalty": ops.mean(penalty)}
        due = ops.equal(ops.mod(step, self.interval), 0)
        penalty = ops.cond(due, lambda: losses.r1_penalty(critic, real),
                           lambda: ops.zeros_like(ops.reshape(ops.cast(real_scores, real.dtype), [-1])))
        return scale * self.interval * penalty, {"r1_penalty": (ops.mean(penalty), ops.cast(due, "float32"))}

    def get_config(self):
        return {"weight": self.weight, "interval": self.interval}


@keras.saving.register_keras_serializable(package="ganzoo")
class SpectralNormalization(Regularizer):
    """Miyato et al. 2018: spectral normalisation of D's Dense and Conv2D layers.

    Each is wrapped in `keras.layers.SpectralNormalization`, whose kernel is divided by its
    largest singular value (estimated by `power_iterations` of power iteration per training
    call), so each layer is 1-Lipschitz. Keras's wrapper writes the normalised kernel back into
    the layer at each training call and the next update starts from it (a projection, where
    the paper differentiates through the division; the same fixed point; the unrolled GAN's
    look-ahead, which calls the network statelessly, differentiates through it). The wrapper
    keeps its variables' dtype (float32) under mixed precision, so the kernel it writes back
    is not rounded to bfloat16; the wrapped layer computes in the mixed policy. A BatchNorm
    discriminator is refused, since normalising activations undoes the bound (SNGAN's have
    none). It wraps the layers of a flat functional or Sequential discriminator and keeps
    their weights."""

    name = "spectral_norm"
    bounds_lipschitz = True
    forbids_batch_norm = True
    normalization_instead = "none"
    _batch_norm_reason = ("BatchNorm divides each activation by its batch's spread, which undoes the "
                          "1-Lipschitz bound of the normalised layer before it.")

    def __init__(self, power_iterations=1):
        if not isinstance(power_iterations, int) or isinstance(power_iterations, bool) or power_iterations < 1:
            raise ValueError(f"SpectralNormalization's power_iterations must be a positive integer; got {power_iterations!r}.")
        self.power_iterations = power_iterations

    def prepare_discriminator(self, discriminator):
        if any(isinstance(layer, keras.layers.SpectralNormalization) for layer in _layers(discriminator)):
            return discriminator  # prepared already (a reloaded GAN)
        if not any(isinstance(layer, _NORMALIZED_LAYERS) for layer in _layers(discriminator)):
            raise ValueError(f"Spectral normalisation wraps Dense and Conv2D layers; discriminator "
                             f"{discriminator.name!r} has none.")

        nested = [layer.name for layer in discriminator.layers if isinstance(layer, keras.Model)]
        if nested:
            raise ValueError(f"Spectral normalisation wraps the layers of a flat functional or Sequential "
                             f"discriminator; {discriminator.name!r} nests model(s) {', '.join(nested)}: flatten it.")

        def wrap(layer):
            copy = layer.__class__.from_config(layer.get_config())
            if not isinstance(layer, _NORMALIZED_LAYERS):
                return copy
            # float32 variables and normalisation (the policy's variable dtype); the layer inside
            # keeps the mixed policy it computes in.
            return keras.layers.SpectralNormalization(copy, power_iterations=self.power_iterations,
                                                      dtype=layer.dtype_policy.variable_dtype, name=f"{layer.name}_sn")

        try:
            normalized = keras.models.clone_model(discriminator, clone_function=wrap)
        except ValueError as error:  # a subclassed model: Keras cannot rebuild it layer by layer
            raise ValueError(f"Spectral normalisation wraps the layers of a functional or Sequential discriminator; "
                             f"{discriminator.name!r} is not one ({error}). Wrap its layers in "
                             "keras.layers.SpectralNormalization yourself.") from None
        for original, clone in zip(discriminator.layers, normalized.layers):  # keep the given weights
            (clone.layer if isinstance(clone, keras.layers.SpectralNormalization) else clone).set_weights(
                original.get_weights())
        return normalized

    def get_config(self):
        return {"power_iterations": self.power_iterations}


_NORMALIZED_LAYERS = (keras.layers.Dense, keras.layers.Conv2D)

REGULARIZERS = {cls.name: cls for cls in (GradientPenalty, WeightClipping, R1, SpectralNormalization)}


def get(identifier):
    """A Regularizer from an instance, a name ("r1"), {"name": ..., **options} or a Keras config."""
    return named_values.resolve(identifier, Regularizer, REGULARIZERS, "regularizer")


def get_list(identifiers):
    """Regularizers from a list (or one identifier) of identifiers `get` takes; each kind at
    most once."""
    if identifiers is None:
        return []
    if isinstance(identifiers, (str, dict, Regularizer)):
        identifiers = [identifiers]
    regularizers = [get(identifier) for identifier in identifiers]
    kinds = [type(regularizer).__name__ for regularizer in regularizers]
    repeated = sorted({kind for kind in kinds if kinds.count(kind) > 1})
    if repeated:
        raise ValueError(f"Regularizer(s) {', '.join(repeated)} given more than once; give each at most once.")
    return regularizers


def serialize(regularizer):
    return keras.saving.serialize_keras_object(regularizer)


def has_batch_norm(model):
    """Whether any layer of `model` (nested models included) is a BatchNormalization."""
    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in _layers(model))


def _layers(model):
    return model._flatten_layers(include_self=False, recursive=True)
