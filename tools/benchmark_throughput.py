"""DCGAN training throughput: ganzoo under `fit` beside the PyTorch reference, in one run.

    python tools/benchmark_throughput.py --size 28 --batch 64 --steps 50
    python tools/benchmark_throughput.py --no-torch        # where PyTorch is not installed

One step is what `shared/bench/torch_dcgan.py` counts: one discriminator update on a real
batch and a fresh fake batch, then one generator update on a fresh fake batch (non-saturating
loss), both with Adam 2e-4 β1 0.5, on the same networks. Both sides train on one fixed batch
of random "real" images, so neither measures its input pipeline. The runs alternate
(torch, ganzoo, torch, ganzoo, ...) `--repeats` times and the table gives each one's median,
since this machine is shared and noisy. Writes benchmarks/throughput.json and .md.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TORCH_REFERENCE = os.path.join(ROOT, "..", "shared", "bench", "torch_dcgan.py")


class StepTimer:
    """Times the steps after `warmup` (tracing and first-call costs left out)."""

    def __init__(self, warmup):
        import keras

        timer = self

        class _Callback(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if batch + 1 == warmup:
                    timer.start = time.perf_counter()

            def on_train_end(self, logs=None):
                timer.end = time.perf_counter()

        self.callback = _Callback()


def ganzoo_images_per_second(size, batch, steps, warmup, jit_compile):
    import numpy as np
    import tensorflow as tf

    import ganzoo

    channels = 1 if size == 28 else 3
    gan = ganzoo.get("dcgan", data_shape=(size, size, channels), seed=0)
    gan.compile(jit_compile=jit_compile)
    real = np.random.default_rng(0).uniform(-1, 1, (batch, size, size, channels)).astype("float32")
    dataset = tf.data.Dataset.from_tensors(real).repeat()
    timer = StepTimer(warmup)
    gan.fit(dataset, steps_per_epoch=warmup + steps, epochs=1, verbose=0, callbacks=[timer.callback])
    return batch * steps / (timer.end - timer.start)


def torch_images_per_second(size, batch, steps, warmup):
    command = [sys.executable, TORCH_REFERENCE, "--size", str(size), "--batch", str(batch),
               "--steps", str(steps), "--warmup", str(warmup)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=28, choices=(28, 64))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks"))
    args = parser.parse_args()

    import tensorflow as tf

    runs = {"torch": [], "ganzoo fit": [], "ganzoo fit, jit_compile=True": []}
    torch_version = None
    for repeat in range(args.repeats):
        if not args.no_torch:
            reference = torch_images_per_second(args.size, args.batch, args.steps, args.warmup)
            torch_version = reference["version"]
            runs["torch"].append(reference["images_per_s"])
        runs["ganzoo fit"].append(ganzoo_images_per_second(args.size, args.batch, args.steps, args.warmup, False))
        runs["ganzoo fit, jit_compile=True"].append(
            ganzoo_images_per_second(args.size, args.batch, args.steps, args.warmup, True))
        print(f"repeat {repeat + 1}/{args.repeats}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in runs.items() if v))
    runs = {k: v for k, v in runs.items() if v}
    medians = {k: statistics.median(v) for k, v in runs.items()}

    devices = [d.device_type for d in tf.config.list_physical_devices()]
    report = {
        "benchmark": "dcgan training throughput (images/s, one D + one G update per step)",
        "size": args.size, "batch": args.batch, "steps": args.steps, "warmup": args.warmup,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "devices": devices},
        "versions": {"tensorflow": tf.__version__, "torch": torch_version},
        "images_per_s": {k: {"median": round(medians[k], 1), "runs": [round(x, 1) for x in v]} for k, v in runs.items()},
        "command": " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
    }
    if "torch" in medians:
        report["ratio_to_torch"] = {k: round(medians[k] / medians["torch"], 3) for k in medians if k != "torch"}

    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"throughput_dcgan{args.size}_batch{args.batch}")
    with open(stem + ".json", "w") as f:
        json.dump(report, f, indent=2)
    lines = [f"# DCGAN {args.size}x{args.size} training throughput, batch {args.batch}", "",
             f"`python {report['command']}` on {os.cpu_count()} CPUs ({', '.join(sorted(set(devices)))}); "
             f"median of {args.repeats} alternating runs of {args.steps} steps.", "",
             "| framework | images/s (median) | runs | ratio to torch |", "|---|---|---|---|"]
    for name, value in medians.items():
        ratio = report.get("ratio_to_torch", {}).get(name, 1.0 if name == "torch" else None)
        lines.append(f"| {name} | {value:.0f} | {', '.join(f'{x:.0f}' for x in runs[name])} | "
                     f"{'' if ratio is None else f'{ratio:.2f}'} |")
    with open(stem + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
