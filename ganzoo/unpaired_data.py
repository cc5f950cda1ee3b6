"""Unpaired image data for CycleGAN: (images_a, images_b) minibatches from two independent domains.

A domain is one of:
  - a Fashion-MNIST class, "fashion_mnist:Sneaker" or "fashion_mnist:7" (the local IDX files,
    read by `ganzoo.data.fashion_mnist_arrays`, of `split` "train" or "test");
  - a folder of PNG and JPEG images (its files, not its subfolders; `split` does not apply);
  - a tensorflow-datasets split, "tfds:NAME:SPLIT", e.g. "tfds:cycle_gan/horse2zebra:trainA".
    `load_unpaired(tfds_name="cycle_gan/horse2zebra", split="train")` names both domains of the
    cycle_gan datasets at once (their splits trainA/trainB, testA/testB).

Each domain is shuffled on its own, with its own seed, so the pairs are unpaired: the authors'
UnalignedDataset does the same (image i of A with a random image of B). An epoch is as long as
the larger domain, as theirs (`len = max(A_size, B_size)`): every image of the larger domain
is seen once per epoch and the smaller domain repeats, reshuffled each time it is used up. With
the smaller one's length (`epoch_length="min"`), most of a lopsided pair's larger domain would
go unused in each epoch.

Images come out as float32 [batch, H, W, C] in [-1, 1], in minibatches of `batch_size`
(drop_remainder: every step the same size). The authors' augmentation (resize to 286, random
256 crop, horizontal flip) is not applied here.
"""

import os
import struct

import numpy as np
import tensorflow as tf

from ganzoo.data import fashion_mnist_arrays, scale_images
from ganzoo.features import FASHION_MNIST_CLASSES  # the classes by label (features loads no weights on import)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
CYCLE_GAN_SPLITS = {"train": ("trainA", "trainB"), "test": ("testA", "testB")}
DOMAIN_FORMS = ("a Fashion-MNIST class ('fashion_mnist:Sneaker' or 'fashion_mnist:7'), a folder of PNG/JPEG "
                "images, or a tfds split ('tfds:cycle_gan/horse2zebra:trainA')")


def fashion_mnist_pair(class_a="Sneaker", class_b="Ankle boot", batch_size=1, split="train", shuffle=True, seed=0,
                       **options):
    """Two Fashion-MNIST classes as domains A and B (by name or label), 28x28x1: the offline
    demo pair is Sneaker <-> Ankle boot. `options` as `load_unpaired` (image_size, data_dir, ...)."""
    return load_unpaired(f"fashion_mnist:{class_a}", f"fashion_mnist:{class_b}", batch_size=batch_size, split=split,
                         shuffle=shuffle, seed=seed, **options)


def load_unpaired(domain_a=None, domain_b=None, batch_size=1, split="train", shuffle=True, seed=0, image_size=None,
                  channels=None, tfds_name=None, data_dir=None, epoch_length="max"):
    """A tf.data.Dataset of (images_a, images_b) minibatches of unpaired images.

    Args:
        domain_a, domain_b: the two domains (see the module's docstring for the forms).
        batch_size: images of each domain per minibatch (the authors' 1).
        split: "train" or "test": Fashion-MNIST's split, or with `tfds_name` the cycle_gan pair's
            (train: trainA/trainB; test: testA/testB).
        shuffle, seed: shuffle each domain each epoch, A with `seed` and B with `seed + 1`.
        image_size: (height, width) (or one int) every image is resized to (bilinear); needed when a
            domain's images differ in size.
        channels: 1 or 3 to convert to (grey <-> RGB); None: as stored (a folder: 1 if all its
            images are grey, else 3).
        tfds_name: a tensorflow-datasets name with A/B splits, e.g. "cycle_gan/horse2zebra",
            instead of domain_a and domain_b.
        data_dir: where Fashion-MNIST's files or tfds's prepared datasets are.
        epoch_length: "max" (the larger domain's size, as the authors) or "min".
    """
    if tfds_name is not None:
        if domain_a is not None or domain_b is not None:
            raise ValueError("Give either tfds_name (both domains from one tfds dataset) or domain_a and domain_b, "
                             "not both.")
        if split not in CYCLE_GAN_SPLITS:
            raise ValueError(f"With tfds_name, split is 'train' or 'test' (the {tfds_name} splits trainA/trainB or "
                             f"testA/testB); got {split!r}. For other splits use domain_a='tfds:NAME:SPLIT'.")
        domain_a, domain_b = (f"tfds:{tfds_name}:{name}" for name in CYCLE_GAN_SPLITS[split])
    if domain_a is None or domain_b is None:
        raise ValueError(f"load_unpaired needs two domains, domain_a and domain_b: each {DOMAIN_FORMS}; or tfds_name.")
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    if epoch_length not in ("max", "min"):
        raise ValueError(f"epoch_length must be 'max' (the larger domain's size) or 'min'; got {epoch_length!r}.")
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1, 3 or None (as stored); got {channels!r}.")
    image_size = _image_size(image_size)
    arrays = {}  # Fashion-MNIST's split, read once for both domains
    (images_a, count_a), (images_b, count_b) = (
        domain_images(domain, split, image_size, channels, data_dir, arrays) for domain in (domain_a, domain_b))
    length = max(count_a, count_b) if epoch_length == "max" else min(count_a, count_b)
    if length < batch_size:
        raise ValueError(f"The domains hold {count_a} and {count_b} images: an epoch of {length} makes no minibatch of "
                         f"batch_size={batch_size}; lower batch_size.")
    streams = []
    for images, count, domain_seed in ((images_a, count_a, seed), (images_b, count_b, seed + 1)):
        if count <= length:  # read whole every epoch: cached as uint8, decoded and resized once
            images = images.cache()  # (a domain cut short, epoch_length="min", would throw its partial cache away)
        if shuffle:
            images = images.shuffle(min(count, 10_000), seed=domain_seed, reshuffle_each_iteration=True)
        if count < length:  # the smaller domain goes round as often as the epoch needs, reshuffled each time
            images = images.repeat()
        streams.append(images.take(length))
    pairs = tf.data.Dataset.zip(tuple(streams)).batch(batch_size, drop_remainder=True)
    # Scaled per batch: cheaper than per image, and the cache keeps uint8.
    pairs = pairs.map(lambda a, b: (scale_images(a), scale_images(b)), num_parallel_calls=tf.data.AUTOTUNE)
    return pairs.prefetch(tf.data.AUTOTUNE)


def domain_images(domain, split="train", image_size=None, channels=None, data_dir=None, arrays=None):
    """(dataset of uint8 [H, W, C] images, their number) of one domain. `arrays`: a dict that
    keeps the Fashion-MNIST split read, for the next domain."""
    if not isinstance(domain, str) or not domain:
        raise ValueError(f"A domain is {DOMAIN_FORMS}; got {domain!r}.")
    if domain.startswith("fashion_mnist:"):
        images = _fashion_mnist_class(domain.partition(":")[2], split, data_dir, {} if arrays is None else arrays)
        return _conformed(tf.data.Dataset.from_tensor_slices(images), (28, 28), image_size, 1, channels), len(images)
    if domain.startswith("tfds:"):
        return _tfds_images(domain, image_size, channels, data_dir)
    if os.path.isdir(domain):
        return _folder_images(domain, image_size, channels)
    if os.path.exists(domain):
        raise ValueError(f"Domain {domain!r} is a file; a folder domain is a directory of PNG/JPEG images.")
    raise ValueError(f"Domain {domain!r} is not a folder (no such directory) nor any other form: a domain is "
                     f"{DOMAIN_FORMS}.")


def fashion_mnist_class_index(name):
    """A Fashion-MNIST label from a class name ("Sneaker", any case) or a label ("7")."""
    text = str(name).strip()
    if text.isdigit() and 0 <= int(text) < len(FASHION_MNIST_CLASSES):
        return int(text)
    by_name = {class_name.lower(): label for label, class_name in enumerate(FASHION_MNIST_CLASSES)}
    if text.lower() in by_name:
        return by_name[text.lower()]
    listed = ", ".join(f"{label} {class_name!r}" for label, class_name in enumerate(FASHION_MNIST_CLASSES))
    raise ValueError(f"Unknown Fashion-MNIST class {name!r}; give a name or label: {listed}.")


def _fashion_mnist_class(name, split, data_dir, arrays):
    label = fashion_mnist_class_index(name)
    if (split, data_dir) not in arrays:
        arrays[split, data_dir] = fashion_mnist_arrays(split, data_dir)
    images, labels = arrays[split, data_dir]
    return images[labels == label][..., None]


def _image_size(image_size):
    if image_size is None:
        return None
    size = (image_size, image_size) if isinstance(image_size, (int, np.integer)) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in size):
        raise ValueError(f"image_size must be (height, width) of positive integers, or one; got {image_size!r}.")
    return tuple(int(s) for s in size)


def _conformed(images, stored_size, image_size, stored_channels, channels):
    """uint8 images resized to `image_size` (if it differs from `stored_size`) and converted to
    `channels` (if it differs from `stored_channels`)."""
    if image_size is not None and tuple(image_size) != tuple(stored_size or ()):
        images = images.map(lambda image: tf.cast(tf.clip_by_value(tf.round(tf.image.resize(image, image_size)), 0, 255),
                                                  tf.uint8), num_parallel_calls=tf.data.AUTOTUNE)
    if channels is not None and channels != stored_channels:
        convert = tf.image.grayscale_to_rgb if channels == 3 else tf.image.rgb_to_grayscale
        images = images.map(convert, num_parallel_calls=tf.data.AUTOTUNE)
    return images


# ------------------------------------------------------------------------------------ folders
def _folder_images(directory, image_size, channels):
    paths = sorted(os.path.join(directory, name) for name in os.listdir(directory)
                   if name.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(os.path.join(directory, name)))
    if not paths:
        raise ValueError(f"The folder {directory!r} holds no PNG or JPEG images ({', '.join(IMAGE_EXTENSIONS)}); "
                         "a folder domain is a directory of image files (subfolders are not read).")
    shapes = [_stored_shape(path) for path in paths]
    sizes = sorted({shape[:2] for shape in shapes})
    if image_size is None and len(sizes) > 1:
        odd = next(i for i, shape in enumerate(shapes) if shape[:2] != shapes[0][:2])
        raise ValueError(f"The images of {directory!r} differ in size ({', '.join(f'{h}x{w}' for h, w in sizes[:4])}"
                         f"{', ...' if len(sizes) > 4 else ''}: {os.path.basename(paths[0])} is {shapes[0][0]}x"
                         f"{shapes[0][1]}, {os.path.basename(paths[odd])} {shapes[odd][0]}x{shapes[odd][1]}); pass "
                         "image_size=(height, width) to resize them all.")
    stored_channels = 1 if all(shape[2] == 1 for shape in shapes) else 3
    decode_channels = channels or stored_channels

    def decode(path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=decode_channels, expand_animations=False)
        return tf.ensure_shape(image, [None, None, decode_channels])

    images = tf.data.Dataset.from_tensor_slices(paths).map(decode, num_parallel_calls=tf.data.AUTOTUNE)
    if image_size is None:
        height, width = sizes[0]
        images = images.map(lambda image: tf.ensure_shape(image, [height, width, decode_channels]))
    return _conformed(images, sizes[0] if len(sizes) == 1 else None, image_size, decode_channels, None), len(paths)


def _stored_shape(path):
    """(height, width, channels: 1 grey, 3 colour) of a PNG or JPEG file, from its header."""
    with open(path, "rb") as f:
        header = f.read(32)
    if header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR":
        width, height = struct.unpack(">II", header[16:24])
        color_type = header[25]
        return int(height), int(width), 1 if color_type in (0, 4) else 3  # grey, grey+alpha
    if header[:2] == b"\xff\xd8":
        height, width, channels = (int(v) for v in tf.image.extract_jpeg_shape(tf.io.read_file(path)))
        return height, width, 1 if channels == 1 else 3
    raise ValueError(f"{path} is named as an image but is neither a PNG nor a JPEG file.")


# --------------------------------------------------------------------------------------- tfds
def _tfds_images(domain, image_size, channels, data_dir):
    _, _, rest = domain.partition(":")
    name, _, split = rest.rpartition(":")
    if not name or not split:
        raise ValueError(f"A tfds domain is 'tfds:NAME:SPLIT', e.g. 'tfds:cycle_gan/horse2zebra:trainA'; got {domain!r}.")
    import tensorflow_datasets as tfds

    dataset = tfds.load(name, split=split, data_dir=data_dir)
    spec = dataset.element_spec
    if not isinstance(spec, dict) or "image" not in spec:
        raise ValueError(f"tfds dataset {name!r} has no 'image' feature; features: {list(spec)}.")
    images = dataset.map(lambda example: example["image"])
    shape = tuple(images.element_spec.shape)
    count = int(dataset.cardinality())
    if count < 0:  # unknown to tfds: counted once
        count = int(images.reduce(0, lambda n, _: n + 1))
    if count == 0:
        raise ValueError(f"tfds split {name}:{split} holds no images.")
    stored_channels = shape[2] if shape[2] is not None else 3
    stored_size = shape[:2] if None not in shape[:2] else None
    if image_size is None and stored_size is None:
        # Sizes vary as far as tfds knows (cycle_gan's are all 256x256): hold every image to the first's.
        first = tuple(int(d) for d in next(iter(images)).shape)
        message = (f"The images of tfds split {name}:{split} differ in size (the first is {first[0]}x{first[1]}); "
                   "pass image_size=(height, width) to resize them all.")

        def same_size(image):
            check = tf.debugging.assert_equal(tf.shape(image)[:2], tf.constant(first[:2]), message=message)
            with tf.control_dependencies([check]):
                return tf.ensure_shape(tf.identity(image), [first[0], first[1], shape[2]])

        images, stored_size = images.map(same_size), first[:2]
    return _conformed(images, stored_size, image_size, stored_channels, channels), count
