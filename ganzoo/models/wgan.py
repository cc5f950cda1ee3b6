"""Wasserstein GANs: weight clipping (Arjovsky et al. 2017) and gradient penalty (Gulrajani et al. 2017)."""

from ganzoo.gan import GAN
from ganzoo.models.common import adam, build_networks, critic_normalization_for, model_regularizers, rmsprop
from ganzoo.regularizers import GradientPenalty, WeightClipping
from ganzoo.registry import register


@register("wgan")
def wgan(data_shape, clip_value=0.01, d_steps=5, learning_rate=5e-5, objective="wasserstein", regularizers=None,
         architecture="auto", latent_dim=None, generator_units=None, discriminator_units=None, filters=64,
         critic_normalization="auto", seed=None, ema_decay=None, synchronized_batch_norm=False):
    """Arjovsky et al. 2017: Wasserstein critic kept Lipschitz by weight clipping.

    Algorithm 1's defaults: clipping c = 0.01, n_critic = 5 critic updates per generator
    update, RMSProp with learning rate 5e-5 for both. The critic is the DCGAN discriminator
    with BatchNorm for images, as in the paper's DCGAN experiments (though BatchNorm undoes what
    clipping bounds: see `ganzoo.regularizers.WeightClipping`), an MLP for vectors.
    `regularizers` replaces the clipping (e.g. ["spectral_norm"]); with a per-example penalty
    the image critic takes layer normalisation (`critic_normalization="auto"`).

    Reference: Arjovsky, Chintala, Bottou, "Wasserstein GAN", ICML 2017.
    """
    regularizers = model_regularizers(regularizers, [WeightClipping(clip_value, allow_batch_norm=True)])
    generator, critic = build_networks(data_shape, architecture, latent_dim, generator_units,
                                       discriminator_units, filters,
                                       critic_normalization=critic_normalization_for(critic_normalization, regularizers),
                                       synchronized_batch_norm=synchronized_batch_norm)
    return GAN(generator, critic, objective=objective, d_steps=d_steps, regularizers=regularizers,
               seed=seed, ema_decay=ema_decay,
               default_optimizers={"discriminator": rmsprop(learning_rate), "generator": rmsprop(learning_rate)},
               name="wgan")


@register("wgan_gp")
def wgan_gp(data_shape, gradient_penalty_weight=10.0, d_steps=5, learning_rate=1e-4, beta_1=0.0, objective="wasserstein",
            regularizers=None, architecture="auto", latent_dim=None, generator_units=None, discriminator_units=None,
            filters=64, critic_normalization="layer", seed=None, ema_decay=None, synchronized_batch_norm=False):
    """Gulrajani et al. 2017: Wasserstein critic with a gradient penalty instead of clipping.

    Algorithm 1's defaults: λ = 10 (`gradient_penalty_weight`; 0 drops the penalty),
    n_critic = 5, Adam(1e-4, β1 = 0, β2 = 0.9) for both (`learning_rate`, `beta_1`); interpolation weights α ~ U[0, 1]
    per example. No BatchNorm in the critic, since the penalty is per example: layer
    normalisation for the DCGAN critic, none for the MLP. `regularizers` replaces the penalty.

    Reference: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
    """
    regularizers = model_regularizers(regularizers, [GradientPenalty(gradient_penalty_weight)] if gradient_penalty_weight else [])
    generator, critic = build_networks(data_shape, architecture, latent_dim, generator_units,
                                       discriminator_units, filters,
                                       critic_normalization_for(critic_normalization, regularizers, default="layer"),
                                       synchronized_batch_norm=synchronized_batch_norm)
    optimizers = {"discriminator": adam(learning_rate, beta_1, 0.9), "generator": adam(learning_rate, beta_1, 0.9)}
    return GAN(generator, critic, objective=objective, d_steps=d_steps, regularizers=regularizers,
               seed=seed, ema_decay=ema_decay, default_optimizers=optimizers, name="wgan_gp")
