"""StyleGAN against DCGAN on Fashion-MNIST at the same training time.

    python tools/benchmark_stylegan.py --run runs/presets/stylegan_fashion_mnist \\
        --checkpoints runs/stylegan_checkpoints          # writes benchmarks/stylegan.{json,md}

Issue 14's goal: the StyleGAN preset's Fréchet classifier distance below the DCGAN preset's at the
same training time, or a statement of what budget would get there. Wall times recorded by runs
on this shared machine are not comparable (other trainings ran beside them), so time is counted
in measured step costs instead:

1. Step cost: one training step of each config (`configs/stylegan_fashion_mnist.py`,
   `configs/dcgan_fashion_mnist.py`: their networks, batch sizes, optimisers and precision,
   trained by `fit` on a fixed real batch), each in a fresh process, the two alternating
   `--repeats` times; the ratio of the medians converts StyleGAN steps to DCGAN steps.
2. Quality: each StyleGAN checkpoint given (a run's `backup/step-N` folders, copied as the run
   wrote them, and the run's final model.keras) is scored as its preset would be: float32, the
   EMA generator, 10,000 samples, the Fréchet classifier distance on the shipped Fashion-MNIST
   classifier's features of the 28x28 centre, against the 10,000 test images.
3. DCGAN's curve: `benchmarks/dcgan_quality.json` (the same distance of the DCGAN config's EMA
   generator after 10, 15, ..., 30 epochs of 937 steps; the preset is its 30-epoch point).
   Each StyleGAN checkpoint is set against DCGAN at the same time, interpolated linearly between
   the measured epochs (none outside them).
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
CONFIGS = ("stylegan_fashion_mnist", "dcgan_fashion_mnist")
# Timed steps after warm-up: StyleGAN's a multiple of its lazy R1 interval (16), so R1 is counted
# at its true rate; each measurement takes ~30 s here.
STEPS = {"stylegan_fashion_mnist": (32, 64), "dcgan_fashion_mnist": (50, 200)}  # (warm-up, timed)
DCGAN_STEPS_PER_EPOCH = 937  # 60,000 images at batch 64, the last partial batch dropped


def step_cost_worker(config_name, config_file=None):
    """Seconds per training step of `config_name`'s model (or the run's, `config_file`: its
    config.json), trained by fit on one real batch."""
    import tensorflow as tf

    from ganzoo import config as config_lib
    from ganzoo import data, training

    if config_file:
        with open(config_file) as f:
            config = json.load(f)
    else:
        config = config_lib.load(config_name)
    dataset = data.load(**config["data"])
    batch = next(iter(dataset))
    gan = training.build_model(config, tuple(batch.shape[1:]))
    gan.compile(**training.compile_arguments(config, gan, 1000))
    fixed = tf.data.Dataset.from_tensors(batch).repeat()
    warmup, steps = STEPS[config_name]
    gan.fit(fixed, epochs=1, steps_per_epoch=warmup * gan.d_steps, verbose=0)
    start = time.perf_counter()
    gan.fit(fixed, epochs=1, steps_per_epoch=steps * gan.d_steps, verbose=0)
    seconds = time.perf_counter() - start
    print(json.dumps({"config": config_name, "steps": steps, "seconds_per_step": seconds / steps,
                      "precision": gan.dtype_policy.name, "batch_size": int(batch.shape[0])}))


def measure_step_costs(repeats, run_config_file):
    """Median seconds per step of each config, fresh processes alternating; the StyleGAN side
    trains the run's own config. The 1-minute load average before each measurement is kept:
    anything else running on the machine would skew the ratio."""
    runs = {name: [] for name in CONFIGS}
    for repeat in range(repeats):
        for name in CONFIGS:  # alternating, each in a fresh process
            load = os.getloadavg()[0]
            command = [sys.executable, __file__, "--worker", name]
            if name == "stylegan_fashion_mnist":
                command += ["--worker-config", run_config_file]
            out = subprocess.run(command, check=True, capture_output=True, text=True,
                                 env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}).stdout
            result = {**json.loads(out.strip().splitlines()[-1]), "load_average_before": load}
            runs[name].append(result)
            print(f"step cost {repeat + 1}/{repeats}: {name} {result['seconds_per_step'] * 1000:.1f} ms/step "
                  f"(load average before: {load:.2f})", flush=True)
    return {name: {"median_seconds_per_step": statistics.median(r["seconds_per_step"] for r in rs),
                   "runs": [r["seconds_per_step"] for r in rs], "precision": rs[0]["precision"],
                   "batch_size": rs[0]["batch_size"], "load_averages_before": [r["load_average_before"] for r in rs]}
            for name, rs in runs.items()}


def checkpoints(folder, run):
    """(generator steps, weights file or model.keras) of each checkpoint, in step order."""
    if folder and not os.path.isdir(folder):
        raise SystemExit(f"--checkpoints {folder}: no such folder (of a run's backup/step-N checkpoints).")
    found = []
    for path in glob.glob(os.path.join(folder, "step-*")) if folder else []:
        with open(os.path.join(path, "checkpoint.json")) as f:
            found.append((json.load(f)["generator_updates"], os.path.join(path, "model.weights.h5")))
    final = os.path.join(run, "model.keras")
    if os.path.exists(final):
        import keras

        found.append((int(keras.models.load_model(final).g_optimizer.iterations.numpy()), final))
    if not found:
        raise SystemExit(f"Nothing to score: no step-N checkpoints in {folder} and no model.keras in {run}.")
    return sorted(dict(found).items())


def spaced(found, every):
    """The checkpoints at least `every` steps after the previous one kept, and the last."""
    kept = []
    for steps, path in found:
        if not kept or steps - kept[-1][0] >= every or (steps, path) == found[-1]:
            kept.append((steps, path))
    return kept


def score_checkpoint(run_config, path, num_samples):
    import keras

    from ganzoo import evaluation, precision, training

    if path.endswith(".keras"):
        gan = keras.models.load_model(path)
    else:  # built (in the precision the weights were trained in) and compiled as the run's own
        from ganzoo import data

        dataset = data.load(**run_config["data"])
        gan = training.build_model(run_config, tuple(dataset.element_spec.shape[1:]))
        gan.compile(**training.compile_arguments(run_config, gan, int(dataset.cardinality())))
        gan.load_weights(path)
    result = evaluation.evaluate(precision.as_float32(gan), run_config["data"], ["classifier_distance"], num_samples)
    return result["frechet_classifier_distance"]


def dcgan_at(dcgan_steps, curve):
    """DCGAN's distance after `dcgan_steps` steps, interpolated on its measured epochs (None outside)."""
    epochs = dcgan_steps / DCGAN_STEPS_PER_EPOCH
    for (e0, d0), (e1, d1) in zip(curve, curve[1:]):
        if e0 <= epochs <= e1:
            return d0 + (d1 - d0) * (epochs - e0) / (e1 - e0)
    return None


def write_markdown(report, out):
    cost = report["step_costs"]
    ratio = report["stylegan_step_in_dcgan_steps"]
    cpu = report["machine"]
    lines = [
        "# StyleGAN against DCGAN on Fashion-MNIST at the same training time", "",
        f"`{report['command']}` ({report['date']}). Fréchet classifier distance (the shipped Fashion-MNIST "
        f"classifier's features), {report['num_samples']:,} samples of the float32 EMA generator against the "
        "10,000 test images (StyleGAN's 32x32 samples scored at their 28x28 centre); lower is better. "
        "DCGAN's figures are `benchmarks/dcgan_quality.json`'s (its preset is the 30-epoch point), "
        "interpolated linearly between its measured epochs.", "",
        f"Machine: {cpu['model']}, {cpu['cpus']} CPUs (lscpu flags include: {cpu['bf16_flags'] or 'none of the bf16 ones'}).",
        "",
        "Step cost, medians of fresh processes alternating (ms per generator step; each with the "
        "discriminator step before it):", "",
        "| config | precision | batch | median ms/step | runs | load average before each |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in cost.items():
        lines.append(f"| `{name}` | {c['precision']} | {c['batch_size']} | {c['median_seconds_per_step'] * 1000:.1f} | "
                     + ", ".join(f"{s * 1000:.1f}" for s in c["runs"]) + " | "
                     + ", ".join(f"{load:.2f}" for load in c["load_averages_before"]) + " |")
    lines += ["", f"One StyleGAN step costs {ratio:.2f} DCGAN steps. The DCGAN preset's 30 epochs "
              f"({30 * DCGAN_STEPS_PER_EPOCH:,} steps) cost as much as "
              f"{report['stylegan_steps_at_dcgan_preset_budget']:,} StyleGAN steps.", "",
              "| StyleGAN steps | in DCGAN steps (epochs) | StyleGAN distance | DCGAN distance at that time |",
              "|---|---|---|---|"]
    for row in report["stylegan"]:
        first, last = report["dcgan_curve"][0][0], report["dcgan_curve"][-1][0]
        dcgan = (f"{row['dcgan_distance_at_same_time']:.1f}" if row["dcgan_distance_at_same_time"] is not None
                 else f"not measured (outside DCGAN's {first}-{last} epochs)")
        lines.append(f"| {row['steps']:,} | {row['dcgan_steps']:,.0f} ({row['dcgan_steps'] / DCGAN_STEPS_PER_EPOCH:.1f}) "
                     f"| {row['frechet_classifier_distance']:.1f} | {dcgan} |")
    lines += ["", report["verdict"]]
    with open(os.path.join(out, "stylegan.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def verdict(rows, preset_budget_steps, preset_distance):
    """What the rows say against the goal: StyleGAN below DCGAN at the same time, and when (in
    StyleGAN steps) it gets below the DCGAN preset's distance, if it does."""
    compared = [r for r in rows if r["dcgan_distance_at_same_time"] is not None]
    wins = [r for r in compared if r["frechet_classifier_distance"] < r["dcgan_distance_at_same_time"]]
    text = (f"At the same training time StyleGAN scores below DCGAN at {len(wins)} of {len(compared)} checkpoints "
            "inside DCGAN's measured range. " if compared else
            "No StyleGAN checkpoint falls inside DCGAN's measured range. ")
    below = next((r for r in rows if r["frechet_classifier_distance"] < preset_distance), None)
    if below:
        text += (f"It first scores below the DCGAN preset's {preset_distance:.1f} at {below['steps']:,} steps "
                 f"({below['steps'] / preset_budget_steps:.2f}x the preset's training time).")
    else:
        text += (f"No checkpoint scores below the DCGAN preset's {preset_distance:.1f}; the last, at "
                 f"{rows[-1]['steps']:,} steps ({rows[-1]['steps'] / preset_budget_steps:.2f}x the preset's "
                 f"training time), scores {rows[-1]['frechet_classifier_distance']:.1f}.")
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-config", help=argparse.SUPPRESS)
    parser.add_argument("--run", help="the StyleGAN run directory (its config.json, and model.keras if finished)")
    parser.add_argument("--checkpoints", help="a folder of the run's backup/step-N checkpoints")
    parser.add_argument("--every", type=int, default=1000,
                        help="score checkpoints at least this many steps apart (and the last)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--num-samples", type=int, default=10_000)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks"))
    args = parser.parse_args()
    if args.worker:
        return step_cost_worker(args.worker, args.worker_config)
    if not args.run:
        parser.error("--run is required")
    if args.num_samples != 10_000:  # the distance's bias depends on it; DCGAN's curve used 10,000
        print(f"warning: --num-samples {args.num_samples}: DCGAN's figures are of 10,000 samples, so the "
              "distances are not comparable.", file=sys.stderr)

    from benchmark_throughput import cpu_description
    from ganzoo.run_directory import write_json

    run_config_file = os.path.join(args.run, "config.json")
    with open(run_config_file) as f:
        run_config = json.load(f)
    with open(os.path.join(ROOT, "benchmarks", "dcgan_quality.json")) as f:
        curve = [(row["epochs"], row["ema"]) for row in json.load(f)["ganzoo"]]
    chosen = spaced(checkpoints(args.checkpoints, args.run), args.every)  # before the minutes of timing
    costs = measure_step_costs(args.repeats, run_config_file)
    ratio = (costs["stylegan_fashion_mnist"]["median_seconds_per_step"]
             / costs["dcgan_fashion_mnist"]["median_seconds_per_step"])
    rows = []
    for steps, path in chosen:
        distance = score_checkpoint(run_config, path, args.num_samples)
        dcgan_steps = steps * ratio
        rows.append({"steps": steps, "checkpoint": os.path.relpath(path, args.run) if path.startswith(args.run)
                     else os.path.basename(os.path.dirname(path)),
                     "frechet_classifier_distance": distance, "dcgan_steps": dcgan_steps,
                     "dcgan_distance_at_same_time": dcgan_at(dcgan_steps, curve)})
        print(f"StyleGAN at {steps:,} steps: {distance:.1f} (DCGAN at the same time: "
              f"{rows[-1]['dcgan_distance_at_same_time']})", flush=True)
    preset_budget = round(30 * DCGAN_STEPS_PER_EPOCH / ratio)
    cpu = cpu_description()
    report = {"command": "python tools/benchmark_stylegan.py " + " ".join(sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d"), "num_samples": args.num_samples, "step_costs": costs,
              "stylegan_step_in_dcgan_steps": ratio, "stylegan_steps_at_dcgan_preset_budget": preset_budget,
              "dcgan_curve": curve, "stylegan": rows, "verdict": verdict(rows, preset_budget, curve[-1][1]),
              "machine": {"model": cpu["model"], "cpus": os.cpu_count(),
                          "bf16_flags": ", ".join(f for f in ("avx512_bf16", "amx_bf16", "amx_tile") if f in cpu["flags"])}}
    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "stylegan.json"), report)
    write_markdown(report, args.out)
    with open(os.path.join(args.out, "stylegan.md")) as f:
        print(f.read())


if __name__ == "__main__":
    main()
