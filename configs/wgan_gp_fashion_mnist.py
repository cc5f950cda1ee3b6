"""WGAN-GP on Fashion-MNIST, 28x28x1, DCGAN-shaped networks with a layer-normalised critic.

    ganzoo train --config wgan_gp_fashion_mnist --set train.epochs=10

Gulrajani et al.'s Algorithm 1: lambda 10, n_critic 5, Adam(1e-4, 0, 0.9), batch 64. With
n_critic 5 an epoch is 937 batches, i.e. 187 generator updates.
"""


def get_config():
    return {
        "model": {"name": "wgan_gp", "latent_dim": 100, "filters": 64, "ema_decay": 0.999},
        "data": {"name": "fashion_mnist", "batch_size": 64},
        "compile": {},
        "train": {"epochs": 5, "num_sample_images": 64},
    }
