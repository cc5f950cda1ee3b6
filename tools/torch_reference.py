"""PyTorch reference for ganzoo's training-throughput comparisons (torch: benchmarks only).

    python tools/torch_reference.py --model dcgan --size 28 --batch 64 --steps 50 --warmup 5
    python tools/torch_reference.py --model wgan_gp --steps 20 [--threads N] [--precision bf16]

The networks mirror ganzoo's, so both sides do the same work: `ganzoo.networks.dcgan_generator`
/ `dcgan_discriminator` (the PyTorch DCGAN tutorial's, 28x28x1: 7 -> 14 -> 28, 64x64x3: the faces
tutorial) and the mixture MLPs of configs/_mixture_protocol.py (latent 16, G and D 3 x 128,
Dense initialisation glorot-uniform / zeros, minibatches of 512 from ring8).

One step = one generator update together with the discriminator updates that precede it:
  dcgan         1 D update (real batch + fresh fake), 1 G update on a fresh fake,
                non-saturating loss, Adam 2e-4 (0.5, 0.999)
  vanilla_gan   1 D update, 1 G update, minimax loss, Adam 1e-3 (0.5, 0.999)
  wgan_gp       5 critic updates (each on its own real minibatch, penalty weight 10), 1 G update,
                Adam 1e-4 (0, 0.9)
  unrolled_gan  1 D update (Adam 1e-4), then 1 G update (Adam 1e-3) against D unrolled
                --unroll-steps functional Adam steps ahead, G's gradient flowing through them
Real data is fixed, so no input pipeline is measured: one random batch in [-1, 1] for dcgan,
8 ring8 minibatches drawn once and cycled for the mixtures. Only the --steps steps after
--warmup are timed; each step ends with .item() on its losses. Prints one JSON line.

Quality anchor (`--train-epochs`): the DCGAN tutorial's training loop on Fashion-MNIST,

    python tools/torch_reference.py --model dcgan --train-epochs 20 --samples-out torch_dcgan_epoch{epoch}.npy
    ganzoo evaluate --samples torch_dcgan_epoch20.npy --data fashion_mnist --out torch_dcgan_epoch20.json

the tutorial's weights_init (N(0, 0.02); BatchNorm weights N(1, 0.02)), minibatches of --batch
shuffled every epoch, each iteration one D update on a real batch and a fresh fake and one G
update on that same fake (non-saturating BCE), Adam 2e-4 (0.5, 0.999); then 10,000 samples
drawn in eval mode (BatchNorm on its running statistics, as ganzoo samples), saved as NHWC
float32 in [-1, 1] for ganzoo's evaluation to score by the same code as ganzoo's models.
"""

import argparse
import contextlib
import itertools
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

MIXTURE_MODELS = ("vanilla_gan", "wgan_gp", "unrolled_gan")
KERAS_ADAM_EPSILON = 1e-7


def upcast(x):
    """A bfloat16 output of the autocast forward pass as float32, for the losses."""
    return x.float() if x.dtype == torch.bfloat16 else x


def dcgan_generator(size, latent_dim=100, filters=64):
    """The latent vector as a 1x1 map -> ConvTranspose stages (BatchNorm + ReLU) -> tanh image."""
    if size == 64:
        channels, out_channels = [filters * 8, filters * 4, filters * 2, filters], 3
    else:
        channels, out_channels = [filters * 2, filters], 1
    first = nn.ConvTranspose2d(latent_dim, channels[0], 4 if size == 64 else 7, 1, 0, bias=False)
    layers = [first, nn.BatchNorm2d(channels[0]), nn.ReLU(True)]
    for a, b in zip(channels, channels[1:]):
        layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
    layers += [nn.ConvTranspose2d(channels[-1], out_channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def dcgan_discriminator(size, filters=64):
    """The generator's mirror: stride-2 convolutions with LeakyReLU(0.2), one logit per image."""
    if size == 64:
        channels, in_channels, last_kernel = [filters, filters * 2, filters * 4, filters * 8], 3, 4
    else:
        channels, in_channels, last_kernel = [filters, filters * 2], 1, 7
    layers = [nn.Conv2d(in_channels, channels[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    for a, b in zip(channels, channels[1:]):
        layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, True)]
    layers += [nn.Conv2d(channels[-1], 1, last_kernel, 1, 0, bias=False), nn.Flatten()]
    return nn.Sequential(*layers)


def mlp(widths, activation):
    """Linear layers of `widths`, `activation` between them, a linear output; Keras Dense init."""
    layers = []
    for a, b in zip(widths, widths[1:]):
        linear = nn.Linear(a, b)
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        layers += [linear, activation()]
    return nn.Sequential(*layers[:-1])


def mixture_generator(latent_dim=16, units=(128, 128, 128)):
    return mlp([latent_dim, *units, 2], nn.ReLU)


def mixture_discriminator(units=(128, 128, 128)):
    return mlp([2, *units, 1], lambda: nn.LeakyReLU(0.2))


def ring8_batches(batch, count=8, std=0.01):
    """`count` minibatches of ring8: 8 Gaussians (std 0.01) centred on the unit circle."""
    angles = 2 * math.pi * torch.arange(8) / 8
    centers = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    modes = torch.randint(8, (count, batch))
    return list(centers[modes] + std * torch.randn(count, batch, 2))


def minimax_discriminator_loss(real_logits, fake_logits):
    """-log D(x) - log(1 - D(G(z))), mean over the batch."""
    return (F.softplus(-real_logits) + F.softplus(fake_logits)).mean()


def minimax_generator_loss(fake_logits):
    """log(1 - D(G(z))), mean over the batch (minimised by G)."""
    return -F.softplus(fake_logits).mean()


def unrolled_discriminator(discriminator, optimizer, real, fake, unroll_steps, autocast):
    """D's parameters after `unroll_steps` functional Adam steps (Keras's formula), started from
    its current weights and optimiser state; differentiable with respect to `fake`. The real
    weights and optimiser state are left untouched."""
    (group,) = optimizer.param_groups
    learning_rate, (beta_1, beta_2) = group["lr"], group["betas"]
    names, weights = zip(*discriminator.named_parameters())
    states = [optimizer.state[w] for w in weights]
    step = float(states[0]["step"]) if states[0] else 0.0
    m = [s["exp_avg"] if s else torch.zeros_like(w) for s, w in zip(states, weights)]
    v = [s["exp_avg_sq"] if s else torch.zeros_like(w) for s, w in zip(states, weights)]
    weights = list(weights)
    for _ in range(unroll_steps):
        parameters = dict(zip(names, weights))
        with autocast():
            real_logits = functional_call(discriminator, parameters, (real,))
            fake_logits = functional_call(discriminator, parameters, (fake,))
        loss = minimax_discriminator_loss(upcast(real_logits), upcast(fake_logits))
        gradients = torch.autograd.grad(loss, weights, create_graph=True)
        step += 1
        alpha = learning_rate * math.sqrt(1 - beta_2**step) / (1 - beta_1**step)
        m = [m_ + (g - m_) * (1 - beta_1) for m_, g in zip(m, gradients)]
        v = [v_ + (g * g - v_) * (1 - beta_2) for v_, g in zip(v, gradients)]
        # sqrt's gradient is infinite at 0, so floor v (as ganzoo's UnrolledGAN does).
        weights = [w - alpha * m_ / (torch.sqrt(torch.clamp(v_, min=1e-30)) + KERAS_ADAM_EPSILON)
                   for w, m_, v_ in zip(weights, m, v)]
    return dict(zip(names, weights))


def make_step(args, autocast):
    """Builds the networks, optimisers and data of `args.model`; returns step() -> loss tensors."""
    batch = args.batch

    def update(optimizer, loss, parameters):
        """One optimiser step on `loss`, backpropagating to `parameters` only, as Keras's
        tape.gradient does (the tutorial's plain backward() also computes the discriminator's
        weight gradients in the generator update, work that ganzoo does not do)."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward(inputs=list(parameters))
        optimizer.step()

    def scores(network, x):
        with autocast():
            return upcast(network(x))

    if args.model == "dcgan":
        latent_dim = 100
        generator = dcgan_generator(args.size, latent_dim, args.filters)
        discriminator = dcgan_discriminator(args.size, args.filters)
        channels = 3 if args.size == 64 else 1
        real = torch.rand(batch, channels, args.size, args.size) * 2 - 1
        opt_g = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
        bce = nn.BCEWithLogitsLoss()
        ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

        def step():
            with autocast():
                fake = generator(torch.randn(batch, latent_dim, 1, 1))
            d_loss = (bce(scores(discriminator, real), ones)
                      + bce(scores(discriminator, fake.detach()), zeros))
            update(opt_d, d_loss, discriminator.parameters())
            with autocast():
                fake = generator(torch.randn(batch, latent_dim, 1, 1))
            g_loss = bce(scores(discriminator, fake), ones)
            update(opt_g, g_loss, generator.parameters())
            return d_loss, g_loss
        return step

    latent_dim = 16
    generator, discriminator = mixture_generator(latent_dim), mixture_discriminator()
    real_batches = itertools.cycle(ring8_batches(batch))
    d_rate, g_rate, betas = {"vanilla_gan": (1e-3, 1e-3, (0.5, 0.999)),
                             "wgan_gp": (1e-3, 1e-3, (0.5, 0.9)),
                             "unrolled_gan": (1e-4, 1e-3, (0.5, 0.999))}[args.model]
    opt_d = torch.optim.Adam(discriminator.parameters(), d_rate, betas=betas, eps=KERAS_ADAM_EPSILON)
    opt_g = torch.optim.Adam(generator.parameters(), g_rate, betas=betas, eps=KERAS_ADAM_EPSILON)

    def generate():
        with autocast():
            return upcast(generator(torch.randn(batch, latent_dim)))

    def discriminator_update(real):
        fake = generate().detach()
        d_loss = minimax_discriminator_loss(scores(discriminator, real), scores(discriminator, fake))
        update(opt_d, d_loss, discriminator.parameters())
        return d_loss

    def critic_update(real):
        fake = generate().detach()
        alpha = torch.rand(batch, 1)
        interpolated = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        (gradients,) = torch.autograd.grad(scores(discriminator, interpolated).sum(), interpolated,
                                           create_graph=True)
        penalty = (torch.sqrt(gradients.square().sum(dim=1) + 1e-12) - 1) ** 2
        d_loss = (scores(discriminator, fake) - scores(discriminator, real)).mean() + 0.1 * penalty.mean()  # the mixture protocol's λ
        update(opt_d, d_loss, discriminator.parameters())
        return d_loss

    def step():
        if args.model == "vanilla_gan":
            d_loss = discriminator_update(next(real_batches))
            g_loss = minimax_generator_loss(scores(discriminator, generate()))
        elif args.model == "wgan_gp":
            d_loss = [critic_update(next(real_batches)) for _ in range(5)][-1]
            g_loss = -scores(discriminator, generate()).mean()
        else:
            real = next(real_batches)
            d_loss = discriminator_update(real)
            fake = generate()
            unrolled = unrolled_discriminator(discriminator, opt_d, real, fake, args.unroll_steps, autocast)
            with autocast():
                fake_logits = upcast(functional_call(discriminator, unrolled, (fake,)))
            g_loss = minimax_generator_loss(fake_logits)
        update(opt_g, g_loss, generator.parameters())
        return d_loss, g_loss
    return step


def fashion_mnist_images(data_dir=None):
    """The 60,000 training images as float32 [N, 1, 28, 28] in [-1, 1] (ganzoo finds the files)."""
    # ganzoo finds and reads the IDX files (importing it loads TensorFlow too, which stays idle).
    from ganzoo.data import fashion_mnist_arrays

    images, _ = fashion_mnist_arrays("train", data_dir)
    return torch.from_numpy(images.astype("float32") / 127.5 - 1.0)[:, None]


def tutorial_weights_init(module):
    """The DCGAN tutorial's initialisation."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def train_tutorial(args, autocast):
    """The DCGAN tutorial's loop for --train-epochs on Fashion-MNIST; saves --num-samples samples
    after the last epoch and after each of --sample-epochs."""
    real_images = fashion_mnist_images(args.data_dir)
    generator, discriminator = dcgan_generator(28, 100, args.filters), dcgan_discriminator(28, args.filters)
    generator.apply(tutorial_weights_init)
    discriminator.apply(tutorial_weights_init)
    opt_g = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    start = time.perf_counter()
    for epoch in range(args.train_epochs):
        order = torch.randperm(len(real_images))
        for first in range(0, len(order) - args.batch + 1, args.batch):
            real = real_images[order[first:first + args.batch]]
            ones, zeros = torch.ones(len(real), 1), torch.zeros(len(real), 1)
            with autocast():
                fake = generator(torch.randn(len(real), 100, 1, 1))
                d_loss = (bce(upcast(discriminator(real)), ones)
                          + bce(upcast(discriminator(fake.detach())), zeros))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            with autocast():
                g_loss = bce(upcast(discriminator(fake)), ones)
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
        print(json.dumps({"epoch": epoch + 1, "d_loss": round(d_loss.item(), 4), "g_loss": round(g_loss.item(), 4),
                          "seconds": round(time.perf_counter() - start, 1)}), flush=True)
        if epoch + 1 in args.sample_epochs or epoch + 1 == args.train_epochs:
            save_samples(generator, args, epoch + 1, autocast)
    return {"framework": "torch", "version": torch.__version__, "model": "dcgan", "size": 28,
            "filters": args.filters, "batch": args.batch, "epochs": args.train_epochs,
            "precision": args.precision, "wall_seconds": round(time.perf_counter() - start, 1),
            "samples": args.samples_out.format(epoch=args.train_epochs), "num_samples": args.num_samples}


def save_samples(generator, args, epoch, autocast):
    """--num-samples samples in eval mode, NHWC float32 in [-1, 1], written atomically."""
    import numpy as np

    generator.eval()
    with torch.no_grad(), autocast():
        samples = torch.cat([upcast(generator(torch.randn(min(500, args.num_samples - start), 100, 1, 1)))
                             for start in range(0, args.num_samples, 500)])
    generator.train()
    path = args.samples_out.format(epoch=epoch)
    temporary = path + ".partial.npy"
    np.save(temporary, samples.permute(0, 2, 3, 1).numpy().astype("float32"))
    os.replace(temporary, path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("dcgan", *MIXTURE_MODELS), default="dcgan")
    parser.add_argument("--size", type=int, choices=(28, 64), default=28, help="dcgan image side")
    parser.add_argument("--filters", type=int, default=64, help="dcgan base channel count")
    parser.add_argument("--batch", type=int, default=None, help="default 64 for dcgan, 512 for the mixtures")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--unroll-steps", type=int, default=5, help="unrolled_gan's K")
    parser.add_argument("--train-epochs", type=int, default=0,
                        help="train DCGAN-28 on Fashion-MNIST this many epochs (the tutorial's loop)")
    parser.add_argument("--samples-out", default="torch_dcgan_epoch{epoch}.npy",
                        help="--train-epochs: samples file; {epoch} is replaced by the epoch")
    parser.add_argument("--sample-epochs", default="", help="--train-epochs: also save samples after these epochs (1,5,...)")
    parser.add_argument("--num-samples", type=int, default=10_000, help="--train-epochs: samples to save")
    parser.add_argument("--data-dir", default=None, help="--train-epochs: the Fashion-MNIST IDX files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.train_epochs and (args.model != "dcgan" or args.size != 28):
        parser.error("--train-epochs trains --model dcgan --size 28 only")
    args.sample_epochs = {int(e) for e in args.sample_epochs.split(",") if e}
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    if args.batch is None:
        args.batch = 64 if args.model == "dcgan" else 512
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.precision == "bf16":
        autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    else:
        autocast = contextlib.nullcontext
    if args.train_epochs:
        print(json.dumps(train_tutorial(args, autocast)))
        return
    step = make_step(args, autocast)
    for index in range(args.warmup + args.steps):
        if index == args.warmup:
            start = time.perf_counter()
        losses = [loss.item() for loss in step()]  # .item() waits for the step to finish
    seconds = time.perf_counter() - start
    if not all(map(math.isfinite, losses)):
        raise SystemExit(f"non-finite losses: {losses}")
    result = {"framework": "torch", "version": torch.__version__, "model": args.model}
    if args.model == "dcgan":
        result["size"] = args.size
    else:
        result["data"] = "ring8"
    if args.model == "unrolled_gan":
        result["unroll_steps"] = args.unroll_steps
    result.update(batch=args.batch, steps=args.steps, threads=torch.get_num_threads(),
                  precision=args.precision, images_per_s=round(args.batch * args.steps / seconds, 1),
                  generator_updates_per_s=round(args.steps / seconds, 2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
