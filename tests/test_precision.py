"""Mixed precision: every zoo model trains, saves and exports under mixed_bfloat16, with
float32 scores, losses and outputs; mixed_float16 scales the losses of both optimisers."""

import json
import os
import textwrap

import keras
import numpy as np
import pytest

import ganzoo
from ganzoo import cli, config, precision
from zoo_checks import (IMAGE_CASES, STYLE_CASES, VECTOR_CASES, check_round_trip, check_trains, real_batches,
                        run_tensorflow_only, small_options)

CASES = VECTOR_CASES + IMAGE_CASES + STYLE_CASES


def small_gan(name, data_shape, precision):
    return ganzoo.get(name, data_shape=data_shape, seed=1, precision=precision, **small_options(name, data_shape))


def hidden_and_output_dtypes(gan, network):
    """The compute dtypes of the layers with weights (nested networks' layers) but the last, and
    the dtype of what the network returns (the discriminator's: on the generator's output)."""
    leaves = [layer for layer in network._flatten_layers(include_self=False)
              if not list(layer._flatten_layers(include_self=False))]
    weighted = [layer for layer in leaves if layer.weights]
    latents = np.zeros((4, gan.latent_dim), "float32")
    output = network(latents if network is gan.generator else gan.generator(latents))
    return {layer.compute_dtype for layer in weighted[:-1]}, output.dtype.name


@pytest.fixture(scope="module")
def bfloat16_models(tmp_path_factory):
    """Every zoo model trained a few steps under mixed_bfloat16, saved, reloaded and exported."""
    base = tmp_path_factory.mktemp("bf16")
    models = {}
    for name, data_shape in CASES:
        gan = small_gan(name, data_shape, "mixed_bfloat16")
        gan.compile()
        history = check_trains(gan, data_shape)
        loaded = check_round_trip(gan, str(base / f"{name}_{len(data_shape)}.keras"))
        export = gan.export(str(base / "exports"), name=f"{name}_{len(data_shape)}")
        models[name, data_shape] = gan, history, loaded, export
    return models


@pytest.mark.parametrize("name,data_shape", CASES)
def test_every_model_trains_in_bfloat16_with_float32_scores_and_outputs(bfloat16_models, name, data_shape):
    gan, history, loaded, _ = bfloat16_models[name, data_shape]
    assert keras.config.dtype_policy().name == "float32", "building a model must not change the global policy"
    for network in (gan.generator, gan.discriminator):
        hidden, output = hidden_and_output_dtypes(gan, network)
        assert hidden == {"bfloat16"} and output == "float32"
    real = next(iter(real_batches(data_shape, 4, 1)))
    per_example, real_scores, fake_scores, _ = gan.discriminator_objective(
        real, gan(np.zeros((4, gan.latent_dim), "float32")), np.full([4], 0.5, "float32"))
    assert {t.dtype.name for t in (per_example, real_scores, fake_scores)} == {"float32"}
    assert all(np.isfinite(values).all() for values in history.history.values())
    assert gan.generate(3, seed=0).dtype == np.float32
    assert gan.predict(np.zeros((2, gan.latent_dim), "float32"), verbose=0).dtype == np.float32

    # The .keras file keeps the policy: the reloaded model computes in bfloat16 and trains on.
    assert loaded.dtype_policy.name == "mixed_bfloat16"
    assert hidden_and_output_dtypes(loaded, loaded.generator)[0] == {"bfloat16"}
    steps = int(loaded.g_optimizer.iterations)
    loaded.fit(real_batches(data_shape, 8, loaded.d_steps), epochs=1, verbose=0)
    assert int(loaded.g_optimizer.iterations) == steps + 1


def test_bfloat16_exports_serve_float32(bfloat16_models):
    paths = [export for *_, export in bfloat16_models.values()]
    script = textwrap.dedent("""
        import json, sys
        import tensorflow as tf
        def zeros_for(signature):  # 2 rows of every input (StyleGAN's ψ and style mixing too)
            return {k: tf.zeros([2, *s.shape[1:]], s.dtype) for k, s in signature.structured_input_signature[1].items()}
        dtypes = {}
        for path in json.loads(sys.argv[1]):
            loaded = tf.saved_model.load(path)
            serve, sample = loaded.signatures["serving_default"], loaded.signatures["sample"]
            outputs = dict(serve(**zeros_for(serve)))
            outputs.update(sample(**{**zeros_for(sample), "seed": tf.constant([0, 1], tf.int64)}))
            dtypes[path] = sorted({v.dtype.name for k, v in outputs.items()})
        print(json.dumps(dtypes))
    """)
    result = run_tensorflow_only(script, json.dumps(paths))
    dtypes = json.loads(result.stdout.strip().splitlines()[-1])
    assert dtypes == {path: ["float32"] for path in paths}


@pytest.mark.parametrize("name,data_shape", [("dcgan", (28, 28, 1)), ("wgan_gp", (2,)), ("unrolled_gan", (2,)),
                                             ("stylegan", (16, 16, 1))])
def test_float16_wraps_both_optimisers_in_loss_scaling_and_saves_their_state(name, data_shape, tmp_path):
    gan = small_gan(name, data_shape, "mixed_float16")
    gan.compile()
    for optimizer in (gan.d_optimizer, gan.g_optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    history = gan.fit(real_batches(data_shape, 8, 3 * gan.d_steps), epochs=1, verbose=0)
    assert all(np.isfinite(values).all() for values in history.history.values())
    # A step whose scaled gradients overflow float16 is skipped and halves the scale; the others
    # update the weights: applied + skipped steps are the steps fit ran, some applied.
    for optimizer, steps in ((gan.d_optimizer, 3 * gan.d_steps), (gan.g_optimizer, 3)):
        skipped = np.log2(optimizer.initial_scale / float(optimizer.dynamic_scale))
        assert int(optimizer.iterations) > 0 and int(optimizer.iterations) + skipped == steps
    gan.d_optimizer.dynamic_scale.assign(512.0)  # not the initial 32768, so the round trip shows it
    loaded = check_round_trip(gan, str(tmp_path / "fp16.keras"))
    assert isinstance(loaded.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert not isinstance(loaded.d_optimizer.inner_optimizer, keras.optimizers.LossScaleOptimizer)
    assert float(loaded.d_optimizer.dynamic_scale) == 512.0
    assert loaded.generate(2, seed=0).dtype == np.float32


def test_loss_scaling_scales_the_loss_it_unscales():
    # One SGD step with a LossScaleOptimizer (scale 2^15) must equal one without: train_step
    # multiplies the loss by the scale that apply_gradients divides the gradients by.
    def one_step(wrap):
        keras.utils.set_random_seed(0)  # the same initial weights
        gan = ganzoo.get("vanilla_gan", data_shape=(2,), seed=3, **small_options("vanilla_gan", (2,)))
        optimizers = [keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1)]
        if wrap:
            optimizers = [keras.optimizers.LossScaleOptimizer(o) for o in optimizers]
        gan.compile(*optimizers)
        gan.fit(real_batches((2,), 8, 1), epochs=1, verbose=0)
        return [v.numpy() for v in gan.trainable_variables]

    for scaled, plain in zip(one_step(True), one_step(False)):
        np.testing.assert_allclose(scaled, plain, rtol=1e-5, atol=1e-7)


def test_precision_config_key_selects_the_policy(tmp_path):
    with pytest.raises(ValueError, match="Unknown precision 'bf16'; valid: float32, mixed_bfloat16"):
        config.load("vanilla_gan_ring8", ["train.precision=bf16"])
    workdir = str(tmp_path / "run")
    assert cli.main(["train", "--config", "vanilla_gan_ring8", "--workdir", workdir,
                     "--set", "train.precision=mixed_bfloat16", "--set", "train.epochs=1",
                     "--set", "train.steps_per_epoch=2", "--set", "train.num_sample_images=16",
                     "--set", "train.verbose=0"]) == 0
    gan = keras.models.load_model(os.path.join(workdir, "model.keras"))
    assert gan.dtype_policy.name == "mixed_bfloat16"
    assert hidden_and_output_dtypes(gan, gan.generator) == ({"bfloat16"}, "float32")
    assert keras.config.dtype_policy().name == "float32"


def test_auto_precision_is_bfloat16_only_where_the_cpu_computes_it(monkeypatch):
    if tf_has_gpu():
        pytest.skip("auto keeps float32 on GPUs")
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512f", "amx_bf16"})
    assert precision.resolve("auto") == "mixed_bfloat16"
    assert small_gan("dcgan", (28, 28, 1), "auto").dtype_policy.name == "mixed_bfloat16"
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512f"})
    assert precision.resolve("auto") == "float32"
    assert precision.resolve("mixed_float16") == "mixed_float16"
    with pytest.raises(ValueError, match="Unknown precision 'half'"):
        precision.resolve("half")


def tf_has_gpu():
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def test_as_float32_copies_a_mixed_precision_gan_to_float32():
    gan = ganzoo.get("dcgan", data_shape=(28, 28, 1), seed=1, precision="mixed_bfloat16",
                     **small_options("dcgan", (28, 28, 1)))
    copy = precision.as_float32(gan)
    networks = (copy.generator, copy.discriminator, copy.ema_generator)
    assert copy.dtype_policy.name == "float32"
    assert {layer.dtype_policy.name for network in networks for layer in network.layers} == {"float32"}
    for a, b in zip(gan.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(a, b)
    # The same network, computed in float32 instead of bfloat16 (~3 significant digits).
    np.testing.assert_allclose(copy.generate(4, seed=0), gan.generate(4, seed=0), atol=0.05)
    assert gan.dtype_policy.name == "mixed_bfloat16"  # the original is untouched

    # A compiled mixed_float16 GAN (loss-scaled optimisers) copies to an uncompiled float32 one.
    half = ganzoo.get("vanilla_gan", data_shape=(2,), seed=1, precision="mixed_float16",
                      **small_options("vanilla_gan", (2,)))
    half.compile()
    copy = precision.as_float32(half)
    assert copy.dtype_policy.name == "float32" and copy.d_optimizer is None
    np.testing.assert_allclose(copy.generate(4, seed=0), half.generate(4, seed=0), atol=0.05)
