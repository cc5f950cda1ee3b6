"""Mode-collapse checks on cases whose answer is known: hand-computed histograms and z statistics,
well-separated Gaussian clusters for k-means and NDB, and pooled images equal to small ones."""

import math

import numpy as np
import pytest

from ganzoo import diversity, metrics

# Four well-separated clusters in 20-d: centres ~19 apart, samples within ~1.3 (0.3 · √20) of theirs.
CENTRES = 3.0 * np.random.default_rng(123).normal(size=(4, 20))


def four_clusters(n, seed, only=None):
    """n points of the 4-cluster mixture (equal weights), or of cluster `only`; and their labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(4, size=n) if only is None else np.full(n, only)
    return CENTRES[labels] + 0.3 * rng.normal(size=(n, 20)), labels


# ------------------------------------------------------------------------ histogram_kl
def test_histogram_kl_matches_a_hand_computed_example():
    # p = [2, 1, 1] / 4 = [1/2, 1/4, 1/4]; q = ([1, 2, 0] + 0.5) / 4.5 = [1.5, 2.5, 0.5] / 4.5 = [1/3, 5/9, 1/9].
    # KL = 1/2 ln((1/2) / (1/3)) + 1/4 ln((1/4) / (5/9)) + 1/4 ln((1/4) / (1/9))
    #    = 1/2 ln(3/2) + 1/4 ln(9/20) + 1/4 ln(9/4) ≈ 0.2058382
    expected = 0.5 * math.log(3 / 2) + 0.25 * math.log(9 / 20) + 0.25 * math.log(9 / 4)
    assert diversity.histogram_kl([2, 1, 1], [1, 2, 0]) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.2058382, abs=1e-7)
    # A class p lacks costs nothing: p = [3/4, 0, 1/4], q = [1/4, 1/4, 1/2] -> 3/4 ln 3 + 1/4 ln(1/2).
    assert diversity.histogram_kl([3, 0, 1], [1, 1, 2], smoothing=0) == pytest.approx(
        0.75 * math.log(3) + 0.25 * math.log(0.5), rel=1e-12)
    assert diversity.histogram_kl([7, 3, 0], [70, 30, 0], smoothing=0) == pytest.approx(0.0, abs=1e-15)


def test_histogram_kl_of_a_class_the_reference_lacks_is_finite_only_with_smoothing():
    # p = [1/2, 1/2], q = ([4, 0] + 0.5) / 5 = [0.9, 0.1]: 1/2 ln(1/1.8) + 1/2 ln(5).
    assert diversity.histogram_kl([1, 1], [4, 0]) == pytest.approx(0.5 * math.log(1 / 1.8) + 0.5 * math.log(5))
    assert diversity.histogram_kl([1, 1], [4, 0], smoothing=0) == math.inf


@pytest.mark.parametrize("counts", [[5, 0, 3, 2], [1, 1, 1, 1], [10, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])
def test_histogram_kl_against_ones_without_smoothing_is_kl_from_uniform(counts):
    counts = np.array(counts)
    expected = metrics.histogram_kl_from_uniform(counts)
    kl = diversity.histogram_kl(counts, np.ones_like(counts), smoothing=0)
    assert kl == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("counts, reference, smoothing, message", [
    ([1, 2], [1, 2, 3], 0.5, "2 classes but reference_counts has 3"),
    ([1, -1, 2], [1, 1, 1], 0.5, "non-negative"),
    ([1, 1, 2], [1, -1, 1], 0.5, "non-negative"),
    ([0, 0, 0], [1, 1, 1], 0.5, "counts total 0"),
    ([1, 1, 1], [0, 0, 0], 0, "reference_counts total 0"),
    ([1, 1, 1], [1, 1, 1], -0.5, "smoothing must be non-negative"),
    ([[1, 1], [1, 1]], [[1, 1], [1, 1]], 0.5, "1-D"),
])
def test_histogram_kl_rejects_bad_histograms(counts, reference, smoothing, message):
    with pytest.raises(ValueError, match=message):
        diversity.histogram_kl(counts, reference, smoothing=smoothing)


# ------------------------------------------------------------------------------ k-means
def test_nearest_centroid_matches_brute_force_across_blocks():
    rng = np.random.default_rng(0)
    x, centroids = rng.normal(size=(5000, 3)), rng.normal(size=(7, 3))  # 5000 rows: two blocks of 4096
    brute = np.argmin(((x[:, None, :] - centroids[None, :, :]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(diversity.nearest_centroid(x, centroids), brute)
    points, centres = [[0.0, 0.0], [9.0, 1.0], [4.0, 0.0]], [[10.0, 0.0], [0.0, 0.0]]
    assert diversity.nearest_centroid(points, centres).tolist() == [1, 0, 1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_finds_four_separated_clusters(seed):
    x, labels = four_clusters(2000, seed=10 + seed)
    centroids, assignments = diversity.kmeans(x, 4, seed=seed)
    assert centroids.shape == (4, 20) and centroids.dtype == np.float32
    distances = np.linalg.norm(centroids[:, None, :] - CENTRES[None, :, :], axis=2)
    match = np.argmin(distances, axis=1)  # true centre nearest each found centroid
    assert sorted(match.tolist()) == [0, 1, 2, 3]  # one found centroid per true centre
    assert np.all(distances[np.arange(4), match] < 0.2)
    np.testing.assert_array_equal(match[assignments], labels)  # every point in its own cluster's bin


def test_kmeans_is_deterministic_for_a_seed():
    x = np.random.default_rng(5).uniform(size=(600, 6))  # no cluster structure: many local optima
    first, second = diversity.kmeans(x, 8, seed=3), diversity.kmeans(x, 8, seed=3)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_kmeans_keeps_the_centre_of_an_empty_cluster():
    # 3 distinct points, k = 4: one seed duplicates a point; its cluster loses every tie and stays
    # empty, so it must keep its centre instead of becoming 0 / 0 = NaN.
    x = np.repeat([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], 5, axis=0)
    centroids, assignments = diversity.kmeans(x, 4, seed=0)
    assert np.all(np.isfinite(centroids))
    assert {tuple(c) for c in centroids.tolist()} == {(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)}
    np.testing.assert_array_equal(np.linalg.norm(centroids[assignments] - x, axis=1), 0.0)


def test_kmeans_rejects_bad_k():
    x = np.zeros((3, 2))
    for k in (0, 4):
        with pytest.raises(ValueError, match="1 <= k <= n"):
            diversity.kmeans(x, k)
    with pytest.raises(ValueError, match=r"\[n, d\]"):
        diversity.kmeans(np.zeros((3, 2, 2)), 2)


# ---------------------------------------------------------------------------------- NDB
def test_ndb_two_proportion_z_by_hand():
    # Real: 200 samples, 40 in bin 0 (p_r = 0.2); fake: 50 samples, 20 in bin 0 (p_g = 0.4).
    # p̂ = (40 + 20) / 250 = 0.24;  p̂ (1 − p̂) = 0.24 · 0.76 = 0.1824;  1/200 + 1/50 = 0.025;
    # SE = √(0.1824 · 0.025) = √0.00456 ≈ 0.0675278;  z_0 = (0.4 − 0.2) / SE ≈ 2.96174, and z_1 = −z_0.
    real = np.array([0] * 40 + [1] * 160)
    fake = np.array([0] * 20 + [1] * 30)
    result = diversity.ndb(real, fake, k=2)
    z = 0.2 / math.sqrt(0.00456)
    assert z == pytest.approx(2.96174, abs=1e-5)
    assert result["z"] == pytest.approx([z, -z], rel=1e-9)
    assert result["real_proportions"] == pytest.approx([0.2, 0.8])
    assert result["fake_proportions"] == pytest.approx([0.4, 0.6])
    # |z| > 1.95996 (α = 0.05): both bins differ; but not > 3.29053 (α = 0.001).
    assert (result["bins"], result["ndb"], result["ndb_ratio"], result["different_bins"]) == (2, 2, 1.0, [0, 1])
    assert result["lost_bins"] == [] and result["lost_real_mass"] == 0.0  # 0.6 is not < 0.2 · 0.8
    assert diversity.ndb(real, fake, k=2, alpha=0.001)["ndb"] == 0


def test_ndb_lost_bins_and_empty_bins():
    real = np.array([0] * 50 + [1] * 50)  # bin 2 empty on both sides: z = 0, not a division by zero
    # Fake bin 0 at 5%: z = −0.45 / √(0.275 · 0.725 · 0.02) ≈ −7.13, and 0.05 < 0.2 · 0.5: lost.
    result = diversity.ndb(real, np.array([0] * 5 + [1] * 95), k=3)
    assert result["z"][0] == pytest.approx(-0.45 / math.sqrt(0.275 * 0.725 * 0.02)) and result["z"][2] == 0.0
    assert (result["different_bins"], result["lost_bins"], result["lost_real_mass"]) == ([0, 1], [0], 0.5)
    # Fake bin 0 at 15%: still significant, but 0.15 is not below 0.2 · 0.5 = 0.1: not lost.
    result = diversity.ndb(real, np.array([0] * 15 + [1] * 85), k=3)
    assert (result["different_bins"], result["lost_bins"], result["lost_real_mass"]) == ([0, 1], [], 0.0)
    # Fake bin 0 at 45%: z = −0.05 / √(0.475 · 0.525 · 0.02) ≈ −0.71: no difference.
    result = diversity.ndb(real, np.array([0] * 45 + [1] * 55), k=3)
    assert result["z"][0] == pytest.approx(-0.05 / math.sqrt(0.475 * 0.525 * 0.02))
    assert (result["ndb"], result["different_bins"]) == (0, [])


def test_ndb_of_the_same_distribution_and_of_a_collapsed_one():
    real, _ = four_clusters(2000, seed=20)
    centroids, real_bins = diversity.kmeans(real, 4)
    same = diversity.ndb(real_bins, diversity.nearest_centroid(four_clusters(2000, seed=21)[0], centroids), 4)
    assert same["ndb"] <= 1 and same["lost_bins"] == []
    collapsed_samples, _ = four_clusters(2000, seed=22, only=2)
    collapsed = diversity.ndb(real_bins, diversity.nearest_centroid(collapsed_samples, centroids), 4)
    kept = int(diversity.nearest_centroid(CENTRES[2:3], centroids)[0])  # the bin of cluster 2
    assert (collapsed["ndb"], collapsed["ndb_ratio"], collapsed["different_bins"]) == (4, 1.0, [0, 1, 2, 3])
    assert collapsed["lost_bins"] == [b for b in range(4) if b != kept]
    assert collapsed["fake_proportions"][kept] == 1.0
    assert collapsed["lost_real_mass"] == pytest.approx(0.75, abs=0.05)


def test_ndb_rejects_bad_assignments():
    with pytest.raises(ValueError, match=r"fake_assignments must be integer bin indices in \[0, 3\)"):
        diversity.ndb([0, 1, 2], [0, 3], k=3)
    with pytest.raises(ValueError, match="real_assignments is empty"):
        diversity.ndb([], [0, 1], k=3)
    with pytest.raises(ValueError, match="alpha"):
        diversity.ndb([0, 1], [0, 1], k=2, alpha=1.5)


# --------------------------------------------------------------------- BinnedReference
def cluster_images(n, seed, only=None):
    """[n, 8, 8, 1] images in [-1, 1] near one of 4 fixed random prototypes."""
    prototypes = np.random.default_rng(7).uniform(-1, 1, size=(4, 8, 8, 1))
    rng = np.random.default_rng(seed)
    labels = rng.integers(4, size=n) if only is None else np.full(n, only)
    return np.clip(prototypes[labels] + 0.1 * rng.normal(size=(n, 8, 8, 1)), -1, 1).astype(np.float32)


def upsample(images, factor=8):
    return np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)


def test_average_pool_2x2_by_hand_drops_an_odd_row_and_column():
    image = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)  # [[0 1 2] [3 4 5] [6 7 8]]
    assert diversity._average_pool_2x2(image).ravel().tolist() == [(0 + 1 + 3 + 4) / 4]


def test_binned_reference_on_images_and_on_their_pooled_equivalents():
    real, fake = cluster_images(400, seed=0), cluster_images(200, seed=1, only=2)
    small = diversity.BinnedReference(real, bins=4, max_dims=64)
    large = diversity.BinnedReference(upsample(real), bins=4, max_dims=64)  # 64x64 pooled 3 times to 8x8
    np.testing.assert_array_equal(large._flatten(upsample(real)), real.reshape(400, 64))
    np.testing.assert_array_equal(large.centroids, small.centroids)
    result = small.compare(fake)
    assert large.compare(upsample(fake)) == result
    # Fake images from one prototype only: every bin differs, the other 3 prototypes' bins are lost.
    assert (result["ndb"], len(result["lost_bins"])) == (4, 3)
    assert result["lost_real_mass"] == pytest.approx(0.75, abs=0.05)
    same = small.compare(cluster_images(400, seed=2))
    assert same["ndb"] <= 1 and same["lost_bins"] == []


def test_binned_reference_pools_down_to_at_most_max_dims():
    rng = np.random.default_rng(0)
    small = cluster_images(40, seed=0)
    assert diversity.BinnedReference(small, bins=3).centroids.shape == (3, 64)  # 64 ≤ 3072: as is
    gray = rng.uniform(-1, 1, size=(40, 64, 64, 1)).astype(np.float32)
    assert diversity.BinnedReference(gray, bins=3).centroids.shape == (3, 32 * 32)  # 4096 > 3072: pooled once
    colour = rng.uniform(-1, 1, size=(40, 128, 128, 3)).astype(np.float32)
    # 49152 → 12288 → 3072 values: pooled twice, and a sample of exactly max_dims is not pooled again.
    assert diversity.BinnedReference(colour, bins=3).centroids.shape == (3, 32 * 32 * 3)
    points, _ = four_clusters(200, seed=0)
    assert diversity.BinnedReference(points, bins=4, max_dims=8).centroids.shape == (4, 20)  # points: never pooled


def test_binned_reference_rejects_samples_of_another_shape():
    reference = diversity.BinnedReference(cluster_images(40, seed=0), bins=3)
    with pytest.raises(ValueError, match="fitted on"):
        reference.compare(upsample(cluster_images(10, seed=1), 2))
    with pytest.raises(ValueError, match="cannot be pooled"):
        diversity.BinnedReference(np.zeros((10, 1, 1, 50)), bins=2, max_dims=10)
