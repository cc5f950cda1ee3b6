"""CycleGAN: the networks' shapes and sizes, the losses and the image pool by hand, training with
fit, .keras round trips that continue exactly, the linear decay, and the unpaired datasets."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo import cyclegan_networks, unpaired_data
from ganzoo.data import fashion_mnist_arrays
from ganzoo.models.cyclegan import LOG_NAMES, OPTIMIZER_NAMES, CycleGAN, LinearDecayAfter
from zoo_checks import needs_fashion_mnist, weights_of

TINY = {"filters": 4, "num_residual_blocks": 1, "discriminator_layers": 2}


def unpaired_arrays(shape, count, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.uniform(-1, 1, (count, *shape)).astype("float32") for _ in range(2))


# ------------------------------------------------------------------------------ networks
@pytest.mark.parametrize("shape,layers,patches", [((28, 28, 1), 2, 5), ((28, 28, 1), 3, 1), ((16, 16, 3), 2, 2)])
def test_generator_keeps_the_shape_and_the_discriminator_gives_a_patch_map(shape, layers, patches):
    generator = cyclegan_networks.resnet_generator(shape, filters=4, num_residual_blocks=2)
    discriminator = cyclegan_networks.patchgan_discriminator(shape, filters=4, num_layers=layers)
    images = np.random.default_rng(0).uniform(-1, 1, (3, *shape)).astype("float32")
    translated = generator(images)
    assert translated.shape == (3, *shape)
    assert float(tf.reduce_max(tf.abs(translated))) <= 1.0
    assert discriminator(images).shape == (3, patches, patches, 1)
    assert cyclegan_networks.patch_map_size(shape[0], layers) == patches


def test_networks_at_256_have_the_authors_parameter_counts():
    # pytorch-CycleGAN-and-pix2pix prints "Total number of parameters: 11.378 M" (resnet_9blocks)
    # and "2.765 M" (basic, n_layers 3) for 3-channel images; instance norm has no parameters.
    generator = cyclegan_networks.resnet_generator((256, 256, 3))
    discriminator = cyclegan_networks.patchgan_discriminator((256, 256, 3))
    assert generator.count_params() == 11_378_179
    assert discriminator.count_params() == 2_764_737
    assert discriminator.output_shape == (None, 30, 30, 1)
    norms = [layer for layer in generator.layers if isinstance(layer, keras.layers.GroupNormalization)]
    assert norms and all(layer.groups == layer.input.shape[-1] and not layer.weights for layer in norms)  # one per channel


def test_sizes_the_networks_cannot_serve_are_refused_clearly():
    with pytest.raises(ValueError, match="divisible by 8.*28x28"):
        cyclegan_networks.resnet_generator((28, 28, 1), num_downsampling=3)
    with pytest.raises(ValueError, match="divisible by 4"):
        cyclegan_networks.resnet_generator((30, 30, 1))
    with pytest.raises(ValueError, match=r"empty patch map.*num_layers <= 2"):
        cyclegan_networks.patchgan_discriminator((16, 16, 1), num_layers=3)
    with pytest.raises(ValueError, match="height, width, channels"):
        cyclegan_networks.resnet_generator((28, 28))
    with pytest.raises(ValueError, match="CycleGAN translates images"):
        ganzoo.get("cyclegan", data_shape=(2,))


def test_reflection_padding_matches_numpy_and_serializes():
    layer = cyclegan_networks.ReflectionPadding2D(2)
    images = np.arange(2 * 4 * 5 * 3, dtype="float32").reshape(2, 4, 5, 3)
    expected = np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="reflect")
    np.testing.assert_array_equal(layer(images), expected)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is cyclegan_networks.ReflectionPadding2D and restored.padding == 2
    with pytest.raises(ValueError, match="Reflection padding by 2 needs images wider"):
        cyclegan_networks.ReflectionPadding2D(2)(keras.Input((2, 5, 1)))


# -------------------------------------------------------------------------------- losses
def affine_model(shape, scale, offset, name):
    """x -> scale * x + offset: networks whose outputs are known by hand (and without weights)."""
    return keras.Sequential([keras.Input(shape), keras.layers.Rescaling(scale, offset)], name=name)


def hand_model(pool_size=4, identity_weight=0.5, seed=0, shape=(2, 2, 1)):
    """G_AB(x) = 2x, G_BA(x) = x + 0.5, and discriminators whose patch map is the image itself."""
    return CycleGAN(affine_model(shape, 2.0, 0.0, "g_ab"), affine_model(shape, 1.0, 0.5, "g_ba"),
                    affine_model(shape, 1.0, 0.0, "d_a"), affine_model(shape, 1.0, 0.0, "d_b"),
                    cycle_weight=10.0, identity_weight=identity_weight, pool_size=pool_size, seed=seed)


def hand_losses(a, b, lam=10.0, identity_weight=0.5):
    fake_b, fake_a = 2 * a, b + 0.5
    cycled_a, cycled_b = fake_b + 0.5, 2 * fake_a
    adv_ab, adv_ba = np.mean((fake_b - 1) ** 2), np.mean((fake_a - 1) ** 2)
    cycle = lam * (np.mean(np.abs(cycled_a - a)) + np.mean(np.abs(cycled_b - b)))
    identity = identity_weight * lam * (np.mean(np.abs(2 * b - b)) + np.mean(np.abs(a + 0.5 - a)))
    return {"adv_ab_loss": adv_ab, "adv_ba_loss": adv_ba, "cycle_loss": cycle, "identity_loss": identity,
            "g_loss": adv_ab + adv_ba + cycle + identity,
            "d_a_loss": 0.5 * (np.mean((a - 1) ** 2) + np.mean(fake_a ** 2)),
            "d_b_loss": 0.5 * (np.mean((b - 1) ** 2) + np.mean(fake_b ** 2))}


def test_losses_by_hand():
    a, b = unpaired_arrays((2, 2, 1), 3, seed=1)
    expected = hand_losses(a, b)
    gan = hand_model()
    losses, fake_a, fake_b = gan.generator_losses(a, b)
    for name in ("adv_ab_loss", "adv_ba_loss", "cycle_loss", "identity_loss", "g_loss"):
        np.testing.assert_allclose(float(losses[name]), expected[name], rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(float(gan.discriminator_loss(gan.discriminator_a, a, fake_a)), expected["d_a_loss"],
                               rtol=1e-5)
    np.testing.assert_allclose(float(gan.discriminator_loss(gan.discriminator_b, b, fake_b)), expected["d_b_loss"],
                               rtol=1e-5)
    # The first train step reports them too: its discriminators see the new fakes, the pool filling up.
    gan.compile()
    logs = gan.train_step((tf.constant(a), tf.constant(b)))
    assert set(logs) == set(LOG_NAMES)
    for name, value in expected.items():
        np.testing.assert_allclose(float(logs[name]), value, rtol=1e-5, err_msg=name)
    assert all(int(getattr(gan, name).iterations) == 1 for name in OPTIMIZER_NAMES)
    # identity_weight=0 turns the identity term off.
    no_identity, _, _ = hand_model(identity_weight=0.0).generator_losses(a, b)
    assert float(no_identity["identity_loss"]) == 0.0
    np.testing.assert_allclose(float(no_identity["g_loss"]), expected["g_loss"] - expected["identity_loss"], rtol=1e-5)


def test_identity_loss_is_left_out_when_the_domains_differ_in_channels():
    with pytest.warns(UserWarning, match="identity loss"):
        gan = CycleGAN(cyclegan_networks.resnet_generator((4, 4, 1), 2, 0, 1, output_channels=3, name="g_ab"),
                       cyclegan_networks.resnet_generator((4, 4, 3), 2, 0, 1, output_channels=1, name="g_ba"),
                       affine_model((4, 4, 1), 1.0, 0.0, "d_a"), affine_model((4, 4, 3), 1.0, 0.0, "d_b"))
    assert not gan.uses_identity and (gan.shape_a, gan.shape_b) == ((4, 4, 1), (4, 4, 3))
    a, b = np.zeros((1, 4, 4, 1), "float32"), np.zeros((1, 4, 4, 3), "float32")
    assert float(gan.generator_losses(a, b)[0]["identity_loss"]) == 0.0
    with pytest.raises(ValueError, match="does not fit the domains"):
        CycleGAN(affine_model((4, 4, 1), 1.0, 0.0, "g_ab"), affine_model((4, 4, 1), 1.0, 0.0, "g_ba"),
                 affine_model((4, 4, 1), 1.0, 0.0, "d_a"), affine_model((4, 4, 3), 1.0, 0.0, "d_b"))


# ---------------------------------------------------------------------------- image pool
def query(gan, values):
    """Queries pool A with 1x1 images of the given values; returns the values shown."""
    images = np.asarray(values, "float32").reshape(-1, 1, 1, 1)
    shown = gan.query_pool("a", tf.constant(images)).numpy().reshape(-1)
    gan.pool_step.assign_add(1)
    return shown


def pool_contents(gan):
    return gan.pool_a.numpy().reshape(-1)[:int(gan.pool_a_count)]


def test_image_pool_by_hand():
    gan = hand_model(pool_size=3, seed=5, shape=(1, 1, 1))
    # Filling: every image is stored and shown, within a batch too; the 4th finds the pool full.
    shown = query(gan, [1, 2, 3, 4])
    np.testing.assert_array_equal(shown[:3], [1, 2, 3])
    assert int(gan.pool_a_count) == 3
    stored = list(pool_contents(gan))
    if shown[3] == 4:  # shown itself: the pool keeps 1, 2, 3
        assert sorted(stored) == [1, 2, 3]
    else:  # swapped: a stored image is shown, and 4 takes its place
        assert shown[3] in (1, 2, 3) and sorted(stored + [shown[3]]) == [1, 2, 3, 4]
    # Full: each image is shown itself (pool unchanged) or swapped for a stored one, which it replaces.
    swaps, value = 0, 5
    for _ in range(40):
        batch = [value, value + 1]
        before = list(pool_contents(gan))
        shown = query(gan, batch)
        after = list(pool_contents(gan))
        pool = list(before)
        for new, out in zip(batch, shown):
            if out == new:
                continue
            assert out in pool, f"shown {out}, neither the new image {new} nor a stored one {pool}"
            pool[pool.index(out)] = new
            swaps += 1
        assert sorted(after) == sorted(pool)
        value += 2
    assert int(gan.pool_a_count) == 3
    assert 20 <= swaps <= 60  # p = 1/2 over 80 images
    # The pool of domain B is left alone.
    assert int(gan.pool_b_count) == 0


def test_image_pool_is_deterministic_given_the_seed():
    def shown_sequence(seed):
        gan = hand_model(pool_size=2, seed=seed, shape=(1, 1, 1))
        return np.concatenate([query(gan, [3 * i, 3 * i + 1, 3 * i + 2]) for i in range(10)])

    np.testing.assert_array_equal(shown_sequence(7), shown_sequence(7))
    assert not np.array_equal(shown_sequence(7), shown_sequence(8))
    no_pool = hand_model(pool_size=0, shape=(1, 1, 1))
    np.testing.assert_array_equal(query(no_pool, [1, 2, 3]), [1, 2, 3])


# ----------------------------------------------------------------- training and saving
@needs_fashion_mnist
def test_fit_round_trip_and_continuing_exactly(tmp_path):
    gan = ganzoo.get("cyclegan", data_shape=(28, 28, 1), pool_size=3, seed=2, **TINY)
    gan.compile(total_steps=6)
    data = unpaired_data.fashion_mnist_pair("Sneaker", "Ankle boot", batch_size=2, shuffle=False).take(3)
    before = {name: weights_of(getattr(gan, name)) for name in ("generator_ab", "generator_ba", "discriminator_a",
                                                                 "discriminator_b")}
    history = gan.fit(data, epochs=1, verbose=0)
    assert set(history.history) == set(LOG_NAMES)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    for name in OPTIMIZER_NAMES:
        assert int(getattr(gan, name).iterations) == 3, name
    for name, weights in before.items():
        assert any(not np.allclose(b, a) for b, a in zip(weights, weights_of(getattr(gan, name)))), name
    assert (int(gan.pool_a_count), int(gan.pool_b_count), int(gan.pool_step)) == (3, 3, 3)

    path = str(tmp_path / "cyclegan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is CycleGAN
    nested = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")
    hyperparameters = lambda m: {k: v for k, v in m.get_config().items() if k not in nested}  # noqa: E731
    assert hyperparameters(loaded) == hyperparameters(gan)
    assert [w.path for w in loaded.weights] == [w.path for w in gan.weights]
    for a, b in zip(weights_of(gan), weights_of(loaded)):  # the networks, the pools and their counters
        np.testing.assert_array_equal(a, b)
    for name in OPTIMIZER_NAMES:
        original, restored = getattr(gan, name), getattr(loaded, name)
        assert isinstance(restored.learning_rate, tf.Tensor) and isinstance(restored._learning_rate, LinearDecayAfter)
        assert int(restored.iterations) == 3
        for a, b in zip(original.variables, restored.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    images = np.asarray(next(iter(data))[0])
    np.testing.assert_allclose(loaded.translate(images), gan.translate(images), atol=1e-6)
    np.testing.assert_allclose(loaded.translate(images, "b_to_a"), gan.translate(images, "b_to_a"), atol=1e-6)

    # Both continue alike: the same two steps give the same weights, pools and optimiser state.
    more = unpaired_data.fashion_mnist_pair("Sneaker", "Ankle boot", batch_size=2, shuffle=False).skip(3).take(2)
    gan.fit(more, verbose=0)
    loaded.fit(more, verbose=0)
    for a, b in zip(weights_of(gan), weights_of(loaded)):
        np.testing.assert_array_equal(a, b)
    for name in OPTIMIZER_NAMES:
        assert int(getattr(loaded, name).iterations) == 5
        for a, b in zip(getattr(gan, name).variables, getattr(loaded, name).variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_translate_call_and_evaluate():
    gan = ganzoo.get("cyclegan", data_shape=(16, 16, 3), seed=0, **TINY)
    a, b = unpaired_arrays((16, 16, 3), 5)
    translated = gan.translate(a, batch_size=2)
    assert translated.shape == (5, 16, 16, 3) and translated.dtype == np.float32
    assert np.abs(translated).max() <= 1.0
    np.testing.assert_allclose(translated, gan(a).numpy(), atol=1e-5)
    np.testing.assert_allclose(gan.translate(b, "b_to_a"), gan.generator_ba(b).numpy(), atol=1e-5)
    assert gan.translate(a[0]).shape == (1, 16, 16, 3)  # one image
    assert gan.translate((a * 127.5 + 127.5).astype("uint8")).shape == (5, 16, 16, 3)
    with pytest.raises(ValueError, match="direction"):
        gan.translate(a, "forward")
    with pytest.raises(ValueError, match=r"translates images of shape \(16, 16, 3\)"):
        gan.translate(a[:, :8])
    gan.compile()
    logs = gan.evaluate(tf.data.Dataset.from_tensor_slices((a, b)).batch(5), verbose=0, return_dict=True)
    assert set(logs) == set(LOG_NAMES) and all(np.isfinite(v) for v in logs.values())
    with pytest.raises(ValueError, match="takes domain A images of shape"):
        gan.fit(tf.data.Dataset.from_tensor_slices((a[:, :8, :8], b[:, :8, :8])).batch(5), verbose=0)


def test_presets_full_and_generator_only_translate_as_the_original(tmp_path):
    gan = ganzoo.get("cyclegan", data_shape=(16, 16, 3), seed=0, **TINY)
    gan.compile()
    a, b = unpaired_arrays((16, 16, 3), 4)
    gan.fit(a, b, batch_size=2, verbose=0)  # pools and optimisers move: a full preset keeps the pools
    sizes = {}
    for generator_only in (False, True):
        folder = gan.save_to_preset(str(tmp_path / f"p{generator_only}"), generator_only=generator_only)
        sizes[generator_only] = os.path.getsize(os.path.join(folder, "model.weights.h5"))
        loaded = ganzoo.load_preset(folder)
        assert type(loaded) is CycleGAN and loaded.preset_metadata["contents"] == ("generator" if generator_only
                                                                                     else "gan")
        np.testing.assert_allclose(loaded.translate(a), gan.translate(a), atol=1e-6)
        np.testing.assert_allclose(loaded.translate(b, "b_to_a"), gan.translate(b, "b_to_a"), atol=1e-6)
        if not generator_only:
            for original, restored in zip(weights_of(gan), weights_of(loaded)):  # discriminators and pools too
                np.testing.assert_array_equal(original, restored)
    assert sizes[True] < sizes[False]
    loaded.compile()
    with pytest.raises(ValueError, match="generator-only preset"):
        loaded.fit(a, b, batch_size=2, verbose=0)
    loaded.save(str(tmp_path / "copy.keras"))  # a saved copy still knows its discriminators are untrained
    with pytest.raises(ValueError, match="generator-only preset"):
        keras.saving.load_model(str(tmp_path / "copy.keras")).fit(a, b, batch_size=2, verbose=0)

    # The preset keys the generators by role, not name: two networks both called "resnet_generator".
    shape = (16, 16, 3)
    same_names = CycleGAN(*[cyclegan_networks.resnet_generator(shape, filters=4, num_residual_blocks=1)
                            for _ in range(2)],
                          *[cyclegan_networks.patchgan_discriminator(shape, filters=4, num_layers=2) for _ in range(2)],
                          seed=0)
    assert same_names.generator_ab.name == same_names.generator_ba.name
    loaded = ganzoo.load_preset(same_names.save_to_preset(str(tmp_path / "same"), generator_only=True))
    np.testing.assert_allclose(loaded.translate(a), same_names.translate(a), atol=1e-6)
    np.testing.assert_allclose(loaded.translate(b, "b_to_a"), same_names.translate(b, "b_to_a"), atol=1e-6)


def test_each_optimiser_scales_its_own_loss_under_loss_scaling():
    # Four scales, all different: a gradient scaled by one optimiser and unscaled by another would
    # be off by a power of 2. One SGD step so wrapped equals the step without loss scaling.
    data = tf.data.Dataset.from_tensors(unpaired_arrays((16, 16, 1), 2))

    def one_step(scales):
        keras.utils.set_random_seed(0)  # the same initial weights
        gan = ganzoo.get("cyclegan", data_shape=(16, 16, 1), seed=0, **TINY)
        optimizers = [keras.optimizers.SGD(0.1) for _ in OPTIMIZER_NAMES]
        if scales:
            optimizers = [keras.optimizers.LossScaleOptimizer(o, initial_scale=s) for o, s in zip(optimizers, scales)]
        gan.compile(*optimizers)
        gan.fit(data, epochs=1, verbose=0)
        return weights_of(gan)

    for scaled, plain in zip(one_step([2.0 ** 4, 2.0 ** 8, 2.0 ** 6, 2.0 ** 10]), one_step(None)):
        np.testing.assert_allclose(scaled, plain, rtol=1e-5, atol=1e-7)


def test_mixed_float16_trains_with_four_loss_scaled_optimisers():
    gan = ganzoo.get("cyclegan", data_shape=(16, 16, 1), seed=0, precision="mixed_float16", **TINY)
    gan.compile()
    # Steps whose float16 gradients overflow at the initial scale (2^15) are skipped, halving it.
    history = gan.fit(tf.data.Dataset.from_tensors(unpaired_arrays((16, 16, 1), 2)).repeat(6), epochs=1, verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    for name in OPTIMIZER_NAMES:
        optimizer = getattr(gan, name)
        skipped = np.log2(optimizer.initial_scale / float(optimizer.dynamic_scale))
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer), name
        assert int(optimizer.iterations) > 0 and int(optimizer.iterations) + skipped == 6, (
            name, int(optimizer.iterations), skipped)
    assert gan.translate(unpaired_arrays((16, 16, 1), 2)[0]).dtype == np.float32


def test_compile_defaults_and_given_optimizers():
    gan = ganzoo.get("cyclegan", data_shape=(16, 16, 1), seed=0, **TINY)
    gan.compile()
    optimizers = [getattr(gan, name) for name in OPTIMIZER_NAMES]
    assert len({id(o) for o in optimizers}) == 4
    for optimizer in optimizers:
        assert isinstance(optimizer, keras.optimizers.Adam)
        np.testing.assert_allclose(float(optimizer.learning_rate), 2e-4)
        assert optimizer.beta_1 == 0.5
    gan.compile(total_steps=100)
    schedule = gan.g_ab_optimizer._learning_rate
    assert isinstance(schedule, LinearDecayAfter) and (schedule.total_steps, schedule.decay_start) == (100, 50)
    gan.compile(d_a_optimizer=keras.optimizers.SGD(0.1), total_steps=10, decay_start=2)
    assert isinstance(gan.d_a_optimizer, keras.optimizers.SGD)
    assert gan.d_b_optimizer._learning_rate.decay_start == 2
    same = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="four instances"):
        gan.compile(g_ab_optimizer=same, g_ba_optimizer=same)
    with pytest.raises(ValueError, match="decay_start needs total_steps"):
        gan.compile(decay_start=3)


def test_linear_decay_after_by_hand_and_serialized():
    schedule = LinearDecayAfter(1e-3, total_steps=10, decay_start=4)
    rates = [float(schedule(step)) for step in (0, 3, 4, 5, 7, 9, 10, 12)]
    # Constant to step 4, then 1e-3 * (10 - step) / 6, 0 from step 10.
    np.testing.assert_allclose(rates, [1e-3, 1e-3, 1e-3, 1e-3 * 5 / 6, 5e-4, 1e-3 / 6, 0.0, 0.0], rtol=1e-6, atol=1e-12)
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert type(restored) is LinearDecayAfter and restored.get_config() == schedule.get_config()
    optimizer = keras.optimizers.deserialize(keras.optimizers.serialize(keras.optimizers.Adam(schedule)))
    assert optimizer._learning_rate.get_config() == schedule.get_config()
    for bad, match in (({"decay_start": 10}, "decay_start"), ({"total_steps": 0}, "total_steps")):
        with pytest.raises(ValueError, match=match):
            LinearDecayAfter(**{"initial_learning_rate": 1e-3, "total_steps": 10, "decay_start": 4, **bad})


# --------------------------------------------------------------------------- unpaired data
@needs_fashion_mnist
def test_fashion_mnist_pair_gives_the_two_classes_only():
    images, labels = fashion_mnist_arrays("train")
    keys = {label: {image.tobytes() for image in images[labels == label]} for label in (7, 9)}
    dataset = unpaired_data.fashion_mnist_pair("Sneaker", "9", batch_size=4, seed=3)
    assert dataset.cardinality() == 6000 // 4  # 6,000 images in each class
    for batch_a, batch_b in dataset.take(5):
        assert batch_a.shape == batch_b.shape == (4, 28, 28, 1)
        assert float(tf.reduce_min(batch_a)) >= -1 and float(tf.reduce_max(batch_a)) <= 1
        for batch, label in ((batch_a, 7), (batch_b, 9)):
            as_uint8 = np.round((batch.numpy()[..., 0] + 1) * 127.5).astype("uint8")
            assert all(image.tobytes() in keys[label] for image in as_uint8)
    resized = unpaired_data.fashion_mnist_pair(batch_size=2, image_size=32, channels=3)
    assert resized.element_spec[0].shape == (2, 32, 32, 3)


def write_pngs(folder, count, size, channels=1, seed=0):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        image = rng.integers(0, 256, (*size, channels), dtype=np.uint8)
        tf.io.write_file(os.path.join(folder, f"{i}.png"), tf.io.encode_png(image))
    return str(folder)


def test_folder_domains(tmp_path):
    horses = write_pngs(tmp_path / "horses", 3, (8, 8), channels=3)
    zebras = write_pngs(tmp_path / "zebras", 5, (8, 8), channels=3, seed=1)
    dataset = unpaired_data.load_unpaired(horses, zebras, batch_size=1, seed=0)
    pairs = list(dataset)
    assert len(pairs) == 5  # the larger domain's size; the smaller repeats
    assert pairs[0][0].shape == (1, 8, 8, 3)
    seen_a = {np.asarray(a).tobytes() for a, _ in pairs}
    seen_b = {np.asarray(b).tobytes() for _, b in pairs}
    assert len(seen_a) == 3 and len(seen_b) == 5
    shorter = unpaired_data.load_unpaired(horses, zebras, batch_size=1, epoch_length="min")
    assert len(list(shorter)) == 3
    grey = write_pngs(tmp_path / "grey", 2, (8, 8), channels=1)
    assert unpaired_data.load_unpaired(grey, horses, batch_size=2).element_spec[0].shape == (2, 8, 8, 1)
    mixed = write_pngs(tmp_path / "mixed", 2, (8, 8))
    write_pngs(tmp_path / "mixed_other", 1, (6, 10))
    os.replace(tmp_path / "mixed_other" / "0.png", tmp_path / "mixed" / "odd.png")
    with pytest.raises(ValueError, match=r"differ in size \(6x10, 8x8.*image_size="):
        unpaired_data.load_unpaired(mixed, horses)
    resized = unpaired_data.load_unpaired(mixed, horses, image_size=(4, 4), channels=3, batch_size=3)
    assert [tuple(a.shape) for a, _ in resized] == [(3, 4, 4, 3)]
    os.makedirs(tmp_path / "empty")
    with pytest.raises(ValueError, match="holds no PNG or JPEG images"):
        unpaired_data.load_unpaired(str(tmp_path / "empty"), horses)
    with pytest.raises(ValueError, match="not a folder"):
        unpaired_data.load_unpaired(str(tmp_path / "missing"), horses)


def test_tfds_cycle_gan_domains_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=4):
        dataset = unpaired_data.load_unpaired(tfds_name="cycle_gan/horse2zebra", batch_size=2, image_size=16)
        batches = list(dataset)
        assert len(batches) == 2 and batches[0][0].shape == batches[0][1].shape == (2, 16, 16, 3)
        same = unpaired_data.load_unpaired("tfds:cycle_gan/horse2zebra:testA", "tfds:cycle_gan/horse2zebra:testB",
                                           image_size=16)
        assert same.element_spec[1].shape == (1, 16, 16, 3)
        # Mock images vary in size (the real ones are all 256x256): without image_size, the first mismatch says so.
        with pytest.raises(tf.errors.InvalidArgumentError, match="differ in size.*image_size"):
            list(unpaired_data.load_unpaired(tfds_name="cycle_gan/horse2zebra"))
    with pytest.raises(ValueError, match="'train' or 'test'"):
        unpaired_data.load_unpaired(tfds_name="cycle_gan/horse2zebra", split="trainA")


def test_unpaired_data_errors():
    with pytest.raises(ValueError, match=r"Unknown Fashion-MNIST class 'Sneakers'.*7 'Sneaker'"):
        unpaired_data.fashion_mnist_pair("Sneakers", "Ankle boot")
    with pytest.raises(ValueError, match="needs two domains"):
        unpaired_data.load_unpaired("fashion_mnist:1")
    with pytest.raises(ValueError, match="tfds:NAME:SPLIT"):
        unpaired_data.load_unpaired("tfds:mnist", "fashion_mnist:1")
    with pytest.raises(ValueError, match="batch_size"):
        unpaired_data.fashion_mnist_pair(batch_size=0)
    with pytest.raises(ValueError, match="no minibatch"):
        unpaired_data.fashion_mnist_pair(batch_size=7000)


# ------------------------------------------------------------- ganzoo train, evaluate, sample, export
TRANSLATE_WITH_TENSORFLOW_ALONE = """
import json, sys
import numpy as np
import tensorflow as tf

path, images = sys.argv[1], np.load(sys.argv[2])
loaded = tf.saved_model.load(path)
out = {"signatures": sorted(loaded.signatures)}
for direction in ("translate_a_to_b", "translate_b_to_a"):
    out[direction] = loaded.signatures[direction](images=tf.constant(images))["images"].numpy().tolist()
    pngs = tf.stack([tf.io.encode_png(tf.cast(tf.round(image * 255), tf.uint8)) for image in images])
    decoded = [tf.io.decode_png(p).numpy() for p in loaded.signatures[direction + "_png"](images_bytes=pngs)["images_bytes"].numpy()]
    out[direction + "_png"] = (np.stack(decoded) / 255.0).tolist()
# TF Serving's path: the TF1 session loader runs the translation by tensor names.
with tf.Graph().as_default(), tf.compat.v1.Session() as session:
    signature = tf.compat.v1.saved_model.loader.load(session, ["serve"], path).signature_def["translate_b_to_a"]
    out["session_b_to_a"] = session.run(signature.outputs["images"].name, {signature.inputs["images"].name: images}).tolist()
print(json.dumps(out))
"""


@needs_fashion_mnist
def test_ganzoo_train_evaluate_sample_and_export_the_cyclegan_config(tmp_path, capsys, fid_home):
    import json

    from ganzoo import cli, config, evaluation, training
    from zoo_checks import run_tensorflow_only

    experiment = config.load("cyclegan_fashion_mnist", [
        "model.filters=4", "model.num_residual_blocks=1", "train.epochs=1", "train.steps_per_epoch=2",
        "train.verbose=0", "train.num_sample_images=3"])
    run = tmp_path / "run"
    gan = training.train(experiment, str(run))
    assert isinstance(gan, CycleGAN) and all(int(getattr(gan, name).iterations) == 2 for name in OPTIMIZER_NAMES)
    # The linear decay is sized from the run: 2 steps, decaying over the second.
    assert gan.get_compile_config()["g_ab_optimizer"]["config"]["learning_rate"]["config"]["total_steps"] == 2
    assert (run / "samples" / "epoch_001.png").exists()

    # Continued with more epochs, a finished run stretches its decay and trains on (not at lr 0).
    before = [w.numpy().copy() for w in gan.generator_ab.weights]
    experiment["train"]["epochs"] = 2
    gan = training.train(experiment, str(run))
    assert int(gan.g_ab_optimizer.iterations) == 4
    assert gan.get_compile_config()["g_ab_optimizer"]["config"]["learning_rate"]["config"]["total_steps"] == 4
    assert max(np.abs(w.numpy() - b).max() for w, b in zip(gan.generator_ab.weights, before)) > 0

    # Evaluation on the two classes' test images, both ways, against hand-computed figures on 20 of them.
    result = evaluation.translation_scores(gan, experiment["data"], num_samples=20, metric_names=["fid"])
    sneakers = unpaired_data.domain_images("fashion_mnist:Sneaker", "test")[0].take(20).batch(20)
    a = next(iter(sneakers)).numpy().astype("float32") / 127.5 - 1
    np.testing.assert_allclose(result["cycle_error_a"], np.mean(np.abs(gan.translate(gan.translate(a), "b_to_a") - a)),
                               rtol=1e-5)
    assert 0 <= result["target_accuracy_a_to_b"] <= 1 and result["frechet_classifier_distance_b_to_a"] > 0
    assert result["fid_a_to_b"] > 0 and result["fid_b_to_a"] > 0 and "kid_a_to_b" not in result

    # ganzoo sample: 4 rows (A, A->B, B, B->A) of 3 test images.
    assert cli.main(["sample", str(run), "--num-samples", "3", "--out", str(tmp_path / "t.png")]) == 0
    picture = tf.io.decode_png(tf.io.read_file(str(tmp_path / "t.png"))).numpy()
    assert picture.shape == (4 * 29 - 1, 3 * 29 - 1, 1)

    # ganzoo export: translate_a_to_b / translate_b_to_a and their PNG variants, with TensorFlow alone.
    assert cli.main(["export", str(run), "--out", str(tmp_path / "exports")]) == 0
    version = tmp_path / "exports" / "run" / "1"
    metadata = json.loads((version / "assets.extra" / "ganzoo_metadata.json").read_text())
    assert metadata["domains"] == {"a": "fashion_mnist:Sneaker", "b": "fashion_mnist:Ankle boot"}
    images = np.random.default_rng(0).uniform(0, 1, (2, 28, 28, 1)).astype("float32")
    np.save(tmp_path / "images.npy", images)
    out = json.loads(run_tensorflow_only(TRANSLATE_WITH_TENSORFLOW_ALONE, str(version),
                                         str(tmp_path / "images.npy")).stdout.strip().splitlines()[-1])
    assert out["signatures"] == ["serving_default", "translate_a_to_b", "translate_a_to_b_png", "translate_b_to_a",
                                 "translate_b_to_a_png"]
    for direction, key in (("a_to_b", "translate_a_to_b"), ("b_to_a", "translate_b_to_a")):
        to_unit = lambda x: np.clip((gan.translate(x * 2 - 1, direction) + 1) / 2, 0, 1)  # noqa: E731
        np.testing.assert_allclose(out[key], to_unit(images), atol=1e-5)
        # The PNG variant: 8-bit inputs in, the translation rounded to 8 bits out.
        np.testing.assert_allclose(out[key + "_png"], to_unit(np.round(images * 255) / 255), atol=0.5 / 255 + 1e-5)
    np.testing.assert_allclose(out["session_b_to_a"], out["translate_b_to_a"], atol=1e-6)

    # tools/make_preset.py: a generator-only preset with the four optimisers' counts, the scores'
    # headline, and reference translations of the first test images that the loaded preset gives.
    tool = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "make_preset.py")
    printed = subprocess.run([sys.executable, tool, str(run), "--name", "tiny", "--generator_only", "--out",
                              str(tmp_path / "presets"), "--metrics="], check=True, capture_output=True, text=True).stdout
    entry = json.loads(printed[printed.rindex("\n{") + 1:])["tiny"]  # the index entry, printed last
    assert entry["metric"].startswith("target-class accuracy") and "cycle error" in entry["metric"]
    loaded = ganzoo.load_preset(str(tmp_path / "presets" / "tiny.tar.gz"))
    assert {k: v for k, v in loaded.preset_metadata["training"].items() if k.endswith("_steps")} == {
        "g_ab_steps": 4, "g_ba_steps": 4, "d_a_steps": 4, "d_b_steps": 4}
    reference = loaded.preset_metadata["reference_samples"]
    inputs_a = np.array(reference["inputs_a"], np.uint8)
    np.testing.assert_allclose(inputs_a / 127.5 - 1, a[:4], atol=1e-6)  # the first test sneakers
    for source, direction in (("inputs_a", "a_to_b"), ("inputs_b", "b_to_a")):
        inputs = np.array(reference[source], np.uint8)
        np.testing.assert_allclose(loaded.translate(inputs, direction), reference[direction], atol=2e-4)
        np.testing.assert_allclose(gan.translate(inputs, direction), reference[direction], atol=2e-4)
    assert cli.main(["presets", "show", str(tmp_path / "presets" / "tiny.tar.gz")]) == 0
    assert "translations of 4 test images per domain" in capsys.readouterr().out
