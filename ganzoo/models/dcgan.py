"""Deep convolutional GAN (Radford et al. 2016)."""

from ganzoo.gan import GAN
from ganzoo.models.common import adam, build_networks, critic_normalization_for, model_regularizers
from ganzoo.registry import register


@register("dcgan")
def dcgan(data_shape, latent_dim=100, filters=64, objective="non_saturating", regularizers=None, d_steps=1,
          critic_normalization="auto", seed=None, ema_decay=None, synchronized_batch_norm=False):
    """Radford et al. 2016: convolutional generator and discriminator, for 28x28, 32x32, 64x64 images.

    The PyTorch DCGAN tutorial's networks (nz 100, ngf = ndf = `filters` = 64, kernel 4,
    BatchNorm, ReLU / LeakyReLU 0.2, weights N(0, 0.02)); at 28x28 layer for layer those of
    `tools/torch_reference.py --model dcgan --size 28`. Non-saturating loss; Adam 2e-4, β1 0.5 for both;
    one discriminator update per generator update (`d_steps`). Any objective and regularisers
    mix in (`ganzoo.get("dcgan", objective="hinge", regularizers=["r1"])`); with a per-example
    penalty (gradient penalty, R1) the discriminator's BatchNorm becomes layer normalisation
    (`critic_normalization="auto"`).
    `synchronized_batch_norm=True` (every model with BatchNorm has it) takes BatchNorm's batch
    statistics over all replicas and workers, for N replicas to train as one device.

    Reference: Radford et al., "Unsupervised Representation Learning with Deep Convolutional
    Generative Adversarial Networks", ICLR 2016.
    """
    regularizers = model_regularizers(regularizers)
    generator, discriminator = build_networks(
        data_shape, "dcgan", latent_dim, None, None, filters,
        critic_normalization=critic_normalization_for(critic_normalization, regularizers),
        synchronized_batch_norm=synchronized_batch_norm)
    return GAN(generator, discriminator, objective=objective, d_steps=d_steps, regularizers=regularizers,
               seed=seed, ema_decay=ema_decay,
               default_optimizers={"discriminator": adam(2e-4), "generator": adam(2e-4)},
               name="dcgan")
