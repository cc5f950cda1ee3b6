"""Stacked Fashion-MNIST: 1,000 modes, counted by ganzoo's classifier, with and without unrolling.

    python tools/benchmark_stacked.py --steps 1500 --seeds 2 --filters 16

Three Fashion-MNIST training images stacked as R, G, B make one 28x28x3 example whose mode is
its label triple (10³ = 1,000 modes), Stacked MNIST's construction (Metz et al. 2017; VEEGAN;
PacGAN) on Fashion-MNIST, since MNIST is not on this machine. The DCGAN networks (with
`--filters` channels, small as in the papers' reduced-discriminator rows) train as
`unrolled_gan` with K = 0 (a plain DCGAN with the minimax objective) and K = 5 unrolled steps,
for `--steps` generator updates, Adam 2e-4 β1 0.5, batch 64. 26,000 samples are scored: each
channel classified by the shipped classifier, modes = distinct label triples, KL of the triple
histogram from uniform. The same count on 26,000 real stacked test images gives the ceiling
the classifier's own errors allow. Writes benchmarks/stacked_fashion_mnist.json and .md, and a
sample grid per variant.
"""

import argparse
import json
import os
import statistics
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The published rows, copied from the project's shared reference so that a clone runs this alone.
PAPER_TABLES = os.path.join(ROOT, "tools", "paper_tables.json")
NUM_EVAL_SAMPLES = 26_000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--filters", type=int, default=16)
    parser.add_argument("--unroll", default="0,5", help="comma-separated unroll steps to compare")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks"))
    args = parser.parse_args()

    import keras
    import numpy as np

    import ganzoo
    from ganzoo import data, features, metrics
    from ganzoo.callbacks import sample_picture, write_png

    classifier = features.FashionMNISTClassifier()
    real = data.stacked_fashion_mnist("test", num_samples=NUM_EVAL_SAMPLES, seed=0)
    real_images = np.concatenate([b.numpy() for b in real.batch(2000).map(data.scale_images)])
    ceiling = metrics.stacked_mode_coverage(real_images, classifier)
    print(f"real stacked test images: {ceiling}")

    runs = []
    for unroll_steps in (int(k) for k in args.unroll.split(",")):
        for seed in range(args.seeds):
            gan = ganzoo.get("unrolled_gan", data_shape=(28, 28, 3), architecture="dcgan", filters=args.filters,
                             latent_dim=100, unroll_steps=unroll_steps, seed=seed)
            adam = lambda: keras.optimizers.Adam(2e-4, beta_1=0.5)  # noqa: E731
            gan.compile(d_optimizer=adam(), g_optimizer=adam())
            dataset = data.load("stacked_fashion_mnist", batch_size=64, num_samples=60_000, seed=seed)
            start = time.perf_counter()
            gan.fit(dataset.repeat(), steps_per_epoch=args.steps, epochs=1, verbose=2)
            seconds = time.perf_counter() - start
            samples = np.concatenate([gan.generate(2000, seed=100_000 + seed * 100 + i)
                                      for i in range(NUM_EVAL_SAMPLES // 2000)])
            result = {"unroll_steps": unroll_steps, "seed": seed, "generator_steps": args.steps,
                      "wall_seconds": round(seconds, 1), **metrics.stacked_mode_coverage(samples, classifier)}
            print(result, flush=True)
            runs.append(result)
            if seed == 0:
                write_png(os.path.join(args.out, f"stacked_fashion_mnist_unroll{unroll_steps}.png"),
                          sample_picture(samples[:64]))

    with open(PAPER_TABLES) as f:
        paper = json.load(f)["unrolled_gan_stacked_mnist"]
    summary = {}
    for unroll_steps in sorted({r["unroll_steps"] for r in runs}):
        chosen = [r for r in runs if r["unroll_steps"] == unroll_steps]
        summary[unroll_steps] = {key: [round(statistics.mean(r[key] for r in chosen), 3),
                                       round(statistics.pstdev(r[key] for r in chosen), 3)] for key in ("modes", "kl")}
    report = {"protocol": __doc__.split("\n\n")[2].replace("\n", " "), "filters": args.filters,
              "generator_steps": args.steps, "seeds": args.seeds, "classifier": classifier.record,
              "real_data_ceiling": ceiling, "summary": summary, "runs": runs, "paper": paper}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "stacked_fashion_mnist.json"), "w") as f:
        json.dump(report, f, indent=2)
    lines = ["# Stacked Fashion-MNIST: modes (of 1,000) with and without unrolling", "",
             f"`python tools/benchmark_stacked.py --steps {args.steps} --seeds {args.seeds} --filters {args.filters}`: "
             f"DCGAN networks with {args.filters} filters, {args.steps} generator updates, batch 64; {NUM_EVAL_SAMPLES:,} "
             f"samples classified channel by channel by ganzoo's classifier (test accuracy "
             f"{classifier.record['test_accuracy']:.2%} per image, so about {classifier.record['test_accuracy'] ** 3:.0%} "
             "of triples right); mean ± std over seeds.", "",
             "| model | modes | KL |", "|---|---|---|",
             f"| real stacked test images (the classifier's ceiling) | {ceiling['modes']} | {ceiling['kl']:.3f} |"]
    for unroll_steps, row in summary.items():
        lines.append(f"| ganzoo, unroll {unroll_steps} | {row['modes'][0]:.1f} ± {row['modes'][1]:.1f} | "
                     f"{row['kl'][0]:.2f} ± {row['kl'][1]:.2f} |")
    for name in ("unroll_0", "unroll_1", "unroll_5", "unroll_10"):
        quarter, _, half, _ = paper[name][0], paper[name][1], paper[name][2], paper[name][3]
        lines.append(f"| Metz et al. Stacked **MNIST**, {name.replace('_', ' ')}: D 1/4 size | {quarter} | {paper[name][1]} |")
        lines.append(f"| Metz et al. Stacked **MNIST**, {name.replace('_', ' ')}: D 1/2 size | {half} | {paper[name][3]} |")
    lines += ["", f"Source: {paper['source']}. Different dataset (MNIST digits, not Fashion-MNIST items), "
              "networks and training budget: the rows compare the effect of unrolling, not the numbers."]
    with open(os.path.join(args.out, "stacked_fashion_mnist.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
