"""StyleGAN2's generator and discriminator (Karras et al. 2020), at CPU scale.

References:
    Karras, Laine, Aittala, Hellsten, Lehtinen & Aila, "Analyzing and Improving the Image
    Quality of StyleGAN", CVPR 2020 (StyleGAN2; config-f's design: weight demodulation,
    "skip" generator, "resnet" discriminator, lazy R1 and style mixing in training).
    Karras, Laine & Aila, "A Style-Based Generator Architecture for Generative Adversarial
    Networks", CVPR 2019 (StyleGAN: mapping network, styles, noise inputs, truncation,
    style mixing, minibatch-stddev layer).
    Karras, Aila, Laine & Lehtinen, "Progressive Growing of GANs for Improved Quality,
    Stability, and Variation", ICLR 2018 (equalised learning rate, minibatch stddev).

The pieces, named as the official code (NVlabs/stylegan2, stylegan2-ada-pytorch) names them:

    mapping_network(...)         z [batch, latent_dim] -> w [batch, w_dim]: z normalised by its
                                 second moment, `num_layers` equalised Dense + lrelu, the
                                 weights learning 100x slower (lr_multiplier 0.01)
    synthesis_network(...)       ws [batch, num_ws, w_dim] -> images [batch, res, res, C]:
                                 a learned 4x4 constant, per resolution two modulated 3x3
                                 convolutions (the first upsampling) with noise, bias and
                                 lrelu, and a toRGB (modulated 1x1, no demodulation) whose
                                 outputs are summed over resolutions ("skip" architecture)
    StyleGenerator               keras.Model: mapping + synthesis, the tracked average w_avg,
                                 truncation, style mixing; `generator(z, training=...)`
    stylegan_discriminator(...)  images -> one logit per image [batch, 1] (float32): fromRGB,
                                 per resolution two 3x3 convolutions with a 1x1 residual skip
                                 ("resnet" architecture), minibatch stddev, conv, two Dense

num_ws = 2·log2(resolution) - 2, as StyleGAN2 counts the styles: the 4x4 block reads one w per
convolution and toRGB (2), every later block two for its convolutions and one for its toRGB,
whose w is the one the next block's first convolution reads (the official `w_idx` stepping).

Defaults (CPU-sized; the official values in brackets):
    latent_dim = w_dim = 512 [512], mapping layers 8 [8], mapping lr_multiplier 0.01 [0.01],
    channels at resolution r: min(channel_base // r, channel_max) with channel_base 2048 and
    channel_max 128 [config-f: 32768 and 512], w_avg_beta 0.995 [0.995], minibatch-stddev
    group 4 and 1 channel [4, 1], leaky ReLU slope 0.2 scaled by sqrt(2) [the "lrelu" gain].
    channel_base / channel_max = 16 keeps config-f's shape (a constant width up to some
    resolution, then halving as the resolution doubles; config-f halves from 128² on) at a
    width two cores can train: 128 channels up to 16x16, 64 at 32x32 (a DCGAN's width with
    filters=64). At 32x32 that is ~0.21 GMAC per image in the generator and ~0.12 in the
    discriminator (config-f's 512 channels: ~30x more), and one generator step at batch 32
    (both networks forward and backward) took 0.3 s on two cores, against 1.9 s with
    channel_base=4096, channel_max=256.

Where this departs from the official implementation:
    - Modulation is StyleGAN2's non-fused path (`fused_modconv=False`): scale the input's
      channels by the styles, convolve with the shared weight, scale the output's channels by
      the demodulation coefficients. It equals the fused formula (a per-sample weight w'·s,
      demodulated, in a grouped convolution) exactly in exact arithmetic; TensorFlow has no
      grouped convolution on the CPU.
    - Resampling is bilinear (x2 up in the generator, half-pixel centres; 2x2 average pooling
      down in the discriminator), not the [1, 3, 3, 1] FIR filter of upfirdn2d. Bilinear x2
      upsampling is zero insertion followed by that same separable [1, 3, 3, 1] / 4 filter,
      except at the borders (edge pixels are repeated rather than padded with zeros). The
      discriminator pools before its downsampling convolution (official: blur, then a stride-2
      convolution), so that convolution runs at the lower resolution.
    - Equalised learning rate scales every weight at run time, including the generator's
      modulated convolutions (the official PyTorch code leaves those unscaled, the official
      TensorFlow code scales them; demodulation cancels the scale either way).
    - No conv_clamp, no fp16 pre-normalisation of weights and styles: under `mixed_bfloat16`
      (float32's range) the demodulation coefficients are computed in float32 instead.
    - Noise: the training noise is drawn statelessly from each layer's seed and a saved draw
      counter (so a reloaded model continues exactly); at inference (training=False) each
      layer reads its fixed noise buffer (official noise_mode='const'), so the same z always
      gives the same image.
    - Training-time parts are not here: path-length regularisation (not implemented in
      ganzoo), lazy R1 and style mixing regularisation (the GAN's training step; `mix` is the
      tool for the latter), the w_avg update (`StyleGenerator.update_w_avg`, called by the
      training step).

Mixed precision: every layer computes in the dtype policy's compute dtype; variables stay
float32; the demodulation coefficients, the minibatch stddev, w and w_avg are float32; the
images and the discriminator's logits leave the networks in float32 (`OUTPUT_DTYPE`).
"""

import contextlib
import itertools
import math

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from ganzoo.networks import OUTPUT_DTYPE

DEFAULT_CHANNEL_BASE = 2048
DEFAULT_CHANNEL_MAX = 128
LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)  # StyleGAN2's bias_act "lrelu" def_gain: keeps activations' scale
ACTIVATIONS = (None, "linear", "lrelu")
DEMODULATION_EPSILON = 1e-8


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; valid: None, 'linear', 'lrelu'.")
    return None if activation == "linear" else activation


def _activate(x, activation):
    """StyleGAN2's bias_act activations: identity, or leaky ReLU (0.2) times sqrt(2)."""
    if activation == "lrelu":
        return ops.leaky_relu(x, LRELU_SLOPE) * ops.cast(LRELU_GAIN, x.dtype)
    return x


def upsample_2x(x):
    """Images [batch, H, W, C] -> [batch, 2H, 2W, C], bilinear with half-pixel centres, in
    x's dtype (TensorFlow's bilinear resize returns float32)."""
    height, width = x.shape[1], x.shape[2]
    return ops.cast(ops.image.resize(x, (2 * height, 2 * width), interpolation="bilinear"), x.dtype)


def check_resolution(resolution):
    """`resolution` as an int if it is a power of two >= 8, else a ValueError."""
    if int(resolution) != resolution or resolution < 8 or int(resolution) & (int(resolution) - 1):
        raise ValueError(f"StyleGAN2 networks need a resolution that is a power of two >= 8 (8, 16, 32, 64, ...); "
                         f"got {resolution}.")
    return int(resolution)


def num_ws_for(resolution):
    """How many ws the synthesis network reads at `resolution`: 2·log2(resolution) - 2."""
    return 2 * int(math.log2(check_resolution(resolution))) - 2


def channels_at(resolution, channel_base=DEFAULT_CHANNEL_BASE, channel_max=DEFAULT_CHANNEL_MAX):
    """StyleGAN2's feature maps at `resolution`: min(channel_base // resolution, channel_max)."""
    channels = min(int(channel_base) // int(resolution), int(channel_max))
    if channels < 1:
        raise ValueError(f"channel_base={channel_base} leaves no channels at resolution {resolution}; "
                         f"use channel_base >= {resolution}.")
    return channels


@contextlib.contextmanager
def _global_policy(policy):
    """Builds the layers created inside under `policy`, then restores the global policy."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


@keras.saving.register_keras_serializable(package="ganzoo")
class EqualizedDense(keras.layers.Layer):
    """Dense layer with an equalised learning rate (Karras et al. 2018, Sec. 4.1).

    The kernel is stored ~ N(0, 1/lr_multiplier²) and scaled at run time by
    lr_multiplier / sqrt(fan_in), the bias by lr_multiplier: every weight then starts at He's
    scale, and Adam, whose steps do not depend on a gradient's scale, moves each one by the same
    fraction of its scale whatever its fan-in; lr_multiplier < 1 (the mapping network's 0.01)
    makes the layer learn that much slower. As in the official code, the stored bias starts at
    `bias_initializer_value` (the effective bias at value·lr_multiplier). `activation`: None
    (linear) or "lrelu" (leaky ReLU 0.2 times sqrt(2)).
    """

    def __init__(self, units, lr_multiplier=1.0, bias_initializer_value=0.0, activation=None, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.lr_multiplier = float(lr_multiplier)
        self.bias_initializer_value = float(bias_initializer_value)
        self.activation = _check_activation(activation)
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.kernel = self.add_weight(
            shape=(fan_in, self.units), name="kernel",
            initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier))
        self.bias = self.add_weight(shape=(self.units,), name="bias",
                                    initializer=keras.initializers.Constant(self.bias_initializer_value)
                                    ) if self.use_bias else None
        self.weight_gain = self.lr_multiplier / math.sqrt(fan_in)

    def call(self, inputs):
        x = ops.matmul(inputs, self.kernel * ops.cast(self.weight_gain, self.kernel.dtype))
        if self.use_bias:
            x = x + self.bias * ops.cast(self.lr_multiplier, self.bias.dtype)
        return _activate(x, self.activation)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "lr_multiplier": self.lr_multiplier,
                "bias_initializer_value": self.bias_initializer_value, "activation": self.activation,
                "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="ganzoo")
class EqualizedConv2D(keras.layers.Layer):
    """2-D convolution (stride 1, "same" zero padding, channels last) with an equalised
    learning rate: `EqualizedDense`'s scheme with fan_in = kernel_size² · input channels."""

    def __init__(self, filters, kernel_size, lr_multiplier=1.0, bias_initializer_value=0.0, activation=None,
                 use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.lr_multiplier = float(lr_multiplier)
        self.bias_initializer_value = float(bias_initializer_value)
        self.activation = _check_activation(activation)
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        in_channels = int(input_shape[-1])
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, in_channels, self.filters), name="kernel",
            initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier))
        self.bias = self.add_weight(shape=(self.filters,), name="bias",
                                    initializer=keras.initializers.Constant(self.bias_initializer_value)
                                    ) if self.use_bias else None
        self.weight_gain = self.lr_multiplier / math.sqrt(in_channels * self.kernel_size**2)

    def call(self, inputs):
        x = ops.conv(inputs, self.kernel * ops.cast(self.weight_gain, self.kernel.dtype), padding="same")
        if self.use_bias:
            x = x + self.bias * ops.cast(self.lr_multiplier, self.bias.dtype)
        return _activate(x, self.activation)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "lr_multiplier": self.lr_multiplier, "bias_initializer_value": self.bias_initializer_value,
                "activation": self.activation, "use_bias": self.use_bias}


@keras.saving.register_keras_serializable(package="ganzoo")
class ModulatedConv2D(keras.layers.Layer):
    """StyleGAN2's modulated convolution with weight demodulation (Karras et al. 2020, Sec. 2.2).

    Takes [x, w]: images [batch, H, W, in] and a style vector [batch, w_dim]. The affine layer
    `affine` (an `EqualizedDense` whose bias starts at 1, so styles start near 1) maps w to one
    style s_i per input channel. The fused formula convolves each example with its own weight

        w'_ijk = s_i · w_ijk,   w''_ijk = w'_ijk / sqrt(Σ_{i,k} w'_ijk² + ε)   (demodulate)

    (i input channel, j output channel, k kernel position). This layer computes the same thing
    as the official non-fused path, since a grouped convolution has no TensorFlow CPU kernel:
    x_i · s_i, then the convolution with the shared weight w, then output channel j times
    d_j = 1 / sqrt(Σ_{i,k} (w_ijk · s_i)² + ε). Demodulation makes the output of unit-variance
    inputs unit-variance again (for independent inputs), whatever the styles: it replaces
    StyleGAN's AdaIN, whose normalisation of the activations caused its droplet artefacts.
    The coefficients d are computed in float32 whatever the compute dtype.

    `upsample=True` doubles the resolution (bilinear, half-pixel centres) before the
    convolution, which is what the official transposed convolution with its [1, 3, 3, 1]
    filter amounts to, up to borders. The weight has an equalised learning rate (runtime
    scale 1/sqrt(fan_in)); no bias (the synthesis layers add noise before their bias).
    """

    def __init__(self, filters, kernel_size, demodulate=True, upsample=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.demodulate = bool(demodulate)
        self.upsample = bool(upsample)

    def build(self, input_shape):
        x_shape, w_shape = input_shape
        in_channels = int(x_shape[-1])
        self.affine = EqualizedDense(in_channels, bias_initializer_value=1.0, name="affine")
        self.affine.build(w_shape)
        # autocast=False: read in float32 even inside a mixed-precision call, for the
        # demodulation coefficients; the convolution casts it to the compute dtype itself.
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, in_channels, self.filters), name="kernel",
            initializer=keras.initializers.RandomNormal(0.0, 1.0), autocast=False)
        self.weight_gain = 1.0 / math.sqrt(in_channels * self.kernel_size**2)

    def call(self, inputs):
        x, w = inputs
        styles = ops.cast(self.affine(w), "float32")                                    # [batch, in]
        kernel = ops.cast(self.kernel, "float32") * self.weight_gain                    # [k, k, in, out]
        x = x * ops.cast(styles[:, None, None, :], x.dtype)                             # modulate
        if self.upsample:
            x = upsample_2x(x)  # commutes with the per-channel modulation above
        y = ops.conv(x, ops.cast(kernel, x.dtype), padding="same")
        if self.demodulate:
            # Σ_{i,k} (w_ijk s_i)² = Σ_i s_i² Σ_k w_ijk²: one [batch, in] x [in, out] product.
            squared_norms = ops.matmul(ops.square(styles), ops.sum(ops.square(kernel), axis=(0, 1)))
            coefficients = ops.rsqrt(squared_norms + DEMODULATION_EPSILON)             # [batch, out]
            y = y * ops.cast(coefficients[:, None, None, :], y.dtype)
        return y

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape[0]
        scale = 2 if self.upsample else 1
        return (batch, None if height is None else height * scale, None if width is None else width * scale,
                self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "demodulate": self.demodulate, "upsample": self.upsample}


@keras.saving.register_keras_serializable(package="ganzoo")
class NoiseInjection(keras.layers.Layer):
    """StyleGAN's noise input (Karras et al. 2019, Sec. 3.2): x + strength · noise.

    One noise image [H, W, 1] per example, broadcast over the channels, times a learned
    per-layer `strength` that starts at 0. With training=True the noise is fresh N(0, 1), drawn
    statelessly from (`seed` + 1, draw counter) with the replica's index folded in; the
    counter is a non-trainable weight, so a saved and reloaded model draws the noise the
    unsaved one would (a Keras SeedGenerator's state is not saved). Otherwise the noise is
    the fixed buffer `noise_const` (a non-trainable weight drawn once from N(0, 1) with `seed`,
    saved with the model): the official noise_mode='const', so that the same z gives the same
    image every time, as `GAN.generate(n, seed)` and the exports need.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = None if seed is None else int(seed)

    def build(self, input_shape):
        self.strength = self.add_weight(shape=(), initializer="zeros", name="strength")
        self.noise_const = self.add_weight(
            shape=(int(input_shape[1]), int(input_shape[2]), 1), name="noise_const", trainable=False,
            initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed))
        self.draws = self.add_weight(shape=(), dtype="int64", initializer="zeros", name="draws", trainable=False,
                                     aggregation="only_first_replica")

    def call(self, inputs, training=None):
        if training:
            height, width = self.noise_const.shape[:2]
            replica = tf.distribute.get_replica_context()
            index = replica.replica_id_in_sync_group if replica is not None else 0
            seed = tf.random.experimental.stateless_fold_in(
                tf.stack([tf.constant(0 if self.seed is None else self.seed + 1, tf.int64), self.draws.value]), index)
            self.draws.assign_add(1)
            noise = ops.cast(tf.random.stateless_normal((ops.shape(inputs)[0], height, width, 1), seed), inputs.dtype)
        else:
            noise = ops.cast(self.noise_const, inputs.dtype)[None]
        return inputs + noise * ops.cast(self.strength, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="ganzoo")
class BiasActivation(keras.layers.Layer):
    """A learned per-channel bias (starting at 0), then None (linear) or "lrelu": the
    official bias_act after a synthesis layer's noise or a toRGB."""

    def __init__(self, activation="lrelu", **kwargs):
        super().__init__(**kwargs)
        self.activation = _check_activation(activation)

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(int(input_shape[-1]),), initializer="zeros", name="bias")

    def call(self, inputs):
        return _activate(inputs + self.bias, self.activation)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


@keras.saving.register_keras_serializable(package="ganzoo")
class LearnedConstant(keras.layers.Layer):
    """The synthesis network's learned input (Karras et al. 2019, Sec. 2): a constant
    [size, size, channels] ~ N(0, 1), repeated for every example of the batch of its input."""

    def __init__(self, channels, size=4, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.size = int(size)

    def build(self, input_shape):
        self.const = self.add_weight(shape=(self.size, self.size, self.channels), name="const",
                                     initializer=keras.initializers.RandomNormal(0.0, 1.0))

    def call(self, inputs):
        return ops.broadcast_to(self.const[None], (ops.shape(inputs)[0], self.size, self.size, self.channels))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "size": self.size}


@keras.saving.register_keras_serializable(package="ganzoo")
class SelectStyle(keras.layers.Layer):
    """ws [batch, num_ws, w_dim] -> ws[:, index]: the w that one synthesis layer reads."""

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, inputs):
        return inputs[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package="ganzoo")
class Upsample2D(keras.layers.Layer):
    """x2 bilinear upsampling (`upsample_2x`) in the compute dtype: the skip generator's
    running image, upsampled before each toRGB output is added to it."""

    def call(self, inputs):
        return upsample_2x(inputs)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, None if height is None else 2 * height, None if width is None else 2 * width, channels)


@keras.saving.register_keras_serializable(package="ganzoo")
class NormalizeSecondMoment(keras.layers.Layer):
    """z · rsqrt(mean(z²) + 1e-8) over the last axis: StyleGAN's normalisation of the latent
    (normalize_2nd_moment), which puts every z on the sphere of radius sqrt(latent_dim)."""

    def call(self, inputs):
        return inputs * ops.rsqrt(ops.mean(ops.square(inputs), axis=-1, keepdims=True) + 1e-8)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="ganzoo")
class MinibatchStdDev(keras.layers.Layer):
    """Minibatch standard deviation (Karras et al. 2018, Sec. 3; StyleGAN2's MinibatchStdLayer).

    The batch is split into groups of G examples; for each group, the standard deviation of
    every feature over the group, averaged over features and pixels (in `num_channels`
    groups of channels), is appended as `num_channels` constant feature maps to each of the
    group's examples. A discriminator that sees how much a group of samples varies can tell a
    collapsed generator's samples from real data. Example i belongs to group i mod (N / G), as
    in the official reshape.

    G is min(group_size, N) in the official code, which requires N to be a multiple of it;
    here G is the largest divisor of N that is at most group_size, so any batch works (N = 6:
    G = 3; a prime N > group_size: G = 1, where every stddev is 0 and the feature carries no
    information: a batch of a multiple of group_size avoids that). Statistics in float32.
    """

    def __init__(self, group_size=4, num_channels=1, **kwargs):
        super().__init__(**kwargs)
        if int(group_size) < 1 or int(num_channels) < 1:
            raise ValueError(f"group_size and num_channels must be positive; got {group_size}, {num_channels}.")
        self.group_size = int(group_size)
        self.num_channels = int(num_channels)

    def build(self, input_shape):
        if int(input_shape[-1]) % self.num_channels:
            raise ValueError(f"MinibatchStdDev: num_channels={self.num_channels} must divide the input's "
                             f"{input_shape[-1]} channels.")

    def group(self, batch):
        """G for a batch of `batch` examples: the largest divisor of it that is <= group_size."""
        candidates = tf.range(1, self.group_size + 1)
        divides = tf.equal(tf.math.floormod(batch, candidates), 0)
        return tf.reduce_max(tf.where(divides, candidates, 1))

    def call(self, inputs):
        shape = tf.shape(inputs)
        batch, height, width = shape[0], shape[1], shape[2]
        channels = inputs.shape[-1]
        group = self.group(batch)
        y = tf.cast(inputs, "float32")
        y = tf.reshape(y, [group, -1, height, width, self.num_channels, channels // self.num_channels])
        y = y - tf.reduce_mean(y, axis=0)                      # [G, n, H, W, F, c]
        y = tf.sqrt(tf.reduce_mean(tf.square(y), axis=0) + 1e-8)  # stddev over the group: [n, H, W, F, c]
        y = tf.reduce_mean(y, axis=[1, 2, 4])                  # [n, F]
        y = tf.tile(y[:, None, None, :], [group, height, width, 1])  # example i gets group i mod n's
        return tf.concat([inputs, tf.cast(y, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.num_channels)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size, "num_channels": self.num_channels}


def mapping_network(latent_dim=512, w_dim=512, num_layers=8, lr_multiplier=0.01, name="mapping"):
    """StyleGAN's mapping network: functional keras.Model z [batch, latent_dim] -> w [batch, w_dim].

    z is normalised by its second moment, then `num_layers` equalised Dense layers (w_dim
    wide, lrelu) with learning rate multiplier 0.01 (StyleGAN, Sec. 2 and Appendix C: a fast
    mapping network destabilises training). The output w is float32 under any policy: it is
    averaged into w_avg and mixed, and it is small.
    """
    if int(num_layers) < 1:
        raise ValueError(f"The mapping network needs at least one layer; got num_layers={num_layers}.")
    latent = keras.Input((int(latent_dim),), name="latent")
    x = NormalizeSecondMoment(name="normalize_z")(latent)
    for index in range(int(num_layers)):
        x = EqualizedDense(w_dim, lr_multiplier=lr_multiplier, activation="lrelu", name=f"fc{index}")(x)
    w = layers.Activation("linear", dtype=OUTPUT_DTYPE, name="w")(x)
    return keras.Model(latent, w, name=name)


def _synthesis_layer(x, w, filters, upsample, seed, name):
    """The official SynthesisLayer: modulated 3x3 convolution, noise, bias, lrelu."""
    x = ModulatedConv2D(filters, 3, demodulate=True, upsample=upsample, name=name)([x, w])
    x = NoiseInjection(seed=seed, name=f"{name}_noise")(x)
    return BiasActivation("lrelu", name=f"{name}_bias")(x)


def _to_rgb(x, w, image_channels, name):
    """The official ToRGBLayer: modulated 1x1 convolution without demodulation, bias, linear."""
    x = ModulatedConv2D(image_channels, 1, demodulate=False, name=name)([x, w])
    return BiasActivation(None, name=f"{name}_bias")(x)


def synthesis_network(resolution, w_dim=512, channel_base=DEFAULT_CHANNEL_BASE, channel_max=DEFAULT_CHANNEL_MAX,
                      image_channels=1, seed=None, name="synthesis"):
    """StyleGAN2's synthesis network, "skip" architecture (Karras et al. 2020, Fig. 7b).

    Functional keras.Model: ws [batch, num_ws, w_dim] (num_ws = `num_ws_for(resolution)`) ->
    images [batch, resolution, resolution, image_channels] (float32, linear: no tanh, as in
    StyleGAN2; GAN code compares them with real images in [-1, 1]).

    Block 4x4: a learned constant, one synthesis layer (ws[0]), toRGB (ws[1]). Block r = 8, 16,
    ..., resolution: an upsampling synthesis layer and a synthesis layer (ws[2·log2(r) - 5],
    ws[2·log2(r) - 4]), toRGB (ws[2·log2(r) - 3]). A synthesis layer is a modulated 3x3
    convolution + noise + bias + lrelu; toRGB a modulated 1x1 convolution without
    demodulation + bias. The image is the sum over blocks of each toRGB output, the running sum
    upsampled x2 (bilinear) at each block. Channels at resolution r: `channels_at(r, ...)`.
    `seed` fixes the noise: layer j's constant buffer draws from seed + 2j, its training noise
    from seed + 2j + 1 (None: random).
    """
    resolution = check_resolution(resolution)
    num_ws = num_ws_for(resolution)
    ws = keras.Input((num_ws, int(w_dim)), name="ws")
    w = [SelectStyle(index, name=f"w{index}")(ws) for index in range(num_ws)]
    noise_seeds = itertools.count(0 if seed is None else int(seed), 2)

    def next_seed():
        return None if seed is None else next(noise_seeds)

    x = LearnedConstant(channels_at(4, channel_base, channel_max), 4, name="b4_const")(ws)
    x = _synthesis_layer(x, w[0], channels_at(4, channel_base, channel_max), False, next_seed(), "b4_conv1")
    image = _to_rgb(x, w[1], image_channels, "b4_torgb")
    index = 1
    for log_res in range(3, int(math.log2(resolution)) + 1):
        res = 2**log_res
        filters = channels_at(res, channel_base, channel_max)
        x = _synthesis_layer(x, w[index], filters, True, next_seed(), f"b{res}_conv0")
        x = _synthesis_layer(x, w[index + 1], filters, False, next_seed(), f"b{res}_conv1")
        rgb = _to_rgb(x, w[index + 2], image_channels, f"b{res}_torgb")
        image = layers.Add(name=f"b{res}_image")([Upsample2D(name=f"b{res}_upsample_image")(image), rgb])
        index += 2  # this block's toRGB w is the next block's first convolution's
    images = layers.Activation("linear", dtype=OUTPUT_DTYPE, name="images")(image)
    return keras.Model(ws, images, name=name)


def stylegan_discriminator(resolution, image_channels=1, channel_base=DEFAULT_CHANNEL_BASE,
                           channel_max=DEFAULT_CHANNEL_MAX, mbstd_group_size=4, mbstd_num_channels=1,
                           name="discriminator"):
    """StyleGAN2's discriminator, "resnet" architecture (Karras et al. 2020, Fig. 7c).

    Functional keras.Model: data [batch, resolution, resolution, image_channels] -> one logit
    per image [batch, 1] (float32). fromRGB (1x1 conv + lrelu) at the input resolution; per
    resolution r = resolution, ..., 8 a block: 3x3 conv + lrelu (channels_at(r)), 2x2 average
    pooling, 3x3 conv + lrelu (channels_at(r / 2)), plus a residual path (2x2 average pooling,
    1x1 conv without bias), the sum scaled by 1/sqrt(2) to keep its variance. At 4x4 the
    epilogue: minibatch stddev (`MinibatchStdDev`, group `mbstd_group_size`), 3x3 conv + lrelu,
    flatten, Dense + lrelu (channels_at(4)), Dense to one logit. Every layer has an equalised
    learning rate. The official code blurs and then convolves with stride 2; pooling first
    runs the convolution at the lower resolution, 4x cheaper.
    """
    resolution = check_resolution(resolution)
    data = keras.Input((resolution, resolution, int(image_channels)), name="data")
    x = EqualizedConv2D(channels_at(resolution, channel_base, channel_max), 1, activation="lrelu",
                        name=f"b{resolution}_fromrgb")(data)
    for log_res in range(int(math.log2(resolution)), 2, -1):
        res = 2**log_res
        filters, out_filters = channels_at(res, channel_base, channel_max), channels_at(res // 2, channel_base,
                                                                                       channel_max)
        skip = layers.AveragePooling2D(2, name=f"b{res}_skip_pool")(x)
        skip = EqualizedConv2D(out_filters, 1, use_bias=False, name=f"b{res}_skip")(skip)
        x = EqualizedConv2D(filters, 3, activation="lrelu", name=f"b{res}_conv0")(x)
        x = layers.AveragePooling2D(2, name=f"b{res}_pool")(x)
        x = EqualizedConv2D(out_filters, 3, activation="lrelu", name=f"b{res}_conv1")(x)
        x = layers.Rescaling(1.0 / math.sqrt(2.0), name=f"b{res}_residual")(layers.Add(name=f"b{res}_add")([skip, x]))
    filters = channels_at(4, channel_base, channel_max)
    x = MinibatchStdDev(mbstd_group_size, mbstd_num_channels, name="b4_mbstd")(x)
    x = EqualizedConv2D(filters, 3, activation="lrelu", name="b4_conv")(x)
    x = layers.Flatten(name="b4_flatten")(x)
    x = EqualizedDense(filters, activation="lrelu", name="b4_fc")(x)
    score = EqualizedDense(1, dtype=OUTPUT_DTYPE, name="b4_out")(x)
    return keras.Model(data, score, name=name)


@keras.saving.register_keras_serializable(package="ganzoo")
class StyleGenerator(keras.Model):
    """StyleGAN2's generator: `mapping_network` + `synthesis_network`, the tracked average w_avg,
    truncation and style mixing (Karras et al. 2019, 2020).

    `generator(z, training=...)` maps latents z [batch, latent_dim] to images
    [batch, resolution, resolution, image_channels] (float32, linear) as every ganzoo generator
    does; `map` and `synthesize` expose the two halves, `mix` combines two ws for style mixing,
    `update_w_avg` tracks the average w (call it from the training step, with the w of the
    step's latents: w_avg <- lerp(mean(w), w_avg, w_avg_beta), the official update).

    w_avg is a non-trainable weight, so an EMA copy copies it rather than averaging it, and
    it is saved with the model. Truncation (w_avg + ψ·(w - w_avg)) needs it to have been
    tracked: it starts at zeros.

    `seed` fixes the noise layers' constant buffers and training noise (`synthesis_network`);
    None picks one at random and saves it in the config. The weights' initial values follow
    Keras's global seed (`keras.utils.set_random_seed`). The generator is built in __init__
    under its dtype policy, and `get_config` records its constructor arguments, so
    `from_config` (GAN's EMA copy, `.keras` loading) rebuilds the same layers in the same
    order: `weights` lists correspond one to one between copies.

    Attributes: `mapping`, `synthesis` (functional models), `num_ws`, `latent_dim`, `w_dim`,
    `resolution`, `image_channels`, `w_avg` [w_dim], `w_avg_beta`; `inputs` and `output_shape`
    describe the generator as a functional one's would (GAN reads them).
    """

    def __init__(self, latent_dim=512, w_dim=512, resolution=32, image_channels=1, mapping_layers=8,
                 channel_base=DEFAULT_CHANNEL_BASE, channel_max=DEFAULT_CHANNEL_MAX, w_avg_beta=0.995, seed=None,
                 mapping_lr_multiplier=0.01, **kwargs):
        kwargs.pop("autocast", None)
        # autocast=False: a container whose own math (truncation, mixing, the w_avg update) is
        # float32; its sub-models cast for themselves.
        super().__init__(autocast=False, **kwargs)
        self.latent_dim = int(latent_dim)
        self.w_dim = int(w_dim)
        self.resolution = check_resolution(resolution)
        self.image_channels = int(image_channels)
        self.mapping_layers = int(mapping_layers)
        self.channel_base = int(channel_base)
        self.channel_max = int(channel_max)
        self.w_avg_beta = float(w_avg_beta)
        self.mapping_lr_multiplier = float(mapping_lr_multiplier)
        self.seed = int(seed) if seed is not None else int(np.random.randint(0, 2**30))
        self.num_ws = num_ws_for(self.resolution)
        with _global_policy(self.dtype_policy):
            self.mapping = mapping_network(self.latent_dim, self.w_dim, self.mapping_layers,
                                           self.mapping_lr_multiplier, name="mapping")
            self.synthesis = synthesis_network(self.resolution, self.w_dim, self.channel_base, self.channel_max,
                                               self.image_channels, seed=self.seed, name="synthesis")
        # aggregation="mean": under tf.distribute each replica assigns the lerp of its own
        # batch mean; their mean is the lerp of the global batch's mean (the update is linear).
        self.w_avg = self.add_weight(shape=(self.w_dim,), initializer="zeros", trainable=False, autocast=False,
                                     aggregation="mean", name="w_avg")
        self.built = True

    def build(self, input_shape=None):
        # The sub-models are functional and built in __init__.
        self.built = True

    @property
    def inputs(self):
        return [keras.KerasTensor((None, self.latent_dim), dtype="float32", name="latent")]

    @property
    def output_shape(self):
        return (None, self.resolution, self.resolution, self.image_channels)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.resolution, self.resolution, self.image_channels)

    def map(self, z, truncation_psi=1.0, truncation_cutoff=None, training=False):
        """Latents z [batch, latent_dim] -> ws [batch, num_ws, w_dim] (float32): the mapping
        network's w, repeated for every layer; with truncation_psi != 1, ws[:, :cutoff] (all
        with cutoff None) become w_avg + ψ·(w - w_avg) (Karras et al. 2019, Sec. 3.4)."""
        w = ops.cast(self.mapping(z, training=training), "float32")
        ws = ops.repeat(w[:, None, :], self.num_ws, axis=1)
        if isinstance(truncation_psi, (int, float)) and truncation_psi == 1:
            return ws
        w_avg = ops.cast(self.w_avg, "float32")
        truncated = w_avg + ops.cast(truncation_psi, "float32") * (ws - w_avg)
        if truncation_cutoff is None:
            return truncated
        truncate = ops.arange(self.num_ws) < truncation_cutoff
        return ops.where(truncate[None, :, None], truncated, ws)

    def synthesize(self, ws, training=False):
        """ws [batch, num_ws, w_dim] -> images [batch, resolution, resolution, image_channels]
        (float32); training=True draws fresh noise, otherwise the fixed noise buffers."""
        return self.synthesis(ws, training=training)

    def call(self, z, training=False, truncation_psi=1.0, truncation_cutoff=None):
        return self.synthesize(self.map(z, truncation_psi, truncation_cutoff, training=training), training=training)

    def mix(self, ws_a, ws_b, crossover):
        """Style mixing (Karras et al. 2019, Sec. 3.1): ws_a's ws for layers < crossover,
        ws_b's from crossover on. `crossover`: an int (the same for every example), or an int
        tensor of shape [batch], one crossover per example. 0 gives ws_b, num_ws gives ws_a."""
        crossover = ops.cast(crossover, "int32")
        layer = ops.arange(self.num_ws, dtype="int32")
        if len(crossover.shape) == 0:
            first = (layer < crossover)[None, :, None]
        else:
            first = (layer[None, :] < crossover[:, None])[:, :, None]
        return ops.where(first, ws_a, ws_b)

    def update_w_avg(self, w):
        """w_avg <- lerp(mean(w), w_avg, w_avg_beta) = mean(w) + β·(w_avg - mean(w)), the
        official `w_avg.copy_(w.mean(0).lerp(w_avg, beta))`; `w` is the mapping's output
        [batch, w_dim] or `map`'s ws [batch, num_ws, w_dim] (untruncated: its first w is read).
        Returns the new w_avg."""
        w = ops.cast(w, "float32")
        if len(w.shape) == 3:
            w = w[:, 0]
        mean = ops.mean(w, axis=0)
        self.w_avg.assign(mean + self.w_avg_beta * (ops.cast(self.w_avg, "float32") - mean))
        return self.w_avg

    def get_config(self):
        return {
            "name": self.name, "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "latent_dim": self.latent_dim, "w_dim": self.w_dim, "resolution": self.resolution,
            "image_channels": self.image_channels, "mapping_layers": self.mapping_layers,
            "channel_base": self.channel_base, "channel_max": self.channel_max, "w_avg_beta": self.w_avg_beta,
            "seed": self.seed, "mapping_lr_multiplier": self.mapping_lr_multiplier,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)
