"""StyleGAN as a ganzoo GAN: the training step (style mixing regularisation, w_avg tracking,
lazy R1), truncation, style mixing and interpolation, .keras round trips with the EMA generator
and w_avg, Fashion-MNIST padded to 32 and scored at its centre. (The networks:
test_stylegan_networks.py; the export: test_export.py.)"""

import itertools
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo.models.stylegan import StyleGAN, slerp
from zoo_checks import check_round_trip, needs_fashion_mnist

SMALL = {"latent_dim": 8, "w_dim": 8, "mapping_layers": 2, "channel_base": 64, "channel_max": 8}
SHAPE = (16, 16, 1)  # num_ws = 6


def images(count, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, *SHAPE)).astype("float32")


def trained(steps=3, **options):
    gan = ganzoo.get("stylegan", data_shape=SHAPE, seed=1, **{**SMALL, "ema_decay": 0.5, **options})
    gan.compile()
    gan.fit(images(8 * steps), batch_size=8, epochs=1, verbose=0, shuffle=False)
    return gan


@pytest.fixture(scope="module")
def sampled():
    """One trained model for the sampling tests, which only read it (w_avg and weights moved
    from their initial values)."""
    return trained(steps=2)


def test_training_updates_both_networks_tracks_w_avg_and_takes_lazy_r1():
    gan = trained(steps=3)
    assert isinstance(gan, StyleGAN) and gan.generator.num_ws == 6
    assert int(gan.d_optimizer.iterations) == 3 == int(gan.g_optimizer.iterations)
    # w_avg moved from zero, and the EMA generator holds the same (copied, not averaged) values.
    w_avg = gan.generator.w_avg.numpy()
    assert np.abs(w_avg).max() > 0
    np.testing.assert_array_equal(gan.ema_generator.w_avg.numpy(), w_avg)
    # StyleGAN2's Adam for both networks: lr 0.0025, β (0, 0.99), ε 1e-8.
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        config = optimizer.get_config()
        assert config["learning_rate"] == pytest.approx(0.0025) and (config["beta_1"], config["epsilon"]) == (0.0, 1e-8)
        assert config["beta_2"] == pytest.approx(0.99)
    assert [type(r).__name__ for r in gan.regularizers] == ["R1"] and gan.regularizers[0].interval == 16
    # Lazy R1 was taken on D's first update (iteration 0 is due), and reported.
    assert gan.history.history["r1_penalty"][-1] > 0


def test_w_avg_follows_the_mapping_of_each_discriminator_updates_latents():
    gan = ganzoo.get("stylegan", data_shape=SHAPE, seed=1, style_mixing_probability=0.0, **SMALL)
    gan.compile()
    latents, _ = gan._draw_step_noise(8, seed=tf.constant([4, 0], tf.int64))
    z = latents[0][:, :gan.latent_dim]
    w = np.asarray(gan.generator.mapping(z, training=True))
    expected = w.mean(0) + 0.995 * (0 - w.mean(0))  # from zeros, β = 0.995
    gan._discriminator_update(tf.constant(images(8)), latents[0], tf.zeros([8]))
    np.testing.assert_allclose(gan.generator.w_avg.numpy(), expected, rtol=1e-5, atol=1e-7)


def test_style_mixing_regularisation_crosses_over_where_the_step_noise_says():
    gan = ganzoo.get("stylegan", data_shape=SHAPE, seed=1, **SMALL)
    generator = gan.generator
    rng = np.random.default_rng(0)
    z, z_mix = rng.normal(size=(2, 8)).astype("float32"), rng.normal(size=(2, 8)).astype("float32")
    # Row 0 mixes (u_mix 0.1 < 0.9), crossover 1 + floor(0.5·5) = 3; row 1 does not (u_mix 0.95).
    u = np.array([[0.1, 0.5], [0.95, 0.5]], "float32")
    out = gan._generate(tf.constant(np.concatenate([z, z_mix, u], axis=1)), training=True)
    # Noise strengths start at 0, so training-mode synthesis is deterministic here.
    ws, ws_mix = generator.map(z), generator.map(z_mix)
    expected = generator.synthesize(generator.mix(ws, ws_mix, np.array([3, 6])), training=True)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert not np.allclose(out[0], generator.synthesize(ws, training=True)[0], atol=1e-4)
    np.testing.assert_allclose(out[1], generator.synthesize(ws, training=True)[1], atol=1e-5)
    # The step's latents keep GAN's draws for z and add [z_mix, u] from the same seed.
    latents, _ = gan._draw_step_noise(4, seed=tf.constant([7, 0], tf.int64))
    plain, _ = ganzoo.gan.GAN._draw_step_noise(gan, 4, seed=tf.constant([7, 0], tf.int64))
    assert latents.shape == (2, 4, 2 * 8 + 2)
    np.testing.assert_array_equal(latents[..., :8], plain)
    assert 0 <= float(tf.reduce_min(latents[..., -2:])) and float(tf.reduce_max(latents[..., -2:])) < 1


def test_truncation_psi_zero_gives_the_average_image_for_every_seed(sampled):
    gan = sampled
    average = np.asarray(gan.sampling_generator.synthesize(
        np.tile(gan.sampling_generator.w_avg.numpy()[None, None], [1, 6, 1])))
    for seed in (0, 1, 2):
        np.testing.assert_allclose(gan.generate(3, seed=seed, truncation_psi=0.0), np.repeat(average, 3, 0), atol=1e-5)
    # ψ = 1 through the truncation formula (a cutoff at every layer forces that path) is no truncation,
    # and ψ moves w linearly from the average w (ψ = 0) to the mapped w (ψ = 1).
    np.testing.assert_allclose(gan.generate(3, seed=4, truncation_psi=1.0, truncation_cutoff=6), gan.generate(3, seed=4),
                               atol=1e-5)
    z, network = gan.latents([4, 5]), gan.sampling_generator
    np.testing.assert_allclose(network.map(z, tf.constant(0.5)), (network.map(z, 0.0) + network.map(z, 1.0)) / 2,
                               atol=1e-5)
    np.testing.assert_array_equal(gan.generate(3, seed=4, truncation_psi=np.float32(0.5)),
                                  gan.generate(3, seed=4, truncation_psi=0.5))
    half = gan.generate(3, seed=4, truncation_psi=0.5)
    assert not np.allclose(half, gan.generate(3, seed=4), atol=1e-4)
    # A cutoff truncates the first layers only; cutoff 0 truncates none.
    np.testing.assert_allclose(gan.generate(3, seed=4, truncation_psi=0.0, truncation_cutoff=0), gan.generate(3, seed=4),
                               atol=1e-6)
    with pytest.raises(ValueError, match=r"truncation_cutoff must be None or an integer in \[0, 6\]"):
        gan.generate(2, truncation_cutoff=7)


def test_style_mixing_at_crossover_zero_is_the_second_seeds_image(sampled):
    gan = sampled
    grid = gan.style_mix([1, 2], [3, 4, 5], crossover=0)
    assert grid.shape == (2, 3, *SHAPE)
    for j, seed in enumerate((3, 4, 5)):
        np.testing.assert_allclose(grid[0, j], gan.generate(1, seed=seed)[0], atol=1e-5)
        np.testing.assert_allclose(grid[1, j], gan.generate(1, seed=seed)[0], atol=1e-5)
    # Crossover num_ws: the first seed's image; in between: neither.
    np.testing.assert_allclose(gan.style_mix([1], [3], crossover=6)[0, 0], gan.generate(1, seed=1)[0], atol=1e-5)
    middle = gan.style_mix([1], [3], crossover=3)[0, 0]
    assert not np.allclose(middle, gan.generate(1, seed=1)[0], atol=1e-4)
    assert not np.allclose(middle, gan.generate(1, seed=3)[0], atol=1e-4)
    with pytest.raises(ValueError, match=r"crossover must be an integer in \[0, 6\]"):
        gan.style_mix([1], [3], crossover=7)


def test_interpolation_ends_at_both_seeds_and_slerp_keeps_the_norm(sampled):
    gan = sampled
    for space in ("z", "w"):
        path = gan.interpolate(1, 2, steps=5, space=space)
        assert path.shape == (5, *SHAPE)
        np.testing.assert_allclose(path[0], gan.generate(1, seed=1)[0], atol=1e-5)
        np.testing.assert_allclose(path[-1], gan.generate(1, seed=2)[0], atol=1e-5)
    a, b = np.array([3.0, 0.0]), np.array([0.0, 3.0])  # 90 degrees apart, norm 3
    halfway = slerp(a, b, np.array([[0.5]]))[0]
    np.testing.assert_allclose(halfway, [3 / np.sqrt(2), 3 / np.sqrt(2)])
    with pytest.raises(ValueError, match="space must be 'z'"):
        gan.interpolate(1, 2, space="x")


def cell(picture, row, column, size=SHAPE[0]):
    """One image of an `image_grid` picture (1-pixel gaps), back in [-1, 1]."""
    top, left = row * (size + 1), column * (size + 1)
    return picture[top:top + size, left:left + size].astype("float32") / 255 * 2 - 1


def test_style_mixing_and_truncation_pictures_and_their_cli(sampled, tmp_path, capsys):
    from ganzoo.callbacks import TRUNCATION_STRIP_PSIS, style_mixing_picture, truncation_picture
    from ganzoo.cli import MIXING_GRID, TRUNCATION_ROWS, main

    gan, pixel = sampled, 1 / 127.5 + 1e-6  # a picture holds images clipped to [-1, 1], rounded to uint8
    clip = lambda images: np.clip(images, -1, 1)  # noqa: E731 (StyleGAN's output layer is linear)
    picture = style_mixing_picture(gan, [1, 2], [3, 4, 5], crossover=2)
    assert picture.shape == (3 * 17 - 1, 4 * 17 - 1, 1)
    np.testing.assert_allclose(cell(picture, 0, 0), -1)  # the blank corner
    mixed = gan.style_mix([1, 2], [3, 4, 5], crossover=2)
    for j, seed in enumerate((3, 4, 5)):  # sources on the top row and left column, mixes in between
        np.testing.assert_allclose(cell(picture, 0, 1 + j), clip(gan.generate(1, seed=seed)[0]), atol=pixel)
        for i in range(2):
            np.testing.assert_allclose(cell(picture, 1 + i, 1 + j), clip(mixed[i, j]), atol=pixel)
    for i, seed in enumerate((1, 2)):
        np.testing.assert_allclose(cell(picture, 1 + i, 0), clip(gan.generate(1, seed=seed)[0]), atol=pixel)

    strip = truncation_picture(gan, [7, 8])
    assert strip.shape == (2 * 17 - 1, len(TRUNCATION_STRIP_PSIS) * 17 - 1, 1)
    average = TRUNCATION_STRIP_PSIS.index(0.0)
    np.testing.assert_array_equal(cell(strip, 0, average), cell(strip, 1, average))  # ψ = 0: the average image
    for (row, seed), (column, psi) in itertools.product(enumerate((7, 8)), enumerate(TRUNCATION_STRIP_PSIS)):
        np.testing.assert_allclose(cell(strip, row, column), clip(gan.generate(1, seed=seed, truncation_psi=psi)[0]),
                                   atol=pixel)

    path = str(tmp_path / "stylegan.keras")
    gan.save(path)
    main(["sample", path, "--picture", "style_mixing", "--crossover", "3", "--out", str(tmp_path / "mix.png")])
    main(["sample", path, "--picture", "truncation", "--seed", "5", "--out", str(tmp_path / "strip.png")])
    main(["sample", path, "--truncation-psi", "0", "--num-samples", "4", "--out", str(tmp_path / "avg.png")])
    read = lambda name: tf.io.decode_png(tf.io.read_file(str(tmp_path / name))).numpy()  # noqa: E731
    rows, columns = MIXING_GRID
    np.testing.assert_array_equal(read("mix.png"), style_mixing_picture(
        gan, range(rows), range(rows, rows + columns), crossover=3))
    np.testing.assert_array_equal(read("strip.png"), truncation_picture(gan, range(5, 5 + TRUNCATION_ROWS)))
    averages = read("avg.png")
    np.testing.assert_array_equal(cell(averages, 0, 0), cell(averages, 1, 1))
    refused = {("--picture", "style_mixing", "--crossover", "7"): r"crossover must be an integer in [0, 6]",
               ("--picture", "truncation", "--truncation-psi", "0.5"): "--truncation-psi: not used by --picture",
               ("--picture", "style_mixing", "--num-samples", "9"): "--num-samples: not used by --picture",
               ("--crossover", "2",): "--crossover: not used by --picture samples",
               ("--truncation-psi", "nan"): "--truncation-psi must be a finite number"}
    for options, message in refused.items():
        assert main(["sample", path, *options, "--out", str(tmp_path / "x.png")]) == 2
        assert message in capsys.readouterr().err, options
    assert not os.path.exists(tmp_path / "x.png")


def test_keras_round_trip_keeps_the_ema_generator_w_avg_and_continues_exactly(tmp_path):
    gan = trained(steps=2)
    loaded = check_round_trip(gan, tmp_path / "stylegan.keras")
    np.testing.assert_array_equal(loaded.generator.w_avg.numpy(), gan.generator.w_avg.numpy())
    np.testing.assert_array_equal(loaded.ema_generator.w_avg.numpy(), gan.ema_generator.w_avg.numpy())
    assert loaded.style_mixing_probability == 0.9
    np.testing.assert_allclose(loaded.generate(3, seed=2, truncation_psi=0.5), gan.generate(3, seed=2, truncation_psi=0.5),
                               atol=1e-6)
    more = images(16, seed=5)
    for model in (gan, loaded):
        model.fit(more, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(gan.weights, loaded.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6, err_msg=a.path)


def test_builder_refuses_what_stylegan_cannot_generate():
    with pytest.raises(ValueError, match="square images"):
        ganzoo.get("stylegan", data_shape=(2,))
    with pytest.raises(ValueError, match="power of two"):
        ganzoo.get("stylegan", data_shape=(28, 28, 1), **SMALL)
    with pytest.raises(ValueError, match="style_mixing_probability"):
        ganzoo.get("stylegan", data_shape=SHAPE, style_mixing_probability=1.5, **SMALL)


@needs_fashion_mnist
def test_fashion_mnist_padded_to_32_and_scored_at_its_centre():
    from ganzoo import features

    padded = next(iter(ganzoo.data.load("fashion_mnist", batch_size=4, shuffle=False, pad_to=32))).numpy()
    plain = next(iter(ganzoo.data.load("fashion_mnist", batch_size=4, shuffle=False))).numpy()
    assert padded.shape == (4, 32, 32, 1)
    np.testing.assert_array_equal(padded[:, 2:30, 2:30], plain)
    assert (padded[:, :2] == -1).all() and (padded[:, :, 30:] == -1).all()
    classifier = features.FashionMNISTClassifier()
    np.testing.assert_allclose(classifier.features(padded), classifier.features(plain), atol=1e-5)
    with pytest.raises(ValueError, match="pad_to pads Fashion-MNIST"):
        ganzoo.data.load("ring8", pad_to=32)


def test_ganzoo_train_runs_the_stylegan_config(tmp_path):
    from ganzoo import config, training

    experiment = config.load("stylegan_fashion_mnist", [
        "model.latent_dim=8", "model.w_dim=8", "model.mapping_layers=2", "model.channel_base=64", "model.channel_max=8",
        "train.epochs=1", "train.steps_per_epoch=2", "train.verbose=0", "train.precision=float32",
        "train.num_sample_images=4", "train.diagnostics=false"])  # diagnostics: test_diagnostics.py
    gan = training.train(experiment, str(tmp_path / "run"))
    assert isinstance(gan, StyleGAN) and gan.data_shape == (32, 32, 1) and int(gan.g_optimizer.iterations) == 2
    assert isinstance(keras.models.load_model(tmp_path / "run" / "model.keras"), StyleGAN)
