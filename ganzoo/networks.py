"""Generator and discriminator builders: plain functional Keras models.

Generators map `latent` [batch, latent_dim] to data of `data_shape`: linear outputs for vectors
(2-D mixtures), tanh outputs in [-1, 1] for images. Discriminators map data to one unbounded
score per example (a logit or a critic value); the objective decides how to read it.

Under a mixed precision policy (`ganzoo.precision`) the hidden layers compute in bfloat16 or
float16, but each network's output layers are pinned to float32 (`OUTPUT_DTYPE`): the samples
and the scores that losses, penalties and metrics read stay float32.
"""

import math

import keras
from keras import layers

from ganzoo.layers import BatchNormalization, FusedBatchNormalization, Pack

OUTPUT_DTYPE = "float32"

# DCGAN (Radford et al. 2016): weights ~ N(0, 0.02), BatchNorm gamma ~ N(1, 0.02).
_DCGAN_KERNEL_INIT = {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.02}}
_DCGAN_GAMMA_INIT = {"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.02}}
# BatchNorm as PyTorch (the reference) sets it: moving averages that forget 10% per step
# (torch momentum 0.1 = Keras momentum 0.9) and ε 1e-5. Keras's defaults (0.99, 1e-3) make
# the statistics that inference-mode samples use lag ~100 steps behind the weights.
BATCH_NORM = {"momentum": 0.9, "epsilon": 1e-5}


def is_image_shape(data_shape):
    return len(data_shape) == 3


def batch_normalization(synchronized=False, images=True, **options):
    """The networks' BatchNorm: PyTorch's settings, the same moving statistics on every replica
    (`ganzoo.layers.BatchNormalization`), TensorFlow's fused kernel for images; `synchronized`
    computes the statistics over the global batch of all replicas and workers (an all-reduce
    per layer and step), so that N replicas train as one device on the same global batch does."""
    layer = FusedBatchNormalization if images else BatchNormalization
    return layer(synchronized=synchronized, **BATCH_NORM, **options)


def mlp_generator(latent_dim, data_shape, units=(128, 128), batch_norm=False, synchronized_batch_norm=False,
                  name="generator"):
    """MLP generator: Dense + (BatchNorm) + ReLU blocks, then a linear (vectors) or tanh
    (images, reshaped to `data_shape`) output layer."""
    latent = keras.Input((latent_dim,), name="latent")
    return keras.Model(latent, mlp_generator_layers(latent, data_shape, units, batch_norm, synchronized_batch_norm),
                       name=name)


def mlp_generator_layers(x, data_shape, units=(128, 128), batch_norm=False, synchronized_batch_norm=False):
    """The MLP generator's layers applied to vectors `x` [batch, d]: samples of `data_shape`
    (float32). `mlp_generator` applies them to the latent vector; conditional generators
    (`ganzoo.conditional_networks`) to the latent vector joined with a label embedding."""
    for width in units:
        x = layers.Dense(width, use_bias=not batch_norm)(x)
        if batch_norm:
            x = batch_normalization(synchronized_batch_norm, images=False)(x)
        x = layers.ReLU()(x)
    x = layers.Dense(math.prod(data_shape), activation="tanh" if is_image_shape(data_shape) else None,
                     dtype=OUTPUT_DTYPE)(x)
    return layers.Reshape(tuple(data_shape), dtype=OUTPUT_DTYPE)(x)


def mlp_discriminator(data_shape, units=(128,), leaky_relu_slope=0.2, pack=1, name="discriminator"):
    """MLP discriminator: flattens its input, Dense + LeakyReLU blocks, one linear output.
    `pack` > 1 judges packs of that many examples (PacGAN; one score per pack)."""
    data = keras.Input(tuple(data_shape), name="data")
    x = layers.Flatten()(Pack(pack)(data) if pack > 1 else data)
    x = mlp_discriminator_features(x, units, leaky_relu_slope)
    return keras.Model(data, layers.Dense(1, dtype=OUTPUT_DTYPE)(x), name=name)


def mlp_discriminator_features(x, units=(128,), leaky_relu_slope=0.2):
    """The MLP discriminator's hidden blocks (Dense + LeakyReLU) applied to flat inputs `x`
    [batch, d]: its features [batch, units[-1]], before the linear output layer."""
    for width in units:
        x = layers.Dense(width)(x)
        x = layers.LeakyReLU(leaky_relu_slope)(x)
    return x


def dcgan_stages(image_size):
    """(start size, number of stride-2 stages): 28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4)."""
    for start in (4, 7):
        stages = math.log2(image_size / start)
        if stages >= 1 and stages == int(stages):
            return start, int(stages)
    raise ValueError(
        f"The DCGAN networks need square images of side 4·2^n or 7·2^n (28, 32, 64, ...); "
        f"got side {image_size}. Resize the images or use an MLP architecture."
    )


def dcgan_generator(latent_dim, data_shape, filters=64, synchronized_batch_norm=False, name="generator"):
    """DCGAN generator, layer for layer the PyTorch DCGAN tutorial's.

    A transposed convolution turns the latent vector (as a 1x1 image) into a start x start map,
    then stride-2 transposed convolutions (kernel 4) double it each stage, halving the channels
    down to `filters`, with BatchNorm + ReLU; the last one gives `channels` maps and tanh.
    28x28: 7 -> 14 -> 28 with filters*2, filters channels (`tools/torch_reference.py --model dcgan --size 28`);
    64x64: 4 -> 8 -> 16 -> 32 -> 64 with filters*8 ... filters (the faces tutorial).
    """
    dcgan_geometry(data_shape)
    latent = keras.Input((latent_dim,), name="latent")
    return keras.Model(latent, dcgan_generator_layers(latent, data_shape, filters, synchronized_batch_norm),
                       name=name)


def dcgan_geometry(data_shape):
    """(start size, number of stride-2 stages) of the DCGAN networks for images of
    `data_shape` (H, W, C); a ValueError unless they are square of a side they support."""
    height, width, _ = data_shape
    if height != width:
        raise ValueError(f"The DCGAN networks need square images; got data_shape={data_shape}.")
    return dcgan_stages(height)


def dcgan_generator_layers(x, data_shape, filters=64, synchronized_batch_norm=False):
    """The DCGAN generator's layers applied to vectors `x` [batch, d] (read as 1x1 images of
    d channels): images of `data_shape` in [-1, 1] (float32). `dcgan_generator` applies them
    to the latent vector; conditional generators (`ganzoo.conditional_networks`) to the latent
    vector joined with a label embedding."""
    channels = data_shape[-1]
    start, stages = dcgan_geometry(data_shape)
    x = layers.Reshape((1, 1, x.shape[-1]))(x)
    for stage in range(stages):
        x = layers.Conv2DTranspose(
            filters * 2 ** (stages - 1 - stage),
            kernel_size=start if stage == 0 else 4,
            strides=1 if stage == 0 else 2,
            padding="valid" if stage == 0 else "same",
            use_bias=False,
            kernel_initializer=_DCGAN_KERNEL_INIT,
        )(x)
        x = batch_normalization(synchronized_batch_norm, gamma_initializer=_DCGAN_GAMMA_INIT)(x)
        x = layers.ReLU()(x)
    x = layers.Conv2DTranspose(
        channels, 4, strides=2, padding="same", use_bias=False, kernel_initializer=_DCGAN_KERNEL_INIT
    )(x)
    return layers.Activation("tanh", dtype=OUTPUT_DTYPE)(x)


_NORMALIZATIONS = {
    "batch": lambda synchronized: batch_normalization(synchronized, gamma_initializer=_DCGAN_GAMMA_INIT),
    # WGAN-GP penalises each example's gradient, which BatchNorm couples across the batch;
    # Gulrajani et al. (Sec. 4) recommend layer normalisation as the drop-in instead.
    "layer": lambda synchronized: layers.LayerNormalization(axis=[1, 2, 3]),
    "none": None,
}


def check_normalization(normalization):
    """`normalization` if the DCGAN discriminator knows it, else a ValueError naming the choices."""
    if normalization not in _NORMALIZATIONS:
        raise ValueError(
            f"Unknown normalization {normalization!r}; valid: {', '.join(_NORMALIZATIONS)}."
        )
    return normalization


def dcgan_discriminator(data_shape, filters=64, normalization="batch", leaky_relu_slope=0.2,
                        pack=1, synchronized_batch_norm=False, name="discriminator"):
    """DCGAN discriminator, the generator's mirror: stride-2 convolutions (kernel 4) with
    LeakyReLU(0.2), normalisation after all but the first, and a last valid convolution
    (kernel = the remaining start size) giving one score. `normalization` is "batch" (DCGAN),
    "layer" or "none" (for critics with a gradient penalty). `pack` > 1 judges packs of that
    many images, stacked along the channels (PacGAN; one score per pack)."""
    check_normalization(normalization)
    dcgan_geometry(data_shape)
    data = keras.Input(tuple(data_shape), name="data")
    x = Pack(pack)(data) if pack > 1 else data
    x = dcgan_discriminator_features(x, filters, normalization, leaky_relu_slope, synchronized_batch_norm)
    return keras.Model(data, dcgan_discriminator_score(x), name=name)


def dcgan_discriminator_features(x, filters=64, normalization="batch", leaky_relu_slope=0.2,
                                 synchronized_batch_norm=False):
    """The DCGAN discriminator's stride-2 stages applied to images `x` [batch, side, side, C]:
    its features [batch, start, start, filters * 2^(stages - 1)], before the last convolution."""
    check_normalization(normalization)
    _, stages = dcgan_geometry(tuple(x.shape[1:]))
    for stage in range(stages):
        x = layers.Conv2D(
            filters * 2**stage, 4, strides=2, padding="same", use_bias=False,
            kernel_initializer=_DCGAN_KERNEL_INIT,
        )(x)
        if stage > 0 and _NORMALIZATIONS[normalization] is not None:
            x = _NORMALIZATIONS[normalization](synchronized_batch_norm)(x)
        x = layers.LeakyReLU(leaky_relu_slope)(x)
    return x


def dcgan_discriminator_score(features):
    """The DCGAN discriminator's last layer applied to its `features` [batch, start, start, F]:
    a valid convolution whose kernel covers the whole map, i.e. one linear function of all of
    it, giving one score per example [batch, 1] (float32)."""
    x = layers.Conv2D(1, features.shape[1], padding="valid", use_bias=False,
                      kernel_initializer=_DCGAN_KERNEL_INIT, dtype=OUTPUT_DTYPE)(features)
    return layers.Flatten(dtype=OUTPUT_DTYPE)(x)
