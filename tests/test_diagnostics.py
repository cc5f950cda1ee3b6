"""Training-health signals (GAN.compile(health_signals=True)), the Diagnostics callback and
`ganzoo diagnose`: hand-built cases whose signals and events are known."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo import cli, config, diagnostics, training
from ganzoo.diagnostics import Diagnostics, EventTracker, ImageDiversity, MixtureDiversity
from ganzoo.gan import GAN
from ganzoo.run_directory import TrainingDivergedError
from zoo_checks import needs_fashion_mnist, small_options, tiny_ring8_config

RING8 = ganzoo.data.mixture("ring8")


def frozen_sgd():
    return keras.optimizers.SGD(0.0)  # the step's gradients are measured, the weights stay put


def one_batch(points, repeat=1):
    return tf.data.Dataset.from_tensors(np.asarray(points, np.float32)).repeat(repeat)


def constant_gan(output, kernel, objective="minimax", d_kernel=((50.0,), (0.0,))):
    """G(z) = output + z·kernel (a Dense of latent 2), D = a Dense(1) logit with `d_kernel`."""
    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    generator.set_weights([np.asarray(kernel, np.float32), np.asarray(output, np.float32)])
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    discriminator.set_weights([np.asarray(d_kernel, np.float32), np.zeros(1, np.float32)])
    gan = GAN(generator, discriminator, objective=objective, seed=0)
    gan.compile(frozen_sgd(), frozen_sgd())
    return gan


def test_gradient_norms_are_those_of_the_step_gradients():
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), seed=1, **small_options("vanilla_gan", (2,)))
    gan.compile(frozen_sgd(), frozen_sgd())
    real = tf.constant(RING8.sample(16, seed=0))
    latents, alphas = gan._draw_step_noise(16, seed=gan._step_seed())  # the noise the first step draws
    with tf.GradientTape() as tape:
        d_per_example, *_ = gan.discriminator_objective(real, gan._generate(latents[0], True), alphas[0])
        d_loss = gan._scale(d_per_example)
    expected_d = tf.linalg.global_norm(tape.gradient(d_loss, gan.discriminator.trainable_variables))
    with tf.GradientTape() as tape:
        g_per_example, _ = gan.generator_objective(real, latents[1])
        g_loss = gan._scale(g_per_example)
    expected_g = tf.linalg.global_norm(tape.gradient(g_loss, gan.generator.trainable_variables))
    logs = gan.fit(one_batch(real), verbose=0).history
    np.testing.assert_allclose(logs["d_grad_norm"][0], float(expected_d), rtol=1e-5)
    np.testing.assert_allclose(logs["g_grad_norm"][0], float(expected_g), rtol=1e-5)
    assert float(expected_g) > 0


def test_norms_are_unscaled_under_loss_scaling():
    logs, weights = [], None
    for scaled in (False, True):
        gan = ganzoo.get("vanilla_gan", data_shape=(2,), seed=1, **small_options("vanilla_gan", (2,)))
        weights = weights or gan.get_weights()
        gan.set_weights(weights)
        d, g = frozen_sgd(), frozen_sgd()
        if scaled:
            d, g = keras.optimizers.LossScaleOptimizer(d), keras.optimizers.LossScaleOptimizer(g)
        gan.compile(d, g)
        assert not scaled or float(gan.d_optimizer.dynamic_scale) > 1  # the loss really is scaled
        logs.append(gan.fit(one_batch(RING8.sample(16, seed=0)), verbose=0).history)
    for key in ("d_grad_norm", "g_grad_norm"):
        np.testing.assert_allclose(logs[0][key], logs[1][key], rtol=1e-5)


def test_a_generator_without_gradient_has_zero_norm():
    # D ignores its input (zero kernel): the generator's gradient is exactly zero, D's is not.
    gan = constant_gan(output=(-1.0, 0.0), kernel=np.eye(2), d_kernel=((0.0,), (0.0,)))
    logs = gan.fit(one_batch(RING8.sample(8, seed=0)), verbose=0).history
    assert logs["g_grad_norm"][0] == 0.0 and logs["d_grad_norm"][0] > 0
    # A frozen generator (trainable = False): no update, the step still counts, its norm is 0.
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), seed=1, **small_options("vanilla_gan", (2,)))
    gan.generator.trainable = False
    gan.compile()
    before = [w.numpy() for w in gan.generator.weights]
    logs = gan.fit(one_batch(RING8.sample(8, seed=0), repeat=2), verbose=0).history
    assert logs["g_grad_norm"][0] == 0.0 and logs["d_grad_norm"][0] > 0
    assert int(gan.g_optimizer.iterations) == 2 and int(gan.d_optimizer.iterations) == 2
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(before, gan.generator.weights))


def perfect_discriminator(objective):
    """Real data at (1, 0), G(z) = (-1, 0) always, D's logit = 50·x0: D is right with logit ±50."""
    return constant_gan(output=(-1.0, 0.0), kernel=np.zeros((2, 2)), objective=objective)


def test_a_perfect_discriminator_has_accuracy_one_and_the_minimax_gradient_vanishes(tmp_path):
    real = np.tile([[1.0, 0.0]], (8, 1))
    logs = perfect_discriminator("minimax").fit(one_batch(real), verbose=0).history
    assert logs["d_acc_real"][0] == 1.0 and logs["d_acc_fake"][0] == 1.0
    assert logs["g_logit_grad"][0] < 1e-20  # σ(-50) = 1.9e-22: what the minimax generator gets
    assert logs["g_grad_norm"][0] < 1e-18
    # The non-saturating loss's logit gradient is largest exactly then.
    logs = perfect_discriminator("non_saturating").fit(one_batch(real), verbose=0).history
    np.testing.assert_allclose(logs["g_logit_grad"][0], 1.0, rtol=1e-6)

    # Diagnostics turns it into one vanishing-gradient event with its evidence.
    callback = Diagnostics(str(tmp_path), thresholds={"window": 1, "vanishing_windows": [3, 0, 3]}, verbose=0)
    perfect_discriminator("minimax").fit(one_batch(real, repeat=6), callbacks=[callback], verbose=0)
    events = [r for r in diagnostics.read(str(tmp_path)) if r["kind"] == "event"]
    assert [(e["event"], e["state"], e["step"]) for e in events] == [("vanishing_gradient", "start", 3)]
    assert events[0]["evidence"]["d_acc_fake"] == 1.0 and events[0]["evidence"]["g_logit_grad"] < 1e-20
    assert "non-saturating" in " ".join(events[0]["remedies"])


def test_a_discriminator_without_signal_while_the_samples_are_far_is_too_weak(tmp_path):
    # D's logit is 0 everywhere (balanced accuracy 0.5); G's samples sit at (10, 10), far from the ring.
    gan = constant_gan(output=[10.0, 10.0], kernel=1e-3 * np.eye(2), d_kernel=((0.0,), (0.0,)))
    callback = Diagnostics(str(tmp_path), mixture=RING8, num_samples=200, verbose=0,
                           thresholds={"window": 1, "weak_windows": [3, 0, 3]})
    gan.fit(one_batch(RING8.sample(8, seed=0), repeat=8), epochs=2, steps_per_epoch=4, callbacks=[callback], verbose=0)
    events = [r for r in diagnostics.read(str(tmp_path)) if r["kind"] == "event"]
    # The first diversity check (end of epoch 1, step 4) finds them far; 3 windows later it starts.
    assert [(e["event"], e["state"], e["step"]) for e in events] == [("discriminator_too_weak", "start", 7)]
    evidence = events[0]["evidence"]
    assert evidence["high_quality_percent"] == 0 and (evidence["d_acc_real"] + evidence["d_acc_fake"]) / 2 <= 0.55
    assert "more discriminator steps" in " ".join(events[0]["remedies"])


def test_logit_gradient_of_the_unrolled_gan_is_the_lookahead_discriminators():
    gan = ganzoo.get("unrolled_gan", data_shape=(2,), seed=1, unroll_steps=1,
                     **small_options("unrolled_gan", (2,)))
    gan.compile(keras.optimizers.SGD(0.5), frozen_sgd())
    real = tf.constant(RING8.sample(16, seed=0))
    latents, _ = gan._draw_step_noise(16, seed=gan._step_seed())
    # What the generator update will see: D after this step's real update, then one look-ahead step.
    logs = gan.fit(one_batch(real), verbose=0).history
    gan.noise_step.assign(0)
    _, lookahead_scores = gan.generator_objective(real, latents[1])
    np.testing.assert_allclose(logs["g_logit_grad"][0], float(tf.reduce_mean(tf.sigmoid(lookahead_scores))), rtol=1e-5)
    assert np.isfinite(logs["g_grad_norm"][0]) and logs["g_grad_norm"][0] > 0


def test_one_mode_generator_raises_mode_collapse_naming_the_mode(tmp_path, capsys):
    centre = RING8.centers[4]
    gan = constant_gan(output=centre, kernel=1e-3 * np.eye(2), objective="non_saturating")
    callback = Diagnostics(str(tmp_path), mixture=RING8, num_samples=500)
    gan.fit(one_batch(RING8.sample(8, seed=0), repeat=3), epochs=3, steps_per_epoch=1, callbacks=[callback], verbose=0)
    events = [r for r in diagnostics.read(str(tmp_path)) if r["kind"] == "event"]
    assert [(e["event"], e["state"], e["epoch"]) for e in events] == [("mode_collapse", "start", 2)]
    assert events[0]["evidence"]["modes_kept"] == [4] and events[0]["evidence"]["modes_lost"] == [0, 1, 2, 3, 5, 6, 7]
    assert "1 of 8 modes kept (4)" in events[0]["message"]
    printed = capsys.readouterr().out
    assert printed.count("mode collapse") == 1 and "Try: the unrolled GAN" in printed  # once, at its start


def test_mixture_check_judges_only_samples_near_the_data():
    thresholds = diagnostics.THRESHOLDS
    healthy = MixtureDiversity(RING8, thresholds).check(RING8.sample(2500, seed=3))
    assert healthy["collapse"] is False and healthy["modes_lost"] == [] and not healthy["far"]
    blob = np.random.default_rng(0).normal(scale=1.0, size=(2500, 2))  # a diffuse cloud, ~1% near a mode
    verdict = MixtureDiversity(RING8, thresholds).check(blob)
    assert verdict["high_quality_percent"] < 10 and verdict["collapse"] is None and verdict["far"]


@needs_fashion_mnist
def test_image_check_names_the_classes_a_generator_lost():
    images, labels = ganzoo.data.fashion_mnist_arrays("test")
    images = ganzoo.data.scale_images(images[..., None])
    checker = ImageDiversity(images[:3000], {**diagnostics.THRESHOLDS, "ndb_bins": 20},
                             ganzoo.features.FashionMNISTClassifier(), ganzoo.features.FASHION_MNIST_CLASSES)
    trousers = images[3000:][labels[3000:] == 1][:300]
    collapsed = checker.check(trousers)
    assert collapsed["collapse"] and collapsed["label_kl"] > 1
    assert set(collapsed["lost_classes"]) == set(ganzoo.features.FASHION_MNIST_CLASSES) - {"Trouser"}
    healthy = checker.check(images[3000:5000])  # other real images: nothing lost
    assert not healthy["collapse"] and healthy["lost_classes"] == [] and healthy["label_kl"] < 0.05


def test_events_start_and_end_once_with_hysteresis():
    tracker = EventTracker(start=8, end=2, of=10)
    states = [tracker.update(True) for _ in range(10)]
    assert states == [None] * 7 + ["start", None, None]
    # A condition holding 7 times in 10 neither ends the event nor restarts it.
    flicker = [tracker.update(i % 10 < 7) for i in range(30)]
    assert set(flicker) == {None}
    states = [tracker.update(False) for _ in range(10)]
    assert states.count("end") == 1 and tracker.active is False
    with pytest.raises(ValueError, match="end < start"):
        EventTracker(start=2, end=2, of=10)


def test_nan_batch_stops_the_run_keeping_the_last_good_backup(tmp_path, monkeypatch):
    points = RING8.sample(8 * 6, seed=0)
    points[8 * 4 + 3, 0] = np.nan  # in the fifth batch
    dataset = tf.data.Dataset.from_tensor_slices(points).batch(8)
    monkeypatch.setattr(training.data, "load", lambda **kwargs: dataset)
    path = tmp_path / "nan.py"
    path.write_text(tiny_ring8_config(48, epochs=1, checkpoint_every=2, verbose=0))
    workdir = str(tmp_path / "run")
    with pytest.raises(TrainingDivergedError, match="d_loss is nan"):
        training.train(config.load(str(path)), workdir)
    assert not os.path.exists(os.path.join(workdir, "model.keras"))
    backups = sorted(os.listdir(os.path.join(workdir, "backup")))
    assert backups[-1] == "step-000000004"  # the last step before the NaN one
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), latent_dim=4, generator_units=[8], discriminator_units=[8])
    gan.compile()
    gan.load_weights(os.path.join(workdir, "backup", backups[-1], "model.weights.h5"))
    assert all(np.isfinite(w).all() for w in gan.get_weights())
    last = diagnostics.read(workdir)[-1]
    assert (last["kind"], last["event"], last["state"], last["step"]) == ("event", "divergence", "stop", 5)


def test_diagnostics_file_is_json_lines_and_a_resumed_run_leaves_no_duplicates(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(tiny_ring8_config(8 * 30, epochs=2, verbose=0, diagnostics={"baseline_updates": 20}))
    workdir = str(tmp_path / "run")
    training.train(config.load(str(path)), workdir)
    first = diagnostics.read(workdir)
    assert first[0]["kind"] == "header" and first[0]["objective"] == "minimax"
    assert [r["step"] for r in first if r["kind"] == "diversity"] == [30, 60]
    with open(os.path.join(workdir, "diagnostics.json"), "a") as f:  # as if a killed run had got further
        f.write(json.dumps({"kind": "signals", "step": 75, "epoch": 3, "steps": 10, "d_loss": 1.0}) + "\n")
    training.train(config.load(str(path), ["train.epochs=3"]), workdir)  # continues the finished run
    records = diagnostics.read(workdir)
    assert [r["kind"] for r in records].count("header") == 1
    signals = [r for r in records if r["kind"] == "signals"]
    steps = [r["step"] for r in signals]
    assert steps == sorted(set(steps)) and steps[-1] == 90 and len(steps) == 9
    # Every window of every epoch holds every signal (the totals restart with each epoch).
    assert all(np.isfinite(r["d_loss"]) and r["g_grad_norm"] > 0 and 0 <= r["d_acc_fake"] <= 1 for r in signals)
    assert [(r["kind"], r["step"]) for r in records if r["kind"] == "baseline"] == [("baseline", 30)]
    assert records[:len(first)] == first and not any(r["kind"] == "signals" and r.get("steps") == 10
                                                     and r["step"] == 75 for r in records)


def test_diagnose_draws_the_run_and_summarises_its_events(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    records = [{"kind": "header", "version": 1, "model": "vanilla_gan", "objective": "minimax", "d_steps": 1,
                "data": "ring8", "thresholds": diagnostics.THRESHOLDS}]
    for step in range(10, 410, 10):
        late = step > 200
        records.append({"kind": "signals", "step": step, "epoch": 1, "steps": 10, "d_loss": 1.0, "g_loss": -0.5,
                        "d_real": 0.9, "d_fake": 1e-3 if late else 0.4, "d_acc_real": 1.0, "d_acc_fake": 1.0 if late else 0.6,
                        "g_logit_grad": 1e-3 if late else 0.4, "g_grad_norm": 0.01 if late else 1.0, "d_grad_norm": 0.5})
    records.append({"kind": "baseline", "step": 100, "g_grad_norm": 1.0})
    records.append({"kind": "event", "event": "vanishing_gradient", "state": "start", "step": 280, "epoch": 1,
                    "message": "discriminator too strong: ...", "evidence": {}, "remedies": ["fewer D steps"]})
    (run / "diagnostics.json").write_text("".join(json.dumps(r) + "\n" for r in records) + '{"kind": "sig')
    assert cli.main(["diagnose", str(run)]) == 0
    picture = tf.io.decode_png(tf.io.read_file(str(run / "diagnosis.png"))).numpy()
    assert picture.shape[1] == 1000 and picture.shape[0] > 600
    text = (run / "diagnosis.txt").read_text()
    assert "from step 280, still open: discriminator too strong" in text and "Try: fewer D steps." in text
    assert "Verdict: vanishing gradient" in text and text in capsys.readouterr().out
    # A run trained without diagnostics: a clear error, exit status 2.
    os.remove(run / "diagnostics.json")
    assert cli.main(["diagnose", str(run)]) == 2
    assert "trained without diagnostics" in capsys.readouterr().err


def test_unknown_thresholds_are_refused():
    with pytest.raises(ValueError, match="Unknown diagnostics threshold"):
        Diagnostics("/tmp", thresholds={"windw": 5})
    for bad, message in (({"windw": 5}, "Unknown diagnostics threshold"), ({"window": "10"}, "window must be a positive"),
                         ({"vanishing_windows": [8, 2]}, r"\[start, end, of\]"), ({"label_kl": -1}, "positive number")):
        with pytest.raises(ValueError, match="train.diagnostics: .*" + message):
            config.load("vanilla_gan_ring8", [f"train.diagnostics={bad!r}"])


def test_fit_takes_callbacks_as_keras_does_and_the_bar_hides_the_detail_signals(capsys):
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), seed=1, **small_options("vanilla_gan", (2,)))
    gan.compile()
    history = keras.callbacks.History()
    gan.fit(one_batch(RING8.sample(8, seed=0)), callbacks=history, verbose=0)  # one callback, not a list
    assert "g_grad_norm" in history.history
    gan.fit(one_batch(RING8.sample(8, seed=0)), callbacks=keras.callbacks.CallbackList([history], model=gan), verbose=0)
    assert len(history.epoch) == 1 and "g_grad_norm" in history.history  # the CallbackList's History ran
    capsys.readouterr()
    gan.fit(one_batch(RING8.sample(8, seed=0)), verbose=2)
    printed = capsys.readouterr().out
    assert "g_grad_norm" in printed and "d_acc_fake" not in printed and "g_logit_grad" not in printed
    gan.fit(one_batch(RING8.sample(8, seed=0)), callbacks=[keras.callbacks.ProgbarLogger()], verbose=2)
    assert "d_acc_fake" in capsys.readouterr().out  # a bar of the user's own shows every key


def test_a_config_turns_the_signals_and_the_callback_off(tmp_path):
    path = tmp_path / "quiet.py"
    path.write_text(tiny_ring8_config(16, epochs=1, verbose=0, diagnostics=False))
    gan = training.train(config.load(str(path), ["compile.health_signals=False"]), str(tmp_path / "run"))
    assert gan.get_compile_config()["health_signals"] is False
    assert "g_grad_norm" not in gan.fit(one_batch(RING8.sample(8, seed=0)), verbose=0).history
    assert not os.path.exists(tmp_path / "run" / "diagnostics.json")


def test_a_non_finite_window_records_divergence_and_stops_fit(tmp_path):
    real = np.full((8, 2), np.nan, np.float32)  # D's loss is NaN from the first step
    gan = constant_gan(output=(-1.0, 0.0), kernel=np.eye(2))
    callback = Diagnostics(str(tmp_path), thresholds={"window": 2}, verbose=0)
    gan.fit(one_batch(real, repeat=10), callbacks=[callback], verbose=0)
    assert int(gan.g_optimizer.iterations) == 2  # stopped at the first window, not after 10 steps
    last = diagnostics.read(str(tmp_path))[-1]
    assert (last["event"], last["state"], last["step"]) == ("divergence", "stop", 2)
    assert last["evidence"]["d_loss"] == "nan"  # strict JSON: non-finite values are strings


def test_an_epoch_shorter_than_a_window_is_still_checked(tmp_path):
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), seed=1, **small_options("vanilla_gan", (2,)))
    gan.compile()
    callback = Diagnostics(str(tmp_path), verbose=0)  # windows of 10
    gan.fit(one_batch(RING8.sample(8, seed=0), repeat=6), epochs=2, steps_per_epoch=3, callbacks=[callback], verbose=0)
    windows = [(r["step"], r["steps"]) for r in diagnostics.read(str(tmp_path)) if r["kind"] == "signals"]
    assert windows == [(3, 3), (6, 3)]
