"""What the training diagnostics cost: throughput with the health signals and the Diagnostics
callback on, against both off, in one run (target: at most 3% slower).

    python tools/benchmark_diagnostics_cost.py                       # 7 alternating pairs per case
    python tools/benchmark_diagnostics_cost.py --cases vanilla_gan_ring8 --repeats 9

"on" is what `ganzoo train` runs: `compile(health_signals=True)` (gradient norms, D's
accuracies, the logit gradient) and `Diagnostics` reading them every 10 updates; its per-epoch
diversity check, which runs once an epoch, not per step, is timed on its own (seconds per check).
"off" is `compile(health_signals=False)` without the callback. The cases, models and data are
`tools/benchmark_throughput.py`'s; each measurement is a fresh process, off and on alternate,
and the table gives medians of images/s and of CPU seconds per update, and their ratios.
Writes benchmarks/diagnostics_cost.{json,md} with the CPU model and flags. The machine should
be otherwise idle: run-to-run noise on a shared one is larger than 3%.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from benchmark_throughput import CASES, PRECISIONS, cpu_description, default_precision, ganzoo_worker  # noqa: E402

DEFAULT_CASES = ("dcgan28_b64", "dcgan28_b256", "vanilla_gan_ring8")


def worker(name, precision, health):
    from ganzoo.diagnostics import Diagnostics

    with tempfile.TemporaryDirectory() as directory:
        callbacks = [Diagnostics(directory, verbose=0)] if health else []
        return ganzoo_worker(CASES[name], PRECISIONS[precision], False, health_signals=health, callbacks=callbacks)


def diversity_check_seconds():
    """Seconds of one per-epoch diversity check: ring8 (2,500 samples, mode coverage) and
    Fashion-MNIST (2,000 DCGAN samples, classifier labels and NDB against 10,000 real images)."""
    from ganzoo import config, training

    timings = {}
    for name, config_name in (("ring8", "vanilla_gan_ring8"), ("fashion_mnist", "dcgan_fashion_mnist")):
        experiment = config.load(config_name)
        with tempfile.TemporaryDirectory() as directory:
            start = time.perf_counter()
            callback = training.make_diagnostics(experiment, directory, None)
            gan = training.build_model(experiment, (2,) if name == "ring8" else (28, 28, 1))
            gan.compile()
            callback.set_model(gan)
            callback.on_train_begin()
            setup = time.perf_counter() - start
            callback.on_epoch_begin(0)
            callback.on_epoch_end(0)  # warms up generate's predict function
            start = time.perf_counter()
            for epoch in range(3):
                callback.on_epoch_end(epoch)
            timings[name] = {"setup_seconds": round(setup, 2),
                             "seconds_per_check": round((time.perf_counter() - start) / 3, 3)}
    return timings


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES), help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks"))
    parser.add_argument("--markdown-from", metavar="JSON", help="only rewrite the table from a diagnostics_cost.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: NAME:PRECISION:on|off
    args = parser.parse_args()
    if args.markdown_from:
        with open(args.markdown_from) as f:
            write_markdown(json.load(f), os.path.dirname(os.path.abspath(args.markdown_from)))
        return
    if args.worker:
        name, precision, health = args.worker.split(":")
        print(json.dumps(worker(name, precision, health == "on")))
        return
    cpu = cpu_description()
    names = args.cases.split(",")
    for name in names:
        if name not in CASES:
            parser.error(f"unknown case {name!r}; valid: {', '.join(CASES)}")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    runs = {}
    for repeat in range(args.repeats):
        for name in names:
            precision = default_precision(name, cpu["flags"])  # as the case's config trains here
            for health in ("off", "on"):
                result = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker",
                                         f"{name}:{precision}:{health}"], capture_output=True, text=True, env=env)
                if result.returncode:
                    raise RuntimeError(result.stderr[-3000:])
                record = json.loads(result.stdout.strip().splitlines()[-1])
                runs.setdefault((name, precision, health), []).append(record)
                print(f"repeat {repeat + 1}/{args.repeats} {name} {precision} health {health}: "
                      f"{record['images_per_s']:.0f} images/s, {1000 * record['cpu_seconds_per_update']:.2f} ms CPU/update",
                      flush=True)
    rows = []
    for (name, precision, health), records in runs.items():
        if health == "on":
            continue
        row = {"case": name, "precision": precision, "batch": CASES[name]["batch"]}
        for side in ("off", "on"):
            side_records = runs[name, precision, side]
            row[side] = {"median_images_per_s": round(statistics.median(r["images_per_s"] for r in side_records), 1),
                         "median_cpu_ms_per_update": round(1000 * statistics.median(
                             r["cpu_seconds_per_update"] for r in side_records), 3),
                         "runs_images_per_s": [round(r["images_per_s"], 1) for r in side_records]}
        row["throughput_on_over_off"] = round(row["on"]["median_images_per_s"] / row["off"]["median_images_per_s"], 3)
        # Each repeat ran off then on back to back: their ratio sees one state of a noisy machine.
        row["median_pair_ratio"] = round(statistics.median(
            on["images_per_s"] / off["images_per_s"] for off, on in zip(*(runs[name, precision, side] for side in ("off", "on")))), 3)
        row["cpu_on_over_off"] = round(row["on"]["median_cpu_ms_per_update"] / row["off"]["median_cpu_ms_per_update"], 3)
        rows.append(row)
    report = {"benchmark": "cost of the health signals and Diagnostics (on) vs neither (off)",
              "command": " ".join(["python", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)] + sys.argv[1:]),
              "repeats": args.repeats, "cpu": {"model": cpu["model"], "flags": [
                  f for f in cpu["flags"] if f in ("avx512f", "avx512_bf16", "amx_bf16", "amx_tile")]},
              "load_average_at_start": os.getloadavg()[0], "results": rows,
              "diversity_check": diversity_check_seconds()}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "diagnostics_cost.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    write_markdown(report, args.out)


def write_markdown(report, out):
    """benchmarks/diagnostics_cost.md from the report (also `--markdown-from diagnostics_cost.json`)."""
    rows = report["results"]
    for row in rows:  # reports written before the pair ratio was recorded
        if "median_pair_ratio" not in row:
            row["median_pair_ratio"] = round(statistics.median(
                on / off for off, on in zip(row["off"]["runs_images_per_s"], row["on"]["runs_images_per_s"])), 3)
    lines = ["# What the training diagnostics cost", "",
             f"`{report['command']}` — {report['cpu']['model']} ({', '.join(report['cpu']['flags'])}). "
             f"Medians of {report['repeats']} alternating fresh processes per side (off, then on, each repeat); "
             "on = health signals + Diagnostics, off = neither. Target: on at most 3% slower (ratio ≥ 0.97). "
             "\"pair\" is the median over repeats of on / off measured back to back.", "",
             "| case | precision | batch | off images/s | on images/s | on / off (medians) | on / off (pair) "
             "| off CPU ms/update | on CPU ms/update | CPU on / off |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['case']} | {row['precision']} | {row['batch']} | {row['off']['median_images_per_s']:,.0f} | "
                     f"{row['on']['median_images_per_s']:,.0f} | {row['throughput_on_over_off']:.3f} | "
                     f"{row['median_pair_ratio']:.3f} | "
                     f"{row['off']['median_cpu_ms_per_update']:.2f} | {row['on']['median_cpu_ms_per_update']:.2f} | "
                     f"{row['cpu_on_over_off']:.3f} |")
    checks = report["diversity_check"]
    lines += ["", "Per-epoch diversity check (once an epoch, not per step): " + "; ".join(
        f"{name} {t['seconds_per_check']:.2f} s per check ({t['setup_seconds']:.1f} s once at the start)"
        for name, t in checks.items()) + "."]
    with open(os.path.join(out, "diagnostics_cost.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
