"""PacGAN (Lin et al. 2018): the discriminator judges m samples packed together."""

from ganzoo.gan import GAN
from ganzoo.models.common import adam, build_networks, critic_normalization_for, model_regularizers
from ganzoo.regularizers import GradientPenalty
from ganzoo.registry import register


@register("pacgan")
def pacgan(data_shape, pack=2, objective="non_saturating", d_steps=1, gradient_penalty_weight=0.0,
           regularizers=None, architecture="auto", latent_dim=None, generator_units=None, discriminator_units=None,
           generator_batch_norm=True, filters=64, critic_normalization="auto", learning_rate=1e-4,
           beta_1=0.8, seed=None, ema_decay=None, synchronized_batch_norm=False):
    """Lin et al. 2018: any GAN objective with a discriminator that judges packs of m samples.

    Packing is the discriminator's first layer (`ganzoo.layers.Pack`): each minibatch of B real
    (or generated) examples becomes B / m packs, m consecutive examples concatenated (vectors)
    or channel-stacked (images), with one score and one loss per pack. A collapsed generator's
    packs look alike where real packs do not, which the discriminator learns to see. The
    generator and everything downstream of it (sampling, export) are unchanged; the
    minibatch size must be a multiple of `pack`.

    Defaults are the paper's mixture experiments (its public code): m = 2 (PacGAN2), the
    non-saturating loss, Adam(1e-4, β1 0.8) for both networks, one discriminator update per
    generator update; for vectors a 2-d latent and a generator of 4 x 400 BatchNorm + ReLU
    layers (`generator_batch_norm`), and a discriminator of 3 x 200 (LeakyReLU here where
    the paper used 5-piece maxout). Images get the DCGAN networks with a packed
    discriminator input. Any objective and regulariser works: `objective="wasserstein",
    gradient_penalty_weight=10, d_steps=5` (or `regularizers=["gradient_penalty"]`) is a packed
    WGAN-GP critic (its penalty's gradient norm taken over each pack; for images its
    normalisation is then layer normalisation, `critic_normalization="auto"`).

    Reference: Lin, Khetan, Fanti, Oh, "PacGAN: The power of two samples in generative
    adversarial networks", NeurIPS 2018.
    """
    images = len(data_shape) == 3
    if not images and architecture in ("auto", "mlp"):
        latent_dim = latent_dim or 2
        generator_units = generator_units or (400, 400, 400, 400)
        discriminator_units = discriminator_units or (200, 200, 200)
    regularizers = model_regularizers(regularizers, [GradientPenalty(gradient_penalty_weight)] if gradient_penalty_weight else [])
    generator, discriminator = build_networks(
        data_shape, architecture, latent_dim, generator_units, discriminator_units, filters,
        critic_normalization_for(critic_normalization, regularizers), pack=int(pack), generator_batch_norm=generator_batch_norm,
        synchronized_batch_norm=synchronized_batch_norm)
    return GAN(generator, discriminator, objective=objective, d_steps=d_steps, regularizers=regularizers,
               seed=seed, ema_decay=ema_decay,
               default_optimizers={"discriminator": adam(learning_rate, beta_1),
                                   "generator": adam(learning_rate, beta_1)},
               name="pacgan")
