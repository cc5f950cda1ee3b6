"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation between two domains A and B.

Two generators, G_AB: A -> B and G_BA: B -> A, and two discriminators, D_A (real A images vs
G_BA's) and D_B (real B vs G_AB's), trained together by `fit` on (images_a, images_b) minibatches
of unpaired images (`ganzoo.unpaired_data`). The networks are the authors' (`ganzoo.cyclegan_networks`:
ResNet generator, 70x70 PatchGAN), and so are the losses, the image history pool, the optimisers
and the learning-rate policy (pytorch-CycleGAN-and-pix2pix's defaults; `--gan_mode lsgan
--lambda_A 10 --lambda_B 10 --lambda_identity 0.5 --pool_size 50 --lr 0.0002 --beta1 0.5
--lr_policy linear`).

Naming: here D_A judges domain A, D_B domain B. The authors' code names them the other way round
(their netD_A judges G_A(A), i.e. domain B).

Reference: Zhu, Park, Isola, Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", ICCV 2017.
"""

import copy
import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ganzoo import cyclegan_networks, precision
from ganzoo.registry import is_integer, is_number, is_positive_int, register

# The logs of a training step (and of `evaluate`), each a mean over the epoch so far:
LOG_NAMES = (
    "g_loss",         # both generators' total: adv_ab_loss + adv_ba_loss + cycle_loss + identity_loss
    "adv_ab_loss",    # G_AB's least-squares adversarial loss, mean (D_B(G_AB(a)) - 1)^2
    "adv_ba_loss",    # G_BA's, mean (D_A(G_BA(b)) - 1)^2
    "cycle_loss",     # cycle_weight * (mean |G_BA(G_AB(a)) - a| + mean |G_AB(G_BA(b)) - b|)
    "identity_loss",  # identity_weight * cycle_weight * (mean |G_AB(b) - b| + mean |G_BA(a) - a|); 0 when off
    "d_a_loss",       # D_A's, 0.5 * [mean (D_A(a) - 1)^2 + mean D_A(pooled fake a)^2]
    "d_b_loss",       # D_B's, alike on domain B
)
OPTIMIZER_NAMES = ("g_ab_optimizer", "g_ba_optimizer", "d_a_optimizer", "d_b_optimizer")
POOL_STREAMS = {"a": 0, "b": 1}  # the pools' random streams, folded into (seed, pool_step)


@keras.saving.register_keras_serializable(package="ganzoo")
class LinearDecayAfter(keras.optimizers.schedules.LearningRateSchedule):
    """`initial_learning_rate` until step `decay_start`, then linearly to 0 at `total_steps`
    (and 0 after): the authors' `--lr_policy linear`, `n_epochs` constant then `n_epochs_decay`
    decaying (100 + 100 epochs in the paper, so `decay_start = total_steps // 2`).

    The authors step their rate once per epoch, as 1 - max(0, epoch - n_epochs) / (n_epochs_decay + 1),
    which stops short of 0; this decays per update and reaches 0 at `total_steps`.
    """

    def __init__(self, initial_learning_rate, total_steps, decay_start):
        if not is_number(initial_learning_rate) or initial_learning_rate <= 0:
            raise ValueError(f"initial_learning_rate must be a positive number; got {initial_learning_rate!r}.")
        if not is_positive_int(total_steps):
            raise ValueError(f"total_steps must be a positive integer (the run's updates); got {total_steps!r}.")
        if not is_integer(decay_start) or not 0 <= decay_start < total_steps:
            raise ValueError(f"decay_start must be an integer in [0, total_steps = {total_steps}); got {decay_start!r}.")
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = int(total_steps)
        self.decay_start = int(decay_start)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        remaining = (self.total_steps - step) / float(self.total_steps - self.decay_start)
        return self.initial_learning_rate * ops.clip(remaining, 0.0, 1.0)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "total_steps": self.total_steps,
                "decay_start": self.decay_start}


def resize_decay(cyclegan, total_steps):
    """Stretches the four optimisers' `LinearDecayAfter` to a run of `total_steps` (decaying over
    its second half), as a fresh run of that length would have them: a finished run continued
    with more epochs then trains on instead of at the old schedule's 0. Call before `fit`
    traces the step, which reads the lengths."""
    for name in OPTIMIZER_NAMES:
        optimizer = getattr(cyclegan, name)
        schedule = getattr(optimizer, "inner_optimizer", optimizer)._learning_rate
        if isinstance(schedule, LinearDecayAfter):
            schedule.total_steps, schedule.decay_start = int(total_steps), int(total_steps) // 2


def default_optimizer(total_steps=None, decay_start=None, learning_rate=2e-4):
    """The authors' Adam(2e-4, β1 0.5, β2 0.999); given the run's `total_steps`, with the rate
    constant for `decay_start` steps (default: half the run) and then linear to 0."""
    if total_steps is not None:
        decay_start = total_steps // 2 if decay_start is None else decay_start
        learning_rate = LinearDecayAfter(learning_rate, total_steps, decay_start)
    elif decay_start is not None:
        raise ValueError("decay_start needs total_steps (the run's length in updates) to decay towards.")
    return keras.optimizers.Adam(learning_rate, beta_1=0.5, beta_2=0.999)


class _FourOptimizers:
    """`model.optimizer` of a CycleGAN, as Keras's callbacks see it (see ganzoo.optimizers):
    learning-rate callbacks act on each of `optimizers`."""

    built = True  # all four are built by CycleGAN.compile; Keras must not build this one

    def __init__(self, optimizers):
        self.optimizers = list(optimizers)

    @property
    def iterations(self):  # train steps: one update of G_AB each
        return self.optimizers[0].iterations

    @property
    def variables(self):
        return [v for optimizer in self.optimizers for v in optimizer.variables]


@keras.saving.register_keras_serializable(package="ganzoo")
class CycleGAN(keras.Model):
    """CycleGAN: two generators and two discriminators, trained with `fit` on unpaired
    (images_a, images_b) minibatches, images as floats in [-1, 1] (uint8 is scaled).

    Each step follows the authors' `optimize_parameters`: G_AB and G_BA are updated together on
    one loss, then D_A and D_B each on real images against fakes from the image pool.

    Losses (least squares, LSGAN, Mao et al. 2017; every mean is over the batch and the patch map):
      - D_X: 0.5 * [mean (D_X(real x) - 1)^2 + mean D_X(pooled fake x)^2], X in {A, B};
      - generators: mean (D_B(G_AB(a)) - 1)^2 + mean (D_A(G_BA(b)) - 1)^2
        + λ (mean |G_BA(G_AB(a)) - a| + mean |G_AB(G_BA(b)) - b|)               (cycle, λ = cycle_weight)
        + identity_weight λ (mean |G_AB(b) - b| + mean |G_BA(a) - a|)          (identity, Sec. 5.2)
      The identity term needs both domains to have one shape (G_AB must take b); with different
      shapes it is left out (and `identity_loss` logs 0).

    The image pool (Shrivastava et al. 2017, Sec. 2.3; the authors' `ImagePool`): each
    discriminator sees generated images through a history of `pool_size` of them. Image by
    image, while the pool is not full the new image is stored and shown; once full, with
    probability 1/2 a random stored image is shown and the new one takes its place, otherwise
    the new one is shown. The pools and their fill counts are non-trainable variables, saved with
    the model; their randomness comes from stateless ops seeded by (`seed`, `pool_step`), a
    counter saved too, so a reloaded model continues exactly as the original would.
    `pool_size=0` shows every discriminator the newest fakes.

    Optimisers: four, `g_ab_optimizer`, `g_ba_optimizer`, `d_a_optimizer`, `d_b_optimizer` (see
    `compile`). The authors train both generators with one Adam over their joint parameters; Adam
    is per parameter, so two Adams of the same settings on the same loss are the same update.

    Args:
        generator_ab, generator_ba: Keras models, domain A images -> domain B images and back.
        discriminator_a, discriminator_b: Keras models, images of their domain -> a map of scores.
        cycle_weight: λ of the cycle-consistency loss (10).
        identity_weight: the identity loss's weight relative to λ (0.5: 0.5 λ; 0: off).
        pool_size: images in each discriminator's history pool (50; 0: no pool).
        seed: integer seed of the pools' randomness; None picks one at random (and saves it).

    `cyclegan(a)` and `predict` translate A -> B; `translate(images, "b_to_a")` the other way.

    Single device only: the pools are not shared between replicas, so `compile` refuses a
    distribution strategy with more than one.
    """

    def __init__(self, generator_ab, generator_ba, discriminator_a, discriminator_b, cycle_weight=10.0,
                 identity_weight=0.5, pool_size=50, seed=None, **kwargs):
        super().__init__(**kwargs)
        for option, value in (("cycle_weight", cycle_weight), ("identity_weight", identity_weight)):
            if not is_number(value) or value < 0:
                raise ValueError(f"{option} must be a number >= 0; got {value!r}.")
        if not is_integer(pool_size) or pool_size < 0:
            raise ValueError(f"pool_size must be an integer >= 0 (0: no image pool); got {pool_size!r}.")
        if seed is not None and not is_integer(seed):
            raise ValueError(f"seed must be an integer or None; got {seed!r}.")
        self.generator_ab, self.generator_ba = generator_ab, generator_ba
        self.discriminator_a, self.discriminator_b = discriminator_a, discriminator_b
        self.shape_a = _image_shape(generator_ab.inputs[0], generator_ab.name)
        self.shape_b = _image_shape(generator_ab.outputs[0], generator_ab.name)
        for network, takes, makes in ((generator_ba, self.shape_b, self.shape_a),
                                      (discriminator_a, self.shape_a, None), (discriminator_b, self.shape_b, None)):
            shape_in = _image_shape(network.inputs[0], network.name)
            if shape_in != takes or (makes is not None and _image_shape(network.outputs[0], network.name) != makes):
                raise ValueError(
                    f"{network.name} does not fit the domains: generator_ab maps images {self.shape_a} (A) to "
                    f"{self.shape_b} (B), so generator_ba must map B to A and discriminator_a/_b take A/B images; "
                    f"{network.name} takes {shape_in}. Build all four for the same image shapes.")
        self.cycle_weight = float(cycle_weight)
        self.identity_weight = float(identity_weight)
        self.uses_identity = self.identity_weight > 0 and self.shape_a == self.shape_b
        if self.identity_weight > 0 and not self.uses_identity:
            warnings.warn(f"The identity loss feeds domain B images {self.shape_b} to generator_ab, which takes "
                          f"{self.shape_a}; it is left out. Pass identity_weight=0 to say so.", stacklevel=2)
        self.pool_size = int(pool_size)
        self.seed = int(seed) if seed is not None else int(tf.random.uniform([], 0, 2**31 - 1, tf.int64))
        # The history pools: the fakes each discriminator has been shown, and how many are stored.
        self.pool_a = self.add_weight(shape=(self.pool_size, *self.shape_a), initializer="zeros", dtype="float32",
                                      trainable=False, name="pool_a")
        self.pool_b = self.add_weight(shape=(self.pool_size, *self.shape_b), initializer="zeros", dtype="float32",
                                      trainable=False, name="pool_b")
        self.pool_a_count = self.add_weight(shape=(), initializer="zeros", dtype="int64", trainable=False,
                                            name="pool_a_count")
        self.pool_b_count = self.add_weight(shape=(), initializer="zeros", dtype="int64", trainable=False,
                                            name="pool_b_count")
        self.pool_step = self.add_weight(shape=(), initializer="zeros", dtype="int64", trainable=False,
                                         name="pool_step")
        self._trackers = {name: keras.metrics.Mean(name=name) for name in LOG_NAMES}
        self.g_ab_optimizer = self.g_ba_optimizer = self.d_a_optimizer = self.d_b_optimizer = None
        self.generator_only = False  # set by load_preset for a generator-only preset: fit() refuses
        self.built = True  # the networks are functional and built; Keras need not trace the model on data

    def build(self, input_shape):
        self.built = True

    def call(self, images, training=False):
        """G_AB: `cyclegan(a)` and `cyclegan.predict(a)` translate domain A images to B, float32."""
        return precision.at_least_float32(self.generator_ab(images, training=training))

    @property
    def metrics(self):
        return list(self._trackers.values())

    # ----------------------------------------------------------------------------- compile
    def compile(self, g_ab_optimizer=None, g_ba_optimizer=None, d_a_optimizer=None, d_b_optimizer=None,
                total_steps=None, decay_start=None, jit_compile="auto", run_eagerly=False, steps_per_execution=1):
        """Configures the four optimisers; each None is the authors' Adam(2e-4, β1 0.5).

        `total_steps` (the run's train steps, e.g. epochs x steps per epoch) gives those
        defaults the authors' linear policy: constant for `decay_start` steps (default half the
        run), then linear to 0 at `total_steps` (`LinearDecayAfter`). Optimisers given here are
        used as they are. Each may be an instance, a name or a serialized config.

        All four are built here, inside the model's distribution strategy scope, and are saved
        with the model (`.keras`), state included, so a loaded model continues training.
        """
        if self.distribute_strategy.num_replicas_in_sync > 1:
            raise ValueError(f"CycleGAN trains on one device: its image pools are not shared between replicas, and "
                             f"this strategy has {self.distribute_strategy.num_replicas_in_sync}. Compile and fit it "
                             "outside the strategy's scope.")
        given = dict(zip(OPTIMIZER_NAMES, (g_ab_optimizer, g_ba_optimizer, d_a_optimizer, d_b_optimizer)))
        optimizers = {name: _resolve_optimizer(value) if value is not None else default_optimizer(total_steps, decay_start)
                      for name, value in given.items()}
        if len({id(optimizer) for optimizer in optimizers.values()}) < 4:
            raise ValueError("The four optimisers must be four instances, since each keeps its own state; pass four "
                             "(or None for the defaults).")
        if precision.needs_loss_scaling(self.dtype_policy):
            optimizers = {name: precision.with_loss_scaling(optimizer) for name, optimizer in optimizers.items()}
        super().compile(optimizer=None, jit_compile=jit_compile, run_eagerly=run_eagerly,
                        steps_per_execution=steps_per_execution)
        for name, optimizer in optimizers.items():
            setattr(self, name, optimizer)
        self.optimizer = _FourOptimizers(optimizers.values())
        with self.distribute_strategy.scope():
            for name, network in zip(OPTIMIZER_NAMES, self._networks()):
                optimizers[name].build(network.trainable_variables)
        self._cyclegan_compile_config = {"jit_compile": jit_compile, "run_eagerly": run_eagerly,
                                         "steps_per_execution": steps_per_execution}

    def get_compile_config(self):
        config = dict(getattr(self, "_cyclegan_compile_config", {}))
        if config:  # the optimisers as they are now, their schedules included
            config.update({name: keras.optimizers.serialize(getattr(self, name)) for name in OPTIMIZER_NAMES})
        return config

    def compile_from_config(self, config):
        # The optimisers' variables are built by compile(), so the saved state loads into them next.
        self.compile(**config)

    def _networks(self):
        """The networks in the order of OPTIMIZER_NAMES."""
        return self.generator_ab, self.generator_ba, self.discriminator_a, self.discriminator_b

    # -------------------------------------------------------------------------- the losses
    @staticmethod
    def lsgan_discriminator_loss(real_scores, fake_scores):
        """0.5 * [mean (D(real) - 1)^2 + mean D(fake)^2], means over the batch and the patch map."""
        return 0.5 * (ops.mean(ops.square(real_scores - 1.0)) + ops.mean(ops.square(fake_scores)))

    @staticmethod
    def lsgan_generator_loss(fake_scores):
        """mean (D(G(x)) - 1)^2."""
        return ops.mean(ops.square(fake_scores - 1.0))

    def generator_losses(self, real_a, real_b, training=True):
        """({log name: loss} of the generators, fake_a, fake_b) on one pair of minibatches."""
        fake_b = self._run(self.generator_ab, real_a, training)
        fake_a = self._run(self.generator_ba, real_b, training)
        cycled_a = self._run(self.generator_ba, fake_b, training)
        cycled_b = self._run(self.generator_ab, fake_a, training)
        adv_ab = self.lsgan_generator_loss(self._run(self.discriminator_b, fake_b, training))
        adv_ba = self.lsgan_generator_loss(self._run(self.discriminator_a, fake_a, training))
        cycle = self.cycle_weight * (_mean_abs(cycled_a - real_a) + _mean_abs(cycled_b - real_b))
        if self.uses_identity:
            identity = self.identity_weight * self.cycle_weight * (
                _mean_abs(self._run(self.generator_ab, real_b, training) - real_b)
                + _mean_abs(self._run(self.generator_ba, real_a, training) - real_a))
        else:
            identity = ops.zeros((), "float32")
        losses = {"g_loss": adv_ab + adv_ba + cycle + identity, "adv_ab_loss": adv_ab, "adv_ba_loss": adv_ba,
                  "cycle_loss": cycle, "identity_loss": identity}
        return losses, fake_a, fake_b

    def discriminator_loss(self, discriminator, real, fake, training=True):
        """The LSGAN loss of `discriminator` on real images and (pooled) fakes."""
        return self.lsgan_discriminator_loss(self._run(discriminator, real, training),
                                             self._run(discriminator, ops.stop_gradient(fake), training))

    @staticmethod
    def _run(network, images, training):
        return precision.at_least_float32(network(images, training=training))

    # ------------------------------------------------------------------------- image pool
    def _pool_seed(self, stream):
        base = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(self.pool_step, tf.int64)])
        return tf.random.experimental.stateless_fold_in(base, stream)

    def query_pool(self, domain, images):
        """The images discriminator `domain` ("a" or "b") is shown for this minibatch of fakes,
        updating that pool (the authors' ImagePool.query, image by image in batch order, so a
        later image of the batch can bring back an earlier one). Draws from the current
        `pool_step`, which the caller advances (train_step: once per step)."""
        if self.pool_size == 0:
            return images
        pool, count = (self.pool_a, self.pool_a_count) if domain == "a" else (self.pool_b, self.pool_b_count)
        images = ops.cast(images, "float32")
        batch = tf.shape(images)[0]
        seed = self._pool_seed(POOL_STREAMS[domain])
        # The authors draw p ~ U[0, 1) per image once the pool is full, and show a stored one when p > 0.5.
        show_stored = tf.random.stateless_uniform([batch], seed) > 0.5
        slots = tf.random.stateless_uniform([batch], tf.random.experimental.stateless_fold_in(seed, 1),
                                            minval=0, maxval=self.pool_size, dtype=tf.int64)
        pool_size = tf.constant(self.pool_size, tf.int64)

        def body(i, stored, filled, shown):
            image = images[i]
            full = filled >= pool_size
            slot = tf.where(full, slots[i], filled)  # the next free slot, or a random one once full
            old = stored[slot]
            swap = tf.logical_and(full, show_stored[i])
            shown = shown.write(i, tf.where(swap, old, image))
            # Written: the new image, unless the pool is full and it is shown instead of a stored one.
            keep_old = tf.logical_and(full, tf.logical_not(show_stored[i]))
            stored = tf.tensor_scatter_nd_update(stored, [[slot]], tf.where(keep_old, old, image)[None])
            return i + 1, stored, filled + tf.cast(tf.logical_not(full), tf.int64), shown

        shown = tf.TensorArray(tf.float32, size=batch, element_shape=images.shape[1:])
        _, stored, filled, shown = tf.while_loop(
            lambda i, *_: i < batch, body, (tf.constant(0), tf.convert_to_tensor(pool.value), count.value, shown))
        pool.assign(stored)
        count.assign(filled)
        result = shown.stack()
        result.set_shape(images.shape)
        return result

    # -------------------------------------------------------------------------------- step
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, **kwargs):
        """`keras.Model.fit` on (images_a, images_b) minibatches: a dataset of them
        (`ganzoo.unpaired_data.load_unpaired`), or arrays `x` (domain A) and `y` (domain B) of
        one length, which Keras batches (and shuffles) as pairs."""
        if self.generator_only:
            raise ValueError(
                f"{self.name} came from a generator-only preset: its discriminators are untrained, so training "
                "would undo the generators. Load a full preset, or build the model, load the preset "
                "generators' weights into it and train all four networks from there.")
        if isinstance(x, tf.data.Dataset):
            shuffle = False  # a dataset shuffles itself; Keras warns when asked again
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                           validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
                           **kwargs)

    def _unpack(self, data):
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise ValueError("CycleGAN trains on (images_a, images_b) minibatches of unpaired images, e.g. "
                             "ganzoo.unpaired_data.load_unpaired(...); got "
                             f"{type(data).__name__}{'' if not isinstance(data, (tuple, list)) else f' of {len(data)}'}.")
        return _conformed(data[0], self.shape_a, "A"), _conformed(data[1], self.shape_b, "B")

    def train_step(self, data):
        real_a, real_b = self._unpack(data)
        variables_ab, variables_ba = self.generator_ab.trainable_variables, self.generator_ba.trainable_variables
        # Under loss scaling (mixed_float16) each optimiser divides by its own scale, so each
        # generator's gradient is taken of the loss times that scale: two backward passes.
        scaling = any(isinstance(o, keras.optimizers.LossScaleOptimizer)
                      for o in (self.g_ab_optimizer, self.g_ba_optimizer))
        with tf.GradientTape(persistent=scaling) as tape:
            g_losses, fake_a, fake_b = self.generator_losses(real_a, real_b)
            scaled_ab = self.g_ab_optimizer.scale_loss(g_losses["g_loss"])
            scaled_ba = self.g_ba_optimizer.scale_loss(g_losses["g_loss"]) if scaling else scaled_ab
        if scaling:
            gradients_ab, gradients_ba = tape.gradient(scaled_ab, variables_ab), tape.gradient(scaled_ba, variables_ba)
            del tape
        else:  # one backward pass for both
            gradients = tape.gradient(scaled_ab, variables_ab + variables_ba)
            gradients_ab, gradients_ba = gradients[:len(variables_ab)], gradients[len(variables_ab):]
        _apply(self.g_ab_optimizer, gradients_ab, variables_ab, after=(g_losses, fake_a, fake_b))
        _apply(self.g_ba_optimizer, gradients_ba, variables_ba, after=(g_losses, fake_a, fake_b))
        # The discriminators judge the fakes of this step's forward pass (made before the
        # generators' update, as the authors'), through the pools.
        pooled_a, pooled_b = self.query_pool("a", fake_a), self.query_pool("b", fake_b)
        self.pool_step.assign_add(1)
        d_losses = {}
        for name, discriminator, optimizer, real, pooled in (
                ("d_a_loss", self.discriminator_a, self.d_a_optimizer, real_a, pooled_a),
                ("d_b_loss", self.discriminator_b, self.d_b_optimizer, real_b, pooled_b)):
            with tf.GradientTape() as tape:
                d_losses[name] = self.discriminator_loss(discriminator, real, pooled)
                scaled = optimizer.scale_loss(d_losses[name])
            variables = discriminator.trainable_variables
            # The generators' losses read this discriminator too: they must see it before the update.
            _apply(optimizer, tape.gradient(scaled, variables), variables, after=(g_losses, d_losses[name]))
        return self._update_metrics({**g_losses, **d_losses})

    def test_step(self, data):
        # No updates and no pool: the discriminators judge this step's fakes directly.
        real_a, real_b = self._unpack(data)
        g_losses, fake_a, fake_b = self.generator_losses(real_a, real_b, training=False)
        return self._update_metrics({
            **g_losses,
            "d_a_loss": self.discriminator_loss(self.discriminator_a, real_a, fake_a, training=False),
            "d_b_loss": self.discriminator_loss(self.discriminator_b, real_b, fake_b, training=False)})

    def _update_metrics(self, values):
        for name, value in values.items():
            self._trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    def export(self, base_dir, name=None, version=None, overwrite=False, training_config=None,
               max_batch_size=None):
        """Exports both generators for TF Serving as `base_dir/name/version/`, atomically:
        `translate_a_to_b`, `translate_b_to_a` and their PNG variants (see `ganzoo.export`)."""
        from ganzoo import export as export_lib

        return export_lib.export(self, base_dir, name, version, overwrite, training_config, max_batch_size)

    def save_to_preset(self, directory, generator_only=False, metadata=None):
        """Writes a preset folder loadable by `ganzoo.load_preset` (see `ganzoo.presets`);
        `generator_only` keeps G_AB and G_BA, which is all `translate` and `export` need."""
        from ganzoo import presets

        return presets.save_to_preset(self, directory, generator_only, metadata)

    # ---------------------------------------------------------------------------- translate
    def translate(self, images, direction="a_to_b", batch_size=32):
        """Translates `images` ([N, H, W, C] floats in [-1, 1], or uint8, scaled; one image
        [H, W, C] too) with G_AB ("a_to_b") or G_BA ("b_to_a"), as a float32 NumPy array in [-1, 1]."""
        if direction not in ("a_to_b", "b_to_a"):
            raise ValueError(f"direction must be 'a_to_b' or 'b_to_a'; got {direction!r}.")
        if not is_positive_int(batch_size):
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
        generator, shape = ((self.generator_ab, self.shape_a) if direction == "a_to_b"
                            else (self.generator_ba, self.shape_b))
        images = np.asarray(images)
        if images.dtype == np.uint8:
            images = images.astype("float32") / 127.5 - 1.0
        if not np.issubdtype(images.dtype, np.floating):
            raise TypeError(f"translate takes float images in [-1, 1] (or uint8); got {images.dtype}.")
        if images.shape == shape or (shape[-1] == 1 and images.shape == shape[:-1]):
            images = images[None]  # one image
        if shape[-1] == 1 and images.shape[1:] == shape[:-1]:
            images = images[..., None]
        if images.shape[1:] != shape:
            raise ValueError(f"{direction} translates images of shape {shape}; got {images.shape[1:]} "
                             f"(array {images.shape}).")
        if len(images) == 0:
            return np.zeros((0, *_image_shape(generator.outputs[0], generator.name)), np.float32)
        outputs = generator.predict(images.astype("float32"), batch_size=batch_size, verbose=0)
        return np.asarray(outputs, np.float32)

    # ------------------------------------------------------------------------ save / load
    def get_config(self):
        config = super().get_config()
        config.update(
            generator_ab=keras.saving.serialize_keras_object(self.generator_ab),
            generator_ba=keras.saving.serialize_keras_object(self.generator_ba),
            discriminator_a=keras.saving.serialize_keras_object(self.discriminator_a),
            discriminator_b=keras.saving.serialize_keras_object(self.discriminator_b),
            cycle_weight=self.cycle_weight, identity_weight=self.identity_weight, pool_size=self.pool_size,
            seed=self.seed)
        if self.generator_only:  # so that a saved copy of a generator-only preset still refuses fit
            config["generator_only"] = True
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        generator_only = config.pop("generator_only", False)
        for key in ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        with warnings.catch_warnings():  # the identity warning was given when the model was built
            warnings.simplefilter("ignore")
            cyclegan = cls(**config)
        cyclegan.generator_only = generator_only
        return cyclegan


def _apply(optimizer, gradients, variables, after):
    """The update, once the step's losses `after` exist (GAN._apply says why: Grappler drops
    the order of reads whose value does not reach the gradient)."""
    with tf.control_dependencies([t for t in tf.nest.flatten(after) if tf.is_tensor(t)]):
        if not variables:  # a frozen network: nothing to update (Keras refuses an empty apply), but the step counts
            optimizer.iterations.assign_add(1)
            return
        optimizer.apply_gradients(zip(gradients, variables))


def _mean_abs(x):
    return ops.mean(ops.abs(x))


def _image_shape(tensor, network):
    shape = tuple(tensor.shape[1:])
    if len(shape) != 3 or any(d is None for d in shape):
        raise ValueError(f"CycleGAN's networks take and make images of one known shape (H, W, C); {network} has "
                         f"{tuple(tensor.shape)}.")
    return tuple(int(d) for d in shape)


def _conformed(images, shape, domain):
    """A domain's minibatch as float32, uint8 scaled to [-1, 1]; a shape other than the model's
    is refused (when the step is traced) with both shapes."""
    if tuple(images.shape[1:]) != shape:
        raise ValueError(f"This CycleGAN takes domain {domain} images of shape {shape}; the data's are "
                         f"{tuple(images.shape[1:])}.")
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) / 127.5 - 1.0
    return ops.cast(images, "float32")


def _resolve_optimizer(identifier):
    """An optimizer from an instance, a name or a config; a config is copied first, since
    Keras's deserialization replaces its nested configs (a schedule) in place."""
    return keras.optimizers.get(copy.deepcopy(identifier) if isinstance(identifier, dict) else identifier)


@register("cyclegan")
def cyclegan(data_shape, filters=64, num_residual_blocks=9, num_downsampling=2, discriminator_layers=3,
             cycle_weight=10.0, identity_weight=0.5, pool_size=50, seed=0):
    """Zhu et al. 2017 (CycleGAN): unpaired translation between two image domains of `data_shape`.

    The authors' defaults: ResNet generators (ngf `filters` = 64, 9 residual blocks, 2
    downsamplings) and 70x70 PatchGAN discriminators (ndf 64, `discriminator_layers` = 3),
    instance norm, weights N(0, 0.02); least-squares losses, cycle λ = 10, identity 0.5 λ, image
    pools of 50; four Adams 2e-4, β1 0.5 (`compile(total_steps=...)`: linear decay to 0 over the
    second half). Trains on (images_a, images_b) minibatches (`ganzoo.unpaired_data`).
    For 28x28 images use `discriminator_layers=2` (a 5x5 patch map; 3 gives 1x1).

    Reference: Zhu, Park, Isola, Efros, "Unpaired Image-to-Image Translation using
    Cycle-Consistent Adversarial Networks", ICCV 2017.
    """
    data_shape = tuple(data_shape)
    if len(data_shape) != 3:
        raise ValueError(f"CycleGAN translates images: data_shape must be (height, width, channels); got {data_shape}.")
    generator_options = {"filters": filters, "num_residual_blocks": num_residual_blocks,
                         "num_downsampling": num_downsampling}
    return CycleGAN(
        cyclegan_networks.resnet_generator(data_shape, name="generator_ab", **generator_options),
        cyclegan_networks.resnet_generator(data_shape, name="generator_ba", **generator_options),
        cyclegan_networks.patchgan_discriminator(data_shape, filters, discriminator_layers, name="discriminator_a"),
        cyclegan_networks.patchgan_discriminator(data_shape, filters, discriminator_layers, name="discriminator_b"),
        cycle_weight=cycle_weight, identity_weight=identity_weight, pool_size=pool_size, seed=seed, name="cyclegan")
