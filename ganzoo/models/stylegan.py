"""StyleGAN2 (Karras et al. 2020) as a ganzoo GAN: the networks of `ganzoo.stylegan_networks`,
trained with the non-saturating loss, lazy R1 on the discriminator, style mixing
regularisation, the tracked average w and an EMA generator.

The training step is GAN's (k = 1 discriminator update, then one generator update); StyleGAN
adds two things to it:
- style mixing regularisation (Karras et al. 2019, Sec. 3.1): with probability
  `style_mixing_probability` (0.9) an example's generated image takes its styles from a second
  latent from a crossover layer drawn uniformly in [1, num_ws). The official code draws one
  crossover per minibatch; here each example draws its own (the same expectation, more
  crossovers seen per step), from the step's stateless noise, so replicas draw as one device.
- the tracked average w (`w_avg`, for truncation): updated on each discriminator update from
  the mapping of that update's latents, as the official code does while it generates D's fakes.

Sampling adds the truncation trick: `generate(n, seed, truncation_psi=0.7)` draws w_avg +
ψ·(w - w_avg) (Karras et al. 2019, Sec. 3.4; ψ = 1 leaves w, ψ = 0 gives the average image).
`style_mix(seed_a, seed_b, crossover)` and `interpolate(seed_a, seed_b, steps)` (slerp in z or
lerp in w) give the pictures the papers show.

Defaults (CPU-sized; official StyleGAN2 config-f / the ADA paper's CIFAR-10 config in brackets):
Adam lr 0.0025, β (0, 0.99), ε 1e-8 for both networks [the same; the official code also
scales D's by c = 16/17 (lr·c, β^c), making up for lazy R1's own extra optimiser step, which
here is not taken: R1 is added to the loss of one ordinary D update in 16, ×16]; R1 γ = 0.01 [CIFAR-10's; config-f's 10 at 1024²]; EMA of the
generator with decay 0.999 [ema_kimg 10 at batch 32: 0.9978]; mapping 8 layers [8]; style
mixing 0.9 [0.9]. Path-length regularisation is not implemented (the paper's Table 1 credits
it with perceptual quality, not distance; the ADA paper's CIFAR-10 config also turns it off).
"""

import numbers

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ganzoo import precision
from ganzoo.gan import GAN
from ganzoo.models.common import adam, model_regularizers
from ganzoo.registry import register
from ganzoo.regularizers import R1
from ganzoo.stylegan_networks import DEFAULT_CHANNEL_BASE, DEFAULT_CHANNEL_MAX, StyleGenerator, stylegan_discriminator

R1_INTERVAL = 16  # StyleGAN2's lazy regularisation: R1 on one discriminator update in 16


@keras.saving.register_keras_serializable(package="ganzoo")
class StyleGAN(GAN):
    """A GAN whose generator is a `StyleGenerator` (mapping + synthesis, w_avg), trained with
    style mixing regularisation and sampled with truncation.

    Args:
        generator: a `ganzoo.stylegan_networks.StyleGenerator`.
        discriminator: images -> one logit per image (`stylegan_discriminator`).
        style_mixing_probability: share of generated training images whose styles switch to a
            second latent's at a random crossover layer (0 turns mixing off).
        **kwargs: the `GAN` arguments (objective, regularizers, ema_decay, seed, ...).

    A training step's latent row is [z, z_mix, u_mix, u_crossover] (2·latent_dim + 2 numbers
    drawn from the step's seed); `_generate` reads it. Everywhere else latents are z alone.
    """

    def __init__(self, generator, discriminator, style_mixing_probability=0.9, **kwargs):
        if not isinstance(generator, StyleGenerator):
            raise TypeError(f"A StyleGAN's generator is a ganzoo.stylegan_networks.StyleGenerator; got "
                            f"{type(generator).__name__}.")
        if (not isinstance(style_mixing_probability, (int, float)) or isinstance(style_mixing_probability, bool)
                or not 0 <= style_mixing_probability <= 1):
            raise ValueError(f"style_mixing_probability must be a number in [0, 1]; got {style_mixing_probability!r}.")
        super().__init__(generator, discriminator, **kwargs)
        self.style_mixing_probability = float(style_mixing_probability)
        self._truncation = (1.0, None)  # (ψ, cutoff) while generate() samples
        self._truncated_samplers = {}

    # ------------------------------------------------------------------ the training step
    def _draw_step_noise(self, local_batch, seed=None):
        """GAN's latents (the same draws), each row extended by a mixing latent and two
        uniforms (whether to mix, where to cross over), from the same step seed."""
        if seed is None:
            seed = self._next_step_seed()
        latents, alphas = super()._draw_step_noise(local_batch, seed)
        global_batch = local_batch * self.distribute_strategy.num_replicas_in_sync
        fold = tf.random.experimental.stateless_fold_in
        mixing = tf.random.stateless_normal([self.d_steps + 1, global_batch, self.latent_dim], fold(seed, 2))
        uniforms = tf.random.stateless_uniform([self.d_steps + 1, global_batch, 2], fold(seed, 3))
        extra = self._replica_slice(tf.concat([mixing, uniforms], axis=-1), local_batch)
        return tf.concat([latents, extra], axis=-1), alphas

    def _generate(self, latent, training, use_ema=False, labels=None):
        if latent.shape[-1] == self.latent_dim:  # plain latents: sampling, evaluation
            return super()._generate(latent, training, use_ema)
        z, z_mix, u = latent[:, :self.latent_dim], latent[:, self.latent_dim:-2], latent[:, -2:]
        if not training or self.style_mixing_probability == 0:
            return super()._generate(z, training, use_ema)
        generator = self.sampling_generator if use_ema else self.generator
        ws = generator.map(z, training=True)
        num_ws = generator.num_ws
        crossover = 1 + ops.cast(ops.floor(u[:, 1] * (num_ws - 1)), "int32")  # uniform in [1, num_ws)
        crossover = ops.where(u[:, 0] < self.style_mixing_probability, crossover, num_ws)
        ws = generator.mix(ws, generator.map(z_mix, training=True), crossover)
        return precision.at_least_float32(generator.synthesize(ws, training=True))

    def _discriminator_update(self, real, latent, alpha, labels=None):
        # The official code tracks w_avg while it generates the discriminator's fakes.
        self.generator.update_w_avg(self.generator.mapping(latent[:, :self.latent_dim], training=True))
        return super()._discriminator_update(real, latent, alpha, labels)

    # ------------------------------------------------------------------------ sampling
    def generate(self, num_samples, seed=None, batch_size=256, use_ema=True, labels=None, truncation_psi=1.0,
                 truncation_cutoff=None):
        """GAN.generate (the same latents for the same seed), with the truncation trick:
        ws become w_avg + ψ·(w - w_avg) (the first `truncation_cutoff` of them; None: all)."""
        if not isinstance(truncation_psi, numbers.Real) or isinstance(truncation_psi, (bool, np.bool_)):
            raise TypeError(f"truncation_psi must be a number (1: no truncation, 0: the average image); "
                            f"got {truncation_psi!r}.")
        if truncation_cutoff is not None and not (isinstance(truncation_cutoff, int) and
                                                  0 <= truncation_cutoff <= self.generator.num_ws):
            raise ValueError(f"truncation_cutoff must be None or an integer in [0, {self.generator.num_ws}]; "
                             f"got {truncation_cutoff!r}.")
        self._truncation = (float(truncation_psi), truncation_cutoff)
        try:
            return super().generate(num_samples, seed, batch_size, use_ema, labels)
        finally:
            self._truncation = (1.0, None)

    def _sample_block(self, generator, inputs, batch_size):
        psi, cutoff = self._truncation
        if psi == 1.0 and cutoff is None:
            return super()._sample_block(generator, inputs, batch_size)
        network = self.generator if generator is self.generator else self.sampling_generator
        sampler = self._truncated_sampler(network, cutoff)
        return np.concatenate([sampler(tf.convert_to_tensor(inputs[start:start + batch_size]), tf.constant(psi)).numpy()
                               for start in range(0, len(inputs), batch_size)])

    def _truncated_sampler(self, network, cutoff):
        """A tf.function per (network, cutoff), ψ a tensor argument: one trace serves every ψ."""
        key = (id(network), cutoff)
        if key not in self._truncated_samplers:
            @tf.function
            def sample(z, psi):
                images = network.synthesize(network.map(z, psi, cutoff), training=False)
                return ops.cast(images, "float32")
            self._truncated_samplers[key] = sample
        return self._truncated_samplers[key]

    def latents(self, seeds):
        """z [len(seeds), latent_dim]: row i is the latent `generate(1, seed=seeds[i])` draws."""
        return np.stack([tf.random.stateless_normal([self.latent_dim], tf.constant([int(s), 0], tf.int64)).numpy()
                         for s in seeds])

    def style_mix(self, row_seeds, column_seeds, crossover, truncation_psi=1.0, use_ema=True):
        """Style mixing (Karras et al. 2019, Fig. 3): image [i, j] takes row seed i's ws below
        `crossover` and column seed j's from it on (0: column j's image, num_ws: row i's).
        Returns [rows, columns, H, W, C] images in [-1, 1] (inference mode)."""
        network = self.sampling_generator if use_ema else self.generator
        if not isinstance(crossover, int) or not 0 <= crossover <= network.num_ws:
            raise ValueError(f"crossover must be an integer in [0, {network.num_ws}] (num_ws); got {crossover!r}.")
        rows, columns = network.map(self.latents(row_seeds), truncation_psi), network.map(self.latents(column_seeds),
                                                                                         truncation_psi)
        pairs_a = ops.repeat(rows, len(column_seeds), axis=0)
        pairs_b = ops.tile(columns, [len(row_seeds), 1, 1])
        images = network.synthesize(network.mix(pairs_a, pairs_b, crossover), training=False)
        return np.asarray(images, np.float32).reshape(len(row_seeds), len(column_seeds), *self.data_shape)

    def interpolate(self, seed_a, seed_b, steps=8, space="w", truncation_psi=1.0, use_ema=True):
        """Images along the path from seed_a's latent to seed_b's: `space="z"` spherical
        interpolation of the Gaussian latents (slerp, which keeps them at the typical norm),
        `space="w"` linear interpolation of w (StyleGAN's perceptual path length is measured
        that way). Returns [steps, H, W, C] in [-1, 1]."""
        if space not in ("z", "w"):
            raise ValueError(f"space must be 'z' (slerp) or 'w' (lerp); got {space!r}.")
        if not isinstance(steps, int) or steps < 2:
            raise ValueError(f"steps must be an integer >= 2; got {steps!r}.")
        network = self.sampling_generator if use_ema else self.generator
        a, b = self.latents([seed_a, seed_b])
        t = np.linspace(0.0, 1.0, steps)[:, None]
        if space == "z":
            z = slerp(a, b, t).astype("float32")
            ws = network.map(z, truncation_psi)
        else:
            ends = network.map(np.stack([a, b]), truncation_psi)
            ws = ends[0][None] + ops.cast(t[:, :, None], "float32") * (ends[1] - ends[0])[None]
        return np.asarray(network.synthesize(ws, training=False), np.float32)

    def get_config(self):
        config = super().get_config()
        config.update(style_mixing_probability=self.style_mixing_probability)
        return config


def slerp(a, b, t):
    """Spherical interpolation between vectors a and b at fractions t [n, 1] (Shoemake 1985;
    White 2016 for GAN latents); linear where a and b are (nearly) parallel."""
    a_unit, b_unit = a / np.linalg.norm(a), b / np.linalg.norm(b)
    omega = np.arccos(np.clip(np.dot(a_unit, b_unit), -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


@register("stylegan")
def stylegan(data_shape, latent_dim=512, w_dim=512, mapping_layers=8, channel_base=DEFAULT_CHANNEL_BASE,
             channel_max=DEFAULT_CHANNEL_MAX, r1_weight=0.01, style_mixing_probability=0.9, objective="non_saturating",
             regularizers=None, seed=None, ema_decay=0.999, learning_rate=0.0025):
    """Karras et al. 2020 (StyleGAN2): mapping network, modulated convolutions, noise, lazy R1, style mixing.

    Square images whose side is a power of two >= 8 (Fashion-MNIST: `data.load("fashion_mnist",
    pad_to=32)`). Non-saturating loss with R1 (γ = `r1_weight`) on one discriminator update in
    16 (lazy, ×16), style mixing regularisation with probability 0.9, an EMA generator, the
    tracked average w for truncation. Adam(0.0025, β (0, 0.99), ε 1e-8) for both networks.
    `regularizers` replaces the R1.
    Channels: min(channel_base // resolution, channel_max) (`ganzoo.stylegan_networks`).

    Reference: Karras, Laine, Aittala, Hellsten, Lehtinen & Aila, "Analyzing and Improving the
    Image Quality of StyleGAN", CVPR 2020; Karras, Laine & Aila, "A Style-Based Generator
    Architecture for Generative Adversarial Networks", CVPR 2019.
    """
    if len(data_shape) != 3 or data_shape[0] != data_shape[1]:
        raise ValueError(f"StyleGAN generates square images [H, H, C]; got data_shape {data_shape}.")
    resolution, channels = data_shape[0], data_shape[2]
    regularizers = model_regularizers(regularizers, defaults=[R1(r1_weight, interval=R1_INTERVAL)])
    generator = StyleGenerator(latent_dim, w_dim, resolution, channels, mapping_layers, channel_base, channel_max,
                               seed=seed if seed is not None else 0, name="generator")
    discriminator = stylegan_discriminator(resolution, channels, channel_base, channel_max, name="discriminator")
    # No lazy-regularisation correction (the paper's lr·c, β^c with c = 16/17, Appendix B): it
    # makes up for R1's own extra optimiser step, and here R1 rides on an ordinary D update.
    return StyleGAN(generator, discriminator, style_mixing_probability=style_mixing_probability, objective=objective,
                    regularizers=regularizers, seed=seed, ema_decay=ema_decay,
                    default_optimizers={"discriminator": adam(learning_rate, 0.0, 0.99, epsilon=1e-8),
                                        "generator": adam(learning_rate, 0.0, 0.99, epsilon=1e-8)},
                    name="stylegan")
