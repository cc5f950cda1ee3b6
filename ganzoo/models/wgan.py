"""Wasserstein GANs: weight clipping (Arjovsky et al. 2017) and gradient penalty (Gulrajani et al. 2017)."""

from ganzoo.gan import GAN
from ganzoo.models.common import adam, build_networks, rmsprop
from ganzoo.registry import register


@register("wgan")
def wgan(data_shape, clip_value=0.01, d_steps=5, learning_rate=5e-5, architecture="auto",
         latent_dim=None, generator_units=None, discriminator_units=None, filters=64, seed=None, ema_decay=None,
         synchronized_batch_norm=False):
    """Arjovsky et al. 2017: Wasserstein critic kept Lipschitz by weight clipping.

    Algorithm 1's defaults: clipping c = 0.01, n_critic = 5 critic updates per generator
    update, RMSProp with learning rate 5e-5 for both. The critic is the DCGAN discriminator
    (with BatchNorm, as in the paper's DCGAN experiments) for images, an MLP for vectors.

    Reference: Arjovsky, Chintala, Bottou, "Wasserstein GAN", ICML 2017.
    """
    generator, critic = build_networks(data_shape, architecture, latent_dim, generator_units,
                                       discriminator_units, filters, critic_normalization="batch",
                                       synchronized_batch_norm=synchronized_batch_norm)
    return GAN(generator, critic, objective="wasserstein", d_steps=d_steps, clip_value=clip_value,
               seed=seed, ema_decay=ema_decay,
               default_optimizers={"discriminator": rmsprop(learning_rate), "generator": rmsprop(learning_rate)},
               name="wgan")


@register("wgan_gp")
def wgan_gp(data_shape, gradient_penalty_weight=10.0, d_steps=5, learning_rate=1e-4,
            architecture="auto", latent_dim=None, generator_units=None, discriminator_units=None,
            filters=64, critic_normalization="layer", seed=None, ema_decay=None, synchronized_batch_norm=False):
    """Gulrajani et al. 2017: Wasserstein critic with a gradient penalty instead of clipping.

    Algorithm 1's defaults: λ = 10, n_critic = 5, Adam(1e-4, β1 = 0, β2 = 0.9) for both;
    interpolation weights α ~ U[0, 1] per example. No BatchNorm in the critic, since the
    penalty is per example: layer normalisation for the DCGAN critic, none for the MLP.

    Reference: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
    """
    if critic_normalization == "batch":
        raise ValueError("WGAN-GP's critic must not use BatchNorm (the penalty is per example); "
                         "use critic_normalization='layer' or 'none'.")
    generator, critic = build_networks(data_shape, architecture, latent_dim, generator_units,
                                       discriminator_units, filters, critic_normalization,
                                       synchronized_batch_norm=synchronized_batch_norm)
    optimizers = {"discriminator": adam(learning_rate, 0.0, 0.9), "generator": adam(learning_rate, 0.0, 0.9)}
    return GAN(generator, critic, objective="wasserstein", d_steps=d_steps,
               gradient_penalty_weight=gradient_penalty_weight, seed=seed, ema_decay=ema_decay,
               default_optimizers=optimizers, name="wgan_gp")
