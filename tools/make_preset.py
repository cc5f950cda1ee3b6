"""Builds a preset from a training run: the folder, its .tar.gz, and the index entry to add.

    python tools/make_preset.py runs/dcgan_fashion_mnist --name dcgan_fashion_mnist --generator-only

Like KerasHub's upload_preset, without the upload: the archive goes to --out (default the
package's ganzoo/assets/presets/), and the index entry printed (and, with --update-index,
written to ganzoo/assets/presets/index.json) points at it. The metadata records the run's
config, training steps and time, its `ganzoo evaluate` results (RUN_DIR/evaluation.json, run it
first), and reference samples for a fixed seed, which the tests regenerate after loading.
"""

import json
import os
import tempfile

from absl import app, flags

from ganzoo.evaluation import frechet_key, upgrade_result

flags.DEFINE_string("name", None, "Preset name (default: the run directory's name).")
flags.DEFINE_string("description", None, "One line saying what the preset generates.")
flags.DEFINE_bool("generator_only", False, "Ship the generator's weights only (smaller).")
flags.DEFINE_string("out", None, "Where the archive goes (default ganzoo/assets/presets).")
flags.DEFINE_bool("update_index", False, "Add the entry to ganzoo/assets/presets/index.json.")
FLAGS = flags.FLAGS
REFERENCE_SEED, REFERENCE_SAMPLES = 0, 4


def headline(evaluation):
    if "modes" in evaluation:
        return f"{evaluation['modes']} modes, {evaluation['high_quality_percent']:.1f}% high quality"
    key = frechet_key(evaluation)
    name = "FID" if key == "fid" else "Fréchet classifier distance"
    return f"{name} {evaluation[key]:.1f} ({evaluation['features']} features, {evaluation['num_samples']} samples)"


def main(argv):
    if len(argv) != 2:
        raise app.UsageError("usage: make_preset.py RUN_DIR")
    run_dir = argv[1]
    import keras
    import numpy as np

    import ganzoo  # noqa: F401
    from ganzoo import presets
    from ganzoo.training import write_json

    name = FLAGS.name or os.path.basename(os.path.normpath(run_dir))
    gan = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    read = lambda file: json.load(open(os.path.join(run_dir, file)))  # noqa: E731
    evaluation = upgrade_result(read("evaluation.json"))
    state = read("state.json")
    samples = gan.generate(REFERENCE_SAMPLES, seed=REFERENCE_SEED)
    metadata = {
        "name": name,
        "dataset": read("config.json")["data"]["name"],
        "training_config": read("config.json"),
        "training": {"epochs": state["epochs_completed"], "generator_steps": int(gan.g_optimizer.iterations.numpy()),
                     "discriminator_steps": int(gan.d_optimizer.iterations.numpy()),
                     "wall_seconds": state.get("wall_seconds")},
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
