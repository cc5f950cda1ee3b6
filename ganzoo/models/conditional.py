"""Class-conditional GANs: G(z, y) with a discriminator told the class (cGAN concatenation,
projection) or asked for it (auxiliary classifier, AC-GAN), trained with `fit` on (images,
labels) data.

`ConditionalGAN` is a `GAN` whose data are (images, labels) minibatches; the networks come from
`ganzoo.conditional_networks`. Each fake is generated for the label of the real example it is
paired with (the step's real minibatch), so the generated classes follow the data's, and a
gradient penalty interpolates within a class. The registered `conditional_dcgan` (projection by
default) and `acgan` build them.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ganzoo import conditional_networks, precision
from ganzoo.data import conform as conform_real_data
from ganzoo.gan import GAN
from ganzoo.models.common import adam, critic_normalization_for, model_regularizers
from ganzoo.registry import register

CONDITIONINGS = {
    "projection": conditional_networks.projection_discriminator,
    "concat": conditional_networks.concat_discriminator,
}


@keras.saving.register_keras_serializable(package="ganzoo")
class ConditionalGAN(GAN):
    """A class-conditional GAN: `generator([z, y])`, and a discriminator that either takes the
    class, `discriminator([x, y])` -> score (concatenation or projection), or predicts it,
    `discriminator(x)` -> (score, class logits) (an auxiliary classifier, AC-GAN).

    With an auxiliary classifier both networks also minimise its cross-entropy, weighted by
    `auxiliary_weight`: D on real and generated examples, G on generated ones (Odena et al.
    2017, Sec. 3: D maximises L_S + L_C, G maximises L_C - L_S). It reports `class_acc_real`
    and `class_acc_fake`, D's classification accuracy on each.

    `fit` takes (images, labels): a dataset of such minibatches (`ganzoo.data.load(...,
    with_labels=True)`), or arrays `x` (images) and `y` (labels). `generate(n, labels=...)`
    draws samples of the given classes; `gan([z, y])` and `predict` take both.

    Args:
        generator, discriminator: Keras models as above (`ganzoo.conditional_networks`).
        num_classes: number of classes; labels are integers in [0, num_classes).
        class_names: optional names of the classes, saved with the model (the per-class
            evaluation names its scores by them).
        auxiliary_weight: weight of the auxiliary classifier's loss (AC-GAN only), > 0.
        **kwargs: the `GAN` arguments (objective, regularizers, d_steps, ema_decay, ...).
    """

    def __init__(self, generator, discriminator, num_classes, class_names=None, auxiliary_weight=1.0, **kwargs):
        if not isinstance(num_classes, (int, np.integer)) or isinstance(num_classes, bool) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2; got {num_classes!r}.")
        if not isinstance(auxiliary_weight, (int, float)) or isinstance(auxiliary_weight, bool) or auxiliary_weight <= 0:
            raise ValueError(f"auxiliary_weight must be a positive number; got {auxiliary_weight!r}.")
        self.num_classes = int(num_classes)
        self.auxiliary_classifier = len(discriminator.inputs) == 1 and len(discriminator.outputs) == 2
        if not self.auxiliary_classifier and len(discriminator.inputs) != 2:
            raise ValueError(f"A conditional GAN's discriminator takes [data, label] (concat, projection) or returns "
                             f"[score, class logits] (an auxiliary classifier); {discriminator.name} takes "
                             f"{len(discriminator.inputs)} input(s) and returns {len(discriminator.outputs)}.")
        # Called by position: the inputs must come in this order (named as keras.Input(name=...)).
        for network, names in ((generator, ["latent", "label"]),
                               (discriminator, ["data"] if self.auxiliary_classifier else ["data", "label"])):
            if [tensor.name for tensor in network.inputs] != names:
                raise ValueError(f"A conditional GAN's {network.name} takes inputs named {names}, in that order; "
                                 f"it has {[tensor.name for tensor in network.inputs]}.")
        super().__init__(generator, discriminator, **kwargs)
        self.takes_labels = True
        self.class_names = list(class_names) if class_names is not None else None
        if self.class_names is not None and len(self.class_names) != self.num_classes:
            raise ValueError(f"class_names lists {len(self.class_names)} names for {self.num_classes} classes.")
        self.auxiliary_weight = float(auxiliary_weight)

    # ------------------------------------------------------------------ labels in the step
    def _real_labels(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2 or data[1] is None:
            raise ValueError("A conditional GAN trains on (images, labels); the step got images alone.")
        labels = ops.cast(data[1], "int32")
        if len(data[0].shape) == len(self.data_shape) + 2:  # grouped by fit: [batch, k] labels
            labels = ops.reshape(labels, [-1, self.d_steps])
            return [labels[:, step] for step in range(self.d_steps)]
        return [ops.reshape(labels, [-1])] * self.d_steps  # [batch] (or [batch, 1])

    def _generate(self, latent, training, use_ema=False, labels=None):
        generator = self.sampling_generator if use_ema else self.generator
        return precision.at_least_float32(generator([latent, labels], training=training))

    def _discriminate(self, data, training, labels=None):
        if self.auxiliary_classifier:
            scores, logits = self.discriminator(data, training=training)
            return precision.at_least_float32(scores), precision.at_least_float32(logits)
        return precision.at_least_float32(self.discriminator([data, labels], training=training)), None

    def _auxiliary_metric_names(self, discriminator):
        return ("class_acc_real", "class_acc_fake") if self.auxiliary_classifier else ()  # set before GAN.__init__

    def _auxiliary_losses(self, real_logits, fake_logits, labels):
        """AC-GAN's class cross-entropy, per example, for D (real and fake) and G (fake)."""
        if not self.auxiliary_classifier:
            return None, None, {}
        fake_loss = keras.losses.sparse_categorical_crossentropy(labels, fake_logits, from_logits=True)
        generator_loss = self.auxiliary_weight * fake_loss
        if real_logits is None:  # the generator's side
            return None, generator_loss, {}
        real_loss = keras.losses.sparse_categorical_crossentropy(labels, real_logits, from_logits=True)
        metrics = {"class_acc_real": _accuracy(real_logits, labels), "class_acc_fake": _accuracy(fake_logits, labels)}
        return self.auxiliary_weight * (real_loss + fake_loss), generator_loss, metrics

    def call(self, inputs, training=False):
        """`gan([z, y])`: samples of classes y (the EMA generator's when kept, the raw one's in training)."""
        latent, labels = inputs
        return self._generate(latent, training, use_ema=not training, labels=ops.cast(labels, "int32"))

    # ------------------------------------------------------------------------ data, sampling
    def _real_data(self, x, y, batch_size, shuffle):
        """(images, labels): a dataset of pairs (labels checked against num_classes as they are
        read), or arrays x (images) and y (labels), which Keras batches as it does any (x, y)."""
        if isinstance(x, tf.data.Dataset):
            if y is not None:
                raise ValueError("A dataset carries its own labels: give (images, labels) minibatches, not y.")
            pairs = conform_real_data(x, self.data_shape, labels=True)
            return pairs.map(lambda images, labels: (images, self._assert_classes(labels))), None, batch_size
        if y is None:
            raise ValueError("A conditional GAN trains on labelled data: fit(images, labels), or a dataset of "
                             "(images, labels) minibatches (ganzoo.data.load(..., with_labels=True)).")
        return conform_real_data(x, self.data_shape), self._checked_labels(y, len(x)), batch_size

    def _assert_classes(self, labels):
        """The labels, once checked to lie in [0, num_classes): an embedding on a GPU, or the
        concat discriminator's one-hot, would otherwise read others silently."""
        with tf.control_dependencies([
                tf.debugging.assert_non_negative(labels, message="labels must be class indices >= 0"),
                tf.debugging.assert_less(labels, self.num_classes,
                                         message=f"labels must be class indices < num_classes = {self.num_classes}")]):
            return tf.identity(labels)

    def _checked_labels(self, labels, count):
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be {count} integer class indices (one per example); got shape "
                             f"{labels.shape}, dtype {labels.dtype}.")
        if count and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"labels must lie in [0, {self.num_classes}); got values from {labels.min()} to "
                             f"{labels.max()}.")
        return labels.astype("int32")

    def class_index(self, label):
        """The index of a class given by index or by name (`class_names`): `gan.generate(16,
        labels=gan.class_index("Sneaker"))`. Accepts the index as text too ("7", from a command line)."""
        if isinstance(label, str) and label.strip().lstrip("-").isdigit():
            label = int(label)
        if isinstance(label, str):
            if self.class_names is None or label not in self.class_names:
                known = f"one of {self.class_names}" if self.class_names else "an index (this model has no class names)"
                raise ValueError(f"Unknown class {label!r}: give {known} or an index in [0, {self.num_classes}).")
            return self.class_names.index(label)
        return int(self._checked_labels([label], 1)[0])

    def _sample_labels(self, labels, num_samples, seed_pair):
        """`generate`'s classes: an int (all samples), one per sample, or None: uniform over the
        classes, drawn from the seed (so the same seed gives the same classes)."""
        if labels is None:
            return tf.random.stateless_uniform([num_samples], tf.random.experimental.stateless_fold_in(seed_pair, -1),
                                               0, self.num_classes, dtype=tf.int32).numpy()
        if np.ndim(labels) == 0:
            labels = np.full(num_samples, labels)
        return self._checked_labels(labels, num_samples)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, class_names=self.class_names,
                      auxiliary_weight=self.auxiliary_weight)
        return config


def _accuracy(logits, labels):
    return ops.mean(ops.cast(ops.equal(ops.argmax(logits, axis=-1), ops.cast(labels, "int64")), "float32"))


@register("conditional_dcgan")
def conditional_dcgan(data_shape, num_classes=10, conditioning="projection", class_names=None, latent_dim=100,
                      filters=64, objective="non_saturating", regularizers=None, d_steps=1,
                      critic_normalization="auto", seed=None, ema_decay=None, synchronized_batch_norm=False):
    """Class-conditional DCGAN: G(z, y) with a label embedding, D told the class by projection
    (Miyato & Koyama 2018; `conditioning="concat"`: the cGAN's input concatenation).

    The DCGAN's networks, loss and optimisers (`dcgan`: Adam 2e-4, β1 0.5, non-saturating), with
    the label added where each conditioning form adds it (`ganzoo.conditional_networks`).
    Trains on (images, labels); `generate(n, labels=...)`.

    References: Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014; Miyato &
    Koyama, "cGANs with Projection Discriminator", ICLR 2018.
    """
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"Unknown conditioning {conditioning!r}; valid: {', '.join(CONDITIONINGS)}.")
    regularizers = model_regularizers(regularizers)
    generator = conditional_networks.conditional_generator(latent_dim, data_shape, num_classes, filters=filters,
                                                           synchronized_batch_norm=synchronized_batch_norm)
    discriminator = CONDITIONINGS[conditioning](
        data_shape, num_classes, filters=filters, synchronized_batch_norm=synchronized_batch_norm,
        normalization=critic_normalization_for(critic_normalization, regularizers))
    return ConditionalGAN(generator, discriminator, num_classes, class_names=class_names, objective=objective,
                          d_steps=d_steps, regularizers=regularizers, seed=seed, ema_decay=ema_decay,
                          default_optimizers={"discriminator": adam(2e-4), "generator": adam(2e-4)},
                          name="conditional_dcgan")


@register("acgan")
def acgan(data_shape, num_classes=10, class_names=None, auxiliary_weight=1.0, latent_dim=100, filters=64,
          objective="non_saturating", regularizers=None, d_steps=1, critic_normalization="auto", seed=None,
          ema_decay=None, synchronized_batch_norm=False):
    """Odena et al. 2017 (AC-GAN): G(z, y), and a discriminator that also classifies its input.

    D has two heads on one trunk, the real/fake score and class logits; both networks add the
    class cross-entropy on generated examples (D also on real ones), weighted by
    `auxiliary_weight`. DCGAN networks, non-saturating loss, Adam 2e-4, β1 0.5, as the paper's
    DCGAN-style models.

    Reference: Odena, Olah, Shlens, "Conditional Image Synthesis with Auxiliary Classifier
    GANs", ICML 2017.
    """
    regularizers = model_regularizers(regularizers)
    generator = conditional_networks.conditional_generator(latent_dim, data_shape, num_classes, filters=filters,
                                                           synchronized_batch_norm=synchronized_batch_norm)
    discriminator = conditional_networks.auxiliary_classifier_discriminator(
        data_shape, num_classes, filters=filters, synchronized_batch_norm=synchronized_batch_norm,
        normalization=critic_normalization_for(critic_normalization, regularizers))
    return ConditionalGAN(generator, discriminator, num_classes, class_names=class_names,
                          auxiliary_weight=auxiliary_weight, objective=objective, d_steps=d_steps,
                          regularizers=regularizers, seed=seed, ema_decay=ema_decay,
                          default_optimizers={"discriminator": adam(2e-4), "generator": adam(2e-4)}, name="acgan")
