"""The main job: config -> model -> data -> fit with callbacks -> run directory.

The run directory and its life cycle (what a kill leaves, what a rerun resumes from) are
`ganzoo.run_directory`'s: the same command on the same workdir resumes mid-run from the newest
checkpoint (weights, both optimisers' state and the noise counter; Keras replays the
interrupted epoch from its first batch), or, after a finished run given more epochs, from
model.keras.
"""

import json
import os
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from ganzoo import data, distribute, evaluation, features, registry, schedules
from ganzoo.callbacks import SampleGrid, StopOnNonFiniteLoss, TranslationGrid
from ganzoo.config import TRAIN_DEFAULTS
from ganzoo.diagnostics import Diagnostics
from ganzoo.models.cyclegan import CycleGAN, resize_decay
from ganzoo.run_directory import (CONFIG_FILE, MODEL_FILE, RunDirectory, TrainingDivergedError, load_model,
                                  train_steps, write_json)


def _comparable(config):
    """The parts of a config that must match to resume a run (epochs may grow)."""
    train = {**TRAIN_DEFAULTS, **config["train"]}  # a run written before a key existed has its default
    return {**config, "train": {k: v for k, v in train.items() if k not in ("epochs", "verbose", "diagnostics")}}


def build_model(config, data_shape):
    options = {k: v for k, v in config["model"].items() if k != "name"}
    return registry.get(config["model"]["name"], data_shape=data_shape,
                        precision=config["train"]["precision"], **options)


def train(config, workdir, strategy=None):
    """Trains the validated `config` (see `ganzoo.config`) in `workdir`; returns the GAN.

    Under `strategy` (default: the current one; see `ganzoo.distribute.make_strategy`). Across
    workers every worker runs this same function and resumes from the chief's files in
    `workdir` (a path they all see). Each runs the same callbacks (the epoch's sample picture
    is drawn by a collective predict), so each makes the same saves, but only the chief's land
    in `workdir`: the others write to a temporary folder of their own, deleted at the end."""
    strategy = strategy or tf.distribute.get_strategy()
    chief = distribute.is_chief(strategy)
    run = RunDirectory(workdir, writer=chief)  # what this run resumes from
    if chief:
        return _train(config, workdir, strategy, run, writes=run)
    scratch = tempfile.mkdtemp(prefix="ganzoo-worker-")
    try:
        return _train(config, workdir, strategy, run, writes=RunDirectory(scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def compile_arguments(config, gan, batches_per_epoch):
    """`GAN.compile`'s arguments: the compile section, with the optimisers (given, or the
    model's defaults) decaying over the run when train.learning_rate_decay asks for it."""
    arguments = dict(config["compile"])
    decay = config["train"]["learning_rate_decay"]
    if isinstance(gan, CycleGAN):  # its own learning-rate policy: the authors' linear decay over the run's second half
        if decay:
            raise ValueError(f"train.learning_rate_decay: CycleGAN decays its learning rates linearly over the run's "
                             f"second half (its compile's total_steps); {decay!r} does not apply. Set it to null.")
        arguments.setdefault("total_steps", config["train"]["epochs"] * (
            config["train"]["steps_per_epoch"] or batches_per_epoch))
        return arguments
    if decay:
        updates = schedules.run_generator_updates(config["train"], batches_per_epoch, gan.d_steps)
        for key, network, steps in (("d_optimizer", "discriminator", updates * gan.d_steps),
                                    ("g_optimizer", "generator", updates)):
            optimizer = arguments.get(key) or gan.default_optimizers[network]
            if isinstance(optimizer, str):  # a name: that optimizer with Keras's defaults
                optimizer = keras.optimizers.serialize(keras.optimizers.get(optimizer))
            arguments[key] = schedules.with_decay(optimizer, decay, steps)
    return arguments


def _train(config, workdir, strategy, run, writes):
    """`train`, resuming from `run` and writing to `writes` (the same on the chief)."""
    chief = writes is run
    config = json.loads(json.dumps(config))  # plain data, as it will be read back
    config["model"].setdefault("seed", 0)  # a fixed seed, so a resumed run draws the same noise
    config_path = run.file(CONFIG_FILE)
    if os.path.exists(config_path):
        with open(config_path) as f:
            previous = json.load(f)
        if _comparable(previous) != _comparable(config):
            raise ValueError(
                f"{workdir} holds a run of a different config (see {config_path}); "
                "only train.epochs may change to continue it. Use another --workdir."
            )
    write_json(writes.file(CONFIG_FILE), config)

    train_config = config["train"]
    epochs = train_config["epochs"]
    # model.seed also fixes the initial weights and tf.data's shuffle order (both draw from the
    # global seed), so the same config trains the same model: a benchmark row can be rerun exactly.
    # (None asks for a random model; Keras takes seeds in [0, 2**32).)
    if config["model"]["seed"] is not None:
        keras.utils.set_random_seed(config["model"]["seed"] % 2**32)
    dataset = data.load(**config["data"])
    batches_per_epoch = int(dataset.cardinality())
    if train_config["steps_per_epoch"]:  # epochs of a set length may need more than one pass
        dataset = dataset.repeat()
    # Checkpoints first: they outlive a model.keras whose state.json a kill cut off.
    finished = None if run.checkpoints() else run.finished_state()
    if finished:
        with strategy.scope():
            gan = load_model(run.file(MODEL_FILE))
        epochs_done, seconds_before = finished["epochs_completed"], finished.get("wall_seconds", 0.0)
        distribute.check_same_on_every_worker(
            strategy, [1, epochs_done, train_steps(gan)], "resumed from model.keras")
        if epochs_done >= epochs:
            print(f"{workdir}: already trained for {epochs_done} epoch(s); raise train.epochs to continue.")
            return gan
        if isinstance(gan, CycleGAN):  # its linear decay, over the raised number of epochs
            resize_decay(gan, compile_arguments(config, gan, batches_per_epoch)["total_steps"])
        elif train_config["learning_rate_decay"]:  # over the raised number of epochs
            updates = schedules.run_generator_updates(train_config, batches_per_epoch, gan.d_steps)
            schedules.resize(gan.g_optimizer, updates)
            schedules.resize(gan.d_optimizer, updates * gan.d_steps)
        print(f"{workdir}: continuing the finished run from epoch {epochs_done} of {epochs} (model.keras).")
    else:
        with strategy.scope():
            images = dataset.element_spec[0] if isinstance(dataset.element_spec, tuple) else dataset.element_spec
            gan = build_model(config, data_shape=tuple(images.shape[1:]))  # of (images, labels) with labels
            gan.compile(**compile_arguments(config, gan, batches_per_epoch))
        epochs_done, seconds_before = 0, 0.0
        restored = run.restore_checkpoint(gan)
        if restored:
            epochs_done, seconds_before = restored["epochs_completed"], restored["wall_seconds"]
            print(f"{workdir}: resuming from {os.path.relpath(restored['checkpoint'], workdir)} "
                  f"({restored['generator_updates']} generator updates; {epochs_done} of {epochs} epoch(s) done).")
        distribute.check_same_on_every_worker(
            strategy, [0, epochs_done, train_steps(gan)],
            "started from the checkpoint or from scratch")

    name = config["data"]["name"]
    logs = writes.file("logs")
    checkpoints = RunCheckpoints(writes, train_config["checkpoint_every"], seconds_before)
    cyclegan = isinstance(gan, CycleGAN)
    # Diagnostics watch a GAN's D and G signals; a CycleGAN's four losses are in its logs.
    diagnostics = (make_diagnostics(config, writes.path, logs)
                   if train_config.get("diagnostics") is not False and not cyclegan else None)
    if cyclegan:  # the first test images of each domain, translated both ways
        samples = TranslationGrid(writes.file("samples"),
                                  *domain_test_images(config["data"], train_config["num_sample_images"]), log_dir=logs)
    else:
        samples = SampleGrid(writes.file("samples"), train_config["num_sample_images"], train_config["sample_seed"],
                             centers=data.MIXTURES[name].centers if name in data.MIXTURES else None, log_dir=logs)
    callbacks = [  # the checkpoint last: once it marks an epoch done, the epoch's picture exists
        *([diagnostics] if diagnostics else []),  # first: its divergence record lands before the stop
        StopOnNonFiniteLoss(),
        keras.callbacks.TensorBoard(logs),
        samples,
        checkpoints,
    ]
    try:
        gan.fit(dataset, epochs=epochs, initial_epoch=epochs_done,
                steps_per_epoch=train_config["steps_per_epoch"], callbacks=callbacks,
                verbose=train_config["verbose"])
        epochs = max(epochs, epochs_done)  # a checkpoint past a lowered train.epochs keeps its count
        # Wall time of the fit calls that made model.keras (replayed epochs count, lost ones not).
        writes.write_final(gan, epochs, checkpoints.wall_seconds())
    except tf.errors.UnavailableError as error:  # a peer's heartbeats stopped: it was killed or lost
        if not distribute.across_workers(strategy):
            raise
        cause = (error.message or "").strip().splitlines()[:1] or ["heartbeats stopped"]
        raise distribute.WorkerLostError(
            f"a worker stopped ({cause[0]}); start every worker again with the same "
            f"command: they resume from the last checkpoint in {run.backup}") from error
    except TrainingDivergedError as error:  # a non-finite loss, or weights the writer refused
        if diagnostics:
            diagnostics.record_divergence(str(error))
        raise
    if chief:
        print(f"{workdir}: wrote {MODEL_FILE} ({epochs} epoch(s)) and samples in {os.path.join(workdir, 'samples')}")
    return gan


DIAGNOSTICS_REAL_IMAGES = 10_000  # training images the image diversity check's bins are fitted on


def domain_test_images(data_config, count):
    """The first `count` test images of each of an unpaired dataset's domains (unshuffled)."""
    arguments = {**data_config, "split": "test", "shuffle": False, "batch_size": count}
    for images_a, images_b in data.load(**arguments):
        return images_a.numpy(), images_b.numpy()
    raise ValueError(f"The test images of {data_config.get('domain_a')} and {data_config.get('domain_b')} make no "
                     f"picture of {count} per domain; lower train.num_sample_images (ganzoo sample: --num-samples).")


def make_diagnostics(config, directory, log_dir):
    """The run's `Diagnostics`: mode checks on a mixture; on images, the NDB test against
    training images, plus the shipped classifier's labels on Fashion-MNIST."""
    thresholds = config["train"]["diagnostics"] if isinstance(config["train"]["diagnostics"], dict) else None
    name = config["data"]["name"]
    if name in data.MIXTURES:
        return Diagnostics(directory, log_dir, mixture=data.MIXTURES[name], thresholds=thresholds)
    real = np.concatenate([batch for batch in evaluation.real_batches(
        config["data"], DIAGNOSTICS_REAL_IMAGES, split="train").as_numpy_iterator()])
    classifier = features.FashionMNISTClassifier() if name == "fashion_mnist" else None
    return Diagnostics(directory, log_dir, real_samples=real, classifier=classifier,
                       class_names=features.FASHION_MNIST_CLASSES, thresholds=thresholds)


class RunCheckpoints(keras.callbacks.Callback):
    """Writes a checkpoint of the run every `every_steps` train steps and at each epoch's end
    (`RunDirectory.write_checkpoint`); `seconds_before` is the wall time of earlier attempts."""

    def __init__(self, run, every_steps=None, seconds_before=0.0):
        super().__init__()
        self.run, self.every_steps, self.seconds_before = run, every_steps, seconds_before
        self._start = time.perf_counter()
        self._epoch = self._steps_since = 0

    def wall_seconds(self):
        return self.seconds_before + time.perf_counter() - self._start

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._last_batch = epoch, -1

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the last step of this call (steps_per_execution may run several).
        self._steps_since += batch - self._last_batch
        self._last_batch = batch
        # Not at the epoch's last step: on_epoch_end saves it as a finished epoch next. Saved here, a
        # kill in between would resume it as unfinished, and Keras would train the whole epoch again.
        last_of_epoch = batch + 1 == self.params.get("steps")
        if self.every_steps and self._steps_since >= self.every_steps and not last_of_epoch:
            self._steps_since = 0
            self.run.write_checkpoint(self.model, self._epoch, self.wall_seconds(),
                                      where=f"epoch {self._epoch + 1}, step {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        self.run.write_checkpoint(self.model, epoch + 1, self.wall_seconds(), where=f"the end of epoch {epoch + 1}")
        self._steps_since = 0
