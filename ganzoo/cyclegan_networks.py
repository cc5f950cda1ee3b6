"""CycleGAN's networks: the ResNet generator and the 70x70 PatchGAN discriminator.

Both follow the authors' pytorch-CycleGAN-and-pix2pix defaults (`--netG resnet_9blocks --netD
basic --norm instance --init_type normal --init_gain 0.02 --no_dropout`), layer for layer:

- Instance normalisation is `keras.layers.GroupNormalization(groups=-1)` (one group per channel)
  without scale or offset and with PyTorch's epsilon 1e-5: the authors' `norm='instance'` is
  `nn.InstanceNorm2d(affine=False, track_running_stats=False)`, so it normalises each image by
  its own statistics in training and at inference alike, and has no parameters. The
  convolutions before it keep their biases, as the authors' do (`use_bias = norm_layer ==
  InstanceNorm2d`), although a per-channel normalisation cancels them.
- Zero padding is explicit (`ZeroPadding2D` + "valid" convolution) and upsampling is a
  transposed convolution cropped by one pixel at the top-left, so that every layer sees the
  same pixels PyTorch's `padding=1` (and `ConvTranspose2d(padding=1, output_padding=1)`) give
  it; Keras's "same" padding would pad (0, 1) and shift each kernel by a pixel.
- Convolution weights ~ N(0, 0.02), biases 0 (the authors' `init_type='normal'`).

Reference: Zhu, Park, Isola, Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", ICCV 2017 (Appendix 7.2: c7s1-k, dk, Rk, uk; C64-C128-C256-C512).
"""

import keras
from keras import ops

from ganzoo.registry import is_integer, is_positive_int

OUTPUT_DTYPE = "float32"  # the last layers compute in float32 under a mixed policy (ganzoo.precision)
INSTANCE_NORM_EPSILON = 1e-5  # torch.nn.InstanceNorm2d's


def _kernel_init():
    # A fresh initializer per layer (the authors' init_weights: normal(0, 0.02) on conv weights).
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


@keras.saving.register_keras_serializable(package="ganzoo")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads the height and width of [batch, H, W, C] images by reflection (PyTorch's
    `nn.ReflectionPad2d`): the border pixel is not repeated, so `padding` must be smaller
    than both sides of the image."""

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        if not is_positive_int(padding):
            raise ValueError(f"ReflectionPadding2D's padding must be a positive integer; got {padding!r}.")
        self.padding = int(padding)

    def build(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        for side, size in (("height", height), ("width", width)):
            if size is not None and size <= self.padding:
                raise ValueError(f"Reflection padding by {self.padding} needs images wider than that, but the "
                                 f"{side} here is {size}: use larger images or fewer downsamplings.")
        super().build(input_shape)

    def call(self, images):
        p = self.padding
        return ops.pad(images, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        grow = lambda size: None if size is None else size + 2 * self.padding  # noqa: E731
        return (input_shape[0], grow(input_shape[1]), grow(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def instance_normalization(name=None):
    """Instance normalisation as the authors' default: per image and channel, no affine."""
    return keras.layers.GroupNormalization(groups=-1, center=False, scale=False, epsilon=INSTANCE_NORM_EPSILON,
                                           name=name)


def _check_image_shape(image_shape, network):
    image_shape = tuple(image_shape)
    if len(image_shape) != 3 or not all(is_positive_int(d) for d in image_shape):
        raise ValueError(f"The {network} takes images: image_shape must be (height, width, channels) of positive "
                         f"integers; got {image_shape!r}.")
    return tuple(int(d) for d in image_shape)


def resnet_generator(image_shape, filters=64, num_residual_blocks=9, num_downsampling=2, output_channels=None,
                     name="resnet_generator"):
    """CycleGAN's ResNet generator (Johnson et al. 2016's, as the authors' `ResnetGenerator`):
    c7s1-64, d128, d256, R256 x `num_residual_blocks`, u128, u64, c7s1-C (tanh).

    c7s1-k: reflection padding 3, 7x7 convolution of k filters, instance norm, ReLU. dk: 3x3
    convolution of stride 2 (zero padding 1), instance norm, ReLU; each doubles the filters.
    Rk: reflection pad 1, 3x3 conv, IN, ReLU, reflection pad 1, 3x3 conv, IN, plus the block's
    input. uk: 3x3 transposed convolution of stride 2 (PyTorch's padding 1, output_padding 1),
    IN, ReLU; each halves the filters. The last c7s1 has no norm and ends in tanh, so outputs
    lie in [-1, 1]. No dropout (the authors' CycleGAN default).

    Args:
        image_shape: (height, width, channels) of the input images; height and width must be
            divisible by 2**num_downsampling for the output to have the input's size.
        filters: filters of the first layer (ngf, 64); the bottleneck has filters * 2**num_downsampling.
        num_residual_blocks: 9 for 256x256 images, 6 for 128x128 (the paper's choice).
        num_downsampling: stride-2 convolutions (2), mirrored by as many upsamplings.
        output_channels: channels of the output images; None: the input's.

    Returns a functional Keras model images -> images of the same height and width.
    """
    height, width, channels = _check_image_shape(image_shape, "ResNet generator")
    for option, value, minimum in (("filters", filters, 1), ("num_residual_blocks", num_residual_blocks, 0),
                                   ("num_downsampling", num_downsampling, 0)):
        if not is_integer(value) or value < minimum:
            raise ValueError(f"resnet_generator's {option} must be an integer >= {minimum}; got {value!r}.")
    output_channels = channels if output_channels is None else output_channels
    if not is_positive_int(output_channels):
        raise ValueError(f"output_channels must be a positive integer; got {output_channels!r}.")
    factor = 2 ** num_downsampling
    if height % factor or width % factor:
        fits = lambda size: size // factor * factor or factor  # noqa: E731
        raise ValueError(
            f"A ResNet generator with num_downsampling={num_downsampling} halves the image {num_downsampling} "
            f"time(s) and doubles it back, so height and width must be divisible by {factor}; {height}x{width} "
            f"would come back as a different size. Resize the images (e.g. to {fits(height)}x{fits(width)}) or "
            f"lower num_downsampling.")
    if height <= 3 or width <= 3:
        raise ValueError(f"The generator's first layer pads by reflection of 3 pixels, which needs images larger "
                         f"than 3x3; got {height}x{width}.")
    bottleneck = (height // factor, width // factor)
    if num_residual_blocks and min(bottleneck) < 2:
        raise ValueError(f"After {num_downsampling} downsampling(s) a {height}x{width} image is {bottleneck[0]}x"
                         f"{bottleneck[1]}, too small for the residual blocks' reflection padding; lower "
                         "num_downsampling or use larger images.")

    def conv(x, units, kernel, stride=1, name=None):
        return keras.layers.Conv2D(units, kernel, strides=stride, padding="valid", kernel_initializer=_kernel_init(),
                                   name=name)(x)

    images = keras.Input((height, width, channels), name="images")
    x = ReflectionPadding2D(3, name="pad_in")(images)
    x = conv(x, filters, 7, name="c7s1_conv")
    x = keras.layers.ReLU(name="c7s1_relu")(instance_normalization("c7s1_norm")(x))
    units = filters
    for i in range(num_downsampling):
        units *= 2
        x = keras.layers.ZeroPadding2D(1, name=f"down{i}_pad")(x)
        x = conv(x, units, 3, stride=2, name=f"down{i}_conv")
        x = keras.layers.ReLU(name=f"down{i}_relu")(instance_normalization(f"down{i}_norm")(x))
    for i in range(num_residual_blocks):
        y = ReflectionPadding2D(1, name=f"res{i}_pad_a")(x)
        y = conv(y, units, 3, name=f"res{i}_conv_a")
        y = keras.layers.ReLU(name=f"res{i}_relu")(instance_normalization(f"res{i}_norm_a")(y))
        y = ReflectionPadding2D(1, name=f"res{i}_pad_b")(y)
        y = instance_normalization(f"res{i}_norm_b")(conv(y, units, 3, name=f"res{i}_conv_b"))
        x = keras.layers.Add(name=f"res{i}_add")([x, y])
    for i in range(num_downsampling):
        units //= 2
        # "valid" gives 2H + 1 rows; PyTorch's padding=1, output_padding=1 keeps rows 1..2H.
        x = keras.layers.Conv2DTranspose(units, 3, strides=2, padding="valid", kernel_initializer=_kernel_init(),
                                         name=f"up{i}_conv")(x)
        x = keras.layers.Cropping2D(((1, 0), (1, 0)), name=f"up{i}_crop")(x)
        x = keras.layers.ReLU(name=f"up{i}_relu")(instance_normalization(f"up{i}_norm")(x))
    x = ReflectionPadding2D(3, name="pad_out")(x)
    x = keras.layers.Conv2D(output_channels, 7, padding="valid", kernel_initializer=_kernel_init(),
                            dtype=OUTPUT_DTYPE, name="out_conv")(x)
    outputs = keras.layers.Activation("tanh", dtype=OUTPUT_DTYPE, name="out_tanh")(x)
    return keras.Model(images, outputs, name=name)


def patch_map_size(size, num_layers):
    """The patch map's side for an image side `size` through a PatchGAN of `num_layers`:
    `num_layers` 4x4 convolutions of stride 2 and two of stride 1, each with zero padding 1."""
    for _ in range(num_layers):
        size = (size + 2 - 4) // 2 + 1
    for _ in range(2):
        size = size + 2 - 4 + 1
    return size


def patchgan_discriminator(image_shape, filters=64, num_layers=3, name="patchgan_discriminator"):
    """The PatchGAN discriminator (Isola et al. 2017; the authors' `NLayerDiscriminator`):
    C64-C128-C256-C512 and a 1-channel convolution, a map of logits, one per overlapping patch.

    Ck: 4x4 convolution of k filters (zero padding 1), instance norm (none in the first),
    LeakyReLU 0.2. The first `num_layers` have stride 2, the filters doubling up to 8x
    `filters`; then one of stride 1 and the output convolution of stride 1. With
    `num_layers=3` each output sees a 70x70 patch, and a 256x256 image gives a 30x30 map;
    small images need fewer layers (28x28: 3 gives 1x1, 2 gives 5x5). The outputs are raw
    scores (no sigmoid): CycleGAN trains them with least squares.

    Returns a functional Keras model images -> [batch, h, w, 1] float32 scores.
    """
    height, width, channels = _check_image_shape(image_shape, "PatchGAN discriminator")
    if not is_positive_int(filters):
        raise ValueError(f"patchgan_discriminator's filters must be a positive integer; got {filters!r}.")
    if not is_positive_int(num_layers):
        raise ValueError(f"patchgan_discriminator's num_layers must be a positive integer; got {num_layers!r}.")
    map_size = (patch_map_size(height, num_layers), patch_map_size(width, num_layers))
    if min(map_size) < 1:
        fit = max((n for n in range(1, num_layers) if min(patch_map_size(s, n) for s in (height, width)) >= 1),
                  default=None)
        advice = f"use num_layers <= {fit}" if fit else "use larger images"
        raise ValueError(f"A PatchGAN with num_layers={num_layers} shrinks a {height}x{width} image to an empty patch "
                         f"map ({map_size[0]}x{map_size[1]}); {advice}.")

    def block(x, units, stride, norm, index):
        x = keras.layers.ZeroPadding2D(1, name=f"c{index}_pad")(x)
        x = keras.layers.Conv2D(units, 4, strides=stride, padding="valid", kernel_initializer=_kernel_init(),
                                name=f"c{index}_conv")(x)
        if norm:
            x = instance_normalization(f"c{index}_norm")(x)
        return keras.layers.LeakyReLU(0.2, name=f"c{index}_lrelu")(x)

    images = keras.Input((height, width, channels), name="images")
    x = block(images, filters, 2, False, 0)
    for n in range(1, num_layers):
        x = block(x, filters * min(2 ** n, 8), 2, True, n)
    x = block(x, filters * min(2 ** num_layers, 8), 1, True, num_layers)
    x = keras.layers.ZeroPadding2D(1, name="out_pad")(x)
    scores = keras.layers.Conv2D(1, 4, padding="valid", kernel_initializer=_kernel_init(), dtype=OUTPUT_DTYPE,
                                 name="out_conv")(x)
    return keras.Model(images, scores, name=name)
