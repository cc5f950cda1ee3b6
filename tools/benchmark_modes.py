"""The mode-collapse benchmark: which GANs cover the modes of ring8 and grid25, beside the papers.

    python tools/benchmark_modes.py --seeds 5 --workers 2

Trains each variant (vanilla_gan, unrolled_gan with K = 5 (and 10), wgan, wgan_gp, PacGAN2,
PacGAN4) on each mixture and every seed under one protocol, configs/_mixture_protocol.py
(the configs/<model>_<mixture>.py files use it too): 100,000 training points, minibatches of
512, G and D 3 x 128 with a 16-d latent, every learning rate decaying to 0 (cosine) over the
run's generator updates: the budgets of its `mixture_budget` (20,000 on ring8 and
50,000 on grid25; 6,000 for the unrolled GAN and WGAN-GP, 10,000 for WGAN, whose updates cost
4-6 times more), or `--steps` per mixture and `--variant-steps` per variant. The WGANs make 5
critic updates per generator update, on 5 times as many real minibatches.
Scoring follows the VEEGAN / PacGAN protocol: 2,500 samples; high quality within 3 std of the
nearest centre; a mode captured when it is the nearest centre of a high-quality sample; KL of
the captured-mode histogram from uniform.

One path with the command line: each run trains through `ganzoo.training.train` (what `ganzoo
train` runs) into a run directory under `--workdir` (runs/benchmark_modes/), and is scored by
`ganzoo evaluate RUN_DIR` itself, so that command gives the row's numbers again; each run's JSON
records both commands. Each run is its own process (`--workers` at a time, one CPU thread each)
and leaves benchmarks/modes_runs/<variant>_<mixture>_g<steps>_s<seed>.json; an interrupted
benchmark resumes where it stopped, a killed run from its last checkpoint. Writes benchmarks/modes.json, benchmarks/modes.md (mean ± std over
seeds beside VEEGAN's, PacGAN's and GDPP's Table 1, with the runs at the earlier 3,000-update
budget for comparison) and benchmarks/modes_<variant>_<mixture>.png (seed 0's samples over the
true centres). Published rows come from tools/paper_tables.json.
"""

import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "configs"))
from _mixture_protocol import UPDATES_PER_EPOCH, mixture_budget, mixture_experiment  # noqa: E402
# The published rows, copied from the project's shared reference so that a clone runs this alone.
PAPER_TABLES = os.path.join(ROOT, "tools", "paper_tables.json")
# variant -> (config model, overrides of configs/<model>_<mixture>.py)
VARIANTS = {
    "vanilla_gan": ("vanilla_gan", {}),
    "unrolled_gan_k5": ("unrolled_gan", {"unroll_steps": 5}),
    "unrolled_gan_k10": ("unrolled_gan", {"unroll_steps": 10}),
    "wgan": ("wgan", {}),
    "wgan_gp": ("wgan_gp", {}),
    "pacgan2": ("pacgan", {"pack": 2}),
    "pacgan4": ("pacgan", {"pack": 4}),
}
DEFAULT_VARIANTS = ("vanilla_gan", "unrolled_gan_k5", "wgan", "wgan_gp", "pacgan2", "pacgan4")
MIXTURES = ("ring8", "grid25")


def experiment_for(variant, mixture, seed, generator_steps):
    """The run's config: `configs/<model>_<mixture>.py`'s protocol at this budget and seed."""
    from ganzoo import config

    model_name, options = VARIANTS[variant]
    experiment = mixture_experiment(model_name, mixture, generator_steps, **options)
    experiment["model"]["seed"] = experiment["data"]["seed"] = seed
    experiment["train"]["verbose"] = 0
    return config.validate(experiment)


def equivalent_command(variant, mixture, seed, generator_steps, workdir):
    """The `ganzoo train` line that trains the same run (the learning-rate decay is sized from
    train.epochs when training starts)."""
    model_name, options = VARIANTS[variant]
    sets = [f"model.{key}={value}" for key, value in options.items()] + [f"model.seed={seed}", f"data.seed={seed}"]
    if generator_steps != mixture_budget(model_name, mixture):
        sets.append(f"train.epochs={generator_steps // UPDATES_PER_EPOCH}")
    return " ".join(["ganzoo train", "--config", f"{model_name}_{mixture}", "--workdir", workdir,
                     *(f"--set {item}" for item in sets)])


def run_one(variant, mixture, seed, out_dir, generator_steps, workdir):
    """Trains one (variant, mixture, seed) as `ganzoo train` does (a run directory in `workdir`,
    which a killed run resumes from) and scores it as `ganzoo evaluate RUN_DIR` does, so that
    command reproduces the benchmark's row; returns the run's result (and draws seed 0's picture)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import ganzoo
    from ganzoo import cli, evaluation as evaluation_lib, training
    from ganzoo.callbacks import sample_picture, write_png
    from ganzoo.run_directory import RunDirectory

    experiment = experiment_for(variant, mixture, seed, generator_steps)
    gan = training.train(experiment, workdir)
    if cli.main(["evaluate", workdir]) != 0:
        raise RuntimeError(f"ganzoo evaluate {workdir} failed")
    with open(os.path.join(workdir, "evaluation.json")) as f:
        evaluation = json.load(f)
    result = {
        "variant": variant, "config": f"mixture_experiment({VARIANTS[variant][0]!r}, {mixture!r}, {generator_steps})",
        "mixture": mixture, "seed": seed, "model": experiment["model"], "compile": experiment["compile"],
        "train_command": equivalent_command(variant, mixture, seed, generator_steps, workdir),
        "threads": "1 intra-op and 1 inter-op TensorFlow thread (the same weights again need the same)",
        "evaluate_command": f"ganzoo evaluate {workdir}",
        "generator_steps": int(gan.g_optimizer.iterations.numpy()),
        "discriminator_steps": int(gan.d_optimizer.iterations.numpy()),
        "wall_seconds": round(RunDirectory(workdir).finished_state()["wall_seconds"], 1),
        **{key: evaluation[key] for key in ("protocol", "num_samples", "scored", "modes", "high_quality_percent",
                                            "kl", "counts")},
    }
    if seed == 0:
        samples = evaluation_lib.generated_batches(gan, evaluation["num_samples"], seed=0)  # the scored ones
        write_png(os.path.join(out_dir, f"modes_{variant}_{mixture}.png"),
                  sample_picture(np.concatenate(list(samples)), ganzoo.data.mixture(mixture).centers))
    return result


def mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return [round(statistics.mean(values), 3), round(statistics.pstdev(values), 3) if len(values) > 1 else 0.0]


MODES = {"ring8": 8, "grid25": 25}
# Issue 9's targets for the best model, on the mean over seeds: above every published row.
TARGETS = {"ring8": {"modes": 8.0, "high_quality_percent": 97.0, "every_seed_all_modes": True},
           "grid25": {"modes": 24.9, "high_quality_percent": 95.0, "every_seed_all_modes": False}}
BASELINE_STEPS = 3000  # the budget of the first release's table


def run_path(runs_dir, variant, mixture, steps, seed):
    return os.path.join(runs_dir, f"{variant}_{mixture}_g{steps}_s{seed}.json")


def summarize(runs):
    """{"variant/mixture/steps": mean ± std over seeds of modes, high quality, KL, ...}."""
    groups = {}
    for run in runs:
        groups.setdefault((run["variant"], run["mixture"], run["generator_steps"]), []).append(run)
    summary = {}
    for (variant, mixture, steps), chosen in sorted(groups.items()):
        summary[f"{variant}/{mixture}/{steps}"] = {
            "variant": variant, "mixture": mixture, "generator_steps": steps, "seeds": len(chosen),
            "modes": mean_std([r["modes"] for r in chosen]),
            "high_quality_percent": mean_std([r["high_quality_percent"] for r in chosen]),
            "kl": mean_std([r["kl"] for r in chosen]),
            "all_modes_runs": sum(r["modes"] == MODES[mixture] for r in chosen),
            "wall_seconds_per_run": round(statistics.mean(r["wall_seconds"] for r in chosen), 1),
        }
    return summary


def target_check(summary, mixture, budgets):
    """The best variant at its budget (`budgets`: variant -> steps) on `mixture`, and whether
    it meets the target."""
    rows = [row for row in summary.values()
            if row["mixture"] == mixture and row["generator_steps"] == budgets.get(row["variant"])]
    if not rows:
        return None
    best = max(rows, key=lambda r: (r["modes"][0], r["high_quality_percent"][0]))
    target = TARGETS[mixture]
    met = (best["modes"][0] >= target["modes"] and best["high_quality_percent"][0] >= target["high_quality_percent"]
           and (not target["every_seed_all_modes"] or best["all_modes_runs"] == best["seeds"]))
    return {"mixture": mixture, "best": best["variant"], "modes": best["modes"][0],
            "high_quality_percent": best["high_quality_percent"][0], "all_modes_runs": best["all_modes_runs"],
            "seeds": best["seeds"], "target": target, "met": met}


def against_first_release(summary, budgets):
    """Each variant at this command's budget against its runs at BASELINE_STEPS: better when it
    covers more modes, or as many with more high-quality samples."""
    rows = []
    for mixture in MIXTURES:
        for variant, steps in budgets[mixture].items():
            now, then = (summary.get(f"{variant}/{mixture}/{s}") for s in (steps, BASELINE_STEPS))
            if now and then and steps != BASELINE_STEPS:
                gain = (now["modes"][0] - then["modes"][0], now["high_quality_percent"][0] - then["high_quality_percent"][0])
                rows.append({"variant": variant, "mixture": mixture, "steps": steps,
                             "modes": [then["modes"][0], now["modes"][0]],
                             "high_quality_percent": [then["high_quality_percent"][0], now["high_quality_percent"][0]],
                             "better": gain[0] > 0 or (gain[0] == 0 and gain[1] > 0)})
    return rows


def write_table(summary, papers, budgets, command, cpu, path):
    """budgets: mixture -> variant -> the generator updates this command ran it for."""
    fmt = lambda ms, digits=1: "–" if ms is None else f"{ms[0]:.{digits}f} ± {ms[1]:.{digits}f}"  # noqa: E731
    lines = ["# Mode coverage on ring8 and grid25", "",
             f"`{command}`: every model under one protocol (configs/_mixture_protocol.py: minibatch 512, "
             "100,000 training points, G and D 3 x 128, latent 16, learning rates decaying to 0 over the run); "
             "generator updates as its `mixture_budget` (or the command) sets them (the first release's "
             f"table: {BASELINE_STEPS:,} for every model). The unrolled GAN's, WGAN's and WGAN-GP's budgets are what "
             "the benchmark's CPU time paid for (their updates cost 4-6 times a vanilla one), not where they "
             "converge: their rows show where those budgets stop. Each run trained as `ganzoo train` does and scored by "
             "`ganzoo evaluate RUN_DIR` (2,500 samples, seed 0; each run's JSON in modes_runs/ gives both commands), "
             f"except the {BASELINE_STEPS:,}-update rows, the first release's runs (its own loop and sampling seeds). "
             "Mean ± std over seeds (std over seeds, not the standard error PacGAN reports). Each run on one CPU thread; wall times are upper bounds (two runs shared the "
             "two cores). Each model appears at every budget it was run for; the targets are checked at this "
             "command's budgets.", "",
             f"Machine: {cpu['model']}, {os.cpu_count()} CPUs (lscpu flags include: "
             f"{', '.join(f for f in ('avx512_bf16', 'amx_bf16', 'amx_tile') if f in cpu['flags']) or 'none of the bf16 ones'}).",
             "",
             "| model | updates | ring8 modes (of 8) | ring8 % high quality | ring8 KL | grid25 modes (of 25) | "
             "grid25 % high quality | grid25 KL | runs with every mode (ring8, grid25) | s per run (ring8, grid25) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for variant in VARIANTS:
        run_budgets = sorted({row["generator_steps"] for row in summary.values() if row["variant"] == variant},
                             reverse=True)
        for budget in run_budgets:
            ring, grid = (summary.get(f"{variant}/{m}/{budget}") for m in MIXTURES)
            cell = lambda s, key, digits=1: fmt(s[key], digits) if s else "–"  # noqa: E731
            count = lambda s: f"{s['all_modes_runs']}/{s['seeds']}" if s else "–"  # noqa: E731
            wall = lambda s: f"{s['wall_seconds_per_run']:.0f}" if s else "–"  # noqa: E731
            lines.append(f"| ganzoo {variant} | {budget:,} | {cell(ring, 'modes')} | {cell(ring, 'high_quality_percent')} | "
                         f"{cell(ring, 'kl', 2)} | {cell(grid, 'modes')} | {cell(grid, 'high_quality_percent')} | "
                         f"{cell(grid, 'kl', 2)} | {count(ring)}, {count(grid)} | {wall(ring)}, {wall(grid)} |")
    veegan, pacgan, gdpp = papers["veegan_table1"], papers["pacgan_table1"], papers["gdpp_table1"]
    for name in ("GAN", "ALI", "Unrolled GAN", "VEEGAN"):
        row = veegan[name]
        lines.append(f"| VEEGAN Table 1 (VEEGAN's protocol): {name} | – | {row[0]} | {row[1]} | – | {row[2]} | {row[3]} | – | – | – |")
    for name in ("GAN", "ALI", "PacGAN2", "PacGAN3", "PacGAN4"):
        row = pacgan[name]
        lines.append(f"| PacGAN Table 1 (PacGAN's protocol): {name} | 400,000 | {row[0]} | {row[1]} | {row[2]} | "
                     f"{row[3]} | {row[4]} | {row[5]} | – | – |")
    row = gdpp["WGAN-GP"]
    lines.append(f"| GDPP Table 1 (GDPP's protocol): WGAN-GP | 25,000 | {row[0]} | {row[1]} | – | {row[2]} | {row[3]} | – | – | – |")
    lines += ["", "Targets (issue 9), for the best ganzoo model, mean over seeds: ring8 8.0 modes on every seed with "
              ">= 97% high quality; grid25 >= 24.9 modes with >= 95% high quality."]
    for mixture in MIXTURES:
        check = target_check(summary, mixture, budgets[mixture])
        if check:
            lines.append(f"- {mixture}: best is {check['best']}, {check['modes']:.2f} modes, "
                         f"{check['high_quality_percent']:.1f}% high quality, every mode on {check['all_modes_runs']} "
                         f"of {check['seeds']} seeds — {'met' if check['met'] else 'missed'}.")
    lines += ["", f"Each model at this command's budget against its own runs at {BASELINE_STEPS:,} updates (the first "
              "release's table), mean modes and high-quality share over seeds:"]
    for row in against_first_release(summary, budgets):
        (modes_then, modes_now), (quality_then, quality_now) = row["modes"], row["high_quality_percent"]
        lines.append(f"- {row['variant']} on {row['mixture']} ({row['steps']:,} updates): {modes_then:.1f} -> "
                     f"{modes_now:.1f} modes, {quality_then:.1f}% -> {quality_now:.1f}% — "
                     f"{'better' if row['better'] else 'not better'}.")
    lines += ["", "Vanilla against unrolled (Metz et al. 2017 and VEEGAN's table put the unrolled GAN ahead), mean modes "
              "and high-quality share:"]
    for mixture in MIXTURES:
        pairs = [(label, [summary.get(f"{v}/{mixture}/{steps(v)}") for v in ("vanilla_gan", "unrolled_gan_k5")])
                 for label, steps in ((f"both at {BASELINE_STEPS:,} updates", lambda v: BASELINE_STEPS),
                                      ("at this command's budgets", lambda v: budgets[mixture].get(v)))]
        for label, (vanilla, unrolled) in pairs:
            if vanilla and unrolled:
                lines.append(f"- {mixture}, {label}: vanilla_gan ({vanilla['generator_steps']:,}) "
                             f"{vanilla['modes'][0]:.1f} modes, {vanilla['high_quality_percent'][0]:.1f}%; unrolled_gan_k5 "
                             f"({unrolled['generator_steps']:,}) {unrolled['modes'][0]:.1f} modes, "
                             f"{unrolled['high_quality_percent'][0]:.1f}%.")
    lines += ["", "Protocols. ganzoo's rows: the protocol above, one shared for every model. VEEGAN's rows: its "
              "paper's networks and budget (its GAN and unrolled GAN baselines differ from PacGAN's). PacGAN's rows: "
              + pacgan["protocol"] + ". GDPP's row: " + gdpp["protocol"] + ".",
              "", "Sources: " + "; ".join(t["source"] for t in (veegan, pacgan, gdpp)) + ".",
              "", "Samples of seed 0 over the true centres: `modes_<model>_<mixture>.png` beside this file."]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines


def parse_steps(text, variant_text, variants):
    """mixture -> variant -> generator updates: --variant-steps, else --steps, else the protocol's."""
    steps = dict(item.split("=") for item in text.split(",")) if text else {}
    if steps and set(steps) != set(MIXTURES):
        raise SystemExit(f"--steps needs one budget per mixture ({', '.join(MIXTURES)}), e.g. ring8=20000,grid25=20000")
    overrides = dict(item.split("=") for item in variant_text.split(",")) if variant_text else {}
    if any(int(value) % UPDATES_PER_EPOCH for value in [*steps.values(), *overrides.values()]):
        raise SystemExit(f"Budgets are counted in epochs of {UPDATES_PER_EPOCH} generator updates: give multiples of it.")
    unknown = set(overrides) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"Unknown variant(s) in --variant-steps: {', '.join(sorted(unknown))}.")
    return {m: {v: int(overrides.get(v, steps.get(m) or mixture_budget(VARIANTS[v][0], m))) for v in variants}
            for m in MIXTURES}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS), help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--mixtures", default=",".join(MIXTURES))
    parser.add_argument("--steps", default="", help="generator updates per mixture, e.g. ring8=20000,grid25=50000 "
                        "(default: configs/_mixture_protocol.py's mixture_budget per model)")
    parser.add_argument("--variant-steps", default="", help="per-variant budgets overriding --steps, e.g. wgan=10000")
    parser.add_argument("--workers", type=int, default=2, help="runs at a time (one CPU thread each)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks"))
    parser.add_argument("--workdir", default=os.path.join(ROOT, "runs", "benchmark_modes"),
                        help="where each run's directory goes (model.keras, samples, evaluation.json)")
    parser.add_argument("--run-one", nargs=4, metavar=("VARIANT", "MIXTURE", "STEPS", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    runs_dir = os.path.join(args.out, "modes_runs")
    os.makedirs(runs_dir, exist_ok=True)
    if args.run_one:
        from ganzoo.run_directory import write_json

        variant, mixture, steps, seed = args.run_one
        result = run_one(variant, mixture, int(seed), args.out, int(steps),
                         os.path.join(args.workdir, f"{variant}_{mixture}_g{steps}_s{seed}"))
        write_json(run_path(runs_dir, variant, mixture, steps, seed), result)
        return

    variants = args.variants.split(",")
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"Unknown variant(s) {', '.join(sorted(unknown))}; valid: {', '.join(VARIANTS)}.")
    budgets = parse_steps(args.steps, args.variant_steps, variants)
    jobs = [(v, m, budgets[m][v], s) for s in range(args.seeds) for m in args.mixtures.split(",") for v in variants]
    todo = [j for j in jobs if not os.path.exists(run_path(runs_dir, *j))]
    print(f"{len(jobs)} runs, {len(jobs) - len(todo)} already done", flush=True)

    def launch(job):
        command = [sys.executable, os.path.abspath(__file__), "--out", args.out, "--workdir", args.workdir,
                   "--run-one", *map(str, job)]
        result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
        return job, result

    with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        for done, (job, result) in enumerate(pool.map(launch, todo), 1):
            status = "ok" if result.returncode == 0 else "FAILED:\n" + result.stderr[-2000:]
            print(f"[{done}/{len(todo)}] {job[0]} {job[1]} {job[2]} updates seed {job[3]}: {status}", flush=True)

    runs = []
    for name in sorted(n for n in os.listdir(runs_dir) if n.endswith(".json")):  # not a killed run's .tmp
        with open(os.path.join(runs_dir, name)) as f:
            runs.append(json.load(f))
    summary = summarize(runs)
    with open(PAPER_TABLES) as f:
        papers = json.load(f)
    command = " ".join(["python", "tools/benchmark_modes.py"] + sys.argv[1:])
    from benchmark_throughput import cpu_description

    cpu = cpu_description()
    report = {"command": command, "cpu": cpu, "protocol": papers["mixtures_protocol"], "budgets": budgets,
              "seeds": args.seeds,
              "summary": summary, "targets": [target_check(summary, m, budgets[m]) for m in MIXTURES],
              "against_first_release": against_first_release(summary, budgets),
              "runs": runs,
              "papers": {key: papers[key] for key in ("veegan_table1", "pacgan_table1", "gdpp_table1")}}
    from ganzoo.run_directory import write_json

    write_json(os.path.join(args.out, "modes.json"), report)
    print("\n".join(write_table(summary, papers, budgets, command, cpu, os.path.join(args.out, "modes.md"))))


if __name__ == "__main__":
    main()
