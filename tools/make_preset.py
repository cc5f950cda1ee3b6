"""Builds a preset from a training run: the folder, its .tar.gz, and the index entry to add.

    python tools/make_preset.py runs/dcgan_fashion_mnist --name dcgan_fashion_mnist --generator-only

Like KerasHub's upload_preset, without the upload: the archive goes to --out (default the
package's ganzoo/assets/presets/), and the index entry printed (and, with --update-index,
written to ganzoo/assets/presets/index.json) points at it. The metadata records the run's
config, training steps and time, its metrics and reference samples for a fixed seed, which the
tests regenerate after loading.

A preset computes in float32 whatever precision its run trained in (`precision.as_float32`):
bfloat16 kernels differ from CPU to CPU, float32 samples do not. Its metrics are measured here,
by `ganzoo.evaluation` on the preset as shipped (float32; the EMA generator if the run kept
one), not copied from the run's bfloat16 evaluation. --model picks another model file of the
run (e.g. a stage of tools/benchmark_dcgan_quality.py, model_epoch020.keras).
"""

import json
import os
import tempfile

from absl import app, flags

from ganzoo.evaluation import frechet_key

flags.DEFINE_string("name", None, "Preset name (default: the run directory's name).")
flags.DEFINE_string("description", None, "One line saying what the preset generates.")
flags.DEFINE_bool("generator_only", False, "Ship the generator's weights only (smaller).")
flags.DEFINE_string("out", None, "Where the archive goes (default ganzoo/assets/presets).")
flags.DEFINE_bool("update_index", False, "Add the entry to ganzoo/assets/presets/index.json.")
flags.DEFINE_string("model", "model.keras", "The model file in RUN_DIR.")
FLAGS = flags.FLAGS
REFERENCE_SEED, REFERENCE_SAMPLES = 0, 4


def headline(evaluation):
    if "modes" in evaluation:
        return f"{evaluation['modes']} modes, {evaluation['high_quality_percent']:.1f}% high quality"
    key = frechet_key(evaluation)
    name = "FID" if key == "fid" else "Fréchet classifier distance"
    text = f"{name} {evaluation[key]:.1f} ({evaluation['features']} features, {evaluation['num_samples']} samples)"
    if "conditional_accuracy" in evaluation:  # a conditional GAN: are the samples of the asked class?
        text += (f", conditional accuracy {evaluation['conditional_accuracy']:.1%}, per-class distance "
                 f"{evaluation['per_class_frechet_distance_mean']:.1f}")
    return text


def run_state(run_dir, model_file):
    """(epochs, training wall seconds) of the run's model file: state.json's for model.keras, the
    stage's quality_epochNNN.json (tools/benchmark_dcgan_quality.py) for model_epochNNN.keras."""
    stage = model_file.removeprefix("model_").removesuffix(".keras")
    if stage == "model":
        with open(os.path.join(run_dir, "state.json")) as f:
            state = json.load(f)
        return state["epochs_completed"], state.get("wall_seconds")
    with open(os.path.join(run_dir, f"quality_{stage}.json")) as f:
        state = json.load(f)
    return state["epochs"], state["train_wall_seconds"]


def main(argv):
    if len(argv) != 2:
        raise app.UsageError("usage: make_preset.py RUN_DIR")
    run_dir = argv[1]
    import keras
    import numpy as np

    import ganzoo  # noqa: F401
    from ganzoo import evaluation as evaluation_lib
    from ganzoo import presets, precision
    from ganzoo.run_directory import write_json

    name = FLAGS.name or os.path.basename(os.path.normpath(run_dir))
    trained = keras.models.load_model(os.path.join(run_dir, FLAGS.model))
    read = lambda file: json.load(open(os.path.join(run_dir, file)))  # noqa: E731
    config = read("config.json")
    epochs, seconds = run_state(run_dir, FLAGS.model)
    gan = precision.as_float32(trained)
    evaluation = evaluation_lib.evaluate(gan, config["data"])
    print(evaluation_lib.format_table(evaluation))
    samples = gan.generate(REFERENCE_SAMPLES, seed=REFERENCE_SEED)
    metadata = {
        "name": name,
        "dataset": config["data"]["name"],
        "training_config": config,
        "training": {"epochs": epochs,
                     "generator_steps": int(trained.g_optimizer.iterations.numpy()),
                     "discriminator_steps": int(trained.d_optimizer.iterations.numpy()),
                     "precision": trained.dtype_policy.name,
                     "wall_seconds": seconds},
        "precision": "float32",
        "metrics": evaluation,
        "reference_samples": {"seed": REFERENCE_SEED, "values": np.round(samples.astype(float), 5).tolist()},
    }
    out = FLAGS.out or presets.PRESETS_DIR
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = presets.save_to_preset(gan, os.path.join(scratch, name), FLAGS.generator_only, metadata)
        archive = presets.make_archive(folder, os.path.join(out, f"{name}.tar.gz"))
    sha256 = presets.sha256_of(archive)
    location = os.path.basename(archive) if os.path.abspath(out) == presets.PRESETS_DIR else os.path.abspath(archive)
    entry = {name: {"location": location, "sha256": sha256,
                    "description": FLAGS.description or f"{gan.name} trained on {metadata['dataset']}",
                    "metric": headline(evaluation), "bytes": os.path.getsize(archive)}}
    print(json.dumps(entry, indent=2))
    if FLAGS.update_index:
        index = presets.index()
        index.update(entry)
        write_json(presets.INDEX_FILE, index)


if __name__ == "__main__":
    app.run(main)
