"""Datasets: the mixture protocol, Fashion-MNIST's IDX files, tfds names, image folders."""

import gzip
import os
import struct

import numpy as np
import pytest
import tensorflow as tf

from ganzoo import data

DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def test_mixtures_follow_the_protocol():
    ring = data.mixture("ring8")
    np.testing.assert_allclose(ring.centers[2], [0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(ring.centers, axis=1), np.ones(8), rtol=1e-6)
    assert ring.std == 0.01
    grid = data.mixture("grid25")
    assert grid.std == 0.05 and len(grid.centers) == 25
    assert sorted(set(grid.centers[:, 0])) == [-4, -2, 0, 2, 4]
    points = ring.sample(20_000, seed=0)
    nearest = np.argmin(np.linalg.norm(points[:, None] - ring.centers[None], axis=2), axis=1)
    assert np.bincount(nearest, minlength=8).min() > 2_000  # equal weights
    np.testing.assert_allclose(np.std(points - ring.centers[nearest]), 0.01, rtol=0.05)
    np.testing.assert_array_equal(ring.sample(5, seed=3), ring.sample(5, seed=3))


def test_mixture_pipeline_batches():
    batches = data.load("grid25", batch_size=32, num_samples=100)
    shapes = [b.shape for b in batches]
    assert shapes == [(32, 2)] * 3  # 100 points, the partial batch dropped


def write_idx(path, array):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.astype(np.uint8).tobytes())


def fake_fashion_mnist(directory, count=10):
    rng = np.random.default_rng(0)
    for split, n in (("train", count), ("t10k", count // 2)):
        write_idx(os.path.join(directory, f"{split}-images-idx3-ubyte.gz"), rng.integers(0, 256, (n, 28, 28)))
        write_idx(os.path.join(directory, f"{split}-labels-idx1-ubyte.gz"), rng.integers(0, 10, (n,)))


def test_read_idx_round_trip_and_truncation(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(data.read_idx(str(tmp_path / "a.gz")), array)
    with gzip.open(tmp_path / "b.gz", "wb") as f:
        f.write(struct.pack(">HBBI", 0, 8, 1, 10) + b"abc")
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(str(tmp_path / "b.gz"))


def test_fashion_mnist_from_an_explicit_directory(tmp_path):
    fake_fashion_mnist(tmp_path)
    images, labels = data.fashion_mnist_arrays("test", data_dir=str(tmp_path))
    assert images.shape == (5, 28, 28) and labels.shape == (5,)
    batch = next(iter(data.load("fashion_mnist", batch_size=4, data_dir=str(tmp_path))))
    assert batch.shape == (4, 28, 28, 1) and batch.dtype == tf.float32
    assert -1.0 <= float(tf.reduce_min(batch)) and float(tf.reduce_max(batch)) <= 1.0


@pytest.mark.skipif(not os.path.isdir(DEBIAN_FASHION_MNIST), reason="apt-get install dataset-fashion-mnist")
def test_fashion_mnist_from_the_debian_package():
    images, labels = data.fashion_mnist_arrays("train", data_dir=DEBIAN_FASHION_MNIST)
    assert images.shape == (60_000, 28, 28) and set(np.unique(labels)) == set(range(10))
    test_images, _ = data.fashion_mnist_arrays("test", data_dir=DEBIAN_FASHION_MNIST)
    assert len(test_images) == 10_000


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "FASHION_MNIST_DIRS", (str(tmp_path / "nowhere"),))
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        data.fashion_mnist_arrays("train", download=False)

    def no_network():
        raise OSError("no network")

    import keras

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", no_network)
    with pytest.raises(FileNotFoundError, match="download failed"):
        data.fashion_mnist_arrays("train")


def test_tfds_names_through_tfds_load():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        batches = list(data.load("mnist", batch_size=5))
    assert [b.shape for b in batches] == [(5, 28, 28, 1)] * 2
    assert all(-1.0 <= float(tf.reduce_min(b)) and float(tf.reduce_max(b)) <= 1.0 for b in batches)


def test_image_folder(tmp_path):
    for i in range(6):
        image = np.full((10, 12, 3), i * 40, np.uint8)
        tf.io.write_file(str(tmp_path / f"{i}.png"), tf.io.encode_png(image))
    batches = list(data.load(str(tmp_path), batch_size=3, image_size=(8, 8), shuffle=False))
    assert [b.shape for b in batches] == [(3, 8, 8, 3)] * 2
    values = sorted(float(b[i, 0, 0, 0]) for b in batches for i in range(3))
    np.testing.assert_allclose(values, [i * 40 / 127.5 - 1 for i in range(6)], atol=1e-5)
    with pytest.raises(ValueError, match="image_size"):
        data.load(str(tmp_path))
