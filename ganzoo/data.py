"""Datasets as tf.data pipelines of real minibatches: mixtures, Fashion-MNIST, tfds, image folders.

Images come out as float32 [batch, H, W, C] scaled to [-1, 1] (the generators' tanh range),
vectors as float32 [batch, D]. Pipelines cache, shuffle, batch with `drop_remainder=True` (every
minibatch the same size, which `GAN.fit` needs to group k of them) and prefetch.
"""

import gzip
import math
import os
import struct
import sys

import numpy as np
import tensorflow as tf


class Mixture:
    """A mixture of isotropic 2-D Gaussians with equal weights (the mode-collapse benchmarks)."""

    def __init__(self, name, centers, std):
        self.name = name
        self.centers = np.asarray(centers, np.float32)
        self.std = float(std)

    def sample(self, num_samples, seed=0):
        rng = np.random.default_rng(seed)
        modes = rng.integers(len(self.centers), size=num_samples)
        noise = rng.normal(scale=self.std, size=(num_samples, 2))
        return (self.centers[modes] + noise).astype(np.float32)


# The protocol of VEEGAN / PacGAN (tools/paper_tables.json, "mixtures_protocol").
MIXTURES = {
    "ring8": Mixture("ring8", [(math.cos(2 * math.pi * i / 8), math.sin(2 * math.pi * i / 8))
                               for i in range(8)], std=0.01),
    "grid25": Mixture("grid25", [(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)],
                      std=0.05),
}


def mixture(name):
    if name not in MIXTURES:
        raise ValueError(f"Unknown mixture {name!r}; valid: {', '.join(MIXTURES)}.")
    return MIXTURES[name]


# ------------------------------------------------------------------------- Fashion-MNIST
FASHION_MNIST_DIRS = (
    os.path.join(os.path.expanduser("~"), ".keras", "datasets", "fashion-mnist"),
    "/usr/share/datasets/fashion-mnist",  # Debian's dataset-fashion-mnist
)
_FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path):
    """An IDX file (the MNIST format, gzipped or not) as a NumPy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        zero, dtype_code, rank = struct.unpack(">HBB", f.read(4))
        if zero != 0 or dtype_code != 0x08:
            raise ValueError(f"{path} is not an IDX file of unsigned bytes (magic {zero:#x} {dtype_code:#x}).")
        shape = struct.unpack(f">{rank}I", f.read(4 * rank))
        array = np.frombuffer(f.read(), np.uint8)
    if array.size != math.prod(shape):
        raise ValueError(f"{path} is truncated: {array.size} bytes of data for shape {shape}.")
    return array.reshape(shape)


def _find_idx(directory, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    return None


def fashion_mnist_arrays(split="train", data_dir=None, download=True):
    """(images uint8 [N, 28, 28], labels uint8 [N]) of a Fashion-MNIST split.

    Looks for the four IDX files in `data_dir`, then ~/.keras/datasets/fashion-mnist, then
    /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist), then lets Keras
    download them into the first of those.
    """
    if split not in _FASHION_MNIST_FILES:
        raise ValueError(f"Unknown Fashion-MNIST split {split!r}; valid: train, test.")
    directories = ([data_dir] if data_dir else []) + list(FASHION_MNIST_DIRS)
    for directory in directories:
        paths = [_find_idx(directory, stem) for stem in _FASHION_MNIST_FILES[split]]
        if all(paths):
            images, labels = (read_idx(p) for p in paths)
            if images.shape[1:] != (28, 28) or len(images) != len(labels):
                raise ValueError(f"Fashion-MNIST files in {directory} have unexpected shapes "
                                 f"{images.shape}, {labels.shape}.")
            return images, labels
    if download:
        import keras

        try:
            (train_images, train_labels), (test_images, test_labels) = keras.datasets.fashion_mnist.load_data()
        except Exception as error:  # no network, a proxy, a partial file: all end the same way
            raise FileNotFoundError(_missing_message(directories, error)) from error
        return (train_images, train_labels) if split == "train" else (test_images, test_labels)
    raise FileNotFoundError(_missing_message(directories, None))


def _missing_message(directories, error):
    return (
        "Fashion-MNIST's IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) were not found in "
        f"{', '.join(directories)}" + (f", and Keras's download failed ({error})" if error else "")
        + ". Install them with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or copy "
        "the four files into ~/.keras/datasets/fashion-mnist, or pass data_dir=."
    )


# ----------------------------------------------------------------------------- pipelines
def scale_images(images):
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def to_unit_range(images):
    """Generator outputs in [-1, 1] -> [0, 1], clipped (for viewing and serving)."""
    return np.clip((np.asarray(images) + 1.0) / 2.0, 0.0, 1.0)


def _pipeline(dataset, batch_size, shuffle, seed, num_examples, cache=True, images=True):
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(min(num_examples, 60_000), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    if images:  # scaled per batch: cheaper than per image, and the cache keeps uint8
        labelled = isinstance(dataset.element_spec, tuple)  # (images, labels)
        dataset = dataset.map(lambda *batch: (scale_images(batch[0]), *batch[1:]) if labelled else scale_images(batch[0]),
                              num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


UNPAIRED = "unpaired"  # two image domains for CycleGAN, data.load(UNPAIRED, domain_a=..., domain_b=...)
OWN_DATASETS = (*MIXTURES, "fashion_mnist", "stacked_fashion_mnist", UNPAIRED)


def check_name(name, data_dir=None):
    """Raises ValueError unless `name` is one of ganzoo's datasets, a folder of images, or a
    tensorflow-datasets name: a registered builder (tfds's list names none of ganzoo's), a
    community "namespace:dataset", or a dataset prepared in `data_dir`."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"data.name must be a dataset name or a folder; got {name!r}.")
    if name in OWN_DATASETS or os.path.isdir(name):
        return
    base, _, after_colon = name.partition(":")
    if after_colon and not after_colon[0].isdigit():  # "huggingface:mnist", not "mnist:3.0.1"
        return
    builder = base.split("/")[0]  # "celeb_a/align" names its builder first
    if data_dir and os.path.isdir(os.path.join(data_dir, builder)):
        return
    import tensorflow_datasets as tfds

    if builder not in tfds.list_builders(with_community_datasets=False):
        raise ValueError(f"Unknown dataset {name!r}. ganzoo's: {', '.join(OWN_DATASETS)}; or a folder of images; "
                         "or a tensorflow-datasets name (tfds.list_builders()).")


def _tfds_images(name, split, data_dir, with_labels=False):
    import tensorflow_datasets as tfds

    dataset = tfds.load(name, split=split, data_dir=data_dir)
    features = ("image", "label") if with_labels else ("image",)
    for feature in features:
        if feature not in dataset.element_spec:
            raise ValueError(f"tfds dataset {name!r} has no {feature!r} feature; features: {list(dataset.element_spec)}.")
    count = int(dataset.cardinality())
    if with_labels:
        return dataset.map(lambda example: (example["image"], tf.cast(example["label"], tf.int32))), \
            count if count > 0 else 10_000
    return dataset.map(lambda example: example["image"]), count if count > 0 else 10_000


def _folder_images(directory, image_size, channels):
    import keras

    if image_size is None:
        raise ValueError("Loading a folder of images needs image_size=(height, width).")
    dataset = keras.utils.image_dataset_from_directory(
        directory, labels=None, image_size=tuple(image_size), batch_size=None, shuffle=False,
        color_mode={1: "grayscale", 3: "rgb"}[channels])
    return dataset, int(dataset.cardinality())


def stacked_fashion_mnist(split="train", data_dir=None, num_samples=100_000, seed=0, with_labels=False):
    """Three random Fashion-MNIST images stacked as the R, G, B channels: 10³ = 1,000 modes
    (the label triples), Stacked MNIST's construction (Metz et al. 2017) on Fashion-MNIST.
    A dataset of uint8 [28, 28, 3] images (and their label triples with `with_labels`)."""
    images, labels = fashion_mnist_arrays(split, data_dir)
    picks = np.random.default_rng(seed).integers(len(images), size=(num_samples, 3))
    stacked = np.stack([images[picks[:, channel]] for channel in range(3)], axis=-1)
    if with_labels:
        return tf.data.Dataset.from_tensor_slices((stacked, labels[picks]))
    return tf.data.Dataset.from_tensor_slices(stacked)


def load(name, batch_size=64, split="train", shuffle=True, seed=0, data_dir=None,
         num_samples=100_000, image_size=None, channels=None, with_labels=False, pad_to=None, domain_a=None,
         domain_b=None):
    """A tf.data.Dataset of real minibatches.

    Args:
        name: "ring8" or "grid25" (2-D mixtures), "fashion_mnist", "stacked_fashion_mnist"
            (28x28x3, 1,000 modes), a tensorflow-datasets name
            (e.g. "mnist", "cifar10"; its "image" feature), or the path of a folder of images.
        batch_size: examples per minibatch (the last partial one is dropped).
        split: "train" or "test" (any tfds split for tfds names).
        shuffle, seed: shuffle each epoch, reproducibly.
        data_dir: where the dataset's files are (Fashion-MNIST, tfds).
        num_samples: points drawn from a mixture (the PacGAN protocol trains on 100,000), or
            stacked images made.
        image_size, channels: size and channels (1 or 3; a folder's default 3) for a folder of
            images or an unpaired domain.
        with_labels: minibatches of (images, int32 labels), for conditional GANs:
            Fashion-MNIST's classes, or a tfds dataset's "label" feature.
        pad_to: Fashion-MNIST only: pad the 28x28 images with background (-1) to pad_to x
            pad_to, centred (32 for networks whose sizes are powers of two, as StyleGAN's).
        domain_a, domain_b: with name "unpaired", the two domains of a CycleGAN's (images_a,
            images_b) minibatches (`ganzoo.unpaired_data.load_unpaired`: a Fashion-MNIST class
            "fashion_mnist:Sneaker", a folder, or "tfds:cycle_gan/horse2zebra:trainA").
    """
    if name == UNPAIRED:
        from ganzoo import unpaired_data

        return unpaired_data.load_unpaired(domain_a, domain_b, batch_size=batch_size, split=split, shuffle=shuffle,
                                           seed=seed, image_size=image_size, channels=channels, data_dir=data_dir)
    if domain_a is not None or domain_b is not None:
        raise ValueError(f"domain_a and domain_b are the domains of data name {UNPAIRED!r} (CycleGAN's unpaired "
                         f"images); data name {name!r} takes neither.")
    if pad_to is not None and (name != "fashion_mnist" or not isinstance(pad_to, int) or pad_to < 28):
        raise ValueError(f"pad_to pads Fashion-MNIST's 28x28 images to a larger square (e.g. 32); got pad_to={pad_to!r} "
                         f"for {name!r}.")
    if with_labels and name not in ("fashion_mnist",) and (name in OWN_DATASETS or os.path.isdir(name)):
        raise ValueError(f"with_labels: {name!r} has no class labels to condition on; fashion_mnist and "
                         "tfds datasets with a 'label' feature do.")
    if name in MIXTURES:
        points = mixture(name).sample(num_samples, seed=seed if split == "train" else seed + 1)
        dataset = tf.data.Dataset.from_tensor_slices(points)
        return _pipeline(dataset, batch_size, shuffle, seed, num_samples, cache=False, images=False)
    if name == "fashion_mnist":
        images, labels = fashion_mnist_arrays(split, data_dir)
        if pad_to:  # uint8 0 is the background, -1 once scaled
            before = (pad_to - 28) // 2
            images = np.pad(images, [(0, 0), (before, pad_to - 28 - before), (before, pad_to - 28 - before)])
        dataset = tf.data.Dataset.from_tensor_slices(
            (images[..., None], labels.astype("int32")) if with_labels else images[..., None])
        return _pipeline(dataset, batch_size, shuffle, seed, len(images), cache=False)
    if name == "stacked_fashion_mnist":
        return _pipeline(stacked_fashion_mnist(split, data_dir, num_samples, seed), batch_size, shuffle, seed,
                         num_samples, cache=False)
    if os.path.isdir(name):
        dataset, count = _folder_images(name, image_size, channels or 3)
        return _pipeline(dataset.map(lambda x: tf.cast(x, tf.uint8)), batch_size, shuffle, seed, count)
    check_name(name, data_dir)
    dataset, count = _tfds_images(name, split, data_dir, with_labels)
    return _pipeline(dataset, batch_size, shuffle, seed, count)


# ------------------------------------------------------------------ real data given to fit()
IMAGE_RANGE_SLACK = 1e-3  # float images must lie in [-1, 1], the generator's tanh range


def conform(x, data_shape, labels=False):
    """Real data as `GAN.fit` takes it, for a model of `data_shape`. What is unambiguous is
    adapted: a tfds-style dict's "image", uint8 images scaled to [-1, 1] (with a notice), the
    missing channel axis of one-channel images. The rest is refused with the expected shape or
    range: images of other shapes, float images outside [-1, 1] (e.g. [0, 255]), non-finite
    values in an array, single examples where minibatches were expected.

    `labels=True` (a conditional GAN): a dataset must yield (images, labels) minibatches (or
    dicts with "image" and "label"); each pair stays together, the images conformed as above
    and the labels as int32. An array is the images alone (its labels come as fit's `y`)."""
    data_shape = tuple(data_shape)
    if isinstance(x, tf.data.Dataset):
        return _conform_dataset(_labelled(x) if labels else x, data_shape, labels)
    if isinstance(x, dict):
        x = _image_of(x)
    if not hasattr(x, "shape"):
        return x  # fit() refuses what it cannot use
    x = np.asarray(x)
    if x.dtype == np.uint8:
        _scaling_notice()
        x = scale_images(x).numpy()
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"Real data must be floats (or uint8 images); got {x.dtype}.")
    if _lacks_channel_axis(x.shape[1:], data_shape):
        x = x[..., None]
    _check_shape(x.shape[1:], data_shape)
    finite = np.isfinite(x)
    if not finite.all():
        raise ValueError(f"The real data holds NaN or infinite values (the first in example "
                         f"{int(np.argwhere(~finite)[0][0])}); remove or replace them before training.")
    if len(data_shape) == 3:
        _check_image_range(float(x.min()), float(x.max()))
    return x


def _image_of(element):
    if "image" not in element:
        raise ValueError(f"The data's elements are dicts without an 'image' key (keys: {sorted(element)}); "
                         "map them to the real data, e.g. dataset.map(lambda e: e['pixels']).")
    return element["image"]


def _labelled(dataset):
    """A dataset of (images, int32 labels) minibatches, from pairs or tfds-style dicts."""
    spec = dataset.element_spec
    if isinstance(spec, dict) and "label" in spec:
        _image_of(spec)
        dataset = dataset.map(lambda element: (element["image"], element["label"]))
    elif not (isinstance(spec, tuple) and len(spec) == 2):
        raise ValueError("A conditional GAN trains on labelled data: give a dataset of (images, labels) "
                         f"minibatches, e.g. ganzoo.data.load(..., with_labels=True); this one yields {spec}.")
    labels = dataset.element_spec[1]
    if not labels.dtype.is_integer:
        raise TypeError(f"Labels must be integer class indices; the dataset yields {labels.dtype.name}.")
    if labels.shape.rank not in (1, 2) or (labels.shape.rank == 2 and labels.shape[1] != 1):
        raise ValueError(f"Labels must be one class index per example, shaped [batch] (or [batch, 1]); the "
                         f"dataset yields {labels.shape} (one-hot labels: take their argmax).")
    return dataset.map(lambda images, labels: (images, tf.reshape(tf.cast(labels, tf.int32), [-1])))


def _conform_dataset(dataset, data_shape, labels=False):
    """`conform` for a dataset; with `labels`, of (images, labels) pairs whose images it conforms."""
    if labels:  # every step below acts on the images of a pair
        def map_images(data, function):
            return data.map(lambda images, classes: (function(images), classes))
    else:
        def map_images(data, function):
            return data.map(function)

    def image_spec():
        return dataset.element_spec[0] if labels else dataset.element_spec

    spec = dataset.element_spec
    if not labels and isinstance(spec, dict):
        _image_of(spec)
        dataset = dataset.map(_image_of)
    elif not labels and isinstance(spec, tuple):  # (images, labels): the labels are not used
        dataset = dataset.map(lambda *element: element[0])
    spec = image_spec()
    if spec.shape.rank is not None and tuple(spec.shape) == data_shape:
        raise ValueError(f"The dataset yields single examples of shape {data_shape}; fit() takes minibatches: "
                         "batch it, e.g. dataset.batch(64, drop_remainder=True).")
    if spec.dtype == tf.uint8:
        _scaling_notice()
        dataset = map_images(dataset, scale_images)
    elif not spec.dtype.is_floating:
        raise TypeError(f"Real data must be floats (or uint8 images); the dataset yields {spec.dtype.name}.")
    if spec.shape.rank is None:  # e.g. tf.py_function without a shape: declare the model's
        dataset = map_images(dataset, lambda batch: tf.ensure_shape(batch, [None, *data_shape]))
        spec = image_spec()
    if _lacks_channel_axis(tuple(spec.shape[1:]), data_shape):
        dataset = map_images(dataset, lambda images: images[..., None])
    _check_shape(tuple(image_spec().shape[1:]), data_shape)
    if len(data_shape) == 3 and spec.dtype != tf.uint8:
        # Checked batch by batch as training reads them: peeking at a batch here would fill a
        # shuffle buffer (or consume a single-pass source) only to throw it away.
        dataset = map_images(dataset, _assert_image_range)
    return dataset


def _assert_image_range(images):
    low, high = tf.reduce_min(images), tf.reduce_max(images)
    valid = tf.logical_and(low >= -1 - IMAGE_RANGE_SLACK, high <= 1 + IMAGE_RANGE_SLACK)
    with tf.control_dependencies([tf.debugging.Assert(valid, [IMAGE_RANGE_MESSAGE, "got", low, high])]):
        return tf.identity(images)


def _lacks_channel_axis(shape, data_shape):
    return len(data_shape) == 3 and data_shape[-1] == 1 and tuple(shape) == data_shape[:-1]


def _check_shape(shape, data_shape):
    if len(shape) != len(data_shape) or any(s is not None and s != d for s, d in zip(shape, data_shape)):
        raise ValueError(f"This model takes examples of shape {data_shape}; the data's are {tuple(shape)}.")


IMAGE_RANGE_MESSAGE = ("Float images must lie in [-1, 1] (the generator's tanh range); scale them, e.g. "
                       "images / 127.5 - 1 for [0, 255]. Their minimum and maximum:")


def _check_image_range(low, high):
    if low < -1 - IMAGE_RANGE_SLACK or high > 1 + IMAGE_RANGE_SLACK:
        raise ValueError(f"{IMAGE_RANGE_MESSAGE} [{low:g}, {high:g}].")


def _scaling_notice():
    print("ganzoo: the real images are uint8; scaling them to [-1, 1], the generator's range.", file=sys.stderr)
