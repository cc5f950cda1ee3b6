"""Has a GAN's sample diversity collapsed? Label histograms and NDB, in pure NumPy.

Two once-per-epoch checks for mode collapse in an image GAN:

- `histogram_kl` compares the histogram of a classifier's labels over generated samples with the
  real data's label histogram (KL divergence, smoothed so that a missing class costs a large but
  finite amount);
- `ndb` is the number of statistically different bins of Richardson & Weiss, "On GANs and GMMs",
  NeurIPS 2018 (arXiv:1805.12462): k-means bins are fitted once on real samples, generated samples
  are binned by nearest centre, and each bin's two proportions are compared with a two-proportion
  z-test. A generator that matches the data has about alpha·K significant bins; a collapsed one
  leaves bins (modes) empty. `BinnedReference` ties the two steps together for a training run.

Only NumPy and the standard library: the callback must not pull in scipy or sklearn. Arithmetic
is float64; large sample arrays are processed in row blocks, so they are never copied whole.
"""

import math
import statistics

import numpy as np

_BLOCK_ROWS = 4096  # rows per block of the distance computations: bounds memory to ~block × max(d, k)


# ------------------------------------------------------------------------ label histograms
def histogram_kl(counts, reference_counts, smoothing=0.5):
    """KL(p || q) in nats between a histogram of counts and a reference histogram.

    p = counts / Σ counts and q = (reference_counts + smoothing) / Σ (reference_counts + smoothing).
    Only q is smoothed: a class the reference has and p lacks contributes 0 (terms with p = 0
    vanish), and a class p has but the reference lacks gives a large but finite value instead of
    infinity. With smoothing = 0 such a class makes the divergence infinite (returned as math.inf).
    `histogram_kl(counts, np.ones_like(counts), smoothing=0)` equals
    `ganzoo.metrics.histogram_kl_from_uniform(counts)`.
    """
    p_counts = np.asarray(counts, np.float64)
    q_counts = np.asarray(reference_counts, np.float64)
    if p_counts.ndim != 1 or q_counts.ndim != 1:
        raise ValueError(f"histogram_kl needs 1-D histograms, got shapes {p_counts.shape} and {q_counts.shape}.")
    if len(p_counts) != len(q_counts):
        raise ValueError(f"histogram_kl: counts has {len(p_counts)} classes but reference_counts has {len(q_counts)}.")
    if np.any(p_counts < 0) or np.any(q_counts < 0):
        raise ValueError("histogram_kl: counts and reference_counts must be non-negative.")
    if not smoothing >= 0:  # also rejects NaN
        raise ValueError(f"histogram_kl: smoothing must be non-negative, got {smoothing}.")
    if p_counts.sum() <= 0:
        raise ValueError("histogram_kl: counts total 0, so p is undefined.")
    q_counts = q_counts + smoothing
    if q_counts.sum() <= 0:
        raise ValueError("histogram_kl: reference_counts total 0 and smoothing is 0, so q is undefined.")
    p, q = p_counts / p_counts.sum(), q_counts / q_counts.sum()
    support = p > 0  # 0 · log(0 / q) = 0 by convention
    if np.any(q[support] == 0):
        return math.inf
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


# ----------------------------------------------------------------------------- k-means bins
def _row_blocks(x, block=_BLOCK_ROWS):
    """(start, float64 rows) blocks of x: only one block is ever upcast, not the whole array."""
    for start in range(0, len(x), block):
        yield start, np.asarray(x[start:start + block], np.float64)


def _squared_distances_to(x, centre):
    """||x_i − c||² for one centre, blockwise, clipped at 0 against rounding below zero."""
    centre = np.asarray(centre, np.float64)
    out = np.empty(len(x))
    for start, rows in _row_blocks(x):
        out[start:start + len(rows)] = (rows ** 2).sum(1) - 2 * rows @ centre + centre @ centre
    return np.clip(out, 0, None)


def nearest_centroid(x, centroids):
    """Index of the nearest centroid (squared Euclidean) of each row of x [n, d]; centroids is [k, d].

    argmin_j ||x − c_j||² = argmin_j (||c_j||² − 2 x·c_j): ||x||² is the same for every centre,
    so it is dropped, and the rest is one matrix product per block of rows (memory block × k).
    """
    x = np.asarray(x)
    centroids = np.asarray(centroids, np.float64)
    if x.ndim != 2 or centroids.ndim != 2 or x.shape[1] != centroids.shape[1]:
        raise ValueError(f"nearest_centroid needs x [n, d] and centroids [k, d], got {x.shape} and {centroids.shape}.")
    centre_norms = (centroids ** 2).sum(1)
    assignments = np.empty(len(x), np.int64)
    for start, rows in _row_blocks(x):
        assignments[start:start + len(rows)] = np.argmin(centre_norms[None, :] - 2 * rows @ centroids.T, axis=1)
    return assignments


def _kmeans_plus_plus(x, k, rng):
    """k-means++ seeding (Arthur & Vassilvitskii 2007): the first centre is a uniform random row,
    each next one a row drawn with probability ∝ its squared distance to the nearest centre so far,
    which spreads the seeds over the clusters and so avoids most bad local optima of Lloyd."""
    centres = np.empty((k, x.shape[1]))
    centres[0] = x[rng.integers(len(x))]
    closest = _squared_distances_to(x, centres[0])
    for j in range(1, k):
        total = closest.sum()
        if total > 0:
            # Inverse-CDF draw: the first row whose cumulative weight exceeds u has weight > 0, so a
            # row already chosen (distance 0) is never drawn again.
            index = int(np.searchsorted(np.cumsum(closest), rng.random() * total, side="right"))
            index = min(index, len(x) - 1)  # guards u·total rounding up to the last cumulative sum
        else:
            index = int(rng.integers(len(x)))  # every row coincides with a centre: any choice is as good
        centres[j] = x[index]
        closest = np.minimum(closest, _squared_distances_to(x, centres[j]))
    return centres


def kmeans(x, k, iterations=20, seed=0):
    """K-means of the rows of x [n, d]: k-means++ seeding, then Lloyd iterations.

    Returns (centroids [k, d] float32, assignments [n] int64), where assignments are each row's
    nearest centroid. A cluster left empty keeps its previous centre (rather than becoming NaN);
    iteration stops early once the assignments no longer change. Deterministic for a given seed
    (all randomness comes from `np.random.default_rng(seed)`).
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"kmeans needs x of shape [n, d] (flatten images first), got {x.shape}.")
    if not 1 <= k <= len(x):
        raise ValueError(f"kmeans needs 1 <= k <= n, got k={k} for n={len(x)}.")
    centroids = _kmeans_plus_plus(x, k, np.random.default_rng(seed))
    assignments = nearest_centroid(x, centroids)
    for _ in range(iterations):
        # Cluster sums as one-hot matrix products, block by block: BLAS speed without an [n, k] array.
        sums, counts = np.zeros_like(centroids), np.bincount(assignments, minlength=k)
        for start, rows in _row_blocks(x):
            one_hot = assignments[start:start + len(rows), None] == np.arange(k)[None, :]
            sums += one_hot.T.astype(np.float64) @ rows
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled, None]
        updated = nearest_centroid(x, centroids)
        if np.array_equal(updated, assignments):
            break
        assignments = updated
    return centroids.astype(np.float32), assignments


# ------------------------------------------------------------------------------------- NDB
def ndb(real_assignments, fake_assignments, k, alpha=0.05, lost_fraction=0.2):
    """Number of statistically different bins (NDB) of Richardson & Weiss, NeurIPS 2018.

    Each bin's proportion among the real samples, p_r (n_r samples), is compared with its
    proportion among the generated ones, p_g (n_g samples), by the two-proportion z-test:
    p̂ = (n_r p_r + n_g p_g) / (n_r + n_g), z = (p_g − p_r) / sqrt(p̂ (1 − p̂) (1/n_r + 1/n_g)),
    significant when |z| > z_{1−α/2}. A bin empty on both sides (p̂ = 0), or holding every sample
    on both sides (p̂ = 1), has p_g = p_r and gets z = 0. A perfect generator has ndb_ratio ≈ alpha
    (the false-positive rate); z < 0 means the generator under-fills the bin.

    Returns a dict: bins (k), ndb, ndb_ratio (ndb / k), real_proportions, fake_proportions, z
    (lists, one entry per bin), different_bins (indices of the significant bins), lost_bins (the
    significant ones whose fake proportion is below lost_fraction × the real one: modes the
    generator has all but dropped) and lost_real_mass (the real data's share of the lost bins).
    """
    if k < 1:
        raise ValueError(f"ndb: k must be at least 1, got {k}.")
    if not 0 < alpha < 1:
        raise ValueError(f"ndb: alpha must be in (0, 1), got {alpha}.")
    real, fake = np.asarray(real_assignments).ravel(), np.asarray(fake_assignments).ravel()
    for name, labels in (("real_assignments", real), ("fake_assignments", fake)):
        if len(labels) == 0:
            raise ValueError(f"ndb: {name} is empty.")
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= k:
            raise ValueError(f"ndb: {name} must be integer bin indices in [0, {k}).")
    n_r, n_g = len(real), len(fake)
    real_counts = np.bincount(real, minlength=k).astype(np.float64)
    fake_counts = np.bincount(fake, minlength=k).astype(np.float64)
    p_r, p_g = real_counts / n_r, fake_counts / n_g
    pooled = (real_counts + fake_counts) / (n_r + n_g)  # = (n_r p_r + n_g p_g) / (n_r + n_g)
    standard_error = np.sqrt(pooled * (1 - pooled) * (1 / n_r + 1 / n_g))
    # SE = 0 only when p̂ is 0 or 1, where p_g = p_r: no evidence of a difference, so z = 0.
    defined = standard_error > 0
    z = np.zeros(k)
    z[defined] = (p_g[defined] - p_r[defined]) / standard_error[defined]
    critical = statistics.NormalDist().inv_cdf(1 - alpha / 2)
    different = np.abs(z) > critical
    lost = different & (p_g < lost_fraction * p_r)
    count = int(np.count_nonzero(different))
    return {
        "bins": int(k),
        "ndb": count,
        "ndb_ratio": count / k,
        "real_proportions": p_r.tolist(),
        "fake_proportions": p_g.tolist(),
        "z": z.tolist(),
        "different_bins": np.flatnonzero(different).tolist(),
        "lost_bins": np.flatnonzero(lost).tolist(),
        "lost_real_mass": float(p_r[lost].sum()),
    }


def _average_pool_2x2(images):
    """2×2 average pooling over axes 1 and 2 of [n, h, w, ...]; an odd last row or column is dropped.
    Summed pairwise, (a + b) + (c + d), so a block of equal values pools to exactly that value."""
    h, w = images.shape[1] // 2 * 2, images.shape[2] // 2 * 2
    x = images[:, :h, :w]
    return 0.25 * ((x[:, 0::2, 0::2] + x[:, 1::2, 0::2]) + (x[:, 0::2, 1::2] + x[:, 1::2, 1::2]))


class BinnedReference:
    """K-means bins fitted once on real samples; compares generated samples with them (NDB).

    Built once per run from real samples: points [n, d] or images [n, h, w] / [n, h, w, c] (e.g. in
    [-1, 1]). Images with more than `max_dims` values per sample are average-pooled 2×2 spatially,
    repeatedly, until they have at most `max_dims`: k-means cost grows with the dimension, and bins
    of coarse image structure are what mode collapse empties. `compare(fake)` then bins generated
    samples (same shape as the real ones) by nearest centre and runs `ndb` against the real bins.

        reference = BinnedReference(real_images, bins=50)
        result = reference.compare(generated_images)   # result["ndb_ratio"], result["lost_bins"], ...
    """

    def __init__(self, real, bins=50, seed=0, max_dims=3072):
        real = np.asarray(real)
        if real.ndim < 1 or len(real) == 0:
            raise ValueError("BinnedReference needs a non-empty array of real samples [n, ...].")
        self.sample_shape = real.shape[1:]
        self.bins, self.seed, self.max_dims = int(bins), seed, int(max_dims)
        flat = self._flatten(real)
        self.centroids, _ = kmeans(flat, self.bins, seed=seed)
        # Real and generated samples are binned by the same rule (nearest float32 centroid), so a
        # near-tie rounded differently by the float32 cast cannot make the two sides disagree.
        self.assignments = nearest_centroid(flat, self.centroids)

    def _flatten(self, samples):
        """[n, ...] samples as [n, d]: points as they are, images pooled 2×2 until at most max_dims values."""
        samples = np.asarray(samples)
        if samples.ndim < 3:  # points [n, d] (or scalars [n]): nothing spatial to pool
            return samples.reshape(len(samples), -1)
        samples = np.asarray(samples, np.float32)  # float32 halves the memory of large image batches
        while np.prod(samples.shape[1:]) > self.max_dims:
            if samples.shape[1] < 2 or samples.shape[2] < 2:
                raise ValueError(f"BinnedReference: samples of shape {samples.shape[1:]} cannot be pooled 2x2 "
                                 f"down to max_dims={self.max_dims} values.")
            samples = _average_pool_2x2(samples)
        return samples.reshape(len(samples), -1)

    def compare(self, fake, alpha=0.05, lost_fraction=0.2):
        """`ndb` of the generated samples' nearest-centroid bins against the real samples' bins."""
        fake = np.asarray(fake)
        if fake.shape[1:] != self.sample_shape:
            raise ValueError(f"BinnedReference.compare: samples of shape {fake.shape[1:]}, but the reference was "
                             f"fitted on {self.sample_shape}.")
        fake_assignments = nearest_centroid(self._flatten(fake), self.centroids)
        return ndb(self.assignments, fake_assignments, self.bins, alpha=alpha, lost_fraction=lost_fraction)
