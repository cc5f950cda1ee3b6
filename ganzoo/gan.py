"""The GAN base model: generator + discriminator + objective + schedule, trained by `fit`."""

import copy
import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ganzoo import distribute, objectives, precision, regularizers as regularizers_lib
from ganzoo.callbacks import GANProgbarLogger
from ganzoo.data import conform as conform_real_data
from ganzoo.optimizers import BothOptimizers, track_gradient_norm
from ganzoo.registry import is_positive_int

VALIDATION_STREAM, SAMPLING_STREAM = 1, 2  # noise streams beside training's (GAN._stream_seed)
LATENT_BLOCK = 65_536  # latents drawn at a time by generate()

# Training-health signals (compile(health_signals=True), the default; read by
# ganzoo.diagnostics.Diagnostics). Gradient norms: the global L2 norm of the summed gradient
# of each update over the network's trainable variables (D's: the mean over its k updates).
# Each objective adds its own (Objective.health_metric_names: D's accuracies, the generator's
# logit gradient).
GRADIENT_NORM_METRICS = ("d_grad_norm", "g_grad_norm")


@keras.saving.register_keras_serializable(package="ganzoo")
class GAN(keras.Model):
    """A generative adversarial network that trains with `fit`.

    Each `fit` step runs the alternating schedule of Arjovsky et al. 2017, Algorithm 1:
    `d_steps` discriminator (critic) updates, **each on its own real minibatch** and fresh
    noise, then one generator update on fresh noise. To give every critic update its own
    minibatch, `fit` groups k = `d_steps` consecutive minibatches of the dataset into one step,
    so an epoch is still one pass over the real data but shows `batches // k` steps (generator
    updates); `steps_per_epoch` counts generator updates too. `d_optimizer.iterations` is then
    always `k * g_optimizer.iterations`.

    Mixed precision: a GAN built under a Keras mixed policy (`ganzoo.get(..., precision=)`,
    or `keras.config.set_dtype_policy`) computes its networks in bfloat16 or float16, and
    records the policy in its config; scores, losses, metrics and samples stay float32, and
    under `mixed_float16` `compile` wraps both optimisers in loss scaling (see
    `ganzoo.precision`).

    Noise comes from stateless random ops seeded by (`seed`, `noise_step`), a counter saved
    with the model, so a reloaded model draws exactly the noise the original would have; under
    `tf.distribute` every replica draws the global batch's noise and keeps its own slice, so
    two replicas compute the same update as one device on the same global batch.

    Args:
        generator: Keras model, latent [batch, latent_dim] -> data [batch, *data_shape].
        discriminator: Keras model, data -> one score per example (logit or critic value).
        objective: an `ganzoo.objectives.Objective` or its name: "minimax", "non_saturating",
            "wasserstein", "hinge", "least_squares".
        d_steps: discriminator updates per generator update (k; WGAN's n_critic).
        regularizers: `ganzoo.regularizers.Regularizer`s or their names: "gradient_penalty"
            (WGAN-GP), "weight_clipping" (WGAN), "r1", "spectral_norm"; each checks that it
            can act on the discriminator (a gradient penalty refuses a BatchNorm one).
            `gradient_penalty_weight=λ` and `clip_value=c`, the arguments of ganzoo 0.1, still
            work (deprecated) and become GradientPenalty(λ) and WeightClipping(c).
        seed: integer seed of the model's noise; None picks one at random (and saves it).
        ema_decay: keep an exponential moving average of the generator's weights with this
            decay (e.g. 0.999; None: no average). See "EMA generator" below.
        default_optimizers: {"discriminator": config, "generator": config}, serialized Keras
            optimizers that `compile()` uses when it is given none (the paper's defaults).

    EMA generator (Karras et al. 2018; Brock et al. 2019): with `ema_decay`, the GAN keeps
    `ema_generator`, a copy of the generator whose weights follow
    w_ema <- d·w_ema + (1 - d)·w after every generator update, with the warm-up
    d = min(ema_decay, (1 + t) / (10 + t)) at generator step t (TensorFlow's
    `ExponentialMovingAverage(num_updates=t)`): early on, the average tracks the generator
    instead of clinging to its random start. BatchNorm's moving statistics are copied, not
    averaged: they must describe the activations of the weights they normalise. `generate`,
    `gan(z)`, `predict`, exports, presets and evaluation use the EMA generator; the raw one
    stays `gan.generator` (and `generate(..., use_ema=False)`); training and `evaluate`'s
    losses always use the raw one. Keras's own `use_ema` averages only `model.optimizer`'s
    variables, and a GAN has two optimisers.

    Example:
    ```python
    gan = ganzoo.get("dcgan", data_shape=(28, 28, 1))
    gan.compile()
    gan.fit(ganzoo.data.load("fashion_mnist", batch_size=64), epochs=1)
    images = gan.generate(16, seed=0)
    ```

    Reference: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
    """

    def __init__(self, generator, discriminator, objective="non_saturating", d_steps=1, regularizers=(),
                 seed=None, default_optimizers=None, ema_decay=None, **kwargs):
        regularizers = regularizers_lib.get_list([*regularizers_lib.get_list(regularizers), *_legacy_regularizers(kwargs)])
        super().__init__(**kwargs)
        if int(d_steps) < 1:
            raise ValueError(f"d_steps must be a positive integer; got {d_steps}.")
        self.objective = objectives.get(objective)
        for regularizer in regularizers:
            discriminator = regularizer.prepare_discriminator(discriminator)
        for regularizer in regularizers:
            regularizer.check(discriminator)
        if self.objective.needs_lipschitz and not any(r.bounds_lipschitz for r in regularizers):
            warnings.warn(f"The {self.objective.name} objective needs a Lipschitz critic, and no regulariser bounds "
                          "it: its loss is unbounded and training diverges. Add regularizers=['gradient_penalty'] "
                          "(or 'spectral_norm', 'weight_clipping'), unless the network bounds it itself.", stacklevel=2)
        self.regularizers = regularizers
        self.generator = generator
        self.discriminator = discriminator
        self.d_steps = int(d_steps)
        self.seed = int(seed) if seed is not None else int(tf.random.uniform([], 0, 2**31 - 1, tf.int64))
        self.default_optimizers = default_optimizers or {
            "discriminator": keras.optimizers.serialize(keras.optimizers.Adam(2e-4, beta_1=0.5)),
            "generator": keras.optimizers.serialize(keras.optimizers.Adam(2e-4, beta_1=0.5)),
        }
        if ema_decay is not None and not 0.0 < float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay must lie in (0, 1) (e.g. 0.999), or be None for no EMA; got {ema_decay}.")
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.ema_generator = None
        if self.ema_decay is not None:
            # Same architecture and dtype policy; starts equal to the generator.
            self.ema_generator = generator.__class__.from_config(
                {**generator.get_config(), "name": "ema_generator"})
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False
        self.latent_dim = int(_input_shape(generator, "latent")[-1])
        self.data_shape = tuple(int(d) for d in generator.output_shape[1:])
        if tuple(_input_shape(discriminator, "data")[1:]) != self.data_shape:
            raise ValueError(
                f"The generator makes data of shape {self.data_shape} but the discriminator "
                f"takes {tuple(_input_shape(discriminator, 'data')[1:])}; build both for the same data_shape."
            )
        self._sampling_draws = 0  # generate(seed=None) calls so far
        self.generator_only = False  # set by load_preset for a generator-only preset: fit() refuses
        self.takes_labels = False  # a conditional GAN's data are (images, labels) (ganzoo.models.conditional)
        # Only the first replica's increment counts, so all replicas stay on the same seed.
        self.noise_step = self.add_weight(
            shape=(), dtype="int64", initializer="zeros", trainable=False,
            aggregation="only_first_replica", name="noise_step",
        )
        names = ("d_loss", "g_loss") + self.objective.metric_names
        for regularizer in self.regularizers:
            names += regularizer.metric_names
        names += self._auxiliary_metric_names(discriminator)
        names += GRADIENT_NORM_METRICS + self.objective.health_metric_names
        self._health_signals = True
        self._trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.d_optimizer = None
        self.g_optimizer = None
        self.build((None, self.latent_dim))

    def build(self, input_shape):
        # The sub-models are functional and already built; this marks the GAN built so that
        # Keras neither traces it on a data batch nor refuses to load its weights.
        self.built = True

    def call(self, latent, training=False):
        """The generator: `gan(z)` and `gan.predict(z)` give float32 samples in data space,
        from the EMA generator when the model keeps one (the raw one when training)."""
        return self._generate(latent, training, use_ema=not training)

    @property
    def gradient_penalty_weight(self):
        """λ of the GradientPenalty regulariser, 0 without one (ganzoo 0.1's attribute)."""
        return next((r.weight for r in self.regularizers if isinstance(r, regularizers_lib.GradientPenalty)), 0.0)

    @property
    def clip_value(self):
        """c of the WeightClipping regulariser, None without one (ganzoo 0.1's attribute)."""
        return next((r.clip_value for r in self.regularizers if isinstance(r, regularizers_lib.WeightClipping)), None)

    @property
    def sampling_generator(self):
        """The generator that samples, exports and presets use: the EMA one if kept."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def reset_ema(self):
        """Sets the EMA generator's weights to the generator's (e.g. after loading weights
        into the generator alone)."""
        if self.ema_generator is not None:
            self.ema_generator.set_weights(self.generator.get_weights())

    def _update_ema(self):
        """w_ema <- d·w_ema + (1 - d)·w for the trainable weights, copies for the rest."""
        if self.ema_generator is None:
            return
        step = ops.cast(self.g_optimizer.iterations, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        pairs = [(average.value, weight.value, weight.trainable)
                 for average, weight in zip(self.ema_generator.weights, self.generator.weights)]

        def average(ema, weight):
            return ema.assign(ema * ops.cast(decay, ema.dtype) + weight * ops.cast(1.0 - decay, ema.dtype))

        def update(distribution):
            # In cross-replica context, as Keras's optimisers update mirrored variables; the
            # generator's weights are identical on every replica, so is their average.
            for ema, weight, trainable in pairs:
                distribution.extended.update(ema, average if trainable else lambda e, w: e.assign(w),
                                             args=(weight,), group=False)

        tf.__internal__.distribute.interim.maybe_merge_call(update, self.distribute_strategy)

    def _generate(self, latent, training, use_ema=False, labels=None):
        """The generator's samples in float32, whatever the policy it computes in; with
        `use_ema`, the EMA generator's if the model keeps one. `labels`: the classes of a
        conditional GAN's samples (`ganzoo.models.conditional`), None here."""
        generator = self.sampling_generator if use_ema else self.generator
        return precision.at_least_float32(generator(latent, training=training))

    def _discriminate(self, data, training, labels=None):
        """(D's scores in float32, whatever the policy it computes in; its class logits, None
        here: an auxiliary classifier's, `ganzoo.models.conditional`). `labels`: the classes a
        conditional GAN's discriminator is given."""
        return precision.at_least_float32(self.discriminator(data, training=training)), None

    def _auxiliary_metric_names(self, discriminator):
        """The metrics `_auxiliary_losses` reports: none here."""
        return ()

    def _auxiliary_losses(self, real_logits, fake_logits, labels):
        """(per-example loss D adds, per-example loss G adds, metrics) of an auxiliary
        classifier (AC-GAN, `ganzoo.models.conditional`); nothing here. `real_logits` is None on the
        generator's side."""
        return None, None, {}

    @property
    def metrics(self):
        return list(self._trackers.values())

    def metric_totals(self):
        """{name: (total, count)} of every tracker since the epoch began, in float64: window
        means are differences of these (a tracker's count can differ from the step count, e.g.
        a gradient norm on steps that loss scaling skips)."""
        values = ops.convert_to_numpy(ops.stack(
            [ops.cast(v, "float64") for t in self._trackers.values() for v in (t.total, t.count)]))
        return {name: (values[2 * i], values[2 * i + 1]) for i, name in enumerate(self._trackers)}

    def _reported_metrics(self):
        """The trackers a step reports: all, or without the health signals when they are off."""
        health = GRADIENT_NORM_METRICS + self.objective.health_metric_names
        return {name: tracker for name, tracker in self._trackers.items()
                if self._health_signals or name not in health}

    # ----------------------------------------------------------------------------- compile
    def compile(self, d_optimizer=None, g_optimizer=None, jit_compile="auto", run_eagerly=False,
                steps_per_execution=1, health_signals=True):
        """Configures the two optimisers; None means the model's paper defaults.

        `health_signals` (on by default) makes each step also report the gradient norms and
        what the objective watches, such as D's accuracies and the generator's logit gradient
        (GRADIENT_NORM_METRICS, `Objective.health_metric_names`): no extra forward or backward pass, one
        read of each update's gradients. False reports the losses and scores alone.

        Both are built here, inside the model's distribution strategy scope, so that no
        optimiser variable is created lazily inside a replica context. Under `mixed_float16`
        both are wrapped in `keras.optimizers.LossScaleOptimizer` (as Keras does for its one
        optimiser), and the wrappers' loss scales are saved with the model.
        """
        d_optimizer = resolve_optimizer(d_optimizer or self.default_optimizers["discriminator"])
        g_optimizer = resolve_optimizer(g_optimizer or self.default_optimizers["generator"])
        if d_optimizer is g_optimizer:
            raise ValueError("d_optimizer and g_optimizer must be two optimizer instances, "
                             "since each keeps its own state; pass two.")
        if precision.needs_loss_scaling(self.dtype_policy):
            d_optimizer, g_optimizer = precision.with_loss_scaling(d_optimizer), precision.with_loss_scaling(g_optimizer)
        super().compile(optimizer=None, jit_compile=jit_compile, run_eagerly=run_eagerly,
                        steps_per_execution=steps_per_execution)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        # What Keras's learning-rate and EMA callbacks act on (see ganzoo.optimizers).
        self.optimizer = BothOptimizers(d_optimizer, g_optimizer)
        with self.distribute_strategy.scope():
            self.d_optimizer.build(self.discriminator.trainable_variables)
            self.g_optimizer.build(self.generator.trainable_variables)
        self._health_signals = bool(health_signals)
        # Where each norm comes from: its optimiser's own all-reduced gradients, or (a Keras
        # without that hook) the gradients this replica computed, exact on one device only.
        self._norm_hooked = {name: self._health_signals and track_gradient_norm(optimizer, self._trackers[name])
                             for optimizer, name in ((d_optimizer, "d_grad_norm"), (g_optimizer, "g_grad_norm"))}
        self._gan_compile_config = {
            "d_optimizer": keras.optimizers.serialize(d_optimizer),
            "g_optimizer": keras.optimizers.serialize(g_optimizer),
            "jit_compile": jit_compile, "run_eagerly": run_eagerly,
            "steps_per_execution": steps_per_execution, "health_signals": self._health_signals,
        }

    def get_compile_config(self):
        config = dict(getattr(self, "_gan_compile_config", {}))
        if config:  # the optimisers as they are now (a resized learning-rate decay, ganzoo.schedules)
            config.update(d_optimizer=keras.optimizers.serialize(self.d_optimizer),
                          g_optimizer=keras.optimizers.serialize(self.g_optimizer))
        return config

    def compile_from_config(self, config):
        # Optimiser variables are built by compile(), so the saved state loads into them next.
        self.compile(**config)

    # ------------------------------------------------------------------------------- noise
    def _step_seed(self):
        return tf.stack([tf.constant(self.seed, tf.int64), tf.cast(self.noise_step, tf.int64)])

    def _next_step_seed(self):
        """This step's training seed, (seed, noise_step), with the counter advanced after it is
        read. Under MirroredStrategy the advance is one update of every replica's copy, made in
        cross-replica context: without the dependency it could land before another replica
        had read its copy, and that replica drew the next step's noise (seen as a flaky
        two-replica test)."""
        seed = self._step_seed()
        with tf.control_dependencies([seed]):
            self.noise_step.assign_add(1)
        return seed

    def _replica_slice(self, global_values, local_batch):
        """This replica's rows of a [..., global_batch, ...] tensor drawn on every replica."""
        replica = tf.distribute.get_replica_context()
        index = replica.replica_id_in_sync_group if replica is not None else 0
        return global_values[:, index * local_batch:(index + 1) * local_batch]

    def _stream_seed(self, stream, index):
        """The seed of draw `index` of a noise stream other than training's: validation batches
        and `generate(seed=None)` draw from their own, so neither changes what training draws.
        Training's seeds are (seed, noise_step >= 0); these are (seed, -stream) folded with index."""
        base = tf.stack([tf.constant(self.seed, tf.int64), tf.constant(-stream, tf.int64)])
        return tf.random.experimental.stateless_fold_in(base, tf.cast(index, tf.int64))

    def _draw_step_noise(self, local_batch, seed=None):
        """Latents for k discriminator updates and one generator update, and the gradient
        penalty's interpolation weights α ~ U[0, 1] per example, for this step; from the
        training stream (which it advances) unless `seed` is given."""
        replicas = self.distribute_strategy.num_replicas_in_sync
        global_batch = local_batch * replicas
        if seed is None:
            seed = self._next_step_seed()
        latent = tf.random.stateless_normal([self.d_steps + 1, global_batch, self.latent_dim], seed)
        alpha = tf.random.stateless_uniform(
            [self.d_steps, global_batch], tf.random.experimental.stateless_fold_in(seed, 1))
        return self._replica_slice(latent, local_batch), self._replica_slice(alpha, local_batch)

    def generate(self, num_samples, seed=None, batch_size=256, use_ema=True, labels=None):
        """Draws `num_samples` samples in data space (images in [-1, 1]) as a NumPy array.

        The same `seed` always gives the same samples; `seed=None` draws the next samples of
        a sampling stream of the model's own (not training's; it restarts with each loaded
        copy). `use_ema=False` samples the raw generator of a model that keeps an EMA
        generator (the same either way for a model without one). Latents are drawn a block
        of LATENT_BLOCK rows at a time, so any number of samples that fits in memory works.
        `labels`: the classes of a conditional GAN's samples (`ganzoo.models.conditional`).
        """
        num_samples = _positive_int("num_samples", num_samples)
        batch_size = _positive_int("batch_size", batch_size)
        if seed is None:
            seed_pair = self._stream_seed(SAMPLING_STREAM, self._sampling_draws)
            self._sampling_draws += 1
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seed_pair = tf.constant([int(seed), 0], tf.int64)
        else:
            raise TypeError(f"seed must be an integer or None; got {seed!r}.")
        labels = self._sample_labels(labels, num_samples, seed_pair)
        generator = self.generator if not use_ema and self.ema_generator is not None else self
        try:
            samples = np.empty((num_samples, *self.data_shape), np.float32)
        except MemoryError:
            size = num_samples * int(np.prod(self.data_shape)) * 4
            raise MemoryError(f"generate({num_samples}) needs {size / 2**30:,.1f} GiB for its samples; "
                              "draw fewer at a time (with different seeds).") from None
        for block, start in enumerate(range(0, num_samples, LATENT_BLOCK)):
            rows = min(LATENT_BLOCK, num_samples - start)
            # Block 0 uses the seed itself, so the first LATENT_BLOCK samples of a seed never change.
            block_seed = seed_pair if block == 0 else tf.random.experimental.stateless_fold_in(seed_pair, block)
            latent = tf.random.stateless_normal([rows, self.latent_dim], block_seed)
            inputs = latent if labels is None else [latent, labels[start:start + rows]]
            samples[start:start + rows] = self._sample_block(generator, inputs, batch_size)
        return samples

    def _sample_block(self, generator, inputs, batch_size):
        """`generate`'s samples of one block of latents (`generator`: this GAN, whose call uses
        the EMA generator, or the raw generator); StyleGAN's truncation acts here."""
        return generator.predict(inputs, batch_size=batch_size, verbose=0)

    def _sample_labels(self, labels, num_samples, seed_pair):
        """The classes of `generate`'s samples: a conditional GAN's (`ganzoo.models.conditional`);
        an unconditional one takes none."""
        if labels is not None:
            raise ValueError(f"{self.name} is not conditional: it generates without labels. Conditional models: "
                             "conditional_dcgan, acgan.")
        return None

    def export(self, base_dir, name=None, version=None, overwrite=False, training_config=None,
               max_batch_size=None):
        """Exports the generator for TF Serving as `base_dir/name/version/`, atomically.

        Unlike `keras.Model.export`, which writes one SavedModel of `call`, this writes
        ganzoo's serving contract: named signatures `serving_default`, `sample` and
        `sample_png`, metadata and warmup requests (see `ganzoo.export`).
        """
        from ganzoo import export as export_lib

        return export_lib.export(self, base_dir, name, version, overwrite, training_config, max_batch_size)

    def save_to_preset(self, directory, generator_only=False, metadata=None):
        """Writes a preset folder loadable by `ganzoo.load_preset` (see `ganzoo.presets`)."""
        from ganzoo import presets

        return presets.save_to_preset(self, directory, generator_only, metadata)

    # -------------------------------------------------------------------------------- data
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, **kwargs):
        """`keras.Model.fit` (the same arguments, in the same order), with k = `d_steps`
        minibatches grouped into each step.

        `x` is real data: a `tf.data.Dataset` of minibatches (or of (images, labels) tuples,
        whose labels are ignored, or of tfds-style dicts, whose "image" is used) or an array;
        `y` is ignored (a conditional GAN's labels: see `ganzoo.ConditionalGAN`). Images are
        floats in [-1, 1], or uint8 (scaled here); see
        `ganzoo.data.conform` for what else is adapted or refused. With k > 1 each epoch uses
        its minibatches k at a time, so the last `minibatches mod k` of a pass are not used
        in that pass (reshuffled data uses them in later ones).
        """
        if self.generator_only:
            raise ValueError(
                f"{self.name} came from a generator-only preset: its discriminator is untrained, so training "
                "would undo the generator. Load a full preset (ganzoo presets list), or build the model, "
                "load the preset generator's weights into it and train both from there.")
        x, y, batch_size = self._real_data(x, y, batch_size, shuffle)
        if isinstance(validation_data, tuple):  # (x, y): y is ignored, as in fit (a conditional GAN's labels)
            validation_data = (conform_real_data(validation_data[0], self.data_shape), *validation_data[1:])
        elif validation_data is not None:
            validation_data = conform_real_data(validation_data, self.data_shape, labels=self.takes_labels)
        if self.d_steps > 1:
            minibatches = to_dataset(x, batch_size, shuffle, labels=y)
            x, y = group_minibatches(minibatches, self.d_steps, labels=self.takes_labels), None
            if x.cardinality() == 0:
                raise ValueError(
                    f"The data holds {int(minibatches.cardinality())} minibatch(es), but each step of "
                    f"{self.name} takes d_steps={self.d_steps}: give at least {self.d_steps} (a smaller "
                    "batch_size, more data, or a repeated dataset with steps_per_epoch).")
            batch_size = None
        if isinstance(x, tf.data.Dataset):
            shuffle = False  # a dataset shuffles itself; Keras warns when asked again
        if not isinstance(callbacks, keras.callbacks.CallbackList):  # a CallbackList is the caller's, as it is
            callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks] if callbacks else []
            if verbose != 0 and not any(isinstance(c, keras.callbacks.ProgbarLogger) for c in callbacks):
                callbacks.append(GANProgbarLogger())
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                           validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
                           **kwargs)

    def _real_data(self, x, y, batch_size, shuffle):
        """(x, y, batch_size) for Keras's fit: the real data conformed (y is ignored here; a
        conditional GAN's labels)."""
        return conform_real_data(x, self.data_shape), None, batch_size

    def evaluate(self, x=None, y=None, batch_size=None, *args, **kwargs):
        """`keras.Model.evaluate` on real data, conformed as `fit` conforms it."""
        x, y, batch_size = self._real_data(x, y, batch_size, shuffle=False)
        return super().evaluate(x, y, batch_size, *args, **kwargs)

    def _real_minibatches(self, data):
        real = data[0] if isinstance(data, (tuple, list)) else data
        grouped_rank = len(self.data_shape) + 2
        if len(real.shape) == grouped_rank:
            return [real[:, step] for step in range(self.d_steps)]
        if self.d_steps == 1:
            return [real]
        raise ValueError(
            f"With d_steps={self.d_steps} each train step needs {self.d_steps} real minibatches, "
            f"shaped [batch, {self.d_steps}, *data_shape]; fit() groups them for you."
        )

    # -------------------------------------------------------------------------------- step
    def _scale(self, per_example):
        """Sum over this replica's examples / the global count: replicas' gradients are summed.

        Counted on the losses, not the data: a packing discriminator (PacGAN) gives one loss
        per pack of m examples."""
        global_count = ops.shape(per_example)[0] * self.distribute_strategy.num_replicas_in_sync
        return ops.sum(per_example) / ops.cast(global_count, per_example.dtype)

    def discriminator_objective(self, real, fake, alpha, training=True, labels=None):
        """Per-example discriminator loss (the objective's plus the regularisers' penalties and
        an auxiliary classifier's loss), the scores, and the regularisers' (and classifier's)
        metrics. `labels`: the classes of `real` and `fake` in a conditional GAN."""
        real_scores, real_logits = self._discriminate(real, training, labels)
        fake_scores, fake_logits = self._discriminate(fake, training, labels)
        per_example = self.objective.discriminator_loss(real_scores, fake_scores)
        step = self.d_optimizer.iterations if training and self.d_optimizer is not None else None
        extra_metrics = {}
        for regularizer in self.regularizers:
            penalty, metrics = regularizer.penalty(lambda x: self._discriminate(x, training, labels)[0], real, fake,
                                                   alpha, real_scores, step)
            if penalty is not None:
                per_example = per_example + penalty
            extra_metrics.update(metrics)
        classification, _, metrics = self._auxiliary_losses(real_logits, fake_logits, labels)
        if classification is not None:
            per_example = per_example + classification
        extra_metrics.update(metrics)
        return per_example, real_scores, fake_scores, extra_metrics

    def generator_objective(self, real, latent, training=True, alpha=None, labels=None):
        """Per-example generator loss and the discriminator's scores on the generated data.

        `real` and `alpha` (interpolation weights) are unused here; the unrolled GAN needs
        them for its look-ahead. `labels`: the classes to generate in a conditional GAN.
        """
        fake_scores, fake_logits = self._discriminate(self._generate(latent, training, labels=labels), training, labels)
        per_example = self.objective.generator_loss(fake_scores)
        _, classification, _ = self._auxiliary_losses(None, fake_logits, labels)
        return (per_example if classification is None else per_example + classification), fake_scores

    def _discriminator_update(self, real, latent, alpha, labels=None):
        fake = self._generate(latent, training=True, labels=labels)
        with tf.GradientTape() as tape:
            per_example, real_scores, fake_scores, regularizer_metrics = self.discriminator_objective(
                real, fake, alpha, labels=labels)
            # scale_loss multiplies by a LossScaleOptimizer's scale (and is x1 otherwise); its
            # apply_gradients divides the gradients by it again and skips non-finite ones.
            loss = self.d_optimizer.scale_loss(self._scale(per_example))
        variables = self.discriminator.trainable_variables
        self._apply(self.d_optimizer, tape.gradient(loss, variables), variables, "d_grad_norm",
                    after=(per_example, real_scores, fake_scores, regularizer_metrics))
        for regularizer in self.regularizers:
            if regularizer.constrains_weights:
                for variable, value in zip(variables, regularizer.constrain([v.value for v in variables])):
                    variable.assign(value)
        return per_example, real_scores, fake_scores, regularizer_metrics

    def _generator_update(self, real, latent, alpha, labels=None):
        """One generator step; returns its per-example loss and the scores it was computed
        from (for the unrolled GAN, the look-ahead discriminator's)."""
        with tf.GradientTape() as tape:
            per_example, fake_scores = self.generator_objective(real, latent, alpha=alpha, labels=labels)
            loss = self.g_optimizer.scale_loss(self._scale(per_example))
        variables = self.generator.trainable_variables
        self._apply(self.g_optimizer, tape.gradient(loss, variables), variables, "g_grad_norm",
                    after=(per_example, fake_scores))
        return per_example, fake_scores

    def _apply(self, optimizer, gradients, variables, norm_metric, after=()):
        """Applies the update once the tensors `after` (the step's losses and scores) exist.

        Automatic control dependencies order each read of a weight before the update that
        writes it, but Grappler's dependency optimizer drops that order where the read value
        does not reach the gradient (the score layer's kernel under a linear loss, a layer
        norm's beta in the penalty's forward pass): those reads then raced the update, and a
        seeded run ended at one of several results when the CPU was loaded. Waiting for the
        values computed from the reads is a data-flow order Grappler keeps."""
        with tf.control_dependencies([t for t in tf.nest.flatten(after) if tf.is_tensor(t)]):  # not a constant metric
            if not variables:  # a frozen network: nothing to update (Keras refuses an empty apply), but the
                optimizer.iterations.assign_add(1)  # step counts, and its gradient norm is 0
                if self._health_signals:
                    self._trackers[norm_metric].update_state(0.0)
                return
            if self._health_signals and not self._norm_hooked[norm_metric]:
                # This replica's own gradient, loss scale divided out (before apply changes the scale):
                # the update's on one device. A step the loss scaling skips (non-finite) is not counted.
                scale = getattr(optimizer, "dynamic_scale", None)
                norm = tf.linalg.global_norm([g for g in gradients if g is not None])
                norm = norm if scale is None else norm / ops.cast(scale, norm.dtype)
                finite = tf.math.is_finite(norm)
                self._trackers[norm_metric].update_state(tf.where(finite, norm, 0.0), sample_weight=tf.cast(finite, norm.dtype))
            optimizer.apply_gradients(zip(gradients, variables))

    def _real_labels(self, data):
        """The classes of each of the step's real minibatches: a conditional GAN's; None here."""
        return [None] * self.d_steps

    def train_step(self, data):
        real_batches = self._real_minibatches(data)
        label_batches = self._real_labels(data)
        # Every update waits for the data. Keras ends an epoch of unknown length by a step
        # whose next() fails; in the inlined graph the ops that do not read the data (the
        # optimisers' step counters, the noise counter) would still run without this.
        with tf.control_dependencies(real_batches):
            latents, alphas = self._draw_step_noise(ops.shape(real_batches[0])[0])
            d_outs = [self._discriminator_update(real, latents[step], alphas[step], label_batches[step])
                      for step, real in enumerate(real_batches)]
            # The last update's losses and scores; a lazy regulariser's metric over the k updates,
            # since the one it is taken on need not be the last.
            d_out = (*d_outs[-1][:3], _merge_weighted_metrics([out[3] for out in d_outs]))
            g_per_example, g_fake_scores = self._generator_update(real_batches[-1], latents[-1], alphas[-1],
                                                                  label_batches[-1])
            self._update_ema()
            return self._update_metrics(*d_out, g_per_example, g_fake_scores)

    def test_step(self, data):
        # One minibatch per step, plain ([batch, ...], as evaluate() and validation_data give
        # it) or grouped by fit (its first minibatch).
        real = data[0] if isinstance(data, (tuple, list)) else data
        if len(real.shape) == len(self.data_shape) + 2:
            real = real[:, 0]
        labels = self._real_labels(data)[0]
        # The validation stream, indexed by the batch's place in this evaluation (the metrics'
        # count): each evaluation draws the same noise, whatever training has drawn.
        batch_index = self._trackers["d_loss"].count
        latents, alphas = self._draw_step_noise(ops.shape(real)[0], self._stream_seed(VALIDATION_STREAM, batch_index))
        fake = self._generate(latents[0], training=False, labels=labels)
        d_out = self.discriminator_objective(real, fake, alphas[0], training=False, labels=labels)
        g_per_example, _ = self.generator_objective(real, latents[-1], training=False, alpha=alphas[-1], labels=labels)
        return self._update_metrics(*d_out, g_per_example)

    def _update_metrics(self, d_per_example, real_scores, fake_scores, regularizer_metrics, g_per_example,
                        g_fake_scores=None):
        """Updates the trackers with a step's values; `g_fake_scores` (the generator update's
        scores) only in training: evaluation computes no gradients, so it reports no norms.
        A regulariser's metric may come as (value, weight): a lazy one weighs its idle steps 0."""
        values = {"d_loss": ops.mean(d_per_example), "g_loss": ops.mean(g_per_example),
                  **self.objective.score_metrics(real_scores, fake_scores), **regularizer_metrics}
        if self._health_signals and g_fake_scores is not None:
            values.update(self.objective.health_metrics(real_scores, fake_scores, g_fake_scores))
        for name, value in values.items():
            value, weight = value if isinstance(value, tuple) else (value, None)
            self._trackers[name].update_state(value, sample_weight=weight)
        reported = self._reported_metrics()
        if g_fake_scores is None:  # evaluation: no gradients, so no norms or logit gradient
            reported = {name: tracker for name, tracker in reported.items() if name in values}
        return self._logs_for_keras({name: tracker.result() for name, tracker in reported.items()})

    def _logs_for_keras(self, logs):
        """The step's logs in the form Keras reduces across replicas. Across workers (collective
        MultiWorkerMirroredStrategy) Keras 3 takes `strategy.reduce(MEAN, value, axis=0)` of each
        log, which fails on scalars ("Invalid reduction dimension 0 for input with 0 dimensions",
        keras-team/keras#20585): given 1-vectors it is the replicas' mean, as one machine gives."""
        if distribute.across_workers(self.distribute_strategy):
            return {name: ops.reshape(value, [1]) for name, value in logs.items()}
        return logs

    # ------------------------------------------------------------------------ save / load
    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            objective=objectives.serialize(self.objective),
            d_steps=self.d_steps,
            regularizers=[regularizers_lib.serialize(regularizer) for regularizer in self.regularizers],
            seed=self.seed,
            default_optimizers=self.default_optimizers,
            ema_decay=self.ema_decay,
        )
        if self.generator_only:  # so that a saved copy of a generator-only preset still refuses fit
            config["generator_only"] = True
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        generator_only = config.pop("generator_only", False)
        if "gradient_penalty_weight" in config or "clip_value" in config:  # written by ganzoo 0.1
            config["_from_saved_config"] = True
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        gan = cls(**config)
        gan.generator_only = generator_only
        return gan


def _merge_weighted_metrics(updates):
    """{name: value} of each update's regulariser metrics; (value, weight) pairs, a lazy
    regulariser's, as their weighted mean over the updates and the total weight."""
    merged = dict(updates[-1])
    for name, value in updates[-1].items():
        if isinstance(value, tuple):
            weight = sum(update[name][1] for update in updates)
            total = sum(update[name][0] * update[name][1] for update in updates)
            merged[name] = (total / ops.maximum(weight, 1.0), weight)
    return merged


def _input_shape(model, name):
    """The shape of `model`'s input called `name`, or of its only input."""
    if len(model.inputs) == 1:
        return tuple(model.inputs[0].shape)
    for tensor in model.inputs:
        if tensor.name == name:
            return tuple(tensor.shape)
    raise ValueError(f"{model.name} has inputs {[t.name for t in model.inputs]}; a GAN needs one named {name!r} "
                     "(keras.Input(..., name=...)).")


def _legacy_regularizers(kwargs):
    """The regularisers of ganzoo 0.1's `gradient_penalty_weight` and `clip_value` arguments,
    popped from `kwargs` (saved models and presets of that version carry them)."""
    weight, clip_value = kwargs.pop("gradient_penalty_weight", None), kwargs.pop("clip_value", None)
    from_saved_config = kwargs.pop("_from_saved_config", False)
    if weight is None and clip_value is None:
        return []
    if not from_saved_config:
        warnings.warn("GAN's gradient_penalty_weight and clip_value arguments are deprecated: pass "
                      "regularizers=[GradientPenalty(weight)] or [WeightClipping(clip_value)] "
                      "(ganzoo.regularizers).", DeprecationWarning, stacklevel=3)
    if weight is not None and weight < 0:
        raise ValueError(f"gradient_penalty_weight must be >= 0; got {weight}.")
    # 0.1's wgan clipped its BatchNorm critic, as the paper did (see WeightClipping).
    return (([regularizers_lib.GradientPenalty(weight)] if weight else [])
            + ([regularizers_lib.WeightClipping(clip_value, allow_batch_norm=True)] if clip_value is not None else []))


def resolve_optimizer(identifier):
    """An optimizer from an instance, a name or a config; a config is copied first, since
    Keras's deserialization replaces its nested configs (a schedule) in place."""
    return keras.optimizers.get(copy.deepcopy(identifier) if isinstance(identifier, dict) else identifier)


def to_dataset(x, batch_size=None, shuffle=True, labels=None):
    """Real data as a tf.data.Dataset of fixed-size minibatches (arrays are batched here, with
    their `labels` if given: (images, labels) minibatches)."""
    if isinstance(x, tf.data.Dataset):
        return x
    if hasattr(x, "shape"):
        dataset = tf.data.Dataset.from_tensor_slices(x if labels is None else (x, labels))
        if shuffle:
            dataset = dataset.shuffle(len(x), reshuffle_each_iteration=True)
        return dataset.batch(batch_size or 32, drop_remainder=True)
    raise ValueError(
        f"With d_steps > 1, fit() takes a tf.data.Dataset or an array of real data; got "
        f"{type(x).__name__}. Wrap other inputs with tf.data.Dataset.from_generator."
    )


def group_minibatches(dataset, k, labels=False):
    """[batch, ...] minibatches -> [batch, k, ...] groups of k consecutive minibatches; with
    `labels`, of (images, labels) pairs, grouped alike ([batch, k] labels).

    The group axis is second so that `tf.distribute` splits the batch axis across replicas
    and every replica sees its share of each of the k minibatches.
    """
    if not labels:
        dataset = dataset.map(lambda *item: item[0])  # (images, labels) -> images
    images = dataset.element_spec[0] if labels else dataset.element_spec
    if images.shape[0] is None:
        raise ValueError(
            "With d_steps > 1, fit() needs minibatches of one fixed size: batch the dataset "
            "with drop_remainder=True (ganzoo.data.load does)."
        )
    grouped = dataset.batch(k, drop_remainder=True)
    if labels:
        return grouped.map(lambda images, classes: (_batch_first(images), _batch_first(classes)))
    return grouped.map(_batch_first)


def _batch_first(group):
    """[k, batch, ...] -> [batch, k, ...]."""
    return tf.transpose(group, [1, 0] + list(range(2, len(group.shape))))


def _positive_int(name, value):
    if not is_positive_int(value):
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)
