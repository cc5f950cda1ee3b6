"""The original GAN (Goodfellow et al. 2014)."""

from ganzoo.gan import GAN
from ganzoo.models.common import adam, build_networks, model_regularizers
from ganzoo.registry import register


@register("vanilla_gan")
def vanilla_gan(data_shape, objective="minimax", regularizers=None, latent_dim=None, generator_units=None,
                discriminator_units=None, d_steps=1, learning_rate=2e-4, seed=None, ema_decay=None):
    """Goodfellow et al. 2014: MLP generator and discriminator, minimax objective.

    Vectors (2-D mixtures) and flattened images. `objective="non_saturating"` switches the
    generator to the -log D(G(z)) heuristic of the same paper. Optimisers: Adam(lr, β1=0.5)
    for both (the paper used SGD with momentum; Adam is the common modern choice).

    Reference: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
    """
    generator, discriminator = build_networks(
        data_shape, "mlp", latent_dim, generator_units, discriminator_units, filters=None)
    return GAN(generator, discriminator, objective=objective, d_steps=d_steps,
               regularizers=model_regularizers(regularizers), seed=seed, ema_decay=ema_decay,
               default_optimizers={"discriminator": adam(learning_rate), "generator": adam(learning_rate)},
               name="vanilla_gan")
