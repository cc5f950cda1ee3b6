"""Objectives and regularisers as values: hand-computed losses and penalties, every one through
the zoo's checks (train, .keras round trip), the mixes that make no sense refused, and files
of ganzoo 0.1's format (objective string, gradient_penalty_weight, clip_value) still loading."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo import objectives, regularizers
from ganzoo.gan import GAN
from zoo_checks import check_round_trip, check_trains, real_batches, small_options

DATA = os.path.join(os.path.dirname(__file__), "data")


def scores(values):
    return tf.constant(values, tf.float32)[:, None]


# ------------------------------------------------------------------------------- objectives
def test_hinge_losses_by_hand():
    hinge = objectives.get("hinge")
    # max(0, 1 - D(x)) + max(0, 1 + D(G(z))): real 2 -> 0, real 0.5 -> 0.5, real -1 -> 2; fake -2 -> 0,
    # fake 0 -> 1, fake 0.5 -> 1.5.
    np.testing.assert_allclose(hinge.discriminator_loss(scores([2.0, 0.5, -1.0]), scores([-2.0, 0.0, 0.5])),
                               [0.0, 1.5, 3.5])
    np.testing.assert_allclose(hinge.generator_loss(scores([-2.0, 0.0, 0.5])), [2.0, 0.0, -0.5])
    metrics = hinge.health_metrics(scores([2.0, 0.5, -1.0]), scores([-2.0, 0.0, 0.5]), scores([0.0]))
    assert (float(metrics["d_acc_real"]), float(metrics["d_acc_fake"])) == pytest.approx((2 / 3, 1 / 3))


def test_least_squares_losses_by_hand():
    least_squares = objectives.get("least_squares")
    # ½(D(x) - 1)² + ½D(G(z))²: (1, 0) -> 0; (0, 1) -> 1; (3, -1) -> 2 + 0.5.
    np.testing.assert_allclose(least_squares.discriminator_loss(scores([1.0, 0.0, 3.0]), scores([0.0, 1.0, -1.0])),
                               [0.0, 1.0, 2.5])
    np.testing.assert_allclose(least_squares.generator_loss(scores([1.0, 0.0, 3.0])), [0.0, 0.5, 2.0])
    # Its generator's gradient w.r.t. the score, D(G(z)) - 1, does not vanish when D rejects a fake.
    metrics = least_squares.health_metrics(scores([0.9]), scores([0.1]), scores([0.0]))
    assert float(metrics["g_logit_grad"]) == pytest.approx(1.0)
    assert (float(metrics["d_acc_real"]), float(metrics["d_acc_fake"])) == (1.0, 1.0)


def test_objectives_resolve_by_name_and_refuse_unknown_ones():
    assert isinstance(objectives.get("non_saturating"), objectives.NonSaturating)
    assert objectives.get("minimax") == "minimax" and objectives.get("minimax") == objectives.Minimax()
    with pytest.raises(ValueError, match="minimax, non_saturating, wasserstein, hinge, least_squares"):
        objectives.get("hinge_loss_typo")
    with pytest.raises(ValueError, match="Valid options"):
        ganzoo.get("dcgan", data_shape=(28, 28, 1), loss="hinge")


# ----------------------------------------------------------------------------- regularizers
def test_weight_clipping_clamps_every_weight():
    clipped = regularizers.WeightClipping(0.01).constrain([tf.constant([-1.0, -0.005, 0.0, 0.02])])
    np.testing.assert_allclose(clipped[0], [-0.01, -0.005, 0.0, 0.01])


def test_r1_by_hand():
    # f(x) = x·w: ∇f = w for every example, so R1 = (γ/2)·||w||² = 5 * 25 with γ = 10, w = (3, 4).
    w = tf.constant([[3.0], [4.0]])
    real = tf.constant([[1.0, 2.0], [-1.0, 0.5]])
    penalty, metrics = regularizers.R1(10.0).penalty(lambda x: x @ w, real, None, None, real @ w)
    np.testing.assert_allclose(penalty, [125.0, 125.0])
    assert float(metrics["r1_penalty"]) == pytest.approx(25.0)


def test_lazy_r1_is_taken_every_interval_updates_at_interval_times_its_weight():
    w = tf.constant([[3.0], [4.0]])
    real = tf.constant([[1.0, 2.0]])
    lazy = regularizers.R1(10.0, interval=4)
    for step, expected in ((0, 500.0), (1, 0.0), (3, 0.0), (4, 500.0)):
        penalty, metrics = lazy.penalty(lambda x: x @ w, real, None, None, real @ w, tf.constant(step, tf.int64))
        np.testing.assert_allclose(penalty, [expected])
        value, weight = metrics["r1_penalty"]
        assert float(weight) == (1.0 if expected else 0.0)


def test_lazy_r1_in_training_counts_only_the_updates_it_is_taken_on():
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), regularizers=[{"name": "r1", "interval": 3}],
                     seed=0, **small_options("vanilla_gan", (2,)))
    gan.compile()
    gan.fit(real_batches((2,), 8, 7), epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 7
    assert float(gan._trackers["r1_penalty"].count) == 3  # D updates 0, 3 and 6
    assert float(gan._trackers["r1_penalty"].result()) > 0


def test_spectral_norm_wraps_the_layers_and_bounds_their_largest_singular_value():
    gan = ganzoo.get("wgan", data_shape=(2,), regularizers=["spectral_norm"], seed=0, **small_options("wgan", (2,)))
    wrapped = [layer for layer in gan.discriminator.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) == 2  # the hidden and the output Dense
    for _ in range(30):  # power iteration converges over training calls
        gan.discriminator(np.zeros((4, 2), "float32"), training=True)
    for layer in wrapped:
        kernel = layer.kernel.numpy().reshape(-1, layer.kernel.shape[-1])
        assert np.linalg.svd(kernel, compute_uv=False)[0] == pytest.approx(1.0, abs=1e-3)
    assert regularizers.SpectralNormalization().prepare_discriminator(gan.discriminator) is gan.discriminator


def test_regularizers_resolve_by_name_or_options_and_refuse_repeats_and_unknown_ones():
    assert regularizers.get({"name": "r1", "weight": 1.0, "interval": 16}) == regularizers.R1(1.0, 16)
    with pytest.raises(ValueError, match="gradient_penalty, weight_clipping, r1, spectral_norm"):
        regularizers.get("r2")
    with pytest.raises(ValueError, match="unknown option"):
        regularizers.get({"name": "r1", "gamma": 1.0})
    with pytest.raises(ValueError, match="R1 given more than once"):
        regularizers.get_list(["r1", {"name": "r1", "interval": 4}])
    with pytest.raises(ValueError, match="positive integer"):
        regularizers.R1(interval=0)


# ------------------------------------------------------------------------------ composition
MIXES = [
    ("dcgan", (28, 28, 1), dict(objective="hinge", regularizers=["r1"])),
    ("dcgan", (28, 28, 1), dict(objective="least_squares", regularizers=["spectral_norm"])),
    ("vanilla_gan", (2,), dict(objective="hinge", regularizers=["spectral_norm"])),
    ("vanilla_gan", (2,), dict(objective="least_squares", regularizers=[{"name": "r1", "weight": 1.0, "interval": 2}])),
    ("wgan", (2,), dict(regularizers=["spectral_norm"])),
    ("wgan_gp", (28, 28, 1), dict(objective="hinge")),
    ("pacgan", (2,), dict(objective="hinge", regularizers=["gradient_penalty"])),
    # One unrolled step: enough to differentiate through a penalty's gradient in the look-ahead.
    ("unrolled_gan", (2,), dict(objective="least_squares", regularizers=["gradient_penalty", "spectral_norm"],
                                unroll_steps=1)),
    ("unrolled_gan", (2,), dict(regularizers=[{"name": "weight_clipping", "clip_value": 0.1}])),
]


@pytest.mark.parametrize("name,data_shape,mix", MIXES, ids=[f"{n}-{m}" for n, _, m in MIXES])
def test_any_sensible_mix_trains_and_round_trips(name, data_shape, mix, tmp_path):
    gan = ganzoo.get(name, data_shape=data_shape, seed=2, **{**small_options(name, data_shape), **mix})
    gan.compile()
    history = check_trains(gan, data_shape)
    expected = set(gan.objective.metric_names) | {m for r in gan.regularizers for m in r.metric_names}
    assert expected <= set(history.history)
    check_round_trip(gan, str(tmp_path / "mix.keras"))


def test_a_per_example_penalty_turns_the_dcgan_critic_to_layer_normalisation():
    gan = ganzoo.get("dcgan", data_shape=(28, 28, 1), filters=4, regularizers=["r1"])
    assert not regularizers.has_batch_norm(gan.discriminator)
    assert regularizers.has_batch_norm(ganzoo.get("dcgan", data_shape=(28, 28, 1), filters=4).discriminator)


@pytest.mark.parametrize("regularizer,message", [
    ("gradient_penalty", "BatchNorm makes every score depend on the whole batch"),
    ("r1", "BatchNorm makes every score depend on the whole batch"),
    ("weight_clipping", "no longer bounds the critic's Lipschitz constant"),
])
def test_a_batch_norm_critic_with_a_regulariser_it_defeats_is_refused(regularizer, message):
    with pytest.raises(ValueError, match=message):
        ganzoo.get("dcgan", data_shape=(28, 28, 1), filters=4, critic_normalization="batch",
                   objective="wasserstein", regularizers=[regularizer])
    dcgan = ganzoo.get("dcgan", data_shape=(28, 28, 1), filters=4)  # a BatchNorm discriminator, by hand
    with pytest.raises(ValueError, match="critic_normalization='layer'"):
        GAN(dcgan.generator, dcgan.discriminator, objective="wasserstein", regularizers=[regularizer])


def test_spectral_norm_needs_layers_to_normalise():
    inputs = keras.Input((2,))
    discriminator = keras.Model(inputs, keras.layers.Lambda(lambda x: x[:, :1])(inputs))
    generator = ganzoo.get("vanilla_gan", data_shape=(2,), **small_options("vanilla_gan", (2,))).generator
    with pytest.raises(ValueError, match="has none"):
        GAN(generator, discriminator, regularizers=["spectral_norm"])


# ------------------------------------------------------------------------- ganzoo 0.1 files
@pytest.mark.parametrize("name,expected", [
    ("wgan_gp", [regularizers.GradientPenalty(10.0)]),
    ("wgan", [regularizers.WeightClipping(0.01, allow_batch_norm=True)]),
    ("pacgan", [regularizers.GradientPenalty(5.0)]),
])
def test_files_of_ganzoo_0_1_load_and_train_on_as_they_did(name, expected):
    # tests/data/legacy_*.keras were written by ganzoo at 4e667aa (objective, gradient_penalty_weight,
    # clip_value in the config); legacy_samples.npz holds what each generated there, before and after
    # one more epoch of training on the data below.
    recorded = np.load(os.path.join(DATA, "legacy_samples.npz"))
    gan = keras.saving.load_model(os.path.join(DATA, f"legacy_{name}.keras"))
    assert gan.objective == objectives.Wasserstein() and gan.regularizers == expected
    assert "gradient_penalty_weight" not in gan.get_config() and "clip_value" not in gan.get_config()
    # To float32's last bits: the samples were recorded on an AVX-512 Xeon, whose kernels round
    # differently from an AVX2 CPU's (1e-7 apart); wrong weights or noise would be far outside.
    np.testing.assert_allclose(gan.generate(8, seed=1), recorded[name], rtol=1e-6, atol=1e-6)
    gan.fit(np.random.default_rng(1).normal(size=(32 * gan.d_steps, 2)).astype("float32"), batch_size=16,
            epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(gan.generate(8, seed=1), recorded[f"{name}_continued"], rtol=1e-6, atol=1e-6)


def test_the_old_constructor_arguments_still_work_with_a_deprecation_warning():
    wgan_gp = ganzoo.get("wgan_gp", data_shape=(2,), **small_options("wgan_gp", (2,)))
    with pytest.warns(DeprecationWarning, match="regularizers"):
        gan = GAN(wgan_gp.generator, wgan_gp.discriminator, objective="wasserstein", gradient_penalty_weight=3.0)
    assert gan.regularizers == [regularizers.GradientPenalty(3.0)] and gan.gradient_penalty_weight == 3.0


def test_a_hinge_run_with_r1_is_diagnosed_from_its_own_signals(tmp_path):
    # Diagnostics and `ganzoo diagnose` read what the objective reports: a hinge critic has
    # accuracies but no logit gradient to vanish, and its third chart is R1's penalty.
    from ganzoo import cli, config, training

    experiment = config.validate({
        "model": {"name": "vanilla_gan", "latent_dim": 4, "generator_units": [8], "discriminator_units": [8],
                  "objective": "hinge", "regularizers": ["r1"]},
        "data": {"name": "ring8", "batch_size": 8, "num_samples": 160},
        "train": {"epochs": 1, "verbose": 0, "num_sample_images": 8}})
    workdir = tmp_path / "run"
    training.train(experiment, str(workdir))
    records = [json.loads(line) for line in (workdir / "diagnostics.json").read_text().splitlines()]
    assert records[0]["objective"] == "hinge" and records[0]["scores"] == "critic"
    signals = [r for r in records if r["kind"] == "signals"]
    assert signals and {"d_acc_fake", "r1_penalty", "critic_real"} <= set(signals[0]) and "g_logit_grad" not in signals[0]
    assert cli.main(["diagnose", str(workdir)]) == 0
    assert (workdir / "diagnosis.png").exists()


def test_spectral_norm_keeps_the_given_weights_and_float32_kernels_under_mixed_precision():
    base = ganzoo.get("wgan", data_shape=(2,), seed=0, **small_options("wgan", (2,)))
    normalized = regularizers.SpectralNormalization().prepare_discriminator(base.discriminator)
    wrapped = [layer for layer in normalized.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    originals = [layer for layer in base.discriminator.layers if isinstance(layer, keras.layers.Dense)]
    for layer, original in zip(wrapped, originals):
        np.testing.assert_array_equal(layer.layer.kernel.numpy(), original.kernel.numpy())
    # Under mixed_bfloat16 the kernel written back stays float32: a small update survives the next call
    # (normalised in bfloat16 it would be rounded away).
    gan = ganzoo.get("wgan", data_shape=(2,), regularizers=["spectral_norm"], precision="mixed_bfloat16", seed=0,
                     **small_options("wgan", (2,)))
    layer = next(layer for layer in gan.discriminator.layers if isinstance(layer, keras.layers.SpectralNormalization))
    assert layer.kernel.dtype == "float32" and layer.layer.compute_dtype == "bfloat16"
    points = np.zeros((4, 2), "float32")
    for _ in range(5):
        gan.discriminator(points, training=True)
    nudged = layer.kernel.numpy() * (1 + 1e-3)
    layer.kernel.assign(nudged)
    gan.discriminator(points, training=True)
    assert not np.array_equal(layer.kernel.numpy(), layer.kernel.numpy().astype(keras.backend.standardize_dtype("bfloat16")))


def test_spectral_norm_refuses_a_nested_discriminator():
    inner = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)], name="body")
    inputs = keras.Input((2,))
    discriminator = keras.Model(inputs, keras.layers.Dense(1)(inner(inputs)))
    with pytest.raises(ValueError, match="nests model\\(s\\) body: flatten it"):
        regularizers.SpectralNormalization().prepare_discriminator(discriminator)


def test_a_lazy_penalty_due_on_an_early_critic_update_is_still_reported():
    # k = 2 critic updates a step and R1 every 2 updates: it is taken on the first of each pair.
    gan = ganzoo.get("wgan", data_shape=(2,), regularizers=[{"name": "r1", "interval": 2}, "spectral_norm"],
                     d_steps=2, seed=0, **small_options("wgan", (2,)))
    gan.compile()
    gan.fit(real_batches((2,), 8, 8), epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 8 and float(gan._trackers["r1_penalty"].count) == 4


def test_clipping_and_spectral_norm_get_no_normalisation_and_repeats_across_styles_are_refused():
    gan = ganzoo.get("wgan", data_shape=(28, 28, 1), filters=4, regularizers=["weight_clipping"])
    assert not any("Normalization" in type(layer).__name__ for layer in gan.discriminator.layers)
    wgan_gp = ganzoo.get("wgan_gp", data_shape=(2,), **small_options("wgan_gp", (2,)))
    with pytest.raises(ValueError, match="GradientPenalty given more than once"), pytest.warns(DeprecationWarning):
        GAN(wgan_gp.generator, wgan_gp.discriminator, objective="wasserstein", regularizers=["gradient_penalty"],
            gradient_penalty_weight=5.0)
    with pytest.warns(UserWarning, match="needs a Lipschitz critic"):
        GAN(wgan_gp.generator, wgan_gp.discriminator, objective="wasserstein")
    assert objectives.get({"name": "hinge"}) == objectives.Hinge() and "hinge" in {objectives.Hinge(): 1}
