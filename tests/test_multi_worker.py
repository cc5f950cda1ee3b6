"""Training across worker processes: MultiWorkerMirroredStrategy, two workers on 127.0.0.1."""

import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np

from ganzoo.distribute import local_cluster

TESTS = os.path.dirname(os.path.abspath(__file__))


def start_workers(command, count=2, cwd=None, tensorflow_log_level="2"):
    """`command` (argv) on `count` workers of one cluster; returns the processes.
    `tensorflow_log_level=None` leaves TF_CPP_MIN_LOG_LEVEL unset, as a user's shell does."""
    processes = []
    for config in local_cluster(count):
        worker_env = dict(os.environ, TF_CONFIG=config,
                          PYTHONPATH=os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")]))
        worker_env.pop("TF_CPP_MIN_LOG_LEVEL", None)
        if tensorflow_log_level is not None:
            worker_env["TF_CPP_MIN_LOG_LEVEL"] = tensorflow_log_level
        processes.append(subprocess.Popen(command, env=worker_env, cwd=cwd, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
    return processes


def finish(processes, timeout=600):
    """The workers' outputs once all have exited 0; on a failure or timeout every worker is
    killed, so none is left holding its port."""
    try:
        outputs = [p.communicate(timeout=timeout) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for p, (out, err) in zip(processes, outputs):
        assert p.returncode == 0, err[-4000:]
    return [out for out, _ in outputs]


EVERY_FAMILY = textwrap.dedent("""
    import json, os, sys
    import numpy as np, tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    import keras, ganzoo
    from zoo_checks import real_batches, small_options

    worker = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    out = {}
    cases = ([(n, (2,)) for n in ("vanilla_gan", "wgan", "wgan_gp", "unrolled_gan", "pacgan")] + [("dcgan", (28, 28, 1))]
             + [("stylegan", (16, 16, 1))])
    for name, data_shape in cases:
        with strategy.scope():
            gan = ganzoo.get(name, data_shape=data_shape, seed=5, **small_options(name, data_shape))
            gan.compile()
        batches = real_batches(data_shape, 8, 2 * gan.d_steps)  # 2 steps of a global batch of 8
        history = gan.fit(batches, epochs=1, verbose=0).history
        out[f"{name}/steps"] = [int(gan.g_optimizer.iterations.numpy()), int(gan.d_optimizer.iterations.numpy())]
        out[f"{name}/d_loss"] = history["d_loss"]
        for i, w in enumerate(gan.get_weights()):
            out[f"{name}/{i}"] = w

    # The same global batch on one process, without the strategy (SGD: Adam would hide a wrongly
    # scaled loss), from the same initial weights: WGAN-GP, and DCGAN with synchronized BatchNorm.
    sgd = lambda: keras.optimizers.SGD(0.05)
    sgd_cases = {"wgan_gp": ((2,), dict(latent_dim=4, generator_units=(8,), discriminator_units=(8,), ema_decay=0.9)),
                 "dcgan": ((28, 28, 1), dict(latent_dim=4, filters=4, synchronized_batch_norm=True))}
    for name, (data_shape, options) in sgd_cases.items():
        with strategy.scope():
            two = ganzoo.get(name, data_shape=data_shape, seed=3, **options)
            two.compile(d_optimizer=sgd(), g_optimizer=sgd())
        one = ganzoo.get(name, data_shape=data_shape, seed=3, **options)
        one.compile(d_optimizer=sgd(), g_optimizer=sgd())
        one.set_weights(two.get_weights())
        batches = real_batches(data_shape, 8, 2 * two.d_steps, seed=1)
        out[f"sgd_{name}/two_loss"] = two.fit(batches, verbose=0).history["d_loss"]
        out[f"sgd_{name}/one_loss"] = one.fit(batches, verbose=0).history["d_loss"]
        for i, (a, b) in enumerate(zip(one.get_weights(), two.get_weights())):
            out[f"sgd_{name}/one/{i}"], out[f"sgd_{name}/two/{i}"] = a, b
    out["replicas"] = strategy.num_replicas_in_sync
    # Workers that resumed from different places refuse to go on.
    from ganzoo.distribute import check_same_on_every_worker
    check_same_on_every_worker(strategy, [3, 4], "agreed")
    try:
        check_same_on_every_worker(strategy, [3, worker], "resumed")
        out["disagreement"] = "not noticed"
    except RuntimeError as error:
        out["disagreement"] = str(error)
    np.savez(sys.argv[1].format(worker=worker), **out)
""")


def test_two_workers_train_every_family_in_step_and_match_one_process(tmp_path):
    script = tmp_path / "every_family.py"
    script.write_text(EVERY_FAMILY)
    pattern = str(tmp_path / "worker{worker}.npz")
    finish(start_workers([sys.executable, str(script), pattern]))
    first, second = (dict(np.load(pattern.format(worker=w))) for w in (0, 1))
    assert first["replicas"] == 2
    assert first.keys() == second.keys()
    for result in (first, second):
        assert "The workers disagree on where this run resumed" in str(result.pop("disagreement"))
    for key in first:  # both workers end with the same weights, steps and logs
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    for name in ("vanilla_gan", "wgan", "wgan_gp", "unrolled_gan", "pacgan", "dcgan", "stylegan"):
        d_steps = 5 if name.startswith("wgan") else 1
        assert list(first[f"{name}/steps"]) == [2, 2 * d_steps], name
    # Two workers on a global batch make one process's update on it.
    for name in ("wgan_gp", "dcgan"):
        for key in (k for k in first if k.startswith(f"sgd_{name}/one/")):
            np.testing.assert_allclose(first[key], first[key.replace("/one/", "/two/")], rtol=1e-4, atol=1e-5,
                                       err_msg=key)
        np.testing.assert_allclose(first[f"sgd_{name}/one_loss"], first[f"sgd_{name}/two_loss"], rtol=1e-4)


def ganzoo_train(config_file, workdir, *extra):
    """The `ganzoo train` command line (the installed script, as users run it)."""
    script = os.path.join(os.path.dirname(sys.executable), "ganzoo")
    command = [script] if os.path.exists(script) else [sys.executable, "-m", "ganzoo.cli"]
    return [*command, "train", "--config", str(config_file), "--workdir", str(workdir), "--set", "train.verbose=0",
            *extra]


def test_ganzoo_train_on_two_workers_writes_the_chiefs_run_directory_only(tmp_path):
    from ganzoo.run_directory import load_model
    from zoo_checks import tiny_ring8_config

    config_file = tmp_path / "tiny.py"
    # SGD, so that the comparison with one process below is exact up to float sums (Adam
    # magnifies their differences where its second moments are small); unshuffled, since a
    # distributed dataset shuffles in another (equally valid) order than one process does.
    sgd = {"class_name": "SGD", "config": {"learning_rate": 0.05}}
    config_file.write_text(tiny_ring8_config(512, epochs=2, checkpoint_every=10).replace(
        '"num_samples": 512}', '"num_samples": 512, "shuffle": False}').replace(
        '"train":', f'"compile": {{"d_optimizer": {sgd!r}, "g_optimizer": {sgd!r}}},\n        "train":'))
    # As a user's shell starts it: the command's quiet TensorFlow start must not run an op
    # before the strategy exists ("Collective ops must be configured at program startup").
    outputs = finish(start_workers(ganzoo_train(config_file, tmp_path / "runs" / "tiny"), tensorflow_log_level=None))
    assert "(worker 0, one of 2 tasks)" in outputs[0] and "(worker 1, one of 2 tasks)" in outputs[1]
    assert sorted(os.listdir(tmp_path / "runs")) == ["tiny"]  # no worker's temporary folder left
    assert sorted(os.listdir(tmp_path / "runs" / "tiny")) == ["config.json", "diagnostics.json", "logs", "model.keras",
                                                             "samples", "state.json"]
    header = json.loads(open(tmp_path / "runs" / "tiny" / "diagnostics.json").readline())  # the chief's, once
    assert header["kind"] == "header" and open(tmp_path / "runs" / "tiny" / "diagnostics.json").read().count("header") == 1
    two = load_model(str(tmp_path / "runs" / "tiny" / "model.keras"))
    # One process on the same global batches trains the same model.
    subprocess.run(ganzoo_train(config_file, tmp_path / "one"), check=True, capture_output=True,
                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    one = load_model(str(tmp_path / "one" / "model.keras"))
    assert int(two.g_optimizer.iterations) == int(one.g_optimizer.iterations) == 2 * 512 // 8
    for a, b in zip(one.get_weights(), two.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_a_worker_killed_mid_run_stops_the_job_which_resumes_and_finishes(tmp_path):
    import signal
    import time

    from ganzoo.run_directory import load_model
    from zoo_checks import tiny_ring8_config

    config_file = tmp_path / "tiny.py"
    config_file.write_text(tiny_ring8_config(2_400, epochs=2, checkpoint_every=50))  # 2 x 300 steps
    workdir = tmp_path / "runs" / "tiny"
    backup = workdir / "backup"
    workers = start_workers(ganzoo_train(config_file, workdir))
    deadline = time.time() + 300
    while not (backup.is_dir() and any(n.startswith("step-") for n in os.listdir(backup))):
        assert time.time() < deadline and workers[0].poll() is None, "no checkpoint was written"
        time.sleep(0.1)
    workers[1].send_signal(signal.SIGKILL)
    _, chief_err = workers[0].communicate(timeout=300)  # the chief notices the lost heartbeats
    workers[1].communicate()
    assert workers[0].returncode == 2
    assert "ganzoo: error: a worker stopped" in chief_err and "start every worker again" in chief_err
    assert not (workdir / "model.keras").exists()

    outputs = finish(start_workers(ganzoo_train(config_file, workdir)))  # the same command again
    resumed = {re.search(r"resuming from backup/step-\d+ \((\d+) generator updates; (\d) of 2", out).groups()
               for out in outputs}
    assert len(resumed) == 1  # both from the chief's newest checkpoint
    updates, epochs_done = map(int, resumed.pop())
    gan = load_model(str(workdir / "model.keras"))
    # Keras replays the interrupted epoch from its first batch, as in one process.
    assert int(gan.g_optimizer.iterations) == updates + (2 - epochs_done) * 300
    assert sorted(os.listdir(tmp_path / "runs")) == ["tiny"] and not backup.exists()


def test_who_writes_files_follows_tf_config_outside_a_strategy_scope(monkeypatch):
    from ganzoo.distribute import is_chief, worker_path

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert is_chief() and worker_path("runs/a.keras") == "runs/a.keras"
    first, second = local_cluster(2)
    monkeypatch.setenv("TF_CONFIG", first)
    assert is_chief() and worker_path("runs/a.keras") == "runs/a.keras"
    monkeypatch.setenv("TF_CONFIG", second)
    assert not is_chief() and worker_path("runs/a.keras") == os.path.join("runs", ".worker-1-a.keras")
    # A cluster with a "chief" task: it writes, worker 0 does not (as MultiWorkerMirroredStrategy decides).
    cluster = {"chief": ["h:1"], "worker": ["h:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "chief", "index": 0}}))
    assert is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    assert worker_path("runs/a") == os.path.join("runs", ".worker-0-a")
