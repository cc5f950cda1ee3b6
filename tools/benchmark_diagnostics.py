"""Proof runs of the training diagnostics: each run is trained with `ganzoo train` (which
writes diagnostics.json), drawn with `ganzoo diagnose`, and checked against the events it
should (and should not) raise. Results: benchmarks/diagnostics/<run>/ (config.json,
diagnostics.json, diagnosis.png, diagnosis.txt) and benchmarks/diagnostics.{json,md}.

    python tools/benchmark_diagnostics.py                      # every run (about an hour on 2 cores)
    python tools/benchmark_diagnostics.py --runs strong_d,vanilla_ring8 --workdir runs/diagnostics

A run whose run directory already holds model.keras is not retrained (kill and rerun to
resume; delete the folder to start over).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark_throughput import cpu_description  # noqa: E402
OUT = os.path.join(ROOT, "benchmarks", "diagnostics")

# name -> (ganzoo train arguments, events it must raise, events it may also raise, what it shows)
RUNS = {
    "strong_d": (
        ["--config", "dcgan_fashion_mnist", "--set", "model.objective=minimax", "--set", "model.d_steps=5",
         "--set", 'compile.d_optimizer={"class_name": "Adam", "config": {"learning_rate": 0.002, "beta_1": 0.5}}',
         "--set", "train.steps_per_epoch=100", "--set", "train.epochs=8"],
        {"vanishing_gradient"}, {"mode_collapse"},
        "DCGAN, minimax loss, 5 D updates per G update at 10x G's learning rate: D wins, the generator's gradient "
        "vanishes (and a generator that cannot learn never spreads over the classes: collapse may follow)"),
    "vanilla_ring8": (
        ["--config", "vanilla_gan_ring8", "--set", "model.seed=1", "--set", "data.seed=1"],
        {"mode_collapse"}, set(),
        "vanilla GAN on ring8, seed 1 (4 of 8 modes in benchmarks/modes.md): drops modes"),
    "unrolled_ring8": (
        ["--config", "unrolled_gan_ring8", "--set", "model.seed=2", "--set", "data.seed=2"],
        set(), set(),
        "unrolled GAN (K = 5) on ring8, seed 2, its benchmark budget (about the vanilla run's CPU time): keeps every mode"),
    "unrolled_ring8_seed0": (
        ["--config", "unrolled_gan_ring8"],
        set(), set(),
        "the same at seed 0, which the mode benchmark scores 8 of 8 modes (a mode counts with one sample), "
        "though by the end one mode is down to a handful of samples: the check calls that collapse"),
    "wgan_gp_ring8": (
        ["--config", "wgan_gp_ring8"],
        set(), set(),
        "WGAN-GP on ring8, seed 0, its benchmark budget: no accuracy events for a critic"),
    "healthy_dcgan": (
        ["--config", "dcgan_fashion_mnist", "--set", "train.epochs=2"],
        set(), set(),
        "DCGAN on Fashion-MNIST, the default config, 2 epochs: healthy"),
}
COPIED = ("config.json", "diagnostics.json", "diagnosis.png", "diagnosis.txt")


def ganzoo(*args):
    command = [sys.executable, "-m", "ganzoo.cli", *args]
    print("$ ganzoo " + " ".join(args[:1] + tuple(f"'{a}'" if " " in a else a for a in args[1:])), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def events_of(records):
    return [r for r in records if r["kind"] == "event"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=",".join(RUNS), help=f"comma-separated, of {', '.join(RUNS)}")
    parser.add_argument("--workdir", default="runs/diagnostics", help="where the runs train")
    args = parser.parse_args()
    sys.path.insert(0, ROOT)
    from ganzoo import diagnostics

    names = args.runs.split(",")
    unknown = set(names) - set(RUNS)
    if unknown:
        parser.error(f"unknown run(s) {sorted(unknown)}; valid: {', '.join(RUNS)}")
    results_path = os.path.join(ROOT, "benchmarks", "diagnostics.json")
    results = json.load(open(results_path)) if os.path.exists(results_path) else {}
    for name in names:
        arguments, expected, allowed, what = RUNS[name]
        workdir = os.path.join(args.workdir, name)
        start = time.perf_counter()
        if not os.path.exists(os.path.join(workdir, "model.keras")):
            ganzoo("train", *arguments, "--workdir", workdir)
        seconds = time.perf_counter() - start
        ganzoo("diagnose", workdir)
        os.makedirs(os.path.join(OUT, name), exist_ok=True)
        for file in COPIED:
            shutil.copy(os.path.join(workdir, file), os.path.join(OUT, name, file))
        records = diagnostics.read(workdir)
        raised = {e["event"] for e in events_of(records) if e["state"] != "end"}
        results[name] = {
            "what": what, "train_command": "ganzoo train " + " ".join(arguments + ["--workdir", workdir]),
            "expected_events": sorted(expected), "allowed_events": sorted(allowed), "raised_events": sorted(raised),
            "as_expected": expected <= raised <= expected | allowed,
            "events": [{k: e.get(k) for k in ("event", "state", "step", "message")} for e in events_of(records)],
            "generator_updates": max(r["step"] for r in records if "step" in r),
            "wall_seconds": round(seconds, 1) if seconds > 5 else results.get(name, {}).get("wall_seconds"),
        }
        print(f"{name}: raised {sorted(raised) or 'nothing'}; expected {sorted(expected) or 'nothing'}", flush=True)
    cpu = cpu_description()
    results["_machine"] = {"cpu": cpu["model"], "flags": [f for f in cpu["flags"] if f in (
        "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")], "cpus": os.cpu_count(), "python": platform.python_version()}
    with open(results_path, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    write_table(results)


def write_table(results):
    lines = ["# Training diagnostics: proof runs", "",
             "`python tools/benchmark_diagnostics.py` (each run: `ganzoo train`, then `ganzoo diagnose`); "
             "pictures and event files in `benchmarks/diagnostics/<run>/`.", "",
             "| run | what | generator updates | events expected (allowed) | events raised | as expected |",
             "|---|---|---|---|---|---|"]
    for name in RUNS:
        if name not in results:
            continue
        r = results[name]
        raised = "; ".join(f"{e['event']} {e['state']} at {e['step']:,}" for e in r["events"]) or "none"
        allowed = f" ({', '.join(r['allowed_events'])})" if r["allowed_events"] else ""
        lines.append(f"| {name} | {r['what']} | {r['generator_updates']:,} | {', '.join(r['expected_events']) or 'none'}{allowed} "
                     f"| {raised} | {'yes' if r['as_expected'] else '**no**'} |")
    machine = results.get("_machine", {})
    lines += ["", f"Machine: {machine.get('cpu')}, {machine.get('cpus')} CPUs (flags: {', '.join(machine.get('flags', []))})."]
    with open(os.path.join(ROOT, "benchmarks", "diagnostics.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
