"""Unrolled GAN (Metz et al. 2017): the generator plays against a look-ahead discriminator."""

import keras
import tensorflow as tf
from keras import ops

from ganzoo import precision
from ganzoo.gan import GAN, resolve_optimizer
from ganzoo.models.common import adam, build_networks, critic_normalization_for, model_regularizers
from ganzoo.registry import register



def check_unrollable(optimizer):
    """Raises ValueError unless the look-ahead reproduces `optimizer`'s steps exactly: plain
    Adam, or SGD without momentum, and none of the options that change a step (they would act
    on the real update and not on the unrolled ones)."""
    kind = type(optimizer)
    if kind is not keras.optimizers.Adam and not (kind is keras.optimizers.SGD and not optimizer.momentum):
        raise ValueError(f"UnrolledGAN unrolls Adam or plain SGD discriminator updates; got {kind.__name__}. "
                         "Compile with d_optimizer=keras.optimizers.Adam(...).")
    options = {"amsgrad": getattr(optimizer, "amsgrad", False), "weight_decay": optimizer.weight_decay,
               "clipnorm": optimizer.clipnorm, "clipvalue": optimizer.clipvalue,
               "global_clipnorm": optimizer.global_clipnorm, "use_ema": optimizer.use_ema,
               "gradient_accumulation_steps": optimizer.gradient_accumulation_steps}
    used = [f"{key}={value!r}" for key, value in options.items() if value]
    if used:
        raise ValueError(f"UnrolledGAN's look-ahead reproduces plain {kind.__name__} steps, so the discriminator "
                         f"optimiser's {', '.join(used)} would act on its real updates only; compile without it.")

@keras.saving.register_keras_serializable(package="ganzoo")
class UnrolledGAN(GAN):
    """A GAN whose generator loss is taken against the discriminator after K more updates.

    For the generator update, the discriminator's weights are advanced `unroll_steps` times by
    the discriminator optimiser's own rule (Adam from its current moments, or SGD), applied
    functionally through `stateless_call`: the real discriminator weights and optimiser state
    stay untouched. With `second_order=True` the generator's gradient flows through the
    unrolled updates (how the discriminator would react to the generator's move, the term that
    counters mode collapse); `second_order=False` stops it there, leaving only the look-ahead.

    The unrolled steps use the last critic step's real minibatch and the generator's fakes,
    and the discriminator's whole loss: the objective's, the regularisers' penalties (a
    gradient penalty on the last critic step's interpolation weights; a lazy R1 on every
    unrolled step, at its plain weight) and their constraints (weight clipping after each
    unrolled step). Under `tf.distribute` each replica unrolls on its own share of the batch.

    Args:
        unroll_steps: K, the number of look-ahead discriminator updates.
        second_order: whether the generator's gradient flows through the unrolled updates.
        **kwargs: the `GAN` arguments.

    Reference: Metz, Poole, Pfau, Sohl-Dickstein, "Unrolled Generative Adversarial Networks",
    ICLR 2017.
    """

    def __init__(self, *args, unroll_steps=5, second_order=True, **kwargs):
        super().__init__(*args, **kwargs)
        if int(unroll_steps) < 0:
            raise ValueError(f"unroll_steps must be >= 0; got {unroll_steps}.")
        self.unroll_steps = int(unroll_steps)
        self.second_order = bool(second_order)

    def generator_objective(self, real, latent, training=True, alpha=None, labels=None):
        fake = self._generate(latent, training)
        weights = [tf.identity(v.value) for v in self.discriminator.trainable_variables]
        frozen = [v.value for v in self.discriminator.non_trainable_variables]
        unroll_fake = fake if self.second_order else tf.stop_gradient(fake)
        slots = self._optimizer_slots()

        def score(weights, data):
            scores, _ = self.discriminator.stateless_call(weights, frozen, data, training=training)
            return precision.at_least_float32(scores)

        # Under mixed_float16 the look-ahead's gradients are loss-scaled like the real ones.
        loss_scale = getattr(self.d_optimizer, "dynamic_scale", None)
        for _ in range(self.unroll_steps):
            with tf.GradientTape() as tape:
                tape.watch(weights)
                loss = ops.mean(self._lookahead_loss(lambda data: score(weights, data), real, unroll_fake, alpha))
                if loss_scale is not None:
                    loss = loss * ops.cast(loss_scale, loss.dtype)
            gradients = tape.gradient(loss, weights)
            if loss_scale is not None:
                gradients = [g / ops.cast(loss_scale, g.dtype) for g in gradients]
            weights, slots = self._functional_update(weights, gradients, slots)
            for regularizer in self.regularizers:
                if regularizer.constrains_weights:
                    weights = regularizer.constrain(weights)
        fake_scores = score(weights, fake)
        return self.objective.generator_loss(fake_scores), fake_scores

    def _lookahead_loss(self, critic, real, fake, alpha):
        """The discriminator's per-example loss, penalties included, for an unrolled step."""
        real_scores = critic(real)
        per_example = self.objective.discriminator_loss(real_scores, critic(fake))
        for regularizer in self.regularizers:
            penalty, _ = regularizer.penalty(critic, real, fake, alpha, real_scores, step=None)
            if penalty is not None:
                per_example = per_example + penalty
        return per_example

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """`GAN.compile`; the discriminator's optimiser must be one the look-ahead reproduces."""
        d_optimizer = resolve_optimizer(d_optimizer or self.default_optimizers["discriminator"])
        check_unrollable(precision.inner_optimizer(d_optimizer))  # before anything is installed
        super().compile(d_optimizer, g_optimizer, **kwargs)

    # The discriminator optimiser's update rule as a pure function of tensors, since Keras's
    # `Optimizer.stateless_apply` is not available on the TensorFlow backend.
    def _optimizer_slots(self):
        optimizer = precision.inner_optimizer(self.d_optimizer)
        if type(optimizer) is keras.optimizers.Adam:
            variables = self.discriminator.trainable_variables
            index = [optimizer._get_variable_index(v) for v in variables]
            return {
                "step": ops.cast(optimizer.iterations, variables[0].dtype),
                "m": [tf.identity(optimizer._momentums[i].value) for i in index],
                "v": [tf.identity(optimizer._velocities[i].value) for i in index],
            }
        return {}

    def _functional_update(self, weights, gradients, slots):
        optimizer = precision.inner_optimizer(self.d_optimizer)
        learning_rate = ops.cast(optimizer.learning_rate, weights[0].dtype)
        if not slots:
            return [w - learning_rate * g for w, g in zip(weights, gradients)], slots
        # Keras's Adam, step for step (keras/src/optimizers/adam.py).
        beta_1, beta_2 = optimizer.beta_1, optimizer.beta_2
        step = slots["step"] + 1.0
        alpha = learning_rate * ops.sqrt(1.0 - beta_2**step) / (1.0 - beta_1**step)
        m = [m + (g - m) * (1.0 - beta_1) for m, g in zip(slots["m"], gradients)]
        v = [v + (ops.square(g) - v) * (1.0 - beta_2) for v, g in zip(slots["v"], gradients)]
        # sqrt's gradient is infinite at 0 (a weight whose gradient was always 0): floor v.
        new_weights = [w - alpha * m_ / (ops.sqrt(ops.maximum(v_, 1e-30)) + optimizer.epsilon)
                       for w, m_, v_ in zip(weights, m, v)]
        return new_weights, {"step": step, "m": m, "v": v}

    def get_config(self):
        config = super().get_config()
        config.update(unroll_steps=self.unroll_steps, second_order=self.second_order)
        return config


@register("unrolled_gan")
def unrolled_gan(data_shape, unroll_steps=5, second_order=True, objective="minimax", regularizers=None,
                 critic_normalization="auto", architecture="auto", latent_dim=None, generator_units=None, discriminator_units=None,
                 filters=64, d_learning_rate=1e-4, g_learning_rate=1e-3, seed=None, ema_decay=None,
                 synchronized_batch_norm=False):
    """Metz et al. 2017: generator trained against the discriminator unrolled K steps ahead.

    Defaults from the paper's mixture experiments: K = 5, the gradient flowing through the
    unrolled updates, minimax objective, Adam β1 0.5 with learning rates 1e-4 (discriminator)
    and 1e-3 (generator), MLP networks for vectors (latent 256, G 2x128 ReLU, D 1x128); the
    DCGAN networks for images (layer normalisation in D with a per-example penalty,
    `critic_normalization="auto"`). Any objective and regularisers: the look-ahead unrolls
    the discriminator's whole loss.

    Reference: Metz, Poole, Pfau, Sohl-Dickstein, "Unrolled Generative Adversarial Networks",
    ICLR 2017.
    """
    regularizers = model_regularizers(regularizers)
    generator, discriminator = build_networks(data_shape, architecture, latent_dim, generator_units,
                                              discriminator_units, filters,
                                              critic_normalization_for(critic_normalization, regularizers),
                                              synchronized_batch_norm=synchronized_batch_norm)
    return UnrolledGAN(generator, discriminator, objective=objective, regularizers=regularizers, unroll_steps=unroll_steps,
                       second_order=second_order, seed=seed, ema_decay=ema_decay,
                       default_optimizers={"discriminator": adam(d_learning_rate), "generator": adam(g_learning_rate)},
                       name="unrolled_gan")
