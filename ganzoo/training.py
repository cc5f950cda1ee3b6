"""The main job: config -> model -> data -> fit with callbacks -> run directory.

Run directory:
    config.json        the resolved config
    logs/              TensorBoard scalars (losses, D outputs) and sample images
    samples/           epoch_NNN.png, from one fixed latent batch (scatter plots for mixtures)
    backup/            keras.callbacks.BackupAndRestore's state while a run is in progress
    model.keras        the final model (written atomically), and state.json (epochs done,
                       training wall time)

Running the same command on the same workdir resumes: mid-run from the backup (weights,
both optimisers' state and the noise counter; Keras replays the interrupted epoch from its
first batch), or, after a finished run given more epochs, from model.keras.
"""

import json
import os
import time

import keras

from ganzoo import data, registry
from ganzoo.callbacks import BackupEveryEpochAndSteps, SampleGrid
from ganzoo.config import TRAIN_DEFAULTS

MODEL_FILE = "model.keras"
STATE_FILE = "state.json"
CONFIG_FILE = "config.json"


def write_json(path, value):
    """Writes JSON atomically: a temporary file renamed into place."""
    temporary = f"{path}.tmp"
    with open(temporary, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(temporary, path)


def _comparable(config):
    """The parts of a config that must match to resume a run (epochs may grow)."""
    train = {**TRAIN_DEFAULTS, **config["train"]}  # a run written before a key existed has its default
    return {**config, "train": {k: v for k, v in train.items() if k not in ("epochs", "verbose")}}


def build_model(config, data_shape):
    options = {k: v for k, v in config["model"].items() if k != "name"}
    return registry.get(config["model"]["name"], data_shape=data_shape,
                        precision=config["train"]["precision"], **options)


def train(config, workdir):
    """Trains the validated `config` (see `ganzoo.config`) in `workdir`; returns the GAN."""
    os.makedirs(workdir, exist_ok=True)
    config = json.loads(json.dumps(config))  # plain data, as it will be read back
    config["model"].setdefault("seed", 0)  # a fixed seed, so a resumed run draws the same noise
    config_path = os.path.join(workdir, CONFIG_FILE)
    if os.path.exists(config_path):
        with open(config_path) as f:
            previous = json.load(f)
        if _comparable(previous) != _comparable(config):
            raise ValueError(
                f"{workdir} holds a run of a different config (see {config_path}); "
                "only train.epochs may change to continue it. Use another --workdir."
            )
    write_json(config_path, config)

    train_config = config["train"]
    dataset = data.load(**config["data"])
    if train_config["steps_per_epoch"]:  # epochs of a set length may need more than one pass
        dataset = dataset.repeat()
    model_path = os.path.join(workdir, MODEL_FILE)
    epochs_done, seconds_before = 0, 0.0
    if os.path.exists(model_path):
        gan = keras.models.load_model(model_path)
        with open(os.path.join(workdir, STATE_FILE)) as f:
            state = json.load(f)
        epochs_done, seconds_before = state["epochs_completed"], state.get("wall_seconds", 0.0)
        if epochs_done >= train_config["epochs"]:
            print(f"{workdir}: already trained for {epochs_done} epoch(s); raise train.epochs to continue.")
            return gan
        print(f"{workdir}: continuing from epoch {epochs_done} of {model_path}.")
    else:
        gan = build_model(config, data_shape=tuple(dataset.element_spec.shape[1:]))
        gan.compile(**config["compile"])

    name = config["data"]["name"]
    logs = os.path.join(workdir, "logs")
    callbacks = [
        BackupEveryEpochAndSteps(os.path.join(workdir, "backup"), train_config["checkpoint_every"]),
        keras.callbacks.TensorBoard(logs),
        SampleGrid(os.path.join(workdir, "samples"), train_config["num_sample_images"],
                   train_config["sample_seed"],
                   centers=data.MIXTURES[name].centers if name in data.MIXTURES else None,
                   log_dir=logs),
    ]
    start = time.perf_counter()
    gan.fit(dataset, epochs=train_config["epochs"], initial_epoch=epochs_done,
            steps_per_epoch=train_config["steps_per_epoch"], callbacks=callbacks,
            verbose=train_config["verbose"])

    temporary = os.path.join(workdir, ".partial-" + MODEL_FILE)  # Keras wants a .keras suffix
    gan.save(temporary)
    os.replace(temporary, model_path)
    # Wall time of the fit calls that made model.keras (an interrupted attempt's is not counted).
    write_json(os.path.join(workdir, STATE_FILE), {
        "epochs_completed": train_config["epochs"],
        "wall_seconds": round(seconds_before + time.perf_counter() - start, 1)})
    return gan
