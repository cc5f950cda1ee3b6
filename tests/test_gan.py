"""The GAN base model: schedule, metrics, exact continuation after a save, tf.distribute."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo.gan import group_minibatches
from zoo_checks import real_batches, small_options, weights_of


def test_group_minibatches_gives_each_critic_step_its_own_minibatch():
    # Minibatch i is filled with the value i: group j of k = 3 must hold minibatches 3j..3j+2.
    batches = tf.data.Dataset.range(7).map(lambda i: tf.fill([4, 2], tf.cast(i, tf.float32)))
    groups = list(group_minibatches(batches, 3).as_numpy_iterator())
    assert len(groups) == 2  # the 7th minibatch cannot fill a group
    for j, group in enumerate(groups):
        assert group.shape == (4, 3, 2)
        for step in range(3):
            np.testing.assert_array_equal(group[:, step], np.full([4, 2], 3 * j + step))


def test_group_minibatches_drops_labels_and_needs_fixed_batches():
    labelled = tf.data.Dataset.from_tensor_slices((tf.zeros([8, 2]), tf.range(8))).batch(2, drop_remainder=True)
    assert group_minibatches(labelled, 2).element_spec.shape.as_list() == [2, 2, 2]
    with pytest.raises(ValueError, match="drop_remainder=True"):
        group_minibatches(tf.data.Dataset.from_tensor_slices(tf.zeros([5, 2])).batch(2), 2)


def test_an_epoch_is_one_pass_over_the_data_with_k_batches_per_step():
    gan = ganzoo.get("wgan", data_shape=(2,), **small_options("wgan", (2,)))
    gan.compile()
    gan.fit(real_batches((2,), 4, 23), epochs=2, verbose=0)  # 23 batches -> 4 steps of 5 per epoch
    assert int(gan.g_optimizer.iterations) == 8
    assert int(gan.d_optimizer.iterations) == 40


def test_fit_accepts_arrays():
    gan = ganzoo.get("wgan_gp", data_shape=(2,), **small_options("wgan_gp", (2,)))
    gan.compile()
    gan.fit(ganzoo.data.mixture("ring8").sample(100), batch_size=10, epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 10 and int(gan.g_optimizer.iterations) == 2


def test_metric_names_fit_and_evaluate():
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), **small_options("vanilla_gan", (2,)))
    gan.compile()
    logs = gan.fit(real_batches((2,), 8, 2), verbose=0).history
    scores = ["d_fake", "d_loss", "d_real", "g_loss"]
    assert sorted(logs) == sorted(scores + ["d_acc_fake", "d_acc_real", "d_grad_norm", "g_grad_norm", "g_logit_grad"])
    # Evaluation computes no gradients, so it reports the scores alone; so does training without health signals.
    results = gan.evaluate(real_batches((2,), 8, 2, seed=5), verbose=0, return_dict=True)
    assert sorted(results) == scores
    gan.compile(health_signals=False)
    assert sorted(gan.fit(real_batches((2,), 8, 2), verbose=0).history) == scores
    assert 0 < results["d_real"] < 1 and 0 < results["d_fake"] < 1
    critic = ganzoo.get("wgan_gp", data_shape=(2,), **small_options("wgan_gp", (2,)))
    critic.compile()
    logs = critic.fit(real_batches((2,), 8, 5), verbose=0).history
    scores = ["critic_fake", "critic_real", "d_loss", "g_loss", "gradient_penalty", "wasserstein_estimate"]
    assert sorted(logs) == sorted(scores + ["d_grad_norm", "g_grad_norm"])  # critics: no accuracies
    np.testing.assert_allclose(logs["wasserstein_estimate"][-1], logs["critic_real"][-1] - logs["critic_fake"][-1], atol=1e-5)
    # evaluate() and validation_data take plain minibatches even when k > 1.
    assert sorted(critic.evaluate(real_batches((2,), 8, 2), verbose=0, return_dict=True)) == scores
    history = critic.fit(real_batches((2,), 8, 5), validation_data=real_batches((2,), 8, 2), verbose=0).history
    assert "val_gradient_penalty" in history


def test_call_predict_and_generate():
    gan = ganzoo.get("dcgan", data_shape=(28, 28, 1), filters=4, latent_dim=6)
    latent = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    np.testing.assert_allclose(gan.predict(latent, verbose=0), gan.generator(latent, training=False), atol=1e-6)
    np.testing.assert_array_equal(gan.generate(4, seed=7), gan.generate(4, seed=7))
    assert not np.allclose(gan.generate(4, seed=7), gan.generate(4, seed=8))
    assert not np.allclose(gan.generate(4), gan.generate(4))  # seed=None advances the noise stream


def test_train_on_batch_without_groups_is_refused_for_k_gt_1():
    gan = ganzoo.get("wgan", data_shape=(2,), **small_options("wgan", (2,)))
    gan.compile()
    with pytest.raises(ValueError, match="needs 5 real minibatches"):
        gan.train_on_batch(np.zeros([4, 2], "float32"))


def test_two_optimizer_instances_required():
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), **small_options("vanilla_gan", (2,)))
    optimizer = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two optimizer instances"):
        gan.compile(d_optimizer=optimizer, g_optimizer=optimizer)


@pytest.mark.parametrize("name,data_shape", [("wgan_gp", (2,)), ("unrolled_gan", (2,)), ("dcgan", (28, 28, 1))])
def test_reloaded_model_continues_fit_exactly(name, data_shape, tmp_path):
    """N steps, save, load, M steps == N + M steps without the save (weights, optimiser
    state, BatchNorm statistics and the noise stream all come back)."""
    n, m = 2, 3

    def fresh():
        gan = ganzoo.get(name, data_shape=data_shape, seed=11, **small_options(name, data_shape))
        gan.compile()
        return gan

    uninterrupted, interrupted = fresh(), fresh()
    interrupted.set_weights(uninterrupted.get_weights())
    k = uninterrupted.d_steps
    batches = real_batches(data_shape, 8, (n + m) * k)
    uninterrupted.fit(batches, epochs=1, verbose=0)

    interrupted.fit(batches.take(n * k), epochs=1, verbose=0)
    interrupted.save(tmp_path / "gan.keras")
    reloaded = keras.models.load_model(tmp_path / "gan.keras")
    reloaded.fit(batches.skip(n * k), epochs=1, verbose=0)

    assert int(reloaded.g_optimizer.iterations) == int(uninterrupted.g_optimizer.iterations) == n + m
    for a, b in zip(weights_of(uninterrupted), weights_of(reloaded)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


DISTRIBUTED_CHECK = textwrap.dedent("""
    import keras, numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import ganzoo
    options = dict(latent_dim=4, generator_units=(8,), discriminator_units=(8,), seed=3, ema_decay=0.9)
    points = ganzoo.data.mixture("ring8").sample(8 * 5 * 2, seed=1)
    batches = tf.data.Dataset.from_tensor_slices(points).batch(8, drop_remainder=True)
    one = ganzoo.get("wgan_gp", data_shape=(2,), **options)
    # SGD, since Adam's update would hide a wrongly scaled loss.
    sgd = lambda: keras.optimizers.SGD(0.05)
    one.compile(d_optimizer=sgd(), g_optimizer=sgd(), jit_compile=False)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        two = ganzoo.get("wgan_gp", data_shape=(2,), **options)
        two.compile(d_optimizer=sgd(), g_optimizer=sgd(), jit_compile=False)
    two.set_weights(one.get_weights())
    logs_one = one.fit(batches, verbose=0).history
    logs_two = two.fit(batches, verbose=0).history
    assert strategy.num_replicas_in_sync == 2
    assert two.g_optimizer.iterations.numpy() == 2 and two.d_optimizer.iterations.numpy() == 10
    for a, b in zip(one.get_weights(), two.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(logs_one["d_loss"], logs_two["d_loss"], rtol=1e-4)
    # The norms are of the summed (all-reduced) gradient, the one update's, not of a replica's share.
    for key in ("d_grad_norm", "g_grad_norm"):
        np.testing.assert_allclose(logs_one[key], logs_two[key], rtol=1e-4)
    totals_one, totals_two = one.metric_totals(), two.metric_totals()  # what Diagnostics reads
    for key, (total, count) in totals_one.items():
        np.testing.assert_allclose(total / count, totals_two[key][0] / totals_two[key][1], rtol=1e-4)
    print("DISTRIBUTED OK")
""")


def test_mirrored_strategy_on_two_devices_matches_one_device():
    """Two logical CPUs on one global batch make the same updates as one device (losses
    averaged over the global batch, noise sliced per replica, optimisers built up front, the
    EMA generator averaged in cross-replica context)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", DISTRIBUTED_CHECK], capture_output=True, text=True,
                            env=env, timeout=300)
    assert "DISTRIBUTED OK" in result.stdout, result.stderr[-3000:]


def test_compile_from_configs_leaves_them_untouched():
    schedule = {"module": "keras.optimizers.schedules", "class_name": "CosineDecay",
                "config": {"initial_learning_rate": 1e-3, "decay_steps": 10}}
    config = {"class_name": "Adam", "config": {"learning_rate": schedule, "beta_1": 0.5}}
    before = json.dumps(config)
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), **small_options("vanilla_gan", (2,)))
    gan.compile(d_optimizer=config, g_optimizer=config)
    assert json.dumps(config) == before  # Keras would have put a CosineDecay object inside
    assert gan.d_optimizer is not gan.g_optimizer and gan.d_optimizer.beta_1 == 0.5
