"""A kill at any write of a run or an export leaves something the next command completes from.

GANZOO_KILL_AT=N makes the process kill itself at its N-th write point, with the file being
written cut short (ganzoo.run_directory.write_point). Each test kills at N = 1, 2, ... until a
run passes every point, reruns the same command after each kill and checks the result.
"""

import itertools
import json
import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo import cli
from ganzoo.run_directory import RunDirectory, TrainingDivergedError
from zoo_checks import tiny_ring8_config
from ganzoo.callbacks import StopOnNonFiniteLoss

# One epoch of 4 steps, a checkpoint every 2: two checkpoints, the second replaced in place
# when the epoch ends at its step.
TINY_CONFIG = tiny_ring8_config(32, epochs=1, checkpoint_every=2, num_sample_images=16, verbose=0)
STEPS_PER_EPOCH = 4


def killed_at(n, *command):
    result = subprocess.run([sys.executable, "-m", "ganzoo.cli", *command], capture_output=True, text=True,
                            timeout=300, env=dict(os.environ, GANZOO_KILL_AT=str(n), TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode in (0, -signal.SIGKILL), result.stderr[-3000:]
    return result.returncode == -signal.SIGKILL


def leftovers(directory):
    return [os.path.join(root, name) for root, dirs, files in os.walk(directory) for name in dirs + files
            if name.startswith((".partial-", ".replaced-"))]


def test_a_training_run_killed_at_any_write_resumes_and_finishes(tmp_path, capsys):
    config_file = tmp_path / "tiny.py"
    config_file.write_text(TINY_CONFIG)
    for n in itertools.count(1):
        workdir = tmp_path / f"run{n}"
        command = ["train", "--config", str(config_file), "--workdir", str(workdir)]
        if not killed_at(n, *command):
            break  # past the last write point
        checkpoints = RunDirectory(str(workdir)).checkpoints()  # also clears what the kill left
        state = json.loads(open(os.path.join(checkpoints[0], "checkpoint.json")).read()) if checkpoints else None
        finished = (workdir / "state.json").exists() and not checkpoints

        assert cli.main(command) == 0  # the same command again
        out = capsys.readouterr().out
        if state:
            assert f"resuming from backup/{os.path.basename(checkpoints[0])}" in out
            # The checkpoint's updates, then the epochs it had not finished (replayed whole).
            updates = state["generator_updates"] + (1 - state["epochs_completed"]) * STEPS_PER_EPOCH
        else:
            assert ("already trained" in out) == finished and "resuming" not in out
            updates = STEPS_PER_EPOCH
        gan = keras.models.load_model(workdir / "model.keras")
        assert gan.g_optimizer.iterations.numpy() == updates, n
        assert json.loads((workdir / "state.json").read_text())["epochs_completed"] == 1
        assert (workdir / "samples" / "epoch_001.png").exists()
        assert not (workdir / "backup").exists() and leftovers(workdir) == [], n
    # Every write was a kill point: config, picture, two checkpoints, model, state, backup removal.
    assert n > 10


def test_an_export_killed_at_any_write_leaves_whole_versions_only(tmp_path, capsys):
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), latent_dim=4, generator_units=(8,), discriminator_units=(8,))
    gan.compile()
    model = str(tmp_path / "model.keras")
    gan.save(model)
    for n in itertools.count(1):
        exports = tmp_path / f"exports{n}"
        # Version 1 exists; overwriting it moves it aside, which a kill must not lose.
        command = ["export", model, "--out", str(exports), "--name", "m", "--version", "1", "--overwrite"]
        gan.export(str(exports), name="m", version=1)
        if not killed_at(n, *command):
            break
        assert cli.main(command) == 0
        capsys.readouterr()
        assert sorted(os.listdir(exports / "m")) == ["1"], n
        assert (exports / "m" / "1" / "saved_model.pb").exists()
        assert json.loads((exports / "m" / "1" / "assets.extra" / "ganzoo_metadata.json").read_text())
        assert "config {" in (exports / "models.config").read_text()
        assert leftovers(exports) == [], n
    assert n > 4  # the SavedModel, the old version moved aside, the swap, models.config


def test_non_finite_weights_are_never_written(tmp_path):
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), latent_dim=4, generator_units=(8,), discriminator_units=(8,))
    gan.compile()
    run = RunDirectory(str(tmp_path / "run"))
    run.write_checkpoint(gan, 1, 1.0, where="epoch 1")
    good = run.checkpoints()
    kernel = gan.generator.trainable_variables[0]
    kernel.assign(np.full(kernel.shape, np.nan, np.float32))
    with pytest.raises(TrainingDivergedError, match=r"non-finite weights at epoch 2, step 3 \(.*kernel"):
        run.write_checkpoint(gan, 1, 2.0, where="epoch 2, step 3")
    with pytest.raises(TrainingDivergedError, match="non-finite weights at the end of epoch 2"):
        run.write_final(gan, 2, 2.0)
    assert run.checkpoints() == good and not os.path.exists(run.file("model.keras"))


def test_training_on_nan_data_stops_at_the_first_step_naming_it():
    points = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    points[5, 0] = np.nan
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), latent_dim=4, generator_units=(8,), discriminator_units=(8,))
    gan.compile()
    dataset = tf.data.Dataset.from_tensor_slices(points).batch(32)  # (an array with NaN is refused up front)
    with pytest.raises(TrainingDivergedError, match="d_loss is nan at epoch 1, step 1"):
        gan.fit(dataset, epochs=1, callbacks=[StopOnNonFiniteLoss()], verbose=0)
    assert gan.g_optimizer.iterations.numpy() == 1  # stopped after the step that saw the NaN
