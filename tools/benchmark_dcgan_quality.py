"""DCGAN on Fashion-MNIST: ganzoo's preset run against the PyTorch reference at equal epochs.

    python tools/benchmark_dcgan_quality.py --epochs 5,10,20,30 --workdir runs/presets/dcgan_fashion_mnist

Three measurements, all scored by the same code (`ganzoo.evaluation`: the Fréchet distance on
ganzoo's Fashion-MNIST classifier features, 10,000 samples against the 10,000 test images):

- **ganzoo**: `ganzoo train --config dcgan_fashion_mnist` (64 filters, mixed_bfloat16 where the
  CPU has it, EMA generator) continued epoch stage by epoch stage in --workdir, each stage
  scored with the EMA generator and with the raw one (EMA's effect on the same run);
- **PyTorch reference**: `tools/torch_reference.py --train-epochs` (the DCGAN tutorial's loop,
  the same networks, fp32), its samples saved at the same epochs and scored likewise;
- **BatchNorm**: the same config and seed with BatchNorm at Keras's defaults (momentum 0.99,
  ε 1e-3) instead of the PyTorch reference's (0.9, 1e-5) that ganzoo's networks now use, trained
  --bn-epochs and compared with the main run's stage at that epoch.

Every stage's scores are cached in the work directories (and each stage's model kept as
model_epochNNN.keras), so an interrupted benchmark resumes.
Writes benchmarks/dcgan_quality.json and .md. --no-torch / --no-bn skip those parts.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = {"name": "fashion_mnist"}
KERAS_BATCH_NORM = {"momentum": 0.99, "epsilon": 1e-3}


def cached(path, compute):
    """compute()'s result, stored in `path` (JSON) the first time."""
    from ganzoo.run_directory import write_json

    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    result = compute()
    write_json(path, result)
    return result


def distance(source, num_samples, use_ema=True):
    from ganzoo import evaluation

    result = evaluation.evaluate(source, DATA, ["classifier_distance"], num_samples, use_ema=use_ema)
    return round(result["frechet_classifier_distance"], 1), round(result["frechet_classifier_distance_real_train_vs_test"], 3)


def ganzoo_stage(workdir, epochs, num_samples, overrides=()):
    """Trains (or continues) the run in `workdir` to `epochs`; scores its EMA and raw generators."""
    from ganzoo import config, run_directory, training

    def compute():
        experiment = config.load("dcgan_fashion_mnist", [f"train.epochs={epochs}", "train.verbose=2", *overrides])
        gan = training.train(experiment, workdir)
        if int(gan.g_optimizer.iterations) != epochs * 937:
            raise RuntimeError(f"{workdir} is past epoch {epochs}; its stages must be scored in order.")
        with open(os.path.join(workdir, run_directory.STATE_FILE)) as f:
            seconds = json.load(f)["wall_seconds"]
        # Each stage's model is kept, so a preset can come from the best stage, not only the last.
        shutil.copyfile(os.path.join(workdir, run_directory.MODEL_FILE), os.path.join(workdir, f"model_epoch{epochs:03d}.keras"))
        ema, floor = distance(gan, num_samples)
        raw, _ = distance(gan, num_samples, use_ema=False)
        return {"epochs": epochs, "ema": ema, "raw": raw, "real_train_vs_test": floor,
                "precision": experiment["train"]["precision"], "train_wall_seconds": seconds}

    return cached(os.path.join(workdir, f"quality_epoch{epochs:03d}.json"), compute)


def torch_stages(workdir, epochs, num_samples):
    """The PyTorch reference trained to max(epochs), its samples at each of `epochs` scored."""
    import numpy as np

    os.makedirs(workdir, exist_ok=True)
    pattern = os.path.join(workdir, "samples_epoch{epoch}.npy")
    if not all(os.path.exists(pattern.format(epoch=e)) for e in epochs):
        command = [sys.executable, os.path.join(ROOT, "tools", "torch_reference.py"), "--model", "dcgan",
                   "--train-epochs", str(max(epochs)), "--sample-epochs", ",".join(map(str, epochs)),
                   "--samples-out", pattern, "--num-samples", str(num_samples)]
        with open(os.path.join(workdir, "train.log"), "w") as log:
            subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)
    return [cached(os.path.join(workdir, f"quality_epoch{e:03d}.json"),
                   lambda e=e: {"epochs": e, "distance": distance(np.load(pattern.format(epoch=e)), num_samples)[0]})
            for e in epochs]


def keras_batch_norm_stage(workdir, epochs, num_samples):
    """The main config with BatchNorm at Keras's defaults, trained `epochs`, EMA and raw scores."""
    from ganzoo import networks

    saved = dict(networks.BATCH_NORM)
    networks.BATCH_NORM.update(KERAS_BATCH_NORM)  # the layers' configs record it in model.keras
    try:
        return ganzoo_stage(workdir, epochs, num_samples)
    finally:
        networks.BATCH_NORM.update(saved)


def write_report(report, out):
    from ganzoo.run_directory import write_json

    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "dcgan_quality.json"), report)
    torch_by_epoch = {row["epochs"]: row["distance"] for row in report.get("torch", [])}
    cpu = report["cpu"]
    bf16_flags = [flag for flag in cpu["flags"] if flag in ("avx512_bf16", "amx_bf16", "amx_tile")]
    lines = ["# DCGAN on Fashion-MNIST: ganzoo against the PyTorch reference", "",
             f"`{report['command']}` on {cpu['model']} ({', '.join(bf16_flags) or 'no bf16 flags'}). "
             f"{report['metric']}; real training images score "
             f"{report['ganzoo'][0]['real_train_vs_test']}. Lower is better.", "",
             "| epochs | ganzoo, EMA generator | ganzoo, raw generator | PyTorch reference (tutorial loop, fp32) | "
             "ganzoo training wall s |", "|---|---|---|---|---|"]
    for row in report["ganzoo"]:
        lines.append(f"| {row['epochs']} | {row['ema']} | {row['raw']} | {torch_by_epoch.get(row['epochs'], '–')} | "
                     f"{row['train_wall_seconds']} |")
    last = report["ganzoo"][-1]
    lines += ["", f"At {last['epochs']} epochs the EMA generator scores {last['ema']} against the raw generator's "
                  f"{last['raw']} ({100 * (last['raw'] - last['ema']) / last['raw']:.0f}% lower)"
                  + (f"; the PyTorch reference scores {torch_by_epoch[last['epochs']]}" if last["epochs"] in torch_by_epoch
                     else "") + ". Each column is one run (ganzoo seed 0, torch.manual_seed(0)): differences of a "
                  "few percent are within what another seed would move."]
    if report.get("batch_norm"):
        bn = report["batch_norm"]
        lines += ["", f"BatchNorm at {bn['epochs']} epochs, same config and seed: PyTorch's settings (momentum 0.9, "
                      f"ε 1e-5; ganzoo's now) {bn['pytorch_settings']['ema']} (EMA) / {bn['pytorch_settings']['raw']} "
                      f"(raw); Keras's defaults (0.99, 1e-3) {bn['keras_defaults']['ema']} (EMA) / "
                      f"{bn['keras_defaults']['raw']} (raw)."]
    from ganzoo import precision

    setting = report["ganzoo"][0]["precision"]
    lines += ["", "ganzoo trains `configs/dcgan_fashion_mnist.py` (64 filters, batch 64, Adam 2e-4 β1 0.5, "
              f"precision {setting} = {precision.resolve(setting)} here, EMA decay 0.999); the reference is "
              "`tools/torch_reference.py --train-epochs` (the same networks, the tutorial's initialisation and loop). "
              "Wall times: two trainings shared the machine's two cores."]
    with open(os.path.join(out, "dcgan_quality.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", default="5,10,20,30", help="the stages, in epochs")
    parser.add_argument("--workdir", default=os.path.join("runs", "presets", "dcgan_fashion_mnist"))
    parser.add_argument("--torch-workdir", default=os.path.join("runs", "dcgan_quality", "torch"))
    parser.add_argument("--bn-workdir", default=os.path.join("runs", "dcgan_quality", "keras_batch_norm"))
    parser.add_argument("--bn-epochs", type=int, default=5, help="one of --epochs")
    parser.add_argument("--num-samples", type=int, default=10_000)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--no-bn", action="store_true")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks"))
    args = parser.parse_args()
    epochs = sorted(int(e) for e in args.epochs.split(","))
    if not args.no_bn and args.bn_epochs not in epochs:
        parser.error("--bn-epochs must be one of --epochs (the main run's stage it is compared with)")

    from benchmark_throughput import cpu_description

    report = {"command": " ".join(["python", "tools/benchmark_dcgan_quality.py"] + sys.argv[1:]),
              "cpu": cpu_description(),
              "metric": f"Fréchet classifier distance (ganzoo's Fashion-MNIST classifier features), "
                        f"{args.num_samples:,} samples vs the 10,000 test images",
              "ganzoo": [ganzoo_stage(args.workdir, e, args.num_samples) for e in epochs]}
    if not args.no_bn:
        main_stage = next(row for row in report["ganzoo"] if row["epochs"] == args.bn_epochs)
        report["batch_norm"] = {"epochs": args.bn_epochs, "pytorch_settings": main_stage,
                                "keras_defaults": keras_batch_norm_stage(args.bn_workdir, args.bn_epochs,
                                                                         args.num_samples)}
    if not args.no_torch:
        report["torch"] = torch_stages(args.torch_workdir, epochs, args.num_samples)
    print("\n".join(write_report(report, args.out)))


if __name__ == "__main__":
    main()
