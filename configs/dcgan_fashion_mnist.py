"""DCGAN on Fashion-MNIST, 28x28x1 (the default of `ganzoo train`).

    ganzoo train --config dcgan_fashion_mnist --workdir runs/dcgan_fashion_mnist
    ganzoo train --config dcgan_fashion_mnist --set train.epochs=5

The PyTorch DCGAN tutorial's networks and optimiser (Adam 2e-4, beta1 0.5), batch 64.
"""


def get_config():
    return {
        # Samples come from an exponential moving average of the generator's weights.
        "model": {"name": "dcgan", "latent_dim": 100, "filters": 64, "ema_decay": 0.999},
        "data": {"name": "fashion_mnist", "batch_size": 64},
        "compile": {},  # the model's paper defaults
        # mixed_bfloat16 where the CPU has native bfloat16 (AVX512_BF16/AMX), else float32.
        "train": {"epochs": 1, "num_sample_images": 64, "precision": "auto"},
    }
