"""Each metric on small cases whose answer is known by hand."""

import math
import shutil

import numpy as np
import pytest

from ganzoo import data, features, metrics
from zoo_checks import needs_fashion_mnist


def test_mode_coverage_counts_modes_quality_and_kl():
    ring = data.mixture("ring8")
    # 3 of 8 modes, 10 samples exactly on each centre: 3 modes, all high quality, KL = log(8/3).
    samples = np.repeat(ring.centers[[0, 3, 5]], 10, axis=0)
    result = metrics.mode_coverage(samples, ring)
    assert result["modes"] == 3 and result["high_quality_percent"] == 100.0
    assert result["kl"] == pytest.approx(math.log(8 / 3))
    assert result["counts"] == [10, 0, 0, 10, 0, 10, 0, 0]
    # One sample 2.9 std from a centre is high quality; one at 3.1 std and one far away are not.
    offsets = ring.centers[[1, 2, 2]] + np.array([[2.9 * 0.01, 0], [3.1 * 0.01, 0], [0.5, 0.5]])
    result = metrics.mode_coverage(np.concatenate([samples, offsets]), ring)
    assert result["modes"] == 4 and result["high_quality_percent"] == pytest.approx(100 * 31 / 33)


def test_every_mode_evenly_covered_has_zero_kl_and_none_covered_has_none():
    grid = data.mixture("grid25")
    result = metrics.mode_coverage(np.repeat(grid.centers, 4, axis=0), grid)
    assert (result["modes"], result["kl"]) == (25, pytest.approx(0.0))
    assert metrics.mode_coverage(np.full((5, 2), 1.0), grid)["kl"] is None


def exact_gaussian_features(mean, covariance, n=400, seed=0):
    """Samples whose sample mean and covariance are exactly `mean` and `covariance`."""
    z = np.random.default_rng(seed).normal(size=(n, len(mean)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T  # whitened: cov exactly I
    return z @ np.linalg.cholesky(covariance).T + mean


def test_frechet_distance_matches_the_closed_form_for_two_gaussians():
    mean_a, mean_b = np.array([0.0, 1.0]), np.array([2.0, -1.0])
    cov_a = np.diag([1.0, 4.0])
    rotation = np.array([[math.cos(0.7), -math.sin(0.7)], [math.sin(0.7), math.cos(0.7)]])
    cov_b = rotation @ np.diag([9.0, 0.25]) @ rotation.T  # does not commute with cov_a
    a, b = exact_gaussian_features(mean_a, cov_a), exact_gaussian_features(mean_b, cov_b, seed=1)
    # For 2x2 PSD M, Tr √M = √(Tr M + 2 √det M); with M = √A B √A, det M = det A · det B.
    root_a = np.diag(np.sqrt(np.diag(cov_a)))
    inner = root_a @ cov_b @ root_a
    trace_root = math.sqrt(np.trace(inner) + 2 * math.sqrt(np.linalg.det(cov_a) * np.linalg.det(cov_b)))
    expected = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_identical_and_near_singular_features():
    rng = np.random.default_rng(0)
    wide = rng.normal(size=(20, 64))  # 20 samples in 64-d: a rank-19 covariance
    # 0 up to rounding: the 45 zero eigenvalues each contribute √(~1e-13) of noise.
    assert metrics.frechet_distance(wide, wide) == pytest.approx(0.0, abs=1e-7 * np.trace(np.cov(wide, rowvar=False)))
    low_rank = rng.normal(size=(500, 3)) @ rng.normal(size=(3, 32))  # rank 3 of 32
    value = metrics.frechet_distance(low_rank, low_rank + 1e-9 * rng.normal(size=low_rank.shape))
    assert isinstance(value, float) and math.isfinite(value) and abs(value) < 1e-5


def test_kernel_distance_hand_value_and_identical_sets():
    # k(x, y) = (xy + 1)³ in 1-d: k_xx off-diagonal 1, k_yy 343, k_xy mean (1+1+27+64)/4 = 23.25.
    value, std = metrics.kernel_distance([[0.0], [1.0]], [[2.0], [3.0]], subset_size=2, num_subsets=1)
    assert value == pytest.approx(1 + 343 - 2 * 23.25) and std == 0.0
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 8))
    same, _ = metrics.kernel_distance(a, a, subset_size=300, num_subsets=1)
    assert abs(same) < 1e-9 or same < 0.05
    shifted, _ = metrics.kernel_distance(a, a + 1.0, subset_size=300, num_subsets=3)
    assert shifted > 0.5


def test_classifier_score_bounds():
    confident_and_diverse = np.eye(10)[np.arange(1000) % 10]
    assert metrics.classifier_score(confident_and_diverse)[0] == pytest.approx(10.0, rel=1e-6)
    one_class = np.eye(10)[np.zeros(1000, int)]
    assert metrics.classifier_score(one_class)[0] == pytest.approx(1.0, rel=1e-6)
    uncertain = np.full((1000, 10), 0.1)
    assert metrics.classifier_score(uncertain)[0] == pytest.approx(1.0, rel=1e-6)


def test_precision_and_recall():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(200, 4))
    assert metrics.precision_recall(real, real.copy()) == {"precision": 1.0, "recall": 1.0}
    assert metrics.precision_recall(real, real + 100.0) == {"precision": 0.0, "recall": 0.0}
    # Generated samples on half of the real data (mode dropping): precision 1, recall about 1/2.
    clusters = np.concatenate([rng.normal(size=(200, 2)) * 0.1, rng.normal(size=(200, 2)) * 0.1 + 10])
    half = rng.normal(size=(200, 2)) * 0.1
    result = metrics.precision_recall(clusters, half)
    assert result["precision"] > 0.95 and 0.45 < result["recall"] < 0.55


@needs_fashion_mnist
def test_shipped_classifier_is_accurate_and_checked(tmp_path):
    classifier = features.FashionMNISTClassifier()
    assert classifier.record["test_accuracy"] >= 0.90
    images, labels = data.fashion_mnist_arrays("test")
    scaled = images[:2000, ..., None].astype("float32") / 127.5 - 1
    assert np.mean(classifier.predict_classes(scaled) == labels[:2000]) >= 0.90
    assert classifier.features(scaled[:5]).shape == (5, 128)
    np.testing.assert_allclose(classifier.probabilities(scaled[:5]).sum(axis=1), 1.0, rtol=1e-5)

    corrupted = tmp_path / "classifier.weights.h5"
    shutil.copy(features.CLASSIFIER_WEIGHTS, corrupted)
    with open(corrupted, "r+b") as f:
        f.seek(4000)
        byte = f.read(1)
        f.seek(4000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="Checksum mismatch"):
        features.FashionMNISTClassifier(weights=str(corrupted))
