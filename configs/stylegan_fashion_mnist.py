"""StyleGAN2 on Fashion-MNIST padded to 32x32x1 (the CPU-scale target).

    ganzoo train --config stylegan_fashion_mnist --workdir runs/stylegan_fashion_mnist

The model's defaults (`ganzoo.models.stylegan`): mapping 8 x 512, channels min(2048 // r, 128),
non-saturating loss with lazy R1 (γ 0.01, every 16 D updates), style mixing 0.9, Adam 0.0025
β (0, 0.99), EMA generator 0.999; batch 32 as the ADA paper's CIFAR-10 config. The images are
padded from 28x28 to 32x32 with background; the Fashion-MNIST classifier scores their centre.
"""


def get_config():
    return {
        "model": {"name": "stylegan", "seed": 0},
        "data": {"name": "fashion_mnist", "batch_size": 32, "pad_to": 32},
        "compile": {},  # the model's paper defaults
        # mixed_bfloat16 where the CPU has native bfloat16 (AVX512_BF16/AMX), else float32.
        "train": {"epochs": 8, "num_sample_images": 64, "precision": "auto"},
    }
