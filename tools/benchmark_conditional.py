"""Class by class: a conditional preset against an unconditional one on Fashion-MNIST.

    python tools/benchmark_conditional.py            # the bundled presets; writes benchmarks/conditional.{json,md}

Each preset is scored by `ganzoo.evaluation.per_class_scores` with the shipped Fashion-MNIST
classifier, on `--num-samples` samples (seed 0, the EMA generator the presets ship):
- the conditional preset: num_samples / 10 samples generated for each class c; its conditional
  accuracy (the share the classifier calls c) and, per class, the Fréchet classifier distance
  to the 1,000 real test images of class c;
- the unconditional preset: its samples grouped by the class the classifier gives them, each
  group against the real test images of that class.
Issue 13's goal: conditional accuracy >= 85% with a mean per-class distance at or below the
unconditional preset's. Real training images of each class, scored the same way, give the floor.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
GOAL_ACCURACY = 0.85
REAL = "real training images"


def score(preset, num_samples, classifier):
    import ganzoo
    from ganzoo import evaluation

    gan = ganzoo.load_preset(preset)
    start = time.time()
    result = evaluation.per_class_scores(gan, {"name": "fashion_mnist"}, num_samples, classifier)
    return {"preset": preset, "conditional": bool(getattr(gan, "takes_labels", False)),
            "training": gan.preset_metadata.get("training"), "seconds": round(time.time() - start, 1), **result}


class RealTrainingImages:
    """The floor: real training images of each class (the first num_samples / 10 of it) in place
    of a conditional generator, scored by the same code against the test images."""

    takes_labels, num_classes, class_names = True, 10, None

    def __init__(self):
        from ganzoo import data

        images, self.labels = data.fashion_mnist_arrays("train")
        self.images = data.scale_images(images[..., None]).numpy()

    def generate(self, num_samples, labels, seed=None, use_ema=True):
        return self.images[self.labels == labels][:num_samples]


def write_markdown(report, out):
    rows = report["results"]
    conditional = next(r for r in rows if r["conditional"] and r["preset"] != REAL)
    unconditional = next(r for r in rows if not r["conditional"])
    classes = list(conditional["per_class_frechet_distance"])
    cpu = report["machine"]
    met = (conditional["conditional_accuracy"] >= GOAL_ACCURACY and
           conditional["per_class_frechet_distance_mean"] <= unconditional["per_class_frechet_distance_mean"])
    lines = [
        "# Conditional DCGAN on Fashion-MNIST, class by class", "",
        f"`python tools/benchmark_conditional.py --num-samples {report['num_samples']}` "
        f"({report['date']}). Per-class Fréchet classifier distance (the shipped Fashion-MNIST classifier's "
        "features; lower is better) of each class's samples to the 1,000 real test images of that class. "
        "The conditional preset generates num_samples / 10 samples per class; the unconditional preset's "
        "samples are grouped by the class the classifier gives them. Conditional accuracy: the share of "
        "samples generated for class c that the classifier calls c. The real-images row scores the first "
        "num_samples / 10 training images of each class the same way (the floor; its accuracy is the "
        "classifier's own on them).", "",
        f"Goal (issue 13): conditional accuracy >= {GOAL_ACCURACY:.0%} and a mean per-class distance at or "
        f"below the unconditional preset's: **{'met' if met else 'not met'}**.", "",
        f"Machine: {cpu['model']}, {cpu['cpus']} CPUs (lscpu flags include: {cpu['bf16_flags'] or 'none of the bf16 ones'}).",
        "",
        "| | conditional accuracy | mean per-class distance | " + " | ".join(classes) + " |",
        "|---|---|---|" + "---|" * len(classes),
    ]
    for row in rows:
        accuracy = f"{row['conditional_accuracy']:.1%}" if "conditional_accuracy" in row else "–"
        cells = [f"{row['per_class_frechet_distance'][c]:.1f}" if c in row["per_class_frechet_distance"] else "–"
                 for c in classes]
        lines.append(f"| `{row['preset']}` | {accuracy} | {row['per_class_frechet_distance_mean']:.1f} | "
                     + " | ".join(cells) + " |")
    with open(os.path.join(out, "conditional.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conditional", default="conditional_dcgan_fashion_mnist", help="conditional preset")
    parser.add_argument("--unconditional", default="dcgan_fashion_mnist", help="unconditional preset")
    parser.add_argument("--num-samples", type=int, default=10_000)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks"))
    args = parser.parse_args()

    from benchmark_throughput import cpu_description
    from ganzoo import evaluation, features
    from ganzoo.run_directory import write_json

    classifier = features.FashionMNISTClassifier()
    results = [score(args.conditional, args.num_samples, classifier),
               score(args.unconditional, args.num_samples, classifier)]
    floor = evaluation.per_class_scores(RealTrainingImages(), {"name": "fashion_mnist"}, args.num_samples, classifier)
    results.append({"preset": REAL, "conditional": True, **floor})
    cpu = cpu_description()
    report = {"num_samples": args.num_samples, "date": time.strftime("%Y-%m-%d"), "results": results,
              "machine": {"model": cpu["model"], "cpus": os.cpu_count(),
                          "bf16_flags": ", ".join(f for f in ("avx512_bf16", "amx_bf16", "amx_tile") if f in cpu["flags"])}}
    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "conditional.json"), report)
    write_markdown(report, args.out)
    print(open(os.path.join(args.out, "conditional.md")).read())


if __name__ == "__main__":
    main()
