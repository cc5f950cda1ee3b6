"""Class-conditional networks: shapes, where the label enters, the projection formula, mixed
precision and .keras round trips."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ganzoo import conditional_networks as cn
from ganzoo import networks

LATENT_DIM = 6
# (data_shape, architecture): the DCGAN at both of its start sizes (7 and 4), the MLP on
# vectors and on flattened images.
CASES = [((28, 28, 1), "dcgan"), ((32, 32, 3), "dcgan"), ((2,), "mlp"), ((28, 28, 1), "mlp")]
SMALL = {"filters": 4, "units": (8,)}
DISCRIMINATORS = [cn.concat_discriminator, cn.projection_discriminator]


def latent(n, seed=0):
    return tf.constant(np.random.default_rng(seed).normal(size=(n, LATENT_DIM)).astype("float32"))


def data(n, data_shape, seed=1):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (n, *data_shape)).astype("float32"))


def labels(*values):
    return tf.constant(values, dtype="int32")


def all_networks(data_shape, architecture, num_classes=3):
    """name -> (network, its inputs) for every builder, small."""
    x, y = data(4, data_shape), labels(*[k % num_classes for k in range(4)])
    return {
        "generator": (cn.conditional_generator(LATENT_DIM, data_shape, num_classes, architecture, filters=4,
                                               units=(8,)), [latent(4), y]),
        "concat": (cn.concat_discriminator(data_shape, num_classes, architecture, **SMALL), [x, y]),
        "projection": (cn.projection_discriminator(data_shape, num_classes, architecture, **SMALL), [x, y]),
        "auxiliary": (cn.auxiliary_classifier_discriminator(data_shape, num_classes, architecture, **SMALL), x),
    }


def as_list(outputs):
    return [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


@pytest.mark.parametrize("num_classes", [10, 3])
@pytest.mark.parametrize("data_shape,architecture", CASES)
def test_shapes_and_inputs(data_shape, architecture, num_classes):
    y = labels(*[k % num_classes for k in range(5)])
    generator = cn.conditional_generator(LATENT_DIM, data_shape, num_classes, architecture, filters=4, units=(8,))
    samples = generator([latent(5), y])
    assert samples.shape == (5, *data_shape)
    assert [(t.name, t.shape, t.dtype) for t in generator.inputs] == [
        ("latent", (None, LATENT_DIM), "float32"), ("label", (None,), "int32")]
    if len(data_shape) == 3:
        assert np.abs(samples).max() <= 1  # tanh images
    for build in DISCRIMINATORS:
        discriminator = build(data_shape, num_classes, architecture, **SMALL)
        assert [t.name for t in discriminator.inputs] == ["data", "label"]
        assert discriminator([samples, y]).shape == (5, 1)
    auxiliary = cn.auxiliary_classifier_discriminator(data_shape, num_classes, architecture, **SMALL)
    assert [t.name for t in auxiliary.inputs] == ["data"]
    score, logits = auxiliary(samples)
    assert (score.shape, logits.shape) == ((5, 1), (5, num_classes))


def test_auto_architecture_and_errors():
    assert any(isinstance(l, keras.layers.Conv2D) for l in cn.concat_discriminator((28, 28, 1), 3, filters=4).layers)
    assert not any(isinstance(l, keras.layers.Conv2D) for l in cn.concat_discriminator((2,), 3).layers)
    with pytest.raises(ValueError, match="needs an image data_shape"):
        cn.projection_discriminator((2,), 3, "dcgan")
    with pytest.raises(ValueError, match="valid: auto, mlp, dcgan"):
        cn.conditional_generator(4, (2,), 3, "resnet")
    with pytest.raises(ValueError, match="valid: batch, layer, none"):
        cn.auxiliary_classifier_discriminator((28, 28, 1), 3, normalization="spectral")
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        cn.concat_discriminator((2,), 0)
    with pytest.raises(ValueError, match="square images"):
        cn.conditional_generator(4, (28, 32, 1), 3)


def test_label_planes_fill_plane_k_with_ones_and_the_others_with_zeros():
    num_classes, height, width = 4, 5, 7
    label = cn.label_input()
    planes = keras.Model(label, cn.label_planes(label, num_classes, height, width))
    values = [2, 0, 3, 1, 2]
    result = np.asarray(planes(labels(*values)))
    assert result.shape == (5, height, width, num_classes)
    for example, k in enumerate(values):
        for plane in range(num_classes):
            expected = 1.0 if plane == k else 0.0
            assert (result[example, :, :, plane] == expected).all(), (example, k, plane)


def test_concat_discriminator_sees_the_image_channels_then_the_label_planes():
    num_classes = 3
    discriminator = cn.concat_discriminator((28, 28, 2), num_classes, "dcgan", filters=4)
    joined = keras.Model(discriminator.inputs, discriminator.get_layer("data_and_label_planes").output)
    x, y = data(3, (28, 28, 2)), labels(1, 0, 2)
    planes = np.broadcast_to(np.eye(num_classes, dtype="float32")[[1, 0, 2]][:, None, None, :], (3, 28, 28, 3))
    np.testing.assert_array_equal(joined([x, y]), np.concatenate([x, planes], axis=-1))
    # The rest is the DCGAN discriminator's layers with C + num_classes input channels.
    assert discriminator.count_params() == networks.dcgan_discriminator((28, 28, 2 + num_classes), 4).count_params()


def test_concat_mlp_discriminator_joins_the_one_hot_label_to_the_flat_input():
    discriminator = cn.concat_discriminator((2, 3), 4, "mlp", units=(5,))
    joined = keras.Model(discriminator.inputs, discriminator.get_layer("data_and_label").output)
    x, y = data(2, (2, 3)), labels(3, 1)
    expected = np.concatenate([np.reshape(x, (2, 6)), [[0, 0, 0, 1], [0, 1, 0, 0]]], axis=1)
    np.testing.assert_array_equal(joined([x, y]), expected)


@pytest.mark.parametrize("data_shape,architecture", [((28, 28, 1), "dcgan"), ((2,), "mlp")])
def test_projection_score_is_psi_of_phi_plus_the_embedding_inner_product(data_shape, architecture):
    num_classes = 3
    discriminator = cn.projection_discriminator(data_shape, num_classes, architecture, **SMALL)
    psi = discriminator.get_layer("unconditional_score")
    embedding = discriminator.get_layer("class_embedding")
    # A non-trivial embedding, so the class term is as large as the unconditional one.
    table = np.random.default_rng(2).normal(size=embedding.embeddings.shape).astype("float32")
    embedding.set_weights([table])
    phi = keras.Model(discriminator.inputs, psi.input)
    x = data(4, data_shape)
    y1, y2 = labels(0, 1, 2, 0), labels(2, 0, 1, 1)
    features = np.asarray(phi([x, y1]))
    # φ(x), hence ψ(φ(x)), does not depend on the label.
    np.testing.assert_array_equal(features, phi([x, y2]))
    assert features.shape == (4, embedding.embeddings.shape[1])
    kernel = psi.get_weights()[0]
    bias = psi.get_weights()[1] if psi.use_bias else 0.0
    unconditional = features @ kernel[:, 0] + bias
    for y in (y1, y2):
        expected = unconditional + np.sum(table[np.asarray(y)] * features, axis=1)
        np.testing.assert_allclose(np.asarray(discriminator([x, y]))[:, 0], expected, rtol=1e-4, atol=1e-5)
    # The same x under two labels: different scores, differing by <E[y1] - E[y2], φ(x)>.
    difference = np.asarray(discriminator([x, y1]) - discriminator([x, y2]))[:, 0]
    assert (np.abs(difference) > 1e-3).all()
    np.testing.assert_allclose(
        difference, np.sum((table[np.asarray(y1)] - table[np.asarray(y2)]) * features, axis=1), rtol=1e-4, atol=1e-5)


def test_dcgan_projection_discriminator_without_its_class_term_is_the_dcgan_discriminator():
    # ψ on the flattened last stage is the DCGAN head (a valid convolution over the whole map).
    projection = cn.projection_discriminator((28, 28, 1), 3, "dcgan", filters=4)
    projection.get_layer("class_embedding").set_weights([np.zeros((3, 7 * 7 * 8), "float32")])
    dcgan = networks.dcgan_discriminator((28, 28, 1), filters=4)
    trunk = [layer for layer in projection.layers
             if layer.weights and layer.name not in ("class_embedding", "unconditional_score")]
    dcgan_layers = [layer for layer in dcgan.layers if layer.weights]
    for source, target in zip(trunk, dcgan_layers[:-1], strict=True):
        target.set_weights(source.get_weights())
    dcgan_layers[-1].set_weights([projection.get_layer("unconditional_score").get_weights()[0].reshape(7, 7, 8, 1)])
    x = data(3, (28, 28, 1))
    np.testing.assert_allclose(projection([x, labels(0, 1, 2)]), dcgan(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("data_shape,architecture", [((28, 28, 1), "dcgan"), ((2,), "mlp")])
def test_generator_depends_on_the_label_and_is_deterministic(data_shape, architecture):
    generator = cn.conditional_generator(LATENT_DIM, data_shape, 10, architecture, filters=4, units=(8,))
    z = tf.repeat(latent(1), 3, axis=0)
    y = labels(0, 7, 0)
    samples = np.asarray(generator([z, y]))
    np.testing.assert_array_equal(samples, generator([z, y]))
    np.testing.assert_array_equal(samples[0], samples[2])  # same (z, label), same sample
    assert np.abs(samples[0] - samples[1]).max() > 1e-3 * np.abs(samples).max()
    # The label enters as its embedding row, joined after z.
    table = generator.get_layer("label_embedding").get_weights()[0]
    assert table.shape == (10, 10)  # embedding_dim defaults to num_classes
    joined = keras.Model(generator.inputs, generator.get_layer("latent_and_label").output)
    np.testing.assert_array_equal(joined([z, y]), np.concatenate([z, table[[0, 7, 0]]], axis=1))


def test_generator_embedding_dim():
    generator = cn.conditional_generator(LATENT_DIM, (2,), 4, embedding_dim=3, units=(8,))
    assert generator.get_layer("label_embedding").get_weights()[0].shape == (4, 3)
    assert generator.get_layer("latent_and_label").output.shape == (None, LATENT_DIM + 3)


@pytest.mark.parametrize("data_shape,architecture", [((28, 28, 1), "dcgan"), ((2,), "mlp")])
def test_auxiliary_classifier_heads_read_the_same_features(data_shape, architecture):
    num_classes = 10
    discriminator = cn.auxiliary_classifier_discriminator(data_shape, num_classes, architecture, **SMALL)
    assert [tuple(o.shape) for o in discriminator.outputs] == [(None, 1), (None, num_classes)]
    score_head, class_head = discriminator.get_layer("score"), discriminator.get_layer("class_logits")
    features = keras.Model(discriminator.inputs, score_head.input)
    assert class_head.input is score_head.input
    x = data(4, data_shape)
    phi = np.asarray(features(x))
    score, logits = discriminator(x)

    def linear(layer):
        weights = layer.get_weights()
        return phi @ weights[0] + (weights[1] if layer.use_bias else 0.0)

    np.testing.assert_allclose(score, linear(score_head), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(logits, linear(class_head), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("data_shape,architecture", [((28, 28, 1), "dcgan"), ((2,), "mlp")])
def test_outputs_are_float32_under_mixed_bfloat16(data_shape, architecture):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        built = all_networks(data_shape, architecture)
    finally:
        keras.config.set_dtype_policy(previous)
    for name, (network, inputs) in built.items():
        # The hidden layers do compute in bfloat16 ...
        assert any(layer.compute_dtype == "bfloat16" for layer in network.layers
                   if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Conv2DTranspose))), name
        # ... and every output is float32.
        outputs = network(inputs)
        for output in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
            assert output.dtype == tf.float32, name
            assert np.isfinite(np.asarray(output)).all(), name


@pytest.mark.parametrize("data_shape,architecture", [((28, 28, 1), "dcgan"), ((2,), "mlp")])
def test_keras_round_trip_gives_identical_outputs(data_shape, architecture, tmp_path):
    for name, (network, inputs) in all_networks(data_shape, architecture).items():
        # Non-trivial BatchNorm statistics, so that loading them is checked too.
        network(inputs, training=True)
        path = str(tmp_path / f"{name}.keras")
        network.save(path)
        loaded = keras.saving.load_model(path)
        assert [layer.name for layer in loaded.layers] == [layer.name for layer in network.layers]
        for expected, actual in zip(as_list(network(inputs)), as_list(loaded(inputs)), strict=True):
            np.testing.assert_array_equal(actual, expected, err_msg=name)
