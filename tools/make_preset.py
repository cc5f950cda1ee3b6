"""Builds a preset from a training run: the folder, its .tar.gz, and the index entry to add.

    python tools/make_preset.py runs/dcgan_fashion_mnist --name dcgan_fashion_mnist --generator-only

Like KerasHub's upload_preset, without the upload: the archive goes to --out (default the
package's ganzoo/assets/presets/), and the index entry printed (and, with --update-index,
written to ganzoo/assets/presets/index.json) points at it. The metadata records the run's
config, training steps and time, its metrics and reference samples for a fixed seed (a CycleGAN's:
the first test images of each domain, translated), which the tests regenerate after loading.

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


flags.DEFINE_string("name", None, "Preset name (default: the run directory's name).")
flags.DEFINE_string("description", None, "One line saying what the preset generates.")
flags.DEFINE_bool("generator_only", False, "Ship the generator's weights only (smaller).")
flags.DEFINE_string("out", None, "Where the archive goes (default ganzoo/assets/presets).")
flags.DEFINE_bool("update_index", False, "Add the entry to ganzoo/assets/presets/index.json.")
flags.DEFINE_string("model", "model.keras", "The model file in RUN_DIR.")
flags.DEFINE_integer("num_samples", 5000, "Generated images scored (against the whole test split).")
flags.DEFINE_list("metrics", None, "Metrics to score (default: FID and KID, and the Fashion-MNIST figures); "
                                   "a CycleGAN's empty (--metrics=): its cycle and classifier figures only.")
FLAGS = flags.FLAGS
REFERENCE_SEED, REFERENCE_SAMPLES = 0, 4


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


def optimizer_steps(trained):
    """Each optimiser's update count: a GAN's generator and discriminator, a CycleGAN's four."""
    if hasattr(trained, "translate"):
        from ganzoo.models.cyclegan import OPTIMIZER_NAMES

        return {f"{name.removesuffix('_optimizer')}_steps": int(getattr(trained, name).iterations.numpy())
                for name in OPTIMIZER_NAMES}
    return {"generator_steps": int(trained.g_optimizer.iterations.numpy()),
            "discriminator_steps": int(trained.d_optimizer.iterations.numpy())}


def reference_samples(gan, data_config):
    """What the preset gives for fixed inputs, to regenerate after loading: samples for
    REFERENCE_SEED, or a CycleGAN's translations of the first test images of each domain (kept as
    uint8, the form they are read in, so the check needs no dataset)."""
    import numpy as np

    rounded = lambda images: np.round(images.astype(float), 5).tolist()  # noqa: E731
    if not hasattr(gan, "translate"):
        return {"seed": REFERENCE_SEED, "values": rounded(gan.generate(REFERENCE_SAMPLES, seed=REFERENCE_SEED))}
    from ganzoo.training import domain_test_images

    inputs = [np.round((images + 1.0) * 127.5).astype(np.uint8)
              for images in domain_test_images(data_config, REFERENCE_SAMPLES)]
    return {"inputs_a": inputs[0].tolist(), "inputs_b": inputs[1].tolist(),
            "a_to_b": rounded(gan.translate(inputs[0], "a_to_b")),
            "b_to_a": rounded(gan.translate(inputs[1], "b_to_a"))}


def main(argv):
    if len(argv) != 2:
        raise app.UsageError("usage: make_preset.py RUN_DIR")
    run_dir = argv[1]
    import keras

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
    metric_names = FLAGS.metrics if FLAGS.metrics is not None else \
        evaluation_lib.preset_metric_names(gan, config["data"]["name"])
    evaluation = evaluation_lib.evaluate(gan, config["data"], metric_names,
                                         FLAGS.num_samples)
    print(evaluation_lib.format_table(evaluation))
    metadata = {
        "name": name,
        "dataset": config["data"]["name"],
        "training_config": config,
        "training": {"epochs": epochs, **optimizer_steps(trained), "precision": trained.dtype_policy.name,
                     "wall_seconds": seconds},
        "precision": "float32",
        "metrics": evaluation,
        "reference_samples": reference_samples(gan, config["data"]),
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
                    "metric": evaluation_lib.headline(evaluation), "bytes": os.path.getsize(archive)}}
    print(json.dumps(entry, indent=2))
    if FLAGS.update_index:
        index = presets.index()
        index.update(entry)
        write_json(presets.INDEX_FILE, index)


if __name__ == "__main__":
    app.run(main)
