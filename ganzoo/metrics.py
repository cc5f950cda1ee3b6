"""What a GAN learned, measured: mode coverage on mixtures, and sample-quality metrics on features.

Mode coverage follows the VEEGAN / PacGAN protocol (tools/paper_tables.json). The
feature metrics take feature arrays ([n, d]: FID's Inception network's pool3, `ganzoo.fid_inception`,
or the Fashion-MNIST classifier's, `ganzoo.features`), which are small even for 10,000+ samples;
`extract_features` streams images through an extractor batch by batch.
"""

import math

import numpy as np


# ------------------------------------------------------------------------ mode coverage
def mode_coverage(samples, mixture, std_threshold=3.0):
    """Modes captured, % high-quality samples and KL(captured histogram || uniform).

    A sample is high quality when it lies within `std_threshold` standard deviations of its
    nearest centre; a mode is captured when it is the nearest centre of at least one
    high-quality sample; the KL divergence compares the high-quality samples' histogram over
    the modes with the uniform one (0 when every mode gets the same share; None when no
    sample is high quality).
    """
    samples = np.asarray(samples, np.float64)
    centers = np.asarray(mixture.centers, np.float64)
    distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=2)
    nearest = np.argmin(distances, axis=1)
    high_quality = distances[np.arange(len(samples)), nearest] < std_threshold * mixture.std
    counts = np.bincount(nearest[high_quality], minlength=len(centers))
    return {
        "modes": int(np.count_nonzero(counts)),
        "high_quality_percent": 100.0 * float(np.mean(high_quality)),
        "kl": histogram_kl_from_uniform(counts),
        "counts": counts.tolist(),
    }


def stacked_mode_coverage(images, classifier):
    """Modes (of 1,000) and KL from uniform of stacked images [n, 28, 28, 3]: each channel is
    classified by the Fashion-MNIST `classifier`, and the label triple is the mode (the
    Stacked MNIST protocol of VEEGAN / PacGAN)."""
    images = np.asarray(images)
    labels = [classifier.predict_classes(images[..., channel:channel + 1]) for channel in range(3)]
    modes = labels[0] * 100 + labels[1] * 10 + labels[2]
    counts = np.bincount(modes, minlength=1000)
    return {"modes": int(np.count_nonzero(counts)), "kl": histogram_kl_from_uniform(counts)}


def histogram_kl_from_uniform(counts):
    """KL(p || uniform) of a histogram of counts; None for an empty histogram."""
    counts = np.asarray(counts, np.float64)
    if counts.sum() == 0:
        return None
    p = counts / counts.sum()
    nonzero = p > 0
    return float(np.sum(p[nonzero] * np.log(p[nonzero] * len(p))))


# ----------------------------------------------------------------------- feature metrics
def extract_features(extractor, batches):
    """Concatenated `extractor(batch)` over an iterable of image batches, as float64 NumPy."""
    return np.concatenate([np.asarray(extractor(batch), np.float64) for batch in batches])


def _sqrt_psd(matrix):
    """Square root of a symmetric positive semi-definite matrix (eigenvalues clipped at 0)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(features_a, features_b):
    """||μa - μb||² + Tr(Σa + Σb - 2 (Σa Σb)^½), the Fréchet distance of two Gaussians fitted
    to the features: FID on FID's Inception network's pool3 features, the Fréchet classifier
    distance (TF-GAN's name) on a dataset's own classifier's.

    Tr((Σa Σb)^½) = Tr((Σa^½ Σb Σa^½)^½), whose inner matrix is symmetric PSD: its root comes
    from a symmetric eigendecomposition and stays real and stable for near-singular
    covariances, where scipy's general sqrtm returns complex noise.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root_a = _sqrt_psd(cov_a)
    cross = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)))
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


def kernel_distance(features_a, features_b, subset_size=1000, num_subsets=100, seed=0):
    """Kernel distance (KID): the unbiased MMD² with the cubic polynomial kernel
    k(x, y) = (x·y / d + 1)³, averaged over random subsets (Bińkowski et al. 2018).
    Returns (mean, std) over the subsets."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError("kernel_distance needs at least 2 samples on each side.")
    dimension = a.shape[1]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(num_subsets):
        x = a[rng.choice(len(a), size, replace=False)]
        y = b[rng.choice(len(b), size, replace=False)]
        k_xx, k_yy = (x @ x.T / dimension + 1) ** 3, (y @ y.T / dimension + 1) ** 3
        k_xy = (x @ y.T / dimension + 1) ** 3
        off_diagonal = size * (size - 1)
        values.append((k_xx.sum() - np.trace(k_xx)) / off_diagonal + (k_yy.sum() - np.trace(k_yy)) / off_diagonal
                      - 2 * k_xy.mean())
    return float(np.mean(values)), float(np.std(values))


def classifier_score(probabilities, num_splits=10):
    """exp(E_x KL(p(y|x) || p(y))) over `num_splits` splits (the Inception Score when the
    classifier is FID's Inception network with its logits). Returns (mean, std) over the splits."""
    probabilities = np.asarray(probabilities, np.float64)
    scores = []
    for part in np.array_split(probabilities, num_splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        scores.append(math.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _pairwise_distances(a, b, block=2048):
    for start in range(0, len(a), block):
        chunk = a[start:start + block]
        squared = (chunk ** 2).sum(1)[:, None] + (b ** 2).sum(1)[None, :] - 2 * chunk @ b.T
        yield start, np.sqrt(np.clip(squared, 0, None))


def _knn_radii(features, k):
    """Distance from each point to its k-th nearest neighbour in its own set (itself excluded)."""
    radii = np.empty(len(features))
    for start, distances in _pairwise_distances(features, features):
        radii[start:start + len(distances)] = np.partition(distances, k, axis=1)[:, k]
    return radii


def _fraction_inside(points, centres, radii):
    inside = np.zeros(len(points), bool)
    for start, distances in _pairwise_distances(points, centres):
        inside[start:start + len(distances)] = np.any(distances <= radii[None, :], axis=1)
    return float(inside.mean())


def precision_recall(real_features, fake_features, k=3):
    """Improved precision and recall (Kynkäänniemi et al. 2019): precision is the share of
    generated samples inside the real manifold (the union of balls reaching each real point's
    k-th nearest real neighbour), recall the share of real samples inside the generated one."""
    real, fake = np.asarray(real_features, np.float64), np.asarray(fake_features, np.float64)
    return {
        "precision": _fraction_inside(fake, real, _knn_radii(real, k)),
        "recall": _fraction_inside(real, fake, _knn_radii(fake, k)),
    }
