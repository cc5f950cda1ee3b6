"""Every `keras.callbacks` class in a GAN's `fit`, each checked for its effect.

A GAN's `model.optimizer` is both its optimisers (ganzoo.optimizers.BothOptimizers), so the
learning-rate callbacks act on both, or on one through `ganzoo.optimizers.on_optimizer`.
Monitoring `d_loss` or `g_loss` needs `mode="min"` (Keras cannot tell a GAN loss's direction).
"""

import csv
import http.server
import json
import os
import threading

import keras
import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo.callbacks import StopOnNonFiniteLoss
from ganzoo.optimizers import on_optimizer

POINTS = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)  # 2 steps per epoch of 32


def tiny(**compile_options):
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), latent_dim=4, generator_units=(8,), discriminator_units=(8,))
    gan.compile(**compile_options)
    return gan


def fit(gan, callback, epochs=2, data=POINTS):
    return gan.fit(data, batch_size=None if isinstance(data, tf.data.Dataset) else 32, epochs=epochs,
                   callbacks=[callback], verbose=0)


def learning_rates(gan):
    return float(gan.d_optimizer.learning_rate), float(gan.g_optimizer.learning_rate)


def test_backup_and_restore(tmp_path):
    gan = tiny()
    fit(gan, keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), delete_checkpoint=False))
    resumed = tiny()  # a rerun restores both optimisers' state and the epoch count
    history = fit(resumed, keras.callbacks.BackupAndRestore(str(tmp_path / "backup")), epochs=3)
    assert len(history.history["d_loss"]) == 1 and resumed.g_optimizer.iterations.numpy() == 6
    np.testing.assert_array_equal(resumed.d_optimizer.iterations.numpy(), 6)


def test_csv_logger(tmp_path):
    fit(tiny(), keras.callbacks.CSVLogger(str(tmp_path / "log.csv")))
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert len(rows) == 2 and {"d_loss", "g_loss", "d_real", "d_fake"} <= set(rows[0])


def test_early_stopping_on_g_loss():
    history = fit(tiny(), keras.callbacks.EarlyStopping(monitor="g_loss", mode="min", patience=0, min_delta=100),
                  epochs=5)
    assert len(history.history["g_loss"]) == 2  # no 100-point improvement after the first epoch


def test_history():
    history = keras.callbacks.History()
    fit(tiny(), history)
    assert history.epoch == [0, 1] and len(history.history["d_loss"]) == 2


def test_lambda_callback():
    seen = []
    fit(tiny(), keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, sorted(logs)))))
    assert [epoch for epoch, _ in seen] == [0, 1] and "g_loss" in seen[0][1]


def test_learning_rate_scheduler_acts_on_both_optimisers():
    gan = tiny(d_optimizer=keras.optimizers.Adam(1e-3, name="d_adam"), g_optimizer=keras.optimizers.Adam(1e-3, name="g_adam"))
    history = fit(gan, keras.callbacks.LearningRateScheduler(lambda epoch, rate: 1e-3 / (epoch + 1)))
    assert learning_rates(gan) == pytest.approx((5e-4, 5e-4))
    assert history.history["learning_rate_g_adam"] == pytest.approx([1e-3, 5e-4])


def test_learning_rate_scheduler_on_the_generator_only():
    gan = tiny()
    fit(gan, on_optimizer(keras.callbacks.LearningRateScheduler(lambda epoch, rate: rate / 2), "generator"))
    d_rate, g_rate = learning_rates(gan)
    assert g_rate == pytest.approx(d_rate / 4)


def test_reduce_lr_on_plateau_acts_on_both_optimisers():
    gan = tiny()
    before = learning_rates(gan)
    fit(gan, keras.callbacks.ReduceLROnPlateau(monitor="g_loss", mode="min", patience=0, min_delta=100, factor=0.5),
        epochs=3)
    assert learning_rates(gan) == pytest.approx((before[0] / 4, before[1] / 4))  # no gain after epochs 2 and 3


def test_model_checkpoint_keeps_the_best_by_g_loss(tmp_path):
    gan = tiny()
    path = str(tmp_path / "best.keras")
    history = fit(gan, keras.callbacks.ModelCheckpoint(path, monitor="g_loss", mode="min", save_best_only=True),
                  epochs=4)
    loaded = keras.models.load_model(path)
    best_epoch = int(np.argmin(history.history["g_loss"]))  # 2 generator updates an epoch
    assert isinstance(loaded, ganzoo.GAN) and loaded.g_optimizer.iterations.numpy() == 2 * (best_epoch + 1)


def test_progbar_logger(capsys):
    gan = tiny()
    gan.fit(POINTS, batch_size=32, epochs=1, verbose=1)  # fit adds a ProgbarLogger
    assert "d_loss" in capsys.readouterr().out


def test_remote_monitor_posts_each_epoch(tmp_path):
    pytest.importorskip("requests")  # RemoteMonitor sends with requests
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        fit(tiny(), keras.callbacks.RemoteMonitor(root=f"http://127.0.0.1:{server.server_address[1]}", send_as_json=True))
    finally:
        server.shutdown()
    assert len(received) == 2 and "g_loss" in json.loads(received[0])


def test_tensorboard_writes_the_gan_scalars(tmp_path):
    fit(tiny(), keras.callbacks.TensorBoard(str(tmp_path / "logs")))
    events = [os.path.join(root, name) for root, _, names in os.walk(tmp_path / "logs") for name in names]
    tags = {value.tag for path in events for event in tf.compat.v1.train.summary_iterator(path)
            for value in event.summary.value}
    assert {"epoch_d_loss", "epoch_g_loss"} <= tags


def test_terminate_on_nan_watches_loss_which_a_gan_does_not_report_so_ganzoo_has_its_own():
    points = POINTS.copy()
    points[3] = np.nan
    nan_data = tf.data.Dataset.from_tensor_slices(points).batch(32)
    gan = tiny()
    fit(gan, keras.callbacks.TerminateOnNaN(), data=nan_data)  # Keras's checks logs["loss"] only
    assert gan.g_optimizer.iterations.numpy() == 4
    gan = tiny()
    with pytest.raises(FloatingPointError, match="d_loss is nan at epoch 1, step 1"):
        fit(gan, StopOnNonFiniteLoss(), data=nan_data)
    assert gan.g_optimizer.iterations.numpy() == 1


def test_swap_ema_weights_puts_both_optimisers_averages_in_the_gan_at_epoch_end():
    gan = tiny(d_optimizer=keras.optimizers.Adam(1e-3, use_ema=True), g_optimizer=keras.optimizers.Adam(1e-3, use_ema=True))
    optimisers = (gan.d_optimizer, gan.g_optimizer)
    seen = []

    def record(epoch, logs):  # each optimiser's variables (what the GAN holds) and their moving averages
        seen.append([([v.numpy() for v in o._trainable_variables], [a.numpy() for a in o._model_variables_moving_average])
                     for o in optimisers])

    recorder = keras.callbacks.LambdaCallback(on_epoch_end=record)
    gan.fit(POINTS, batch_size=32, epochs=1, verbose=0,
            callbacks=[recorder, keras.callbacks.SwapEMAWeights(swap_on_epoch=True), recorder])
    before, after = seen
    for (weights, averages), (swapped, _) in zip(before, after):
        assert not all(np.array_equal(w, a) for w, a in zip(weights, averages))  # 2 updates: they differ
        for average, now in zip(averages, swapped):  # Keras swaps by adding and subtracting: rounding
            np.testing.assert_allclose(now, average, rtol=1e-6, atol=1e-9)


def test_swap_ema_weights_without_optimiser_ema_is_refused():
    with pytest.raises(ValueError, match="SwapEMAWeights must be used when at least one inner optimizer has `use_ema"):
        fit(tiny(), keras.callbacks.SwapEMAWeights(swap_on_epoch=True))


def test_orbax_checkpoint_restores_the_gan_and_both_optimisers(tmp_path):
    pytest.importorskip("orbax.checkpoint")  # an optional Keras dependency, in the test extras
    gan = tiny()
    fit(gan, keras.callbacks.OrbaxCheckpoint(str(tmp_path / "orbax"), save_on_background=False))
    loaded = keras.models.load_model(str(tmp_path / "orbax"))
    assert isinstance(loaded, ganzoo.GAN)
    assert (loaded.d_optimizer.iterations.numpy(), loaded.g_optimizer.iterations.numpy()) == (4, 4)
    pairs = [(loaded.weights, gan.weights), (loaded.d_optimizer.variables, gan.d_optimizer.variables),
             (loaded.g_optimizer.variables, gan.g_optimizer.variables)]
    for restored, trained in pairs:
        assert len(restored) == len(trained) > 1
        for a, b in zip(restored, trained):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_every_keras_callback_class_has_a_test():
    classes = {name for name in dir(keras.callbacks) if isinstance(getattr(keras.callbacks, name), type)
               and issubclass(getattr(keras.callbacks, name), keras.callbacks.Callback)}
    tested = {"BackupAndRestore", "CSVLogger", "EarlyStopping", "History", "LambdaCallback", "LearningRateScheduler",
              "ModelCheckpoint", "OrbaxCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "RemoteMonitor",
              "SwapEMAWeights", "TensorBoard", "TerminateOnNaN"}
    assert classes - {"Callback", "CallbackList"} == tested

