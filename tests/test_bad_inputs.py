"""Bad input gets a clear error naming the problem (and nothing half-written), or, where its
meaning is unambiguous, is accepted and does what it says. One test per case."""

import json
import os
import re

import keras
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


# -------------------------------------------------------------------- configs and the CLI
TRAIN = ["train", "--config", "vanilla_gan_ring8"]


@pytest.mark.parametrize("override, message", [
    ("train.steps_per_epoch=-5", "train.steps_per_epoch must be a positive integer, or None"),
    ("train.epochs=-1", "train.epochs must be a positive integer; got -1"),
    ("train.epochs=abc", "train.epochs must be a positive integer; got 'abc'"),
    ("train.epochs=1.5", "train.epochs must be a positive integer; got 1.5"),
    ("data.batch_size=0", "data.batch_size must be a positive integer; got 0"),
    ("train.num_sample_images=0", "train.num_sample_images must be a positive integer; got 0"),
    ("train.checkpoint_every=0", "train.checkpoint_every must be a positive integer"),
    ("train.verbose=3", "train.verbose must be \"auto\", 0, 1 or 2; got 3"),
    ("model.latent_dim='64'", "Model option latent_dim of 'vanilla_gan' must be a positive integer; got '64'"),
    ("model.generator_units=[-3]", "generator_units of 'vanilla_gan' must be a non-empty list of positive integers"),
    ("model.ema_decay=1.5", "ema_decay of 'vanilla_gan' must be a number in \\(0, 1\\)"),
    ("data.name=ring9", "Unknown dataset 'ring9'. ganzoo's: ring8, grid25, fashion_mnist, stacked_fashion_mnist"),
])
def test_a_bad_config_value_is_refused_before_anything_is_written(override, message, tmp_path, capsys):
    workdir = tmp_path / "run"
    assert cli.main(TRAIN + ["--workdir", str(workdir), "--set", override]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ganzoo: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert not workdir.exists()


def test_a_dcgan_filter_count_as_a_string_is_refused_by_the_api_too():
    with pytest.raises(ValueError, match="Model option filters of 'dcgan' must be a positive integer; got '64'"):
        ganzoo.get("dcgan", data_shape=(28, 28, 1), filters="64")


def test_loading_an_unknown_dataset_names_ganzoos_own():
    with pytest.raises(ValueError, match="Unknown dataset 'ring9'. ganzoo's: ring8, grid25"):
        ganzoo.data.load("ring9")


@pytest.mark.parametrize("option", [["--picture", "truncation"], ["--truncation-psi", "0.5"], ["--crossover", "2"]])
def test_stylegan_sampling_options_are_refused_for_other_models(option, tmp_path, capsys):
    path = tmp_path / "model.keras"
    tiny().save(path)
    assert cli.main(["sample", str(path), *option, "--out", str(tmp_path / "s.png")]) == 2
    assert "StyleGAN's options" in capsys.readouterr().err
    assert not (tmp_path / "s.png").exists()


@pytest.mark.parametrize("content, message", [
    (b"hello, not a model\n", "is not a readable .keras file"),
    (np.random.default_rng(0).bytes(4096), "is not a readable .keras file"),  # seeded: test ids must not vary
    (None, "is not a readable .keras file"),  # a real model cut in half
], ids=["text", "random bytes", "truncated model"])
def test_a_damaged_keras_file_is_reported_as_damaged_not_missing(content, message, tmp_path, capsys):
    path = tmp_path / "model.keras"
    if content is None:
        tiny().save(path)
        content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)
    assert cli.main(["sample", str(path), "--out", str(tmp_path / "s.png")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s.png").exists()


def test_export_of_a_missing_model_names_it(tmp_path, capsys):
    assert cli.main(["export", str(tmp_path / "nothing"), "--out", str(tmp_path / "exports")]) == 2
    assert "No trained model at" in capsys.readouterr().err and not (tmp_path / "exports").exists()


def test_an_unexpected_error_is_one_line_not_a_traceback(monkeypatch, capsys):
    monkeypatch.setattr(cli, "list_all", lambda args: {}["boom"])
    monkeypatch.delenv("GANZOO_TRACEBACK", raising=False)
    assert cli.main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ganzoo: internal error: KeyError: 'boom'") and "Traceback" not in err


# ------------------------------------------------------------------------------- presets
def test_a_preset_archive_of_random_bytes_is_refused_and_nothing_is_extracted(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))
    archive = tmp_path / "random.tar.gz"
    archive.write_bytes(os.urandom(4096))
    assert cli.main(["presets", "download", str(archive)]) == 2
    assert "is not a readable preset archive (.tar.gz)" in capsys.readouterr().err
    assert list((tmp_path / "home" / "presets").iterdir()) == []  # no extracted or partial folder


def test_a_preset_url_that_answers_404_is_one_line(tmp_path, monkeypatch, capsys):
    import functools
    import http.server
    import threading

    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/missing.tar.gz"
        assert cli.main(["presets", "download", url]) == 2
    finally:
        server.shutdown()
    assert f"Could not download {url}: HTTP 404" in capsys.readouterr().err
    downloads = tmp_path / "home" / "presets" / "downloads"
    assert not downloads.exists() or list(downloads.iterdir()) == []


def test_presets_show_prints_a_summary_not_every_reference_pixel(capsys):
    assert cli.main(["presets", "show", "dcgan_fashion_mnist"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) < 200
    assert '"reference_samples": "4 samples for seed 0' in out


def test_a_generator_only_preset_refuses_to_train(capsys):
    gan = ganzoo.load_preset("dcgan_fashion_mnist")
    with pytest.raises(ValueError, match="generator-only preset: its discriminator is untrained"):
        gan.fit(np.zeros((8, 28, 28, 1), np.float32), batch_size=4, epochs=1, verbose=0)


# ----------------------------------------------------------------------- unrolled look-ahead
@pytest.mark.parametrize("optimizer, message", [
    ("AdamW", "unrolls Adam or plain SGD discriminator updates; got AdamW"),
    ({"amsgrad": True}, "amsgrad=True would act on its real updates only"),
    ({"weight_decay": 0.01}, "weight_decay=0.01"),
    ({"clipnorm": 1.0}, "clipnorm=1.0"),
    ({"use_ema": True}, "use_ema=True"),
])
def test_the_unrolled_gan_refuses_optimiser_options_its_look_ahead_would_ignore(optimizer, message):
    import keras

    gan = tiny("unrolled_gan")
    d_optimizer = getattr(keras.optimizers, optimizer)() if isinstance(optimizer, str) else \
        keras.optimizers.Adam(1e-4, **optimizer)
    with pytest.raises(ValueError, match=message):
        gan.compile(d_optimizer=d_optimizer)


def test_tools_scripts_take_the_cli_arguments(tmp_path):
    import subprocess
    import sys

    tool = os.path.join(os.path.dirname(__file__), "..", "tools", "export.py")
    result = subprocess.run([sys.executable, tool, "--help"], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0 and "--serving-base-path" in result.stdout


# -------------------------------------------------------------------------- real data
def tiny_images(name="wgan_gp"):
    gan = ganzoo.get(name, data_shape=(8, 8, 1), filters=4, latent_dim=4)
    gan.compile()
    return gan


IMAGES = np.random.default_rng(1).uniform(-1, 1, (20, 8, 8, 1)).astype(np.float32)


def test_uint8_images_are_scaled_to_the_generators_range_with_a_notice(capsys):
    pixels = np.random.default_rng(2).integers(0, 256, (20, 8, 8, 1)).astype(np.uint8)
    conformed = ganzoo.data.conform(pixels, (8, 8, 1))
    np.testing.assert_allclose(conformed, pixels / 127.5 - 1, atol=1e-6)
    assert "uint8; scaling them to [-1, 1]" in capsys.readouterr().err
    gan = tiny_images()
    gan.fit(pixels, batch_size=4, epochs=1, verbose=0)  # wgan_gp's gradient penalty needs floats
    assert gan.g_optimizer.iterations.numpy() == 1


@pytest.mark.parametrize("as_dataset", [False, True])
def test_float_images_in_0_255_are_refused_with_the_expected_range(as_dataset):
    images = IMAGES * 127.5 + 127.5
    x = tf.data.Dataset.from_tensor_slices(images).batch(4, drop_remainder=True) if as_dataset else images
    # An array is checked at once; a dataset batch by batch, as training reads it (a TensorFlow assertion).
    error = tf.errors.InvalidArgumentError if as_dataset else ValueError
    with pytest.raises(error, match=r"Float images must lie in \[-1, 1\].*minimum and maximum"):
        tiny_images().fit(x, batch_size=None if as_dataset else 4, epochs=1, verbose=0)


def test_tfds_style_dict_elements_train_on_their_image():
    dataset = tf.data.Dataset.from_tensor_slices({"image": IMAGES, "label": np.arange(20)}).batch(4, drop_remainder=True)
    gan = tiny_images()
    gan.fit(dataset, epochs=1, verbose=0)
    assert gan.g_optimizer.iterations.numpy() == 1  # 5 minibatches, 5 critic steps each


def test_dict_elements_without_an_image_key_are_refused_naming_the_keys():
    dataset = tf.data.Dataset.from_tensor_slices({"pixels": IMAGES}).batch(4, drop_remainder=True)
    with pytest.raises(ValueError, match=r"dicts without an 'image' key \(keys: \['pixels'\]\)"):
        tiny_images().fit(dataset, epochs=1, verbose=0)


def test_one_channel_images_without_the_channel_axis_train():
    gan = tiny_images()
    gan.fit(IMAGES[..., 0], batch_size=4, epochs=1, verbose=0)
    assert gan.g_optimizer.iterations.numpy() == 1


def test_images_of_another_shape_are_refused_with_both_shapes():
    with pytest.raises(ValueError, match=r"takes examples of shape \(8, 8, 1\); the data's are \(8, 8, 3\)"):
        tiny_images().fit(np.repeat(IMAGES, 3, axis=-1), batch_size=4, epochs=1, verbose=0)


def test_an_unbatched_dataset_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"yields single examples of shape \(8, 8, 1\).*batch it"):
        tiny_images().fit(tf.data.Dataset.from_tensor_slices(IMAGES), epochs=1, verbose=0)


def test_nan_in_an_array_is_refused_naming_the_example():
    images = IMAGES.copy()
    images[7, 3, 3, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite values \(the first in example 7\)"):
        tiny_images().fit(images, batch_size=4, epochs=1, verbose=0)


def test_integer_vectors_are_refused_as_not_floats():
    with pytest.raises(TypeError, match="Real data must be floats \\(or uint8 images\\); got int64"):
        tiny().fit(np.ones((64, 2), np.int64), batch_size=32, epochs=1, verbose=0)


def test_a_dataset_of_unknown_rank_still_trains():
    def batches():
        for start in range(0, 64, 32):
            yield POINTS[start:start + 32]
    dataset = tf.data.Dataset.from_generator(batches, output_signature=tf.TensorSpec(None, tf.float32))
    gan = tiny()
    gan.fit(dataset, epochs=1, verbose=0)
    assert gan.g_optimizer.iterations.numpy() == 2


def test_a_saved_copy_of_a_generator_only_preset_still_refuses_fit(tmp_path):
    import keras

    path = str(tmp_path / "copy.keras")
    ganzoo.load_preset("dcgan_fashion_mnist").save(path)
    with pytest.raises(ValueError, match="generator-only preset"):
        keras.models.load_model(path).fit(np.zeros((8, 28, 28, 1), np.float32), batch_size=4, verbose=0)


def test_unroll_steps_zero_trains_as_the_plain_gan():
    """No look-ahead: the generator plays the discriminator as it is, GAN's own update."""
    unrolled = tiny("unrolled_gan", unroll_steps=0, seed=5)
    plain = ganzoo.GAN(keras.models.clone_model(unrolled.generator), keras.models.clone_model(unrolled.discriminator),
                       objective="minimax", seed=5)
    for gan in (unrolled, plain):
        gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    plain.set_weights(unrolled.get_weights())
    before = [w.numpy() for w in unrolled.generator.weights]
    for gan in (unrolled, plain):
        gan.fit(POINTS, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert unrolled.g_optimizer.iterations.numpy() == 8
    assert not np.allclose(before[0], unrolled.generator.weights[0].numpy())
    for a, b in zip(unrolled.weights, plain.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)


# ------------------------------------------------------------------------------- exports
def dead_pid():
    import subprocess

    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_an_export_after_a_killed_overwrite_restores_the_old_version_and_adds_a_new_one(tmp_path):
    import socket

    gan = tiny()
    gan.export(str(tmp_path), name="m", version=1)
    # What a kill between an overwrite's two renames leaves: version 1 moved aside.
    os.rename(tmp_path / "m" / "1", tmp_path / "m" / f".replaced-1-{socket.gethostname()}-{dead_pid()}-abcdef12")
    assert gan.export(str(tmp_path), name="m").endswith(os.path.join("m", "2"))  # not a silent overwrite of 1
    assert sorted(os.listdir(tmp_path / "m")) == ["1", "2"]


def test_a_request_larger_than_max_batch_size_is_refused(tmp_path):
    gan = ganzoo.get("dcgan", data_shape=(28, 28, 1), latent_dim=4, filters=4)
    loaded = tf.saved_model.load(gan.export(str(tmp_path), max_batch_size=3))
    assert loaded.signatures["sample"](seed=tf.range(3, dtype=tf.int64))["images"].shape == (3, 28, 28, 1)
    for signature, inputs in [("sample", {"seed": tf.range(4, dtype=tf.int64)}),
                              ("sample_png", {"seed": tf.range(4, dtype=tf.int64)}),
                              ("serving_default", {"latent": tf.zeros([4, gan.latent_dim])})]:
        with pytest.raises(tf.errors.InvalidArgumentError, match="at most 3 rows"):
            loaded.signatures[signature](**inputs)
    with pytest.raises(ValueError, match="max_batch_size must be a positive integer; got 0"):
        gan.export(str(tmp_path), max_batch_size=0)
    assert sorted(os.listdir(tmp_path / gan.name)) == ["1"]
    # Every warmup request fits the cap (TF Serving refuses to load a model whose warmup fails).
    prediction_log_pb2 = pytest.importorskip("tensorflow_serving.apis.prediction_log_pb2")
    warmup = tmp_path / gan.name / "1" / "assets.extra" / "tf_serving_warmup_requests"
    for record in tf.data.TFRecordDataset(str(warmup)).as_numpy_iterator():
        request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        loaded.signatures[request.model_spec.signature_name](**inputs)


def test_an_export_leaves_folders_it_did_not_write_alone(tmp_path):
    (tmp_path / "m" / ".partial-3-abcdef12").mkdir(parents=True)  # the previous release's naming
    (tmp_path / "m" / ".partial-3-otherhost-1-abcdef12").mkdir()  # another host's export in progress
    tiny().export(str(tmp_path), name="m")
    assert sorted(os.listdir(tmp_path / "m")) == [".partial-3-abcdef12", ".partial-3-otherhost-1-abcdef12", "1"]


def test_the_ganzoo_command_opens_without_tensorflows_start_up_lines():
    import subprocess
    import sys

    command = os.path.join(os.path.dirname(sys.executable), "ganzoo")  # the console script of this environment
    if not os.path.exists(command):
        pytest.skip("the ganzoo console script is not installed beside this Python")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    quiet = subprocess.run([command, "list"], capture_output=True, text=True, timeout=300, env=env)
    assert quiet.returncode == 0 and quiet.stdout.startswith("Models:")
    assert "oneDNN" not in quiet.stderr and "absl" not in quiet.stderr, quiet.stderr
    loud = subprocess.run([command, "list"], capture_output=True, text=True, timeout=300,
                          env=dict(env, TF_CPP_MIN_LOG_LEVEL="0"))
    # The user's own log level restores them.
    assert any(line in loud.stderr for line in ("oneDNN", "absl::InitializeLog", "cpu_feature_guard")), loud.stderr


def test_checkpoints_none_of_which_loads_are_an_error_not_a_fresh_start(tmp_path, capsys):
    from zoo_checks import tiny_ring8_config

    config_file = tmp_path / "tiny.py"
    config_file.write_text(tiny_ring8_config(64, epochs=1))
    workdir = tmp_path / "run"
    checkpoint = workdir / "backup" / "step-000000005"
    checkpoint.mkdir(parents=True)
    (checkpoint / "checkpoint.json").write_text('{"epochs_completed": 0, "generator_updates": 5, "wall_seconds": 1}')
    (checkpoint / "model.weights.h5").write_bytes(b"not an HDF5 file")
    assert cli.main(["train", "--config", str(config_file), "--workdir", str(workdir)]) == 2
    assert "No checkpoint in" in capsys.readouterr().err
    assert sorted(os.listdir(workdir / "backup")) == ["step-000000005"]  # left for the user to look at
