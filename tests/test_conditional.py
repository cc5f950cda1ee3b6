"""Conditional GANs: labels through fit (k grouping included), the auxiliary classifier's loss by
hand, class-conditional sampling, .keras round trips, clear errors, and two replicas = one device."""

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
from zoo_checks import check_round_trip, needs_fashion_mnist, weights_of

SMALL = {"latent_dim": 8, "filters": 4, "ema_decay": 0.5}
CASES = [("conditional_dcgan", {}), ("conditional_dcgan", {"conditioning": "concat"}), ("acgan", {})]


def labelled_batches(batch_size, num_batches, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (batch_size * num_batches, 28, 28, 1)).astype("float32")
    labels = (np.arange(batch_size * num_batches) % 10).astype("int32")
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size, drop_remainder=True)


@pytest.mark.parametrize("name,options", CASES, ids=["projection", "concat", "acgan"])
def test_conditional_models_train_on_labelled_data_and_round_trip(name, options, tmp_path):
    gan = ganzoo.get(name, data_shape=(28, 28, 1), seed=1, d_steps=2, **SMALL, **options)
    gan.compile()
    before = weights_of(gan.discriminator)
    history = gan.fit(labelled_batches(8, 6), epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 3 and int(gan.d_optimizer.iterations) == 6
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    assert any(not np.allclose(b, a) for b, a in zip(before, weights_of(gan.discriminator)))
    if name == "acgan":
        assert {"class_acc_real", "class_acc_fake"} <= set(history.history)
    check_round_trip(gan, str(tmp_path / "conditional.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "conditional.keras"))
    assert (loaded.num_classes, type(loaded).__name__) == (10, "ConditionalGAN")


def test_grouping_keeps_each_minibatchs_labels_with_its_images():
    images = np.arange(6 * 2, dtype="float32").reshape(6, 2)  # example i is (2i, 2i + 1)
    labels = np.arange(6, dtype="int32") * 10
    pairs = tf.data.Dataset.from_tensor_slices((images, labels)).batch(2, drop_remainder=True)
    grouped_images, grouped_labels = next(iter(group_minibatches(pairs, 3, labels=True)))
    assert grouped_images.shape == (2, 3, 2) and grouped_labels.shape == (2, 3)
    # Row b, group s: example 2s + b of the stream, and its label.
    np.testing.assert_array_equal(grouped_labels.numpy(), [[0, 20, 40], [10, 30, 50]])
    np.testing.assert_array_equal(grouped_images.numpy()[:, :, 0], grouped_labels.numpy() / 5)


def test_auxiliary_classifier_loss_by_hand():
    gan = ganzoo.get("acgan", data_shape=(28, 28, 1), num_classes=3, auxiliary_weight=0.5, **SMALL)
    real = tf.constant([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    fake = tf.constant([[0.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    labels = tf.constant([0, 2])
    d_loss, g_loss, metrics = gan._auxiliary_losses(real, fake, labels)

    def cross_entropy(logits, label):
        return -(logits[label] - np.log(np.exp(logits).sum()))

    expected_real = [cross_entropy(np.array([2.0, 0, 0]), 0), cross_entropy(np.zeros(3), 2)]
    expected_fake = [cross_entropy(np.array([0, 1.0, 0]), 0), cross_entropy(np.array([0, 0, 3.0]), 2)]
    np.testing.assert_allclose(d_loss, 0.5 * (np.array(expected_real) + expected_fake), rtol=1e-6)
    np.testing.assert_allclose(g_loss, 0.5 * np.array(expected_fake), rtol=1e-6)
    # argmax: real [0, 0] vs labels [0, 2]; fake [1, 2] vs [0, 2].
    assert (float(metrics["class_acc_real"]), float(metrics["class_acc_fake"])) == (0.5, 0.5)


def test_generate_draws_the_asked_classes():
    gan = ganzoo.get("conditional_dcgan", data_shape=(28, 28, 1), seed=0, **SMALL)
    threes, fives = gan.generate(4, labels=3, seed=7), gan.generate(4, labels=5, seed=7)
    assert threes.shape == (4, 28, 28, 1) and not np.allclose(threes, fives)
    np.testing.assert_array_equal(threes, gan.generate(4, labels=[3, 3, 3, 3], seed=7))
    # The same latents through the generator itself, with the label: what generate() returns.
    latent = tf.random.stateless_normal([4, 8], tf.constant([7, 0], tf.int64))
    np.testing.assert_allclose(threes, gan.predict([latent, np.full(4, 3)], verbose=0), atol=1e-6)
    np.testing.assert_array_equal(gan.generate(5, seed=2), gan.generate(5, seed=2))  # classes drawn from the seed
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        gan.generate(2, labels=[0, 10])
    with pytest.raises(ValueError, match="4 integer class indices"):
        gan.generate(4, labels=[1, 2])
    with pytest.raises(ValueError, match="is not conditional"):
        ganzoo.get("dcgan", data_shape=(28, 28, 1), filters=4).generate(2, labels=1)


def test_conditional_data_errors_name_the_fix():
    gan = ganzoo.get("conditional_dcgan", data_shape=(28, 28, 1), **SMALL)
    gan.compile()
    images = np.zeros((16, 28, 28, 1), "float32")
    with pytest.raises(ValueError, match="fit\\(images, labels\\)"):
        gan.fit(images, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="dataset of \\(images, labels\\) minibatches"):
        gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(8), epochs=1, verbose=0)
    with pytest.raises(TypeError, match="integer class indices"):
        gan.fit(tf.data.Dataset.from_tensor_slices((images, np.zeros(16, "float32"))).batch(8), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="has no class labels"):
        ganzoo.data.load("ring8", with_labels=True)


def test_a_gradient_penalty_interpolates_within_a_class():
    gan = ganzoo.get("conditional_dcgan", data_shape=(28, 28, 1), objective="wasserstein",
                     regularizers=["gradient_penalty"], seed=0, **SMALL)
    assert not any("BatchNormalization" in type(layer).__name__ for layer in gan.discriminator.layers)
    gan.compile()
    history = gan.fit(labelled_batches(8, 2), epochs=1, verbose=0)
    assert history.history["gradient_penalty"][-1] > 0


DISTRIBUTED_CHECK = textwrap.dedent("""
    import keras, numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    tf.config.threading.set_intra_op_parallelism_threads(1)  # the convolutions' sums in one order
    import ganzoo
    # BatchNorm over the global batch (the generator's), as one device computes it.
    options = dict(latent_dim=4, filters=2, seed=3, d_steps=2, objective="wasserstein",
                   regularizers=["gradient_penalty"], synchronized_batch_norm=True)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8 * 4, 28, 28, 1)).astype("float32")
    labels = (np.arange(32) % 10).astype("int32")
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8, drop_remainder=True)
    sgd = lambda: keras.optimizers.SGD(0.05)
    one = ganzoo.get("acgan", data_shape=(28, 28, 1), **options)
    one.compile(d_optimizer=sgd(), g_optimizer=sgd(), jit_compile=False)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        two = ganzoo.get("acgan", data_shape=(28, 28, 1), **options)
        two.compile(d_optimizer=sgd(), g_optimizer=sgd(), jit_compile=False)
    two.set_weights(one.get_weights())
    logs_one, logs_two = one.fit(batches, verbose=0).history, two.fit(batches, verbose=0).history
    # Summed over two replicas, a convolution's gradient rounds differently from one device's:
    # up to 1e-4 after two steps on a loaded machine (it was 1e-2 while updates raced the reads,
    # see GAN._apply). Labels sent to the wrong replica, or a replica drawing another step's
    # noise, moved weights by up to 7.
    for a, b in zip(one.get_weights(), two.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(logs_one["class_acc_real"], logs_two["class_acc_real"], rtol=1e-4)
    print("DISTRIBUTED OK")
""")


def test_two_replicas_train_a_conditional_gan_as_one_device():
    """Each replica's share of the images comes with its share of the labels."""
    result = subprocess.run([sys.executable, "-c", DISTRIBUTED_CHECK], capture_output=True, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=300)
    assert "DISTRIBUTED OK" in result.stdout, result.stderr[-3000:]


@needs_fashion_mnist
def test_ganzoo_train_runs_the_conditional_config_on_fashion_mnist_classes(tmp_path):
    from ganzoo import cli, config, training
    from ganzoo.callbacks import image_grid

    decode = lambda path: tf.io.decode_png(tf.io.read_file(str(path))).numpy()  # noqa: E731
    experiment = config.load("conditional_dcgan_fashion_mnist", [
        "model.filters=4", "model.latent_dim=8", "train.steps_per_epoch=3", "train.verbose=0", "train.precision=float32",
        "train.num_sample_images=10", "train.diagnostics=false"])  # diagnostics: test_diagnostics.py
    gan = training.train(experiment, str(tmp_path / "run"))
    assert int(gan.g_optimizer.iterations) == 3 and gan.class_names[0] == "T-shirt/top"
    batch = next(iter(ganzoo.data.load("fashion_mnist", batch_size=4, with_labels=True)))
    assert batch[0].shape == (4, 28, 28, 1) and batch[1].dtype == tf.int32 and float(batch[0].numpy().min()) >= -1

    # Classes by name or index; `ganzoo sample` draws one class (--label) or one class per row.
    assert gan.class_index("Sneaker") == 7 == gan.class_index("7") == gan.class_index(7)
    for unknown, message in (("Sneakers", "Unknown class 'Sneakers': give one of"), (10, r"lie in \[0, 10\)")):
        with pytest.raises(ValueError, match=message):
            gan.class_index(unknown)
    sneakers, by_row = tmp_path / "sneakers.png", tmp_path / "rows.png"
    assert cli.main(["sample", str(tmp_path / "run"), "--num-samples", "4", "--label", "Sneaker",
                     "--out", str(sneakers)]) == 0
    assert cli.main(["sample", str(tmp_path / "run"), "--num-samples", "9", "--out", str(by_row)]) == 0
    unit = lambda samples: np.clip((samples + 1) / 2, 0, 1)  # noqa: E731
    np.testing.assert_array_equal(decode(sneakers), image_grid(unit(gan.generate(4, labels=7, seed=0))))
    np.testing.assert_array_equal(decode(by_row), image_grid(unit(gan.generate(9, labels=[0, 0, 0, 1, 1, 1, 2, 2, 2],
                                                                                seed=0))))
    # `ganzoo export` of the run: signatures with a `label` input, metadata naming the classes
    # (the signatures' outputs: tests/test_export.py).
    assert cli.main(["export", str(tmp_path / "run"), "--out", str(tmp_path / "exports")]) == 0
    metadata = json.loads((tmp_path / "exports" / "run" / "1" / "assets.extra" / "ganzoo_metadata.json").read_text())
    assert metadata["class_names"][7] == "Sneaker" and metadata["num_classes"] == 10


class RealImagesOfTheClass:
    """An oracle conditional 'generator': for class c, the first real test images of class c, so
    the scores it gets are known from the classifier and the data alone."""

    takes_labels, num_classes, class_names = True, 10, None

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def generate(self, num_samples, labels, seed=None, use_ema=True):
        return self.images[self.labels == labels][:num_samples]


@needs_fashion_mnist
def test_conditional_accuracy_and_per_class_distance_against_the_data_itself():
    from ganzoo import evaluation, features, metrics

    classifier = features.FashionMNISTClassifier()
    images, labels = evaluation._labelled_test_images({"name": "fashion_mnist"})
    oracle = RealImagesOfTheClass(images, labels)
    result = evaluation.per_class_scores(oracle, {"name": "fashion_mnist"}, 1000, classifier)
    # 100 real images of each class: the classifier's accuracy on exactly those.
    picked = np.concatenate([images[labels == c][:100] for c in range(10)])
    expected = np.mean(classifier.predict_classes(picked) == np.repeat(np.arange(10), 100))
    assert result["conditional_accuracy"] == pytest.approx(expected) and result["conditional_accuracy"] > 0.85
    trouser = metrics.frechet_distance(classifier.features(images[labels == 1]).astype("float64"),
                                       classifier.features(images[labels == 1][:100]).astype("float64"))
    assert result["per_class_frechet_distance"]["Trouser"] == pytest.approx(trouser)
    # An unconditional model's samples are grouped by the class the classifier gives them.
    grouped = evaluation.per_class_scores(images[:2000], {"name": "fashion_mnist"}, 2000, classifier)
    assert "conditional_accuracy" not in grouped and len(grouped["per_class_frechet_distance"]) == 10


def test_arrays_train_validate_and_evaluate_like_any_keras_data():
    gan = ganzoo.get("conditional_dcgan", data_shape=(28, 28, 1), seed=0, **SMALL)
    gan.compile()
    rng = np.random.default_rng(0)
    images, labels = rng.uniform(-1, 1, (30, 28, 28, 1)).astype("float32"), np.arange(30) % 10
    history = gan.fit(images[:10], labels[:10], batch_size=16, epochs=1, verbose=0)  # fewer than a batch: one step
    assert int(gan.g_optimizer.iterations) == 1 and history.history["d_loss"]
    history = gan.fit(images, labels[:, None], batch_size=8, validation_split=0.2, epochs=1, verbose=0)
    assert "val_d_loss" in history.history and int(gan.g_optimizer.iterations) == 1 + 3  # 24 training examples
    assert set(gan.evaluate(images[:20], labels[:20], batch_size=32, verbose=0, return_dict=True)) >= {"d_loss"}


def test_labels_of_another_shape_or_range_are_refused_and_column_labels_are_read():
    gan = ganzoo.get("conditional_dcgan", data_shape=(28, 28, 1), seed=0, d_steps=2, **SMALL)
    gan.compile()
    images = np.zeros((16, 28, 28, 1), "float32")
    as_column = tf.data.Dataset.from_tensor_slices((images, (np.arange(16) % 10)[:, None])).batch(4, drop_remainder=True)
    gan.fit(as_column, epochs=1, verbose=0)  # [batch, 1] labels, grouped k = 2
    assert int(gan.d_optimizer.iterations) == 4
    one_hot = tf.data.Dataset.from_tensor_slices((images, np.eye(10, dtype="int32")[np.arange(16) % 10])).batch(4, drop_remainder=True)
    with pytest.raises(ValueError, match="one class index per example"):
        gan.fit(one_hot, epochs=1, verbose=0)
    out_of_range = tf.data.Dataset.from_tensor_slices((images, np.full(16, 10))).batch(4, drop_remainder=True)
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_classes = 10"):
        gan.fit(out_of_range, epochs=1, verbose=0)
    swapped = ganzoo.get("conditional_dcgan", data_shape=(28, 28, 1), **SMALL)
    label, latent = keras.Input((), dtype="int32", name="label"), keras.Input((8,), name="latent")
    generator = keras.Model([label, latent], swapped.generator([latent, label]))
    with pytest.raises(ValueError, match=r"inputs named \['latent', 'label'\], in that order"):
        ganzoo.ConditionalGAN(generator, swapped.discriminator, 10)
