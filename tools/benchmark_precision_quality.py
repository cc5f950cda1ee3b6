"""Does bfloat16 training cost sample quality? DCGAN on Fashion-MNIST, fp32 (two seeds) vs bf16.

    python tools/benchmark_precision_quality.py                     # 1 epoch each, 10,000 samples
    python tools/benchmark_precision_quality.py --epochs 3 --workdir runs/precision_quality

Each run is `ganzoo train --config dcgan_fashion_mnist` with `train.precision` set and the
noise seed `model.seed` (weights start from a fresh random initialisation each run), then the
Fréchet distance on the shipped Fashion-MNIST classifier's features of 10,000 samples against
the 10,000 test images (`ganzoo evaluate --metrics classifier_distance`). bf16 passes when its distance lies
within (or below) the spread of the fp32 seeds. A finished run in --workdir is reused, as
`ganzoo train` does. Writes benchmarks/precision_quality.json and .md.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RUNS = [("float32", 0), ("float32", 1), ("mixed_bfloat16", 0)]


def train_and_score(workdir, precision, seed, epochs, num_samples):
    from ganzoo import config, evaluation, run_directory, training

    run_dir = os.path.join(workdir, f"dcgan_{precision}_seed{seed}")
    experiment = config.load("dcgan_fashion_mnist", [f"train.precision={precision}", f"model.seed={seed}",
                                                      f"train.epochs={epochs}", "train.verbose=2"])
    gan = training.train(experiment, run_dir)
    with open(os.path.join(run_dir, run_directory.STATE_FILE)) as f:
        seconds = json.load(f)["wall_seconds"]
    result = evaluation.evaluate(gan, experiment["data"], ["classifier_distance"], num_samples)
    return {"precision": precision, "seed": seed, "epochs": epochs, "train_wall_seconds": seconds,
            "frechet_classifier_distance": round(result["frechet_classifier_distance"], 1),
            "real_train_vs_test": round(result["frechet_classifier_distance_real_train_vs_test"], 3),
            "run_dir": run_dir}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--num-samples", type=int, default=10_000)
    parser.add_argument("--workdir", default=os.path.join("runs", "precision_quality"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks"))
    args = parser.parse_args()

    rows = [train_and_score(args.workdir, precision, seed, args.epochs, args.num_samples) for precision, seed in RUNS]
    fp32 = [r["frechet_classifier_distance"] for r in rows if r["precision"] == "float32"]
    bf16 = [r["frechet_classifier_distance"] for r in rows if r["precision"] == "mixed_bfloat16"]
    within = all(value <= max(fp32) for value in bf16)
    command = " ".join(["python", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)] + sys.argv[1:])
    report = {"benchmark": "DCGAN Fashion-MNIST sample quality, float32 vs mixed_bfloat16", "command": command,
              "metric": f"Fréchet distance on ganzoo's Fashion-MNIST classifier features, {args.num_samples} "
                        "samples vs the test images (lower is better)",
              "runs": rows, "fp32_spread": [min(fp32), max(fp32)], "bf16_within_fp32_spread": within}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "precision_quality.json"), "w") as f:
        json.dump(report, f, indent=2)
    lines = ["# Sample quality: float32 vs mixed_bfloat16 (DCGAN, Fashion-MNIST)", "",
             f"`{command}`: {report['metric']}; real training images score "
             f"{rows[0]['real_train_vs_test']}.", "",
             "| precision | seed | epochs | distance | training wall s |", "|---|---|---|---|---|"]
    lines += [f"| {r['precision']} | {r['seed']} | {r['epochs']} | {r['frechet_classifier_distance']} | "
              f"{r['train_wall_seconds']} |" for r in rows]
    lines += ["", f"bf16 {'within' if within else 'OUTSIDE'} the fp32 seeds' spread "
                  f"({min(fp32)}–{max(fp32)}, or below it)."]
    with open(os.path.join(args.out, "precision_quality.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
