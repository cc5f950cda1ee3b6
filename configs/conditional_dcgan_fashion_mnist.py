"""Class-conditional DCGAN on Fashion-MNIST, 28x28x1, projection discriminator.

    ganzoo train --config conditional_dcgan_fashion_mnist --set train.epochs=10

The unconditional DCGAN's networks, loss and optimiser (dcgan_fashion_mnist), with a label
embedding in G and the projection discriminator (Miyato & Koyama 2018;
model.conditioning=concat for the cGAN's input concatenation), trained on (image, class) pairs.
"""

from ganzoo.features import FASHION_MNIST_CLASSES


def get_config():
    return {
        "model": {"name": "conditional_dcgan", "num_classes": 10, "class_names": list(FASHION_MNIST_CLASSES),
                  "latent_dim": 100, "filters": 64, "ema_decay": 0.999},
        "data": {"name": "fashion_mnist", "batch_size": 64, "with_labels": True},
        "compile": {},
        "train": {"epochs": 1, "num_sample_images": 100, "precision": "auto"},
    }
