"""`ganzoo evaluate` end to end on small models: the right metrics, written to JSON."""

import json
import os

import numpy as np
import pytest

import ganzoo
from ganzoo import cli, data, evaluation, features, metrics
from zoo_checks import needs_fashion_mnist



def test_mixture_evaluation_reports_mode_coverage():
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), latent_dim=4, generator_units=(8,), discriminator_units=(8,))
    result = evaluation.evaluate(gan, {"name": "ring8"})
    assert result["num_samples"] == 2500 and 0 <= result["modes"] <= 8 and len(result["counts"]) == 8
    with pytest.raises(ValueError, match="Unknown metric"):
        evaluation.evaluate(gan, {"name": "ring8"}, ["frechet_distance"])


@needs_fashion_mnist
def test_image_evaluation_and_cli(tmp_path, fid_home, monkeypatch):
    gan = ganzoo.get("dcgan", data_shape=(28, 28, 1), filters=4, latent_dim=8)
    gan.compile()
    run = tmp_path / "run"
    run.mkdir()
    gan.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps({"data": {"name": "fashion_mnist", "batch_size": 64}}))
    assert cli.main(["evaluate", str(run), "--num-samples", "40", "--num-real", "40"]) == 0
    result = json.loads((run / "evaluation.json").read_text())
    assert result["num_samples"] == 40 and result["num_real"] == 40
    # The defaults: FID and KID on Inception features, and the classifier distance, each named for its features.
    assert {"fid", "kid", "frechet_classifier_distance"} <= set(result) and "precision" not in result
    assert "FID Inception network's pool3" in result["protocol"]
    # An untrained generator is far from the data, on both features.
    assert result["fid"] > 200 and result["kid"] > 0.1
    # (40 images each: the real-vs-real floor is high at that size, hence 3x rather than 10x.)
    assert result["frechet_classifier_distance"] > 3 * result["frechet_classifier_distance_real_train_vs_test"]

    # The real images' features were cached, under their content; a second evaluation reads them.
    cached = list((fid_home / "reference_features").glob("fashion_mnist-test-40-*.npy"))
    assert len(cached) == 1
    from ganzoo import fid_inception

    computed = []
    original = fid_inception.FIDInceptionFeatures.features_uint8
    monkeypatch.setattr(fid_inception.FIDInceptionFeatures, "features_uint8",
                        lambda self, images, progress=None: computed.append(len(images)) or original(self, images))
    # The same samples scored from a file (as tools/torch_reference.py writes them) score the same.
    samples = np.concatenate(list(evaluation.generated_batches(gan, 40, seed=0)))
    np.save(tmp_path / "samples.npy", samples)
    out = tmp_path / "samples.json"
    assert cli.main(["evaluate", "--samples", str(tmp_path / "samples.npy"), "--data", "fashion_mnist",
                     "--out", str(out), "--metrics", "fid,pr", "--num-real", "40"]) == 0
    assert computed == [40]  # the generated images only: the real ones came from the cache
    from_file = json.loads(out.read_text())
    assert from_file["fid"] == pytest.approx(result["fid"], rel=1e-6)
    assert 0 <= from_file["precision"] <= 1 and 0 <= from_file["recall"] <= 1 and "kid" not in from_file

    assert cli.main(["evaluate", str(run), "--metrics", "psnr"]) == 2
    assert cli.main(["evaluate", "--samples", str(tmp_path / "samples.npy"), "--data", "fashion_mnist"]) == 2
    # Samples of another size than the data's (a StyleGAN's 32x32 against 28x28) are refused, not mis-scored.
    np.save(tmp_path / "padded.npy", np.pad(samples, [(0, 0), (2, 2), (2, 2), (0, 0)], constant_values=-1))
    with pytest.raises(ValueError, match=r"generated images are \(32, 32, 1\) but fashion_mnist's are \(28, 28, 1\)"):
        evaluation.evaluate(np.load(tmp_path / "padded.npy"), {"name": "fashion_mnist"}, ["fid"], 40)
    assert evaluation.evaluate(np.load(tmp_path / "padded.npy"), {"name": "fashion_mnist", "pad_to": 32}, ["kid"], 40,
                               num_real=40)["kid"] > 0


def test_unavailable_and_misplaced_metrics_say_why(capsys):
    with pytest.raises(ValueError, match="1,008-way logits"):
        evaluation.image_metric_names(["fid", "is"], "fashion_mnist")
    with pytest.raises(ValueError, match="Fashion-MNIST classifier"):
        evaluation.image_metric_names(["classifier_score"], "folder")
    # Earlier names are still taken.
    assert evaluation.image_metric_names(["frechet_distance", "precision_recall"], "folder") == ("fid", "pr")
    assert evaluation.image_metric_names(None, "folder") == ("fid", "kid")


@needs_fashion_mnist
def test_evaluate_a_preset(tmp_path, fid_home):
    out = tmp_path / "preset.json"
    assert cli.main(["evaluate", "--preset", "dcgan_fashion_mnist", "--num-samples", "30", "--num-real", "30",
                     "--metrics", "kid", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["preset"] == "dcgan_fashion_mnist" and result["scored"] == "ema_generator"
    assert np.isfinite(result["kid"]) and "fid" not in result
    assert cli.main(["evaluate", "--preset", "dcgan_fashion_mnist"]) == 2  # needs --out


def test_old_results_read_under_the_new_names():
    old = {"features": "fashion_mnist_classifier", "fid": 642.0, "fid_real_train_vs_test": 0.72, "kid": 0.1,
           "precision": 0.6}
    assert evaluation.upgrade_result(old) == {"features": "fashion_mnist_classifier", "classifier_kid": 0.1,
                                              "frechet_classifier_distance": 642.0, "classifier_precision": 0.6,
                                              "frechet_classifier_distance_real_train_vs_test": 0.72}
    # Keras's ImageNet InceptionV3 was not FID's network: its figures do not read as FID.
    keras_inception = {"features": "inception_v3_pool", "fid": 12.0}
    assert evaluation.upgrade_result(keras_inception) == {"features": "inception_v3_pool",
                                                          "keras_inception_v3_fid": 12.0}
    current = {"fid": 12.0, "kid": 0.01, "frechet_classifier_distance": 3.0}
    assert evaluation.upgrade_result(current) == current


@needs_fashion_mnist
def test_stacked_fashion_mnist_has_1000_modes_counted_by_the_classifier():
    dataset = data.stacked_fashion_mnist("test", num_samples=600, seed=0, with_labels=True)
    images, labels = (np.stack(x) for x in zip(*dataset.as_numpy_iterator()))
    assert images.shape == (600, 28, 28, 3) and labels.shape == (600, 3)
    scaled = images.astype("float32") / 127.5 - 1
    result = metrics.stacked_mode_coverage(scaled, features.FashionMNISTClassifier())
    true_modes = len(set(map(tuple, labels)))
    # The classifier's errors (about 8% per channel) move some images to other modes.
    assert abs(result["modes"] - true_modes) < 0.15 * true_modes
    batch = next(iter(data.load("stacked_fashion_mnist", batch_size=8, num_samples=64)))
    assert batch.shape == (8, 28, 28, 3) and float(batch.numpy().min()) >= -1


def test_the_mode_benchmark_row_is_what_ganzoo_evaluate_gives(tmp_path):
    """tools/benchmark_modes.py trains as `ganzoo train` does and scores with `ganzoo evaluate`:
    the command recorded with a row gives the row's numbers again."""
    import subprocess
    import sys

    tools = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")
    out, runs = tmp_path / "out", tmp_path / "runs"
    subprocess.run([sys.executable, os.path.join(tools, "benchmark_modes.py"), "--out", str(out), "--workdir",
                    str(runs), "--run-one", "vanilla_gan", "ring8", "200", "1"], check=True, capture_output=True,
                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    row = json.loads((out / "modes_runs" / "vanilla_gan_ring8_g200_s1.json").read_text())
    assert row["generator_steps"] == 200 and row["evaluate_command"] == f"ganzoo evaluate {runs / 'vanilla_gan_ring8_g200_s1'}"
    (runs / "vanilla_gan_ring8_g200_s1" / "evaluation.json").unlink()
    assert cli.main(row["evaluate_command"].split()[1:]) == 0
    again = json.loads((runs / "vanilla_gan_ring8_g200_s1" / "evaluation.json").read_text())
    assert [again[k] for k in ("modes", "high_quality_percent", "counts")] == \
        [row[k] for k in ("modes", "high_quality_percent", "counts")]
