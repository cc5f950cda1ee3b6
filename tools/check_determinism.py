"""Seeded training is bit-identical under load: every zoo model, many processes at once.

    python tools/check_determinism.py                         # every case, 10 runs, 6 at a time
    python tools/check_determinism.py --cases acgan_gp,wgan_gp --runs 10 --processes 6

Each run is a fresh process that seeds Keras (`keras.utils.set_random_seed`), turns on op
determinism (`tf.config.experimental.enable_op_determinism`), builds a small model of the case,
trains it 2 epochs of 8 minibatches of 8 on fixed data, and prints a SHA-256 of every weight
and optimiser variable. `--processes` runs go at once on this machine's cores, so that the
inter-op thread pool schedules independent ops in different orders from run to run: a read that
is not ordered after a write shows up as a second digest. Writes --out (.json and .md).
"""

import collections
import hashlib
import json
import os
import subprocess
import sys
import time

from absl import app, flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL_IMAGES = {"latent_dim": 8, "filters": 8}
SMALL_STYLEGAN = {"latent_dim": 8, "w_dim": 8, "mapping_layers": 2, "channel_base": 64, "channel_max": 8,
                  "ema_decay": 0.5}
# case -> (registered model, image shape, options): every zoo model, and the two cases the race was seen in.
CASES = {
    "vanilla_gan": ("vanilla_gan", (28, 28, 1), {"latent_dim": 8, "generator_units": (32,), "discriminator_units": (32,)}),
    "dcgan": ("dcgan", (28, 28, 1), {**SMALL_IMAGES, "ema_decay": 0.5}),
    "wgan": ("wgan", (28, 28, 1), SMALL_IMAGES),
    "wgan_gp": ("wgan_gp", (28, 28, 1), SMALL_IMAGES),
    "unrolled_gan": ("unrolled_gan", (28, 28, 1), {**SMALL_IMAGES, "unroll_steps": 2}),
    "pacgan": ("pacgan", (28, 28, 1), {**SMALL_IMAGES, "ema_decay": 0.5}),
    "conditional_dcgan": ("conditional_dcgan", (28, 28, 1), SMALL_IMAGES),
    "acgan": ("acgan", (28, 28, 1), SMALL_IMAGES),
    "acgan_gp": ("acgan", (28, 28, 1), {**SMALL_IMAGES, "objective": "wasserstein",
                                        "regularizers": ["gradient_penalty"]}),
    "stylegan": ("stylegan", (16, 16, 1), SMALL_STYLEGAN),
    "cyclegan": ("cyclegan", (16, 16, 1), {"filters": 4, "num_residual_blocks": 1, "discriminator_layers": 2}),
}
BATCH, BATCHES, EPOCHS = 8, 8, 2

flags.DEFINE_list("cases", list(CASES), f"Cases: {', '.join(CASES)}.")
flags.DEFINE_integer("runs", 10, "Runs of each case.")
flags.DEFINE_integer("processes", 6, "Runs at once.")
flags.DEFINE_string("out", os.path.join(ROOT, "benchmarks", "determinism"), "Path stem of the results.")
flags.DEFINE_string("worker", None, "Internal: train this case once and print its digest.")
flags.DEFINE_bool("table_only", False, "Rewrite the JSON and table from --out's JSON, running nothing.")
FLAGS = flags.FLAGS


def train_once(case):
    """Trains `case` from its seed and returns the SHA-256 of its variables (weights and the
    optimisers' state, in the model's order)."""
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    import ganzoo

    name, shape, options = CASES[case]
    rng = np.random.default_rng(0)
    count = BATCH * BATCHES
    images = rng.uniform(-1, 1, (count, *shape)).astype("float32")
    gan = ganzoo.get(name, data_shape=shape, seed=1, **options)
    if name == "cyclegan":
        data = tf.data.Dataset.from_tensor_slices((images, rng.uniform(-1, 1, images.shape).astype("float32")))
    elif gan.takes_labels:
        data = tf.data.Dataset.from_tensor_slices((images, (np.arange(count) % 10).astype("int32")))
    else:
        data = tf.data.Dataset.from_tensor_slices(images)
    gan.compile()
    steps = getattr(gan, "d_steps", 1)  # a step takes d_steps minibatches
    gan.fit(data.batch(BATCH, drop_remainder=True), epochs=EPOCHS, steps_per_epoch=BATCHES // steps, verbose=0)
    digest = hashlib.sha256()
    for variable in gan.variables:
        digest.update(np.ascontiguousarray(variable.numpy()).tobytes())
    return digest.hexdigest()


def run_case(case, runs, processes):
    """`runs` fresh processes of `case`, `processes` at a time; their digests."""
    digests, pending, started = [], list(range(runs)), time.time()
    while pending:
        batch, pending = pending[:processes], pending[processes:]
        workers = [subprocess.Popen([sys.executable, os.path.abspath(__file__), f"--worker={case}"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
                   for _ in batch]
        for worker in workers:
            out, err = worker.communicate()
            if worker.returncode != 0:
                raise RuntimeError(f"{case}: a run failed:\n{err[-3000:]}")
            digests.append(out.strip().splitlines()[-1])
    counts = collections.Counter(digests)
    return {"case": case, "model": CASES[case][0], "data_shape": list(CASES[case][1]),
            "options": CASES[case][2], "runs": runs, "processes_at_once": processes,
            "distinct_results": len(counts), "largest_identical": max(counts.values()),
            "seconds": round(time.time() - started)}


def write_results(results):
    from benchmark_throughput import cpu_description  # tools/ is sys.path[0] for a script

    from ganzoo.run_directory import write_json

    machine = cpu_description()
    write_json(FLAGS.out + ".json", {"machine": machine, "protocol": __doc__.split("\n\n")[2], "cases": results})
    lines = ["# Seeded training under load: bit-identical runs", "",
             f"Command: `python tools/check_determinism.py --runs {FLAGS.runs} --processes {FLAGS.processes}`. "
             f"Machine: {machine['model']}, {os.cpu_count()} CPUs; lscpu flags: {' '.join(machine['flags'])}.", "",
             f"Each run trains a small model {EPOCHS} epochs of {BATCHES} minibatches of {BATCH} in a fresh, "
             "seeded process with op determinism on; runs go several at once so the inter-op scheduler "
             "orders independent ops differently.", "",
             "| case | model | runs | at once | bit-identical | distinct results | seconds |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['case']} | {r['model']} | {r['runs']} | {r['processes_at_once']} | "
                     f"{r['largest_identical']}/{r['runs']} | {r['distinct_results']} | {r['seconds']} |")
    with open(FLAGS.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv):
    del argv
    if FLAGS.worker:
        print(train_once(FLAGS.worker))
        return
    if FLAGS.table_only:
        with open(FLAGS.out + ".json") as f:
            write_results(json.load(f)["cases"])
        return
    unknown = set(FLAGS.cases) - set(CASES)
    if unknown:
        raise app.UsageError(f"Unknown cases {sorted(unknown)}; valid: {', '.join(CASES)}.")
    results = []
    for case in FLAGS.cases:
        results.append(run_case(case, FLAGS.runs, FLAGS.processes))
        print(f"{case}: {results[-1]['largest_identical']}/{FLAGS.runs} identical, "
              f"{results[-1]['distinct_results']} distinct", flush=True)
    write_results(results)


if __name__ == "__main__":
    app.run(main)
