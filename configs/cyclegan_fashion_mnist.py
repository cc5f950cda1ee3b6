"""CycleGAN on an offline demo pair: Fashion-MNIST sneakers (A) <-> ankle boots (B), 28x28x1.

    ganzoo train --config cyclegan_fashion_mnist --workdir runs/cyclegan_fashion_mnist

The authors' losses, pools and optimisers (`ganzoo.models.cyclegan`: LSGAN, cycle λ 10,
identity 0.5λ, 50-image pools, Adam 2e-4 β1 0.5, constant for the first half of the run and
linearly to 0 over the second), at CPU size: 32 filters, 6 residual blocks (the authors' choice
below 256x256), a PatchGAN of 2 layers (a 5x5 map of 16x16 patches at 28x28), batch 4
(the authors' 1). The 6,000 training images of each class make an epoch of 1,500 steps.
"""


def get_config():
    return {
        "model": {"name": "cyclegan", "filters": 32, "num_residual_blocks": 6, "discriminator_layers": 2},
        "data": {"name": "unpaired", "domain_a": "fashion_mnist:Sneaker", "domain_b": "fashion_mnist:Ankle boot",
                 "batch_size": 4},
        "compile": {},  # the authors' optimisers, decaying over the run's second half
        # float32: instance normalisation runs slower in bfloat16 on CPUs (measured: 0.68 s/step vs 0.43).
        "train": {"epochs": 10, "num_sample_images": 8, "precision": "float32"},
    }
