"""Class-conditional generators and discriminators for conditional GANs: plain functional Keras models.

Every network takes the class as an int32 input "label" of shape [batch] with values in
[0, num_classes), next to `latent` [batch, latent_dim] (generators) or `data` (discriminators),
and is built from the same DCGAN and MLP stacks as the unconditional networks
(`ganzoo.networks`), so a conditional network differs from its unconditional twin only where the
label enters:

    conditional_generator              G(z, y): a learned label embedding joined to z
    concat_discriminator               D(x, y): the one-hot label joined to the input (cGAN,
                                       Mirza & Osindero 2014)
    projection_discriminator           D(x, y) = ψ(φ(x)) + <embed(y), φ(x)> (Miyato & Koyama 2018)
    auxiliary_classifier_discriminator D(x) -> (score, class logits) (AC-GAN, Odena et al. 2017)

`architecture` is "dcgan" (square images of side 4·2^n or 7·2^n), "mlp" (any data) or "auto"
(dcgan for images, mlp for vectors), as in the zoo's builders. As there, the hidden layers
compute in the global dtype policy and every output layer is pinned to float32
(`networks.OUTPUT_DTYPE`): samples, scores and class logits stay float32 under mixed precision.

Labels outside [0, num_classes) are the caller's error: the embeddings fail on them, the one-hot
encoding of the concat discriminator silently reads them as "no class" (all zeros).
"""

import keras
from keras import layers

from ganzoo import networks
from ganzoo.networks import OUTPUT_DTYPE

# torch.nn.Embedding's N(0, 1): the generator's label inputs start at the scale of z ~ N(0, 1)
# that they are joined to (Keras's default, uniform in ±0.05, std 0.03, would start them ~35x
# fainter, and the generator would first have to learn to hear the label at all).
_GENERATOR_EMBEDDING_INIT = {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 1.0}}


def conditional_generator(latent_dim, data_shape, num_classes, architecture="auto", filters=64, units=(128, 128),
                          embedding_dim=None, synchronized_batch_norm=False, batch_norm=False, name="generator"):
    """Class-conditional generator G(z, y): [latent, label] -> data of `data_shape`.

    The label is looked up in a learned embedding (`embedding_dim` wide, default `num_classes`)
    and concatenated to z; the rest is the unconditional generator, layer for layer:
    `networks.dcgan_generator` (the joined vector read as a 1x1 image, tanh images) or
    `networks.mlp_generator` (`units`, optional `batch_norm`; linear vectors, tanh images).

    Conditioning the generator by concatenating the label to z is the cGAN's (Mirza & Osindero
    2014, "Conditional Generative Adversarial Nets"), which fed a one-hot y; a learned embedding
    is what later class-conditional GANs use (BigGAN, Brock et al. 2019; the projection
    discriminator's code). At the default width num_classes it can express exactly what a
    one-hot y feeding the same first layer can (that layer is linear in its input), with the
    same input width, so it changes the parametrisation, not the model.
    """
    architecture = _architecture(architecture, data_shape)
    num_classes = _positive_int(num_classes, "num_classes")
    embedding_dim = _positive_int(num_classes if embedding_dim is None else embedding_dim, "embedding_dim")
    if architecture == "dcgan":
        networks.dcgan_geometry(data_shape)  # a clear error before any layer is built
    latent = keras.Input((latent_dim,), name="latent")
    label = label_input()
    embedded = layers.Embedding(num_classes, embedding_dim, embeddings_initializer=_GENERATOR_EMBEDDING_INIT,
                                name="label_embedding")(label)
    x = layers.Concatenate(name="latent_and_label")([latent, embedded])
    if architecture == "dcgan":
        data = networks.dcgan_generator_layers(x, data_shape, filters, synchronized_batch_norm)
    else:
        data = networks.mlp_generator_layers(x, data_shape, units, batch_norm, synchronized_batch_norm)
    return keras.Model([latent, label], data, name=name)


def concat_discriminator(data_shape, num_classes, architecture="auto", filters=64, normalization="batch",
                         units=(128,), synchronized_batch_norm=False, name="discriminator"):
    """cGAN discriminator D(x, y) (Mirza & Osindero 2014): the one-hot label joined to the input.

    [data, label] -> one score per example [batch, 1] (float32). Images, dcgan: the label as
    `num_classes` constant H x W planes (`label_planes`: plane y all ones, the others all zeros)
    stacked after the image's channels, then `networks.dcgan_discriminator`'s layers with
    C + num_classes input channels (`normalization` "batch", "layer" or "none"). mlp (vectors
    or flattened images): the one-hot label concatenated to the flat input, then
    `networks.mlp_discriminator`'s layers (`units`), as the paper's MNIST discriminator.
    The label enters at the input, so every layer can relate it to every feature.
    """
    architecture = _architecture(architecture, data_shape)
    num_classes = _positive_int(num_classes, "num_classes")
    networks.check_normalization(normalization)
    if architecture == "dcgan":
        networks.dcgan_geometry(data_shape)
    data, label = keras.Input(tuple(data_shape), name="data"), label_input()
    if architecture == "dcgan":
        height, width, _ = data_shape
        x = layers.Concatenate(axis=-1, name="data_and_label_planes")(
            [data, label_planes(label, num_classes, height, width)])
        x = networks.dcgan_discriminator_features(x, filters, normalization,
                                                  synchronized_batch_norm=synchronized_batch_norm)
        score = networks.dcgan_discriminator_score(x)
    else:
        x = layers.Concatenate(name="data_and_label")([layers.Flatten()(data), one_hot(label, num_classes)])
        x = networks.mlp_discriminator_features(x, units)
        score = layers.Dense(1, dtype=OUTPUT_DTYPE)(x)
    return keras.Model([data, label], score, name=name)


def projection_discriminator(data_shape, num_classes, architecture="auto", filters=64, normalization="batch",
                             units=(128,), synchronized_batch_norm=False, name="discriminator"):
    """Projection discriminator (Miyato & Koyama 2018, "cGANs with Projection Discriminator").

    [data, label] -> score [batch, 1] (float32):

        score = ψ(φ(x)) + <embed(y), φ(x)>

    φ is the unconditional discriminator's trunk, ψ a linear layer to one score (layer
    "unconditional_score", whose input is φ(x)), embed an Embedding(num_classes, dim φ)
    ("class_embedding"), and the inner product the layer "projection". The paper derives this
    form from a log-linear model of p(y | x): the label acts on D's features through one inner
    product instead of entering at the input.

    φ(x): dcgan, the last stride-2 stage's activations [start, start, F] flattened (not
    globally sum-pooled as in the paper's ResNets). The DCGAN discriminator's own head is a
    linear function of that whole map (its last valid convolution), so ψ on the flattened map
    is exactly that head, and with the embedding at zero this network is
    `networks.dcgan_discriminator`; sum pooling would instead make the shallow DCGAN trunk
    (receptive field 10 px after the two stages of 28x28) a bag-of-patches critic, where the
    paper's deep ResNets see the whole image before pooling. mlp: the last hidden layer's
    activations (`units[-1]`). ψ and embed start from the same initialiser (DCGAN's N(0, 0.02),
    or Keras's Dense default for mlp), as in the authors' Chainer code (both GlorotUniform), so
    the class term starts at the unconditional term's scale.
    """
    architecture = _architecture(architecture, data_shape)
    num_classes = _positive_int(num_classes, "num_classes")
    data, label = keras.Input(tuple(data_shape), name="data"), label_input()
    features = _trunk(data, architecture, filters, normalization, units, synchronized_batch_norm)
    head = _head_options(architecture)
    psi = layers.Dense(1, **head, dtype=OUTPUT_DTYPE, name="unconditional_score")(features)
    class_embedding = layers.Embedding(num_classes, features.shape[-1],
                                       embeddings_initializer=head["kernel_initializer"],
                                       dtype=OUTPUT_DTYPE, name="class_embedding")(label)
    projection = layers.Dot(axes=1, dtype=OUTPUT_DTYPE, name="projection")([class_embedding, features])
    score = layers.Add(dtype=OUTPUT_DTYPE, name="score")([psi, projection])
    return keras.Model([data, label], score, name=name)


def auxiliary_classifier_discriminator(data_shape, num_classes, architecture="auto", filters=64,
                                       normalization="batch", units=(128,), synchronized_batch_norm=False,
                                       name="discriminator"):
    """AC-GAN discriminator (Odena, Olah & Shlens 2017, "Conditional Image Synthesis with
    Auxiliary Classifier GANs").

    data -> [score [batch, 1], class_logits [batch, num_classes]] (both float32): the
    unconditional trunk (φ as in `projection_discriminator`) with two linear heads, one for
    real/fake ("score") and one classifying the example ("class_logits", pre-softmax). D sees
    no label: the class enters only through the classification loss on real and generated
    examples, which the objective adds.
    """
    architecture = _architecture(architecture, data_shape)
    num_classes = _positive_int(num_classes, "num_classes")
    data = keras.Input(tuple(data_shape), name="data")
    features = _trunk(data, architecture, filters, normalization, units, synchronized_batch_norm)
    head = _head_options(architecture)
    score = layers.Dense(1, **head, dtype=OUTPUT_DTYPE, name="score")(features)
    logits = layers.Dense(num_classes, **head, dtype=OUTPUT_DTYPE, name="class_logits")(features)
    return keras.Model(data, [score, logits], name=name)


def label_input():
    """The networks' label input: int32 class indices of shape [batch]."""
    return keras.Input((), dtype="int32", name="label")


def one_hot(label, num_classes):
    """int labels [batch] -> one-hot rows [batch, num_classes] (all zeros for a label outside
    [0, num_classes))."""
    return layers.CategoryEncoding(num_classes, output_mode="one_hot")(label)


def label_planes(label, num_classes, height, width):
    """int labels [batch] -> [batch, height, width, num_classes]: for label k, plane k all ones
    and every other plane all zeros, at every pixel (the cGAN's one-hot y as image channels).

    Each one-hot row becomes a 1x1 image and nearest-neighbour upsampling by (height, width)
    copies it to every pixel. (keras-io's conditional GAN example builds the planes with a
    `tf.repeat` of the one-hot rows reshaped to the image, which spreads each example's one-hot
    vector over the pixels in bands instead of filling each plane with its own value.)
    """
    x = layers.Reshape((1, 1, num_classes))(one_hot(label, num_classes))
    return layers.UpSampling2D((height, width), interpolation="nearest")(x)


def _trunk(data, architecture, filters, normalization, units, synchronized_batch_norm):
    """φ(x) [batch, features]: the unconditional discriminator's layers up to its output layer,
    flattened (see `projection_discriminator` for why flattened rather than pooled)."""
    networks.check_normalization(normalization)
    if architecture == "dcgan":
        networks.dcgan_geometry(data.shape[1:])
        x = networks.dcgan_discriminator_features(data, filters, normalization,
                                                  synchronized_batch_norm=synchronized_batch_norm)
        return layers.Flatten()(x)
    return networks.mlp_discriminator_features(layers.Flatten()(data), units)


def _head_options(architecture):
    """The linear heads as the unconditional network's output layer: DCGAN's has no bias and
    N(0, 0.02) weights (the PyTorch tutorial's last convolution), the MLP's Keras's defaults."""
    if architecture == "dcgan":
        return {"use_bias": False, "kernel_initializer": networks._DCGAN_KERNEL_INIT}
    return {"use_bias": True, "kernel_initializer": "glorot_uniform"}


def _architecture(architecture, data_shape):
    images = networks.is_image_shape(data_shape)
    if architecture == "auto":
        return "dcgan" if images else "mlp"
    if architecture == "dcgan" and not images:
        raise ValueError(
            f"The dcgan architecture is convolutional and needs an image data_shape (H, W, C); "
            f"got {data_shape}. Use architecture='mlp' for vectors."
        )
    if architecture not in ("dcgan", "mlp"):
        raise ValueError(f"Unknown architecture {architecture!r}; valid: auto, mlp, dcgan.")
    return architecture


def _positive_int(value, what):
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{what} must be a positive integer; got {value!r}.")
    return int(value)
