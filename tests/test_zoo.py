"""Every zoo model through the standard checks: build, train a few steps, .keras round trip."""

import keras
import numpy as np
import pytest

import ganzoo
from zoo_checks import IMAGE_CASES, VECTOR_CASES, check_round_trip, check_trains, small_options


@pytest.mark.parametrize("name,data_shape", VECTOR_CASES + IMAGE_CASES)
def test_model_trains_and_round_trips(name, data_shape, tmp_path):
    gan = ganzoo.get(name, data_shape=data_shape, seed=1, **small_options(name, data_shape))
    gan.compile()
    assert gan.data_shape == data_shape
    check_trains(gan, data_shape)
    check_round_trip(gan, str(tmp_path / f"{name}.keras"))


def test_list_models_names_and_describes_every_model():
    models = ganzoo.list_models()
    assert set(models) == {"vanilla_gan", "dcgan", "wgan", "wgan_gp", "unrolled_gan", "pacgan", "conditional_dcgan",
                           "acgan", "cyclegan", "stylegan"}
    assert all(len(description) > 20 for description in models.values())


def test_unknown_model_and_option_list_the_valid_ones():
    with pytest.raises(ValueError, match="Registered models: acgan, conditional_dcgan, cyclegan, dcgan, pacgan, stylegan, unrolled_gan"):
        ganzoo.get("dcgn", data_shape=(28, 28, 1))
    with pytest.raises(ValueError, match="Valid options: .*clip_value"):
        ganzoo.get("wgan", data_shape=(2,), n_critic=5)


def test_register_refuses_a_taken_name():
    with pytest.raises(ValueError, match="already registered"):
        ganzoo.register("dcgan")(lambda data_shape: None)


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 3)])
def test_dcgan_shapes(size, channels):
    gan = ganzoo.get("dcgan", data_shape=(size, channels and size, channels), filters=4, latent_dim=10)
    images = gan.generate(3, seed=0)
    assert images.shape == (3, size, size, channels)
    assert images.min() >= -1 and images.max() <= 1
    assert gan.discriminator(images).shape == (3, 1)


def test_dcgan_28_matches_the_torch_reference_layer_for_layer():
    # tools/torch_reference.py --model dcgan --size 28 with nz 100, ngf = ndf = 64: parameter counts of
    # its ConvTranspose2d/Conv2d (no bias) and BatchNorm2d layers.
    gan = ganzoo.get("dcgan", data_shape=(28, 28, 1))
    torch_generator = 100 * 128 * 49 + 2 * 128 + 128 * 64 * 16 + 2 * 64 + 64 * 1 * 16
    torch_discriminator = 1 * 64 * 16 + 64 * 128 * 16 + 2 * 128 + 128 * 1 * 49
    assert gan.generator.count_params() - 2 * (128 + 64) == torch_generator  # minus BN moving stats
    assert gan.discriminator.count_params() - 2 * 128 == torch_discriminator


def test_batchnorm_is_set_as_the_pytorch_reference_sets_it():
    # torch.nn.BatchNorm2d: momentum 0.1 (the new statistics' weight; Keras: 1 - 0.1) and eps 1e-5.
    gan = ganzoo.get("dcgan", data_shape=(28, 28, 1), filters=4)
    norms = [layer for network in (gan.generator, gan.discriminator) for layer in network.layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 3
    assert all((layer.momentum, layer.epsilon) == (0.9, 1e-5) for layer in norms)


def test_paper_defaults():
    wgan = ganzoo.get("wgan", data_shape=(2,))
    wgan.compile()
    assert (wgan.d_steps, wgan.clip_value) == (5, 0.01)
    assert type(wgan.d_optimizer).__name__ == "RMSprop"
    np.testing.assert_allclose(float(wgan.d_optimizer.learning_rate), 5e-5)
    gp = ganzoo.get("wgan_gp", data_shape=(28, 28, 1), filters=4)
    gp.compile()
    assert (gp.d_steps, gp.gradient_penalty_weight) == (5, 10.0)
    assert (float(gp.g_optimizer.learning_rate), gp.g_optimizer.beta_1, gp.g_optimizer.beta_2) == (
        pytest.approx(1e-4), 0.0, 0.9)
    assert not any("batch_normalization" in layer.name for layer in gp.discriminator.layers)
    dcgan = ganzoo.get("dcgan", data_shape=(28, 28, 1), filters=4)
    dcgan.compile()
    assert (float(dcgan.d_optimizer.learning_rate), dcgan.d_optimizer.beta_1) == (pytest.approx(2e-4), 0.5)


def test_dcgan_refuses_vectors_with_a_clear_error():
    with pytest.raises(ValueError, match="needs an image data_shape"):
        ganzoo.get("dcgan", data_shape=(2,))
