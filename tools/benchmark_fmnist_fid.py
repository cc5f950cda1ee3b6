"""The papers' table: Fashion-MNIST FID of ganzoo's models beside Lucic et al. 2018's best.

    python tools/benchmark_fmnist_fid.py                          # every row at the paper's budget
    python tools/benchmark_fmnist_fid.py --rows ns_gan,wgan_gp --steps 5000

The protocol is the paper's (read from its code, google/compare_gan v1; tools/paper_tables.json):
batch 64, at most 15,625 generator updates ("20 epochs" of 50,000 images), FID of 10,000
samples against the 10,000 Fashion-MNIST test images on the FID Inception network (grayscale
repeated to RGB). Their rows are each objective's best FID over a 100-setting hyperparameter
search (mean over 50 seeds of the best setting); ours are one run each, at the registered
model's defaults on DCGAN networks (64 filters, 100-d latent, the EMA generator ganzoo ships,
float32), the objective swapped in for the DCGAN rows.

Each row trains through `ganzoo.training.train` (what `ganzoo train` runs) into
--workdir/<row>, in epochs of --steps_per_epoch generator updates, so a stopped benchmark resumes
from the run's last checkpoint; it is scored by `ganzoo.evaluation.evaluate` (what `ganzoo
evaluate RUN_DIR --metrics fid,kid --num-samples 10000` gives) and leaves
benchmarks/fmnist_fid_runs/<row>_g<steps>.json. Writes benchmarks/fmnist_fid.json and .md.
"""

import json
import os
import time

from absl import app, flags
from benchmark_throughput import cpu_description  # tools/ is sys.path[0] for a script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPER_TABLES = os.path.join(ROOT, "tools", "paper_tables.json")
PAPER_BUDGET = 15_625  # compare_gan v1: 20 * 50,000 // 64 training steps
# row -> (the paper's row, the model section)
ROWS = {
    "mm_gan": ("MM GAN", {"name": "dcgan", "objective": "minimax"}),
    "ns_gan": ("NS GAN", {"name": "dcgan", "objective": "non_saturating"}),
    "lsgan": ("LSGAN", {"name": "dcgan", "objective": "least_squares"}),
    "wgan": ("WGAN", {"name": "wgan"}),
    "wgan_gp": ("WGAN-GP", {"name": "wgan_gp"}),
}

flags.DEFINE_list("rows", list(ROWS), f"Rows to run: {', '.join(ROWS)}.")
flags.DEFINE_integer("steps", PAPER_BUDGET, "Generator updates per row (the paper's budget at most).")
flags.DEFINE_integer("steps_per_epoch", 625, "Generator updates per epoch (a checkpoint at each).")
flags.DEFINE_integer("num_samples", 10_000, "Generated images scored against the 10,000 test images.")
flags.DEFINE_string("workdir", "runs/benchmark_fmnist_fid", "Where the rows' run directories go.")
flags.DEFINE_string("out", os.path.join(ROOT, "benchmarks", "fmnist_fid"), "Path stem of the results.")
FLAGS = flags.FLAGS


def experiment(row, steps, steps_per_epoch):
    if steps % steps_per_epoch:
        raise ValueError(f"--steps {steps} is not a whole number of epochs of {steps_per_epoch}.")
    from ganzoo import config

    model = {"latent_dim": 100, "filters": 64, "ema_decay": 0.999, "seed": 0, **ROWS[row][1]}
    return config.validate({
        "model": model,
        "data": {"name": "fashion_mnist", "batch_size": 64},
        "compile": {},
        "train": {"epochs": steps // steps_per_epoch, "steps_per_epoch": steps_per_epoch, "precision": "float32",
                  "verbose": 2},
    })


def run_row(row, steps):
    from ganzoo import evaluation, training

    path = os.path.join(FLAGS.out + "_runs", f"{row}_g{steps}.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    workdir = os.path.join(FLAGS.workdir, f"{row}_g{steps}")
    config = experiment(row, steps, FLAGS.steps_per_epoch)
    started = time.time()
    gan = training.train(config, workdir)
    trained = time.time() - started
    scores = evaluation.evaluate(gan, config["data"], ["fid", "kid"], FLAGS.num_samples)
    result = {"row": row, "paper_row": ROWS[row][0], "generator_steps": int(gan.g_optimizer.iterations.numpy()),
              "discriminator_steps": int(gan.d_optimizer.iterations.numpy()), "train_seconds": round(trained),
              "config": config,  # what `ganzoo train` reads from the run directory's config.json
              "evaluate_command": f"ganzoo evaluate {workdir} --metrics fid,kid --num-samples {FLAGS.num_samples}",
              **scores}
    from ganzoo.run_directory import write_json

    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json(path, result)
    return result


def write_results(results):
    from ganzoo.run_directory import write_json

    with open(PAPER_TABLES) as f:
        paper = json.load(f)["lucic_2018_best_fid_fashion_mnist"]
    machine = cpu_description()
    write_json(FLAGS.out + ".json", {"paper": paper, "machine": machine, "rows": results})
    lines = ["# Fashion-MNIST FID beside Lucic et al. 2018", "",
             f"Command: `python tools/benchmark_fmnist_fid.py --steps {FLAGS.steps}`. Protocol: {results[0]['protocol']}."
             if results else "", "",
             f"Paper: {paper['source']}; {paper['protocol']}.", "",
             f"Machine: {machine['model']}, {os.cpu_count()} CPUs. Training seconds are wall time on that shared "
             "2-core machine (other jobs may have run beside a row), not a speed figure.", "",
             "| objective | Lucic et al. best FID | ganzoo FID | ganzoo KID | generator updates | training s |",
             "|---|---|---|---|---|---|"]
    for r in results:
        fid, std = paper[r["paper_row"]]
        lines.append(f"| {r['paper_row']} | {fid} ± {std} | **{r['fid']:.1f}** | {r['kid']:.4f} | "
                     f"{r['generator_steps']:,} | {r['train_seconds']:,} |")
    with open(FLAGS.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv):
    del argv
    unknown = set(FLAGS.rows) - set(ROWS)
    if unknown:
        raise app.UsageError(f"Unknown rows {sorted(unknown)}; valid: {', '.join(ROWS)}.")
    if FLAGS.steps > PAPER_BUDGET:
        raise app.UsageError(f"--steps {FLAGS.steps} is over the paper's budget of {PAPER_BUDGET} updates.")
    results = [run_row(row, FLAGS.steps) for row in FLAGS.rows]
    write_results(results)


if __name__ == "__main__":
    app.run(main)
