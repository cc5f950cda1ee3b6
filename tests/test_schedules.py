"""Learning-rate decay sized from the resolved config when training starts, and the mixture
protocol taking each model's own optimisers."""

import os

import pytest

from ganzoo import config, schedules, training
from ganzoo.run_directory import load_model
from zoo_checks import tiny_ring8_config


def tiny_config(**train):
    path_free = {"model": {"name": "vanilla_gan", "latent_dim": 4, "generator_units": [8], "discriminator_units": [8]},
                 "data": {"name": "ring8", "batch_size": 8, "num_samples": 64},
                 "train": {"verbose": 0, "diagnostics": False, "num_sample_images": 8, **train}}
    return config.validate(path_free)


def decay_steps(optimizer):
    return optimizer.get_config()["learning_rate"]["config"]["decay_steps"]


def test_the_decay_spans_the_epochs_the_config_resolves_to():
    gan = training.build_model(tiny_config(), data_shape=(2,))
    # 64 points in minibatches of 8: 8 generator updates an epoch; wgan-style k = 5 would make 1.
    for epochs, steps_per_epoch, expected in ((3, None, 24), (30, None, 240), (2, 5, 10)):
        arguments = training.compile_arguments(
            tiny_config(epochs=epochs, steps_per_epoch=steps_per_epoch, learning_rate_decay="cosine"), gan, 8)
        assert arguments["g_optimizer"]["config"]["learning_rate"]["config"]["decay_steps"] == expected
        assert arguments["d_optimizer"]["config"]["learning_rate"]["config"]["decay_steps"] == expected * gan.d_steps
        # The model's own optimiser (vanilla_gan: Adam 2e-4, beta1 0.5), with its rate decaying.
        assert arguments["g_optimizer"]["config"]["learning_rate"]["config"]["initial_learning_rate"] == 2e-4
        assert arguments["g_optimizer"]["config"]["beta_1"] == 0.5
    assert training.compile_arguments(tiny_config(epochs=3), gan, 8) == {}  # no decay asked: untouched


def test_a_schedule_and_a_decay_together_are_refused():
    schedule = {"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
                "config": {"initial_learning_rate": 1e-3, "decay_steps": 10, "decay_rate": 0.5}}
    with pytest.raises(ValueError, match="already has a schedule; drop one"):
        schedules.with_decay({"class_name": "Adam", "config": {"learning_rate": schedule}}, "cosine", 10)
    with pytest.raises(ValueError, match="train.learning_rate_decay must be one of cosine"):
        tiny_config(learning_rate_decay="linear")


def test_continuing_a_finished_run_stretches_the_decay_to_the_new_end(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(tiny_ring8_config(64, epochs=1, verbose=0, diagnostics=False, num_sample_images=8,
                                      learning_rate_decay="cosine"))
    workdir = str(tmp_path / "run")
    gan = training.train(config.load(str(path)), workdir)
    assert decay_steps(gan.g_optimizer) == 8 and float(gan.g_optimizer.learning_rate) == pytest.approx(0.0, abs=1e-12)
    gan = training.train(config.load(str(path), ["train.epochs=2"]), workdir)
    # Resumed at update 8 of 16, trained on from the cosine's middle, not from 0.
    assert int(gan.g_optimizer.iterations) == 16 and decay_steps(gan.g_optimizer) == 16
    assert decay_steps(gan.d_optimizer) == 16
    reloaded = load_model(os.path.join(workdir, "model.keras"))
    assert decay_steps(reloaded.g_optimizer) == 16


def test_the_mixture_protocol_keeps_each_models_own_optimisers():
    wgan = config.load("wgan_ring8")
    assert wgan["compile"] == {} and wgan["train"]["learning_rate_decay"] == "cosine"
    gan = training.build_model(wgan, data_shape=(2,))
    arguments = training.compile_arguments(wgan, gan, batches_per_epoch=195)
    assert arguments["d_optimizer"]["class_name"] == "RMSprop"  # WGAN's own: RMSProp 5e-5, k = 5
    assert arguments["d_optimizer"]["config"]["learning_rate"]["config"] == {
        "initial_learning_rate": 5e-5, "decay_steps": 10_000 * 5}
    unrolled = config.load("unrolled_gan_ring8")
    gan = training.build_model(unrolled, data_shape=(2,))
    rates = {key: optimizer["config"]["learning_rate"]["config"]["initial_learning_rate"]
             for key, optimizer in training.compile_arguments(unrolled, gan, 195).items()}
    assert rates == {"d_optimizer": 1e-4, "g_optimizer": 1e-3}  # the unrolled GAN paper's
    assert "_mixture_protocol" not in config.available_configs()


def test_a_config_of_a_wgan_gp_budget_override_is_what_the_benchmark_trains():
    # --set train.epochs sizes the decay, so the benchmark's runs at other budgets are ganzoo train commands too.
    loaded = config.load("wgan_gp_ring8", ["train.epochs=5"])
    gan = training.build_model(loaded, data_shape=(2,))
    arguments = training.compile_arguments(loaded, gan, 195)
    assert arguments["g_optimizer"]["config"]["learning_rate"]["config"]["decay_steps"] == 1000


def test_a_mixture_config_copied_without_its_protocol_says_what_to_copy(tmp_path):
    copied = tmp_path / "my_ring8.py"
    copied.write_text(open(config.resolve_path("vanilla_gan_ring8")).read())
    with pytest.raises(ValueError, match="imports '_mixture_protocol', which is neither beside it"):
        config.load(str(copied))
    (tmp_path / "_mixture_protocol.py").write_text(open(config.resolve_path("_mixture_protocol")).read())
    assert config.load(str(copied))["model"]["name"] == "vanilla_gan"
