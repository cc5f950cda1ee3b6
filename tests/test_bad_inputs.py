"""Bad input gets a clear error naming the problem (and nothing half-written), or, where its
meaning is unambiguous, is accepted and does what it says. One test per case."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo import cli


def tiny(name="vanilla_gan", **options):
    gan = ganzoo.get(name, data_shape=(2,), latent_dim=4, generator_units=(8,), discriminator_units=(8,), **options)
    gan.compile()
    return gan


POINTS = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)


# ------------------------------------------------------------------------------ generate()
@pytest.mark.parametrize("num_samples", [0, -1, 2.5, "3", True])
def test_generate_refuses_a_count_that_is_not_a_positive_integer(num_samples):
    with pytest.raises(ValueError, match=f"num_samples must be a positive integer; got {num_samples!r}"):
        tiny().generate(num_samples)


def test_generate_refuses_a_batch_size_of_zero():
    with pytest.raises(ValueError, match="batch_size must be a positive integer; got 0"):
        tiny().generate(4, batch_size=0)


def test_generate_refuses_a_seed_that_is_not_an_integer():
    with pytest.raises(TypeError, match="seed must be an integer or None; got 'a'"):
        tiny().generate(4, seed="a")


def test_generate_too_many_samples_for_memory_says_how_much_at_once():
    with pytest.raises(MemoryError, match=r"generate\(1000000000000000\) needs .* GiB"):
        tiny().generate(10**15)


def test_generate_draws_more_than_one_latent_block_and_keeps_the_first_block(monkeypatch):
    gan = tiny()
    expected = gan.generate(5, seed=3)
    monkeypatch.setattr(ganzoo.gan, "LATENT_BLOCK", 2)  # three blocks for five samples
    blocked = gan.generate(5, seed=3)
    np.testing.assert_allclose(blocked[:2], expected[:2], atol=1e-6)  # block 0 is the seed's own
    assert blocked.shape == (5, 2) and len({tuple(row) for row in blocked.round(5)}) == 5


def test_generate_without_a_seed_leaves_the_training_noise_alone():
    gan = tiny()
    first, second = gan.generate(4), gan.generate(4)
    assert not np.allclose(first, second)  # a stream of its own, advancing
    assert gan.noise_step.numpy() == 0


# ----------------------------------------------------------------------------------- fit()
def test_fit_takes_keras_positional_order():
    gan = tiny()
    history = gan.fit(POINTS, None, 32, 3, 0)  # x, y, batch_size, epochs, verbose
    assert len(history.history["d_loss"]) == 3 and gan.g_optimizer.iterations.numpy() == 6


def test_fit_with_fewer_minibatches_than_d_steps_is_refused():
    with pytest.raises(ValueError, match=r"holds 2 minibatch\(es\), but each step of wgan takes d_steps=5"):
        tiny("wgan").fit(POINTS, batch_size=32, epochs=1, verbose=0)


def test_an_epoch_of_unknown_length_makes_no_update_without_data():
    gan = tiny("wgan")
    dataset = tf.data.Dataset.from_tensor_slices(np.tile(POINTS, (2, 1))).batch(8, drop_remainder=True)
    gan.fit(dataset.filter(lambda batch: True), epochs=2, verbose=0)  # 16 minibatches: 3 steps of 5
    assert gan.g_optimizer.iterations.numpy() == 2 * 3 and gan.d_optimizer.iterations.numpy() == 2 * 15
    assert gan.noise_step.numpy() == 2 * 3


def test_validation_does_not_change_what_training_draws():
    dataset = tf.data.Dataset.from_tensor_slices(POINTS).batch(16)
    plain, validated = tiny(seed=5), tiny(seed=5)
    validated.set_weights(plain.get_weights())
    plain.fit(dataset, epochs=2, verbose=0)
    validated.fit(dataset, epochs=2, validation_data=dataset, verbose=0)
    for a, b in zip(plain.weights, validated.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


# ---------------------------------------------------------------------------- run folders
def test_a_model_keras_without_its_state_is_reported_by_name(tmp_path, capsys):
    workdir = tmp_path / "run"
    args = ["train", "--config", "vanilla_gan_ring8", "--workdir", str(workdir), "--set", "train.epochs=1",
            "--set", "train.steps_per_epoch=2", "--set", "train.verbose=0"]
    assert cli.main(args) == 0
    os.remove(workdir / "state.json")
    capsys.readouterr()
    assert cli.main(args) == 2
    assert "model.keras exists without" in capsys.readouterr().err
    assert json.loads((workdir / "config.json").read_text())["model"]["name"] == "vanilla_gan"
