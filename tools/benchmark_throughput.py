"""Training throughput: ganzoo under `fit` beside the project's PyTorch reference, in one run.

    python tools/benchmark_throughput.py                      # every case, fp32 and bf16, 3 repeats
    python tools/benchmark_throughput.py --cases dcgan28_b64 --precisions bf16 --repeats 5
    python tools/benchmark_throughput.py --xla                # also ganzoo with jit_compile=True
    python tools/benchmark_throughput.py --no-torch           # where PyTorch is not installed

Cases: DCGAN 28x28 at batch 64 and 256, DCGAN 64x64 at batch 64, and vanilla_gan, wgan_gp and
unrolled_gan (K = 5) on ring8 at batch 512 with the mixture configs' networks. One step is one
generator update with the discriminator updates before it, the same on both sides (see
`tools/torch_reference.py`): DCGAN one D update on a real and a fresh fake batch, then one G
update on a fresh fake batch. Both sides train on fixed real data, so neither measures an
input pipeline.

ganzoo runs as a user runs it: the model its config builds (`configs/dcgan_fashion_mnist.py`,
`configs/*_ring8.py`) compiled with the config's compile settings (optimisers,
steps_per_execution), trained by `fit`; "bf16" is `precision="mixed_bfloat16"`, and PyTorch's
bf16 is `torch.autocast("cpu", torch.bfloat16)`. Every measurement is a fresh process; the
frameworks alternate (torch, ganzoo, torch, ganzoo, ...) case by case, `--repeats` times, and
the table gives medians and the ratio of the medians, since this machine is shared and noisy.
Writes benchmarks/throughput.json and benchmarks/throughput.md, with the CPU model and flags.
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
TORCH_REFERENCE = os.path.join(HERE, "torch_reference.py")

# name -> model, image side (DCGAN), batch, timed steps (each run ~5-10 s here), warm-up steps
CASES = {
    "dcgan28_b64": {"model": "dcgan", "size": 28, "batch": 64, "steps": 100, "warmup": 10},
    "dcgan28_b256": {"model": "dcgan", "size": 28, "batch": 256, "steps": 30, "warmup": 5},
    "dcgan64_b64": {"model": "dcgan", "size": 64, "batch": 64, "steps": 12, "warmup": 3},
    "vanilla_gan_ring8": {"model": "vanilla_gan", "size": None, "batch": 512, "steps": 1000, "warmup": 100},
    "wgan_gp_ring8": {"model": "wgan_gp", "size": None, "batch": 512, "steps": 300, "warmup": 50},
    "unrolled_gan_ring8": {"model": "unrolled_gan", "size": None, "batch": 512, "steps": 200, "warmup": 50},
}
PRECISIONS = {"fp32": "float32", "bf16": "mixed_bfloat16"}


def build_ganzoo_model(case, precision, jit_compile, health_signals=True):
    """The model and fixed real data of `case`, built and compiled as its config says."""
    import numpy as np
    import tensorflow as tf

    from ganzoo import config, data, training

    if case["model"] == "dcgan":
        experiment = config.load("dcgan_fashion_mnist", [f"train.precision={precision}"])
        data_shape = (28, 28, 1) if case["size"] == 28 else (64, 64, 3)
        real = np.random.default_rng(0).uniform(-1, 1, (case["batch"], *data_shape)).astype("float32")
        dataset = tf.data.Dataset.from_tensors(real)
    else:
        experiment = config.load(f"{case['model']}_ring8", [f"train.precision={precision}"])
        data_shape = (2,)
        points = data.mixture("ring8").sample(8 * case["batch"], seed=0)
        dataset = tf.data.Dataset.from_tensor_slices(points).batch(case["batch"], drop_remainder=True)
    gan = training.build_model(experiment, data_shape)
    compile_options = dict(experiment["compile"])
    if jit_compile:
        compile_options["jit_compile"] = True
    gan.compile(**compile_options, health_signals=health_signals)
    return gan, dataset.cache().repeat()


def ganzoo_worker(case, precision, jit_compile, strategy=None, health_signals=True, callbacks=()):
    """Trains `case` in this process (under `strategy`, default the current one; with the
    health signals on or off, and `callbacks` in the timed fit); returns generator updates/s,
    images/s and the process's CPU seconds per generator update."""
    import tensorflow as tf

    with (strategy or tf.distribute.get_strategy()).scope():
        gan, dataset = build_ganzoo_model(case, precision, jit_compile, health_signals)
    # fit counts a step per generator update; steps_per_execution must divide the budget.
    unit = gan.get_compile_config().get("steps_per_execution", 1)
    warmup, steps = (-(-n // unit) * unit for n in (case["warmup"], case["steps"]))
    gan.fit(dataset, steps_per_epoch=warmup, epochs=1, verbose=0, callbacks=list(callbacks))  # traces the step
    start, cpu_start = time.perf_counter(), time.process_time()
    gan.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=list(callbacks))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return {"generator_updates_per_s": steps / seconds, "images_per_s": case["batch"] * steps / seconds,
            "cpu_seconds_per_update": cpu_seconds / steps, "steps_per_execution": unit}


def run_worker(framework, name, precision, jit_compile=False):
    """One measurement in a fresh process: returns its JSON record."""
    case = CASES[name]
    if framework == "torch":
        command = [sys.executable, TORCH_REFERENCE, "--model", case["model"], "--batch", str(case["batch"]),
                   "--steps", str(case["steps"]), "--warmup", str(case["warmup"]), "--precision", precision]
        if case["size"]:
            command += ["--size", str(case["size"])]
    else:
        command = [sys.executable, os.path.abspath(__file__), "--worker", name, "--precisions", precision]
        if jit_compile:
            command.append("--xla")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def cpu_description():
    """lscpu's model name and flags (the figures depend on AVX512_BF16 / AMX)."""
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    except OSError:
        return {"model": platform.processor(), "flags": []}
    fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return {"model": fields.get("Model name", "?"), "flags": fields.get("Flags", "").split()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--precisions", default="fp32,bf16", help="comma-separated, of: fp32, bf16")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--xla", action="store_true", help="also measure ganzoo with jit_compile=True")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks"))
    parser.add_argument("--markdown-from", metavar="JSON", help="only rewrite the table from a throughput.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: measure one ganzoo case here
    args = parser.parse_args()
    if args.markdown_from:
        with open(args.markdown_from) as f:
            write_markdown(json.load(f), os.path.dirname(os.path.abspath(args.markdown_from)))
        return
    names, precisions = args.cases.split(","), args.precisions.split(",")
    for name in names:
        if name not in CASES:
            parser.error(f"unknown case {name!r}; valid: {', '.join(CASES)}")
    for precision in precisions:
        if precision not in PRECISIONS:
            parser.error(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")

    if args.worker:
        record = ganzoo_worker(CASES[args.worker], PRECISIONS[precisions[0]], args.xla)
        print(json.dumps(record))
        return

    frameworks = ([] if args.no_torch else ["torch"]) + ["ganzoo"] + (["ganzoo_xla"] if args.xla else [])
    runs = {}  # (case, precision, framework) -> [images/s, ...]
    versions = {}
    for repeat in range(args.repeats):
        for name in names:
            for precision in precisions:
                for framework in frameworks:
                    record = run_worker(framework.split("_")[0], name, precision, framework.endswith("xla"))
                    if framework == "torch":
                        versions["torch"] = record["version"]
                    runs.setdefault((name, precision, framework), []).append(record["images_per_s"])
                    print(f"repeat {repeat + 1}/{args.repeats} {name} {precision} {framework}: "
                          f"{record['images_per_s']:.0f} images/s", flush=True)
    write_report(args, names, precisions, frameworks, runs, versions)


def write_report(args, names, precisions, frameworks, runs, versions):
    import tensorflow as tf

    import ganzoo

    versions.update(tensorflow=tf.__version__, ganzoo=ganzoo.__version__, python=platform.python_version())
    command = " ".join(["python", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)] + sys.argv[1:])
    rows = []
    for name in names:
        for precision in precisions:
            row = {"case": name, "precision": precision, "batch": CASES[name]["batch"]}
            for framework in frameworks:
                values = runs[name, precision, framework]
                row[framework] = {"median_images_per_s": round(statistics.median(values), 1),
                                  "runs": [round(v, 1) for v in values]}
            for framework in frameworks:
                if framework != "torch" and "torch" in row:
                    row[f"{framework}_over_torch"] = round(
                        row[framework]["median_images_per_s"] / row["torch"]["median_images_per_s"], 2)
            rows.append(row)
    report = {"benchmark": "GAN training throughput under fit vs the PyTorch reference (images/s)",
              "command": command, "repeats": args.repeats, "frameworks": frameworks, "cpu": cpu_description(),
              "cpus": os.cpu_count(), "platform": platform.platform(), "versions": versions, "cases": CASES,
              "results": rows}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "throughput.json"), "w") as f:
        json.dump(report, f, indent=2)
    write_markdown(report, args.out)


def default_precision(case_name, cpu_flags):
    """The precision ganzoo's config for the case trains in on that CPU: DCGAN's config says
    "auto" (bf16 with native bfloat16), the mixture configs float32."""
    from ganzoo.precision import NATIVE_BFLOAT16_CPU_FLAGS

    native = any(flag in cpu_flags for flag in NATIVE_BFLOAT16_CPU_FLAGS)
    return "bf16" if CASES[case_name]["model"] == "dcgan" and native else "fp32"


def write_markdown(report, out):
    """benchmarks/throughput.md from the report (also `--markdown-from throughput.json`)."""
    rows, cpu = report["results"], report["cpu"]
    frameworks = report.get("frameworks") or [k for k, v in rows[0].items() if isinstance(v, dict)]
    versus = [f for f in frameworks if f != "torch" and "torch" in frameworks]
    wanted = ("avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_fp16")
    lines = ["# Training throughput: ganzoo `fit` vs PyTorch", "",
             f"`{report['command']}` — {cpu['model']}, {report['cpus']} CPUs (flags: "
             f"{', '.join(f for f in wanted if f in cpu['flags']) or 'none of ' + ', '.join(wanted)}); "
             f"TensorFlow {report['versions']['tensorflow']}, PyTorch {report['versions'].get('torch', '-')}. "
             f"Images/s, median of {report['repeats']} alternating runs (each a fresh process); "
             "ratios are of the medians. A mixture \"image\" is one 2-D point: generator updates/s = "
             "images/s / batch. Run-to-run spread on this shared machine reaches 2× (see the JSON's runs).", "",
             "| case | precision | batch | " + " | ".join(frameworks) + " | "
             + " | ".join(f"{f} / torch" for f in versus) + " |",
             "|---" * (3 + len(frameworks) + len(versus)) + "|"]
    for row in rows:
        cells = [row["case"], row["precision"], str(row["batch"])]
        cells += [f"{row[f]['median_images_per_s']:,.0f}" for f in frameworks]
        cells += [f"{row[f'{f}_over_torch']:.2f}×" for f in versus]
        lines.append("| " + " | ".join(cells) + " |")

    by_key = {(row["case"], row["precision"]): row for row in rows}
    defaults = []
    for case in dict.fromkeys(row["case"] for row in rows):
        precision = default_precision(case, cpu["flags"])
        if "torch" in frameworks and (case, precision) in by_key and (case, "fp32") in by_key:
            ganzoo = by_key[case, precision]["ganzoo"]["median_images_per_s"]
            torch = by_key[case, "fp32"]["torch"]["median_images_per_s"]
            defaults.append(f"| {case} | {precision} | {ganzoo:,.0f} | {torch:,.0f} | {ganzoo / torch:.2f}× |")
    if defaults:
        lines += ["", "ganzoo as its config trains on this CPU (precision `auto` for DCGAN: bf16 here) "
                      "against the PyTorch reference as its tutorial runs it (fp32):", "",
                  "| case | ganzoo precision | ganzoo | torch fp32 | ganzoo / torch |", "|---|---|---|---|---|",
                  *defaults]
    with open(os.path.join(out, "throughput.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
