"""Configs, the `ganzoo` command and the run directory, including resuming a killed run."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import pytest

from ganzoo import cli, config
from ganzoo.run_directory import RunDirectory
from zoo_checks import needs_fashion_mnist, tiny_ring8_config



def test_every_shipped_config_validates():
    names = config.available_configs()
    for model in ("vanilla_gan", "unrolled_gan", "wgan", "wgan_gp"):
        for mixture in ("ring8", "grid25"):
            assert f"{model}_{mixture}" in names
    assert {"dcgan_fashion_mnist", "wgan_gp_fashion_mnist"} <= set(names)
    for name in names:
        loaded = config.load(name)
        assert loaded["train"]["epochs"] >= 1


def test_overrides_and_unknown_keys():
    loaded = config.load("dcgan_fashion_mnist", ["train.epochs=3", "model.filters=16", "data.name=fashion_mnist"])
    assert (loaded["train"]["epochs"], loaded["model"]["filters"]) == (3, 16)
    # JSON's literals as config.json writes them (README: --set train.diagnostics=false), besides Python's.
    loaded = config.load("dcgan_fashion_mnist", ["train.diagnostics=false", "train.learning_rate_decay=null",
                                                 "model.ema_decay=None"])
    assert (loaded["train"]["diagnostics"], loaded["train"]["learning_rate_decay"], loaded["model"]["ema_decay"]) == (
        False, None, None)
    with pytest.raises(ValueError, match=r"Unknown key\(s\) epoch in train. Valid keys: epochs"):
        config.load("dcgan_fashion_mnist", ["train.epoch=3"])
    with pytest.raises(ValueError, match="Unknown key.*ngf in model 'dcgan'. Valid keys: name, latent_dim, filters"):
        config.load("dcgan_fashion_mnist", ["model.ngf=3"])
    with pytest.raises(ValueError, match="Unknown key.*optimiser in config"):
        config.validate({"model": {"name": "dcgan"}, "data": {"name": "ring8"}, "optimiser": {}})
    with pytest.raises(ValueError, match="section.key=value"):
        config.load("dcgan_fashion_mnist", ["epochs=3"])
    with pytest.raises(FileNotFoundError, match="Available configs: conditional_dcgan_fashion_mnist, cyclegan_fashion_mnist, dcgan_fashion_mnist"):
        config.load("dcgan_fashion_mnst")


def test_cli_reports_bad_config_as_an_error(capsys):
    assert cli.main(["train", "--set", "train.epoch=2", "--workdir", "unused"]) == 2
    assert "Unknown key(s) epoch in train" in capsys.readouterr().err


@needs_fashion_mnist
def test_default_job_writes_the_run_directory_and_continues(tmp_path, capsys):
    workdir = str(tmp_path / "run")
    small = ["--set", "train.steps_per_epoch=3", "--set", "model.filters=4", "--set", "train.num_sample_images=9",
             "--set", "train.verbose=0"]
    assert cli.main(["train", "--workdir", workdir] + small) == 0
    assert sorted(os.listdir(workdir)) == ["config.json", "diagnostics.json", "logs", "model.keras", "samples", "state.json"]
    assert os.listdir(os.path.join(workdir, "samples")) == ["epoch_001.png"]
    assert os.listdir(os.path.join(workdir, "logs", "train")) and os.listdir(os.path.join(workdir, "logs", "samples"))
    with open(os.path.join(workdir, "config.json")) as f:
        assert json.load(f)["model"]["name"] == "dcgan"
    assert keras.models.load_model(os.path.join(workdir, "model.keras")).g_optimizer.iterations.numpy() == 3

    # The same command again: nothing to do; with more epochs: continues from model.keras.
    assert cli.main(["train", "--workdir", workdir] + small) == 0
    assert "already trained for 1 epoch" in capsys.readouterr().out
    assert cli.main(["train", "--workdir", workdir, "--set", "train.epochs=2"] + small) == 0
    assert keras.models.load_model(os.path.join(workdir, "model.keras")).g_optimizer.iterations.numpy() == 6
    assert sorted(os.listdir(os.path.join(workdir, "samples"))) == ["epoch_001.png", "epoch_002.png"]
    # A different config on the same workdir is refused.
    assert cli.main(["train", "--workdir", workdir] + small + ["--set", "model.filters=8"]) == 2

    out = str(tmp_path / "grid.png")
    assert cli.main(["sample", workdir, "--num-samples", "4", "--out", out]) == 0
    assert open(out, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_same_config_trains_the_same_model_and_model_seed_changes_it(tmp_path):
    from ganzoo.run_directory import load_model

    config_file = tmp_path / "tiny.py"
    config_file.write_text(tiny_ring8_config(256, epochs=1))
    weights = {}
    for run, seed in (("a", 0), ("b", 0), ("c", 1), ("d", -1), ("e", 2**40)):  # any integer seeds
        keras.utils.set_random_seed(run == "b")  # whatever the process's global seed was
        assert cli.main(["train", "--config", str(config_file), "--workdir", str(tmp_path / run),
                         "--set", f"model.seed={seed}", "--set", "train.verbose=0"]) == 0
        weights[run] = load_model(str(tmp_path / run / "model.keras")).get_weights()
    same = lambda x, y: all((p == q).all() for p, q in zip(weights[x], weights[y]))  # noqa: E731
    assert same("a", "b") and not same("a", "c")


TINY_CONFIG = tiny_ring8_config(32_000, epochs=2, checkpoint_every=100, num_sample_images=100, verbose=2)


def test_a_run_killed_mid_epoch_resumes_and_finishes(tmp_path):
    config_file = tmp_path / "tiny.py"
    config_file.write_text(TINY_CONFIG)
    workdir = tmp_path / "run"
    command = [sys.executable, "-m", "ganzoo.cli", "train", "--config", str(config_file), "--workdir", str(workdir)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    backup = workdir / "backup"
    deadline = time.time() + 120
    while not list(backup.glob("step-*")) and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    assert process.poll() is None, "the run ended before it could be killed mid-epoch"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (workdir / "model.keras").exists()
    newest = pathlib.Path(RunDirectory(str(workdir)).checkpoints()[0])
    assert json.loads((newest / "checkpoint.json").read_text())["epochs_completed"] == 0  # inside the first epoch

    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming from backup/{newest.name}" in result.stdout
    gan = keras.models.load_model(workdir / "model.keras")
    steps_per_epoch = 32_000 // 8
    # Restored from the backup (Keras replays the interrupted epoch): more generator updates
    # than two epochs from scratch would give.
    assert gan.g_optimizer.iterations.numpy() > 2 * steps_per_epoch
    assert sorted(os.listdir(workdir / "samples")) == ["epoch_001.png", "epoch_002.png"]
    assert not (workdir / "backup").exists()  # removed once the run finished
    state = json.loads((workdir / "state.json").read_text())
    assert state["epochs_completed"] == 2 and state["wall_seconds"] > 0


def test_tools_train_runs_the_same_job(tmp_path):
    config_file = tmp_path / "tiny.py"
    config_file.write_text(tiny_ring8_config(160, epochs=1, checkpoint_every=100, num_sample_images=100, verbose=2))
    tool = os.path.join(os.path.dirname(__file__), "..", "tools", "train.py")
    result = subprocess.run([sys.executable, tool, f"--config={config_file}", f"--workdir={tmp_path / 'run'}"],
                            capture_output=True, text=True, timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run" / "model.keras").exists()


def test_checkpoints_at_an_epochs_last_step_count_the_epoch_finished():
    """A mid-epoch checkpoint on the epoch's last step would be resumed as unfinished, and Keras
    would train that whole epoch again (a benchmark run ended 200 updates over its budget)."""
    import numpy as np
    import tensorflow as tf

    import ganzoo
    from ganzoo.training import RunCheckpoints

    class Recorder:
        def __init__(self):
            self.calls = []

        def write_checkpoint(self, model, epochs_completed, wall_seconds, where):
            self.calls.append((int(model.g_optimizer.iterations.numpy()), epochs_completed))

    points = ganzoo.data.mixture("ring8").sample(8, seed=0)
    data = tf.data.Dataset.from_tensors(np.asarray(points)).repeat()
    for every, expected in ((4, [(4, 1), (8, 2)]), (2, [(2, 0), (4, 1), (6, 1), (8, 2)]), (3, [(3, 0), (4, 1), (7, 1), (8, 2)])):
        gan = ganzoo.get("vanilla_gan", data_shape=(2,), latent_dim=4, generator_units=[8], discriminator_units=[8])
        gan.compile()
        recorder = Recorder()
        gan.fit(data, epochs=2, steps_per_epoch=4, callbacks=[RunCheckpoints(recorder, every)], verbose=0)
        assert recorder.calls == expected, every
