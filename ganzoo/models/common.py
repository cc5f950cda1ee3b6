"""Network choices shared by the zoo's builders."""

import keras

from ganzoo import networks, regularizers as regularizers_lib


def adam(learning_rate, beta_1=0.5, beta_2=0.999, epsilon=1e-7):
    return keras.optimizers.serialize(keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=beta_2,
                                                            epsilon=epsilon))


def rmsprop(learning_rate):
    return keras.optimizers.serialize(keras.optimizers.RMSprop(learning_rate))


def model_regularizers(regularizers, defaults=()):
    """The regularisers a builder gives its GAN: the user's `regularizers` if given (they
    replace the model's own), else `defaults`."""
    return regularizers_lib.get_list(list(defaults) if regularizers is None else regularizers)


def critic_normalization_for(critic_normalization, regularizers, default="batch"):
    """"auto": `default`, or, when a regulariser rules out BatchNorm, what it takes instead:
    layer normalisation for the per-example penalties (gradient penalty, R1; Gulrajani et al.
    2017, Sec. 4), none for weight clipping and spectral normalisation, whose Lipschitz bounds
    any normalisation would undo. Anything else as given (a regulariser refuses a BatchNorm
    critic it cannot act on, with a message)."""
    if critic_normalization != "auto":
        return critic_normalization
    instead = {r.normalization_instead for r in regularizers if r.forbids_batch_norm}
    return ("none" if "none" in instead else "layer") if instead else default


def build_networks(data_shape, architecture, latent_dim, generator_units, discriminator_units,
                   filters, critic_normalization="batch", pack=1, generator_batch_norm=False,
                   synchronized_batch_norm=False):
    """(generator, discriminator) for `architecture` "mlp", "dcgan", or "auto" (dcgan for
    images, mlp for vectors). Unset sizes take defaults for the data: the unrolled GAN
    paper's mixture MLPs (Metz et al. 2017, App. A) for vectors, wider MLPs for images.
    `pack` > 1 makes the discriminator judge packs of that many examples (PacGAN);
    `generator_batch_norm` puts BatchNorm in the MLP generator's hidden layers;
    `synchronized_batch_norm` makes every BatchNorm's statistics span all replicas (see
    `networks.batch_normalization`)."""
    images = networks.is_image_shape(data_shape)
    if architecture == "auto":
        architecture = "dcgan" if images else "mlp"
    if architecture == "dcgan":
        if not images:
            raise ValueError(
                f"The dcgan architecture is convolutional and needs an image data_shape (H, W, C); "
                f"got {data_shape}. Use architecture='mlp' (or vanilla_gan) for vectors."
            )
        return (networks.dcgan_generator(latent_dim or 100, data_shape, filters, synchronized_batch_norm),
                networks.dcgan_discriminator(data_shape, filters, critic_normalization, pack=pack,
                                             synchronized_batch_norm=synchronized_batch_norm))
    if architecture == "mlp":
        default_g, default_d = ((256, 512, 1024), (512, 256)) if images else ((128, 128), (128,))
        return (networks.mlp_generator(latent_dim or (100 if images else 256), data_shape,
                                       tuple(generator_units or default_g), batch_norm=generator_batch_norm,
                                       synchronized_batch_norm=synchronized_batch_norm),
                networks.mlp_discriminator(data_shape, tuple(discriminator_units or default_d), pack=pack))
    raise ValueError(f"Unknown architecture {architecture!r}; valid: auto, mlp, dcgan.")
