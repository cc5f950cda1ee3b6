"""ganzoo's Fashion-MNIST classifier (the domain-specific features of the classifier figures), and
the cache helpers shared with presets and the FID Inception network (`fid_inception`).

The classifier maps a batch of images in [-1, 1] (the generators' range) to features, and to
class probabilities for the classifier score.
"""

import hashlib
import json
import os

import keras
import numpy as np
import tensorflow as tf

ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")
CLASSIFIER_WEIGHTS = os.path.join(ASSETS, "fashion_mnist_classifier.weights.h5")
CLASSIFIER_RECORD = os.path.join(ASSETS, "fashion_mnist_classifier.json")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot")


def ganzoo_home():
    """ganzoo's cache of downloads and derived files: $GANZOO_HOME, default ~/.keras/ganzoo."""
    return os.environ.get("GANZOO_HOME", os.path.join(os.path.expanduser("~"), ".keras", "ganzoo"))


def sha256_of(path):
    return file_digest(path, "sha256")


def file_digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_fashion_mnist_classifier():
    """A small CNN for 28x28x1 images in [-1, 1]: two conv blocks, a 128-unit feature layer
    ("features", those of the Fréchet classifier distance) and 10 logits."""
    images = keras.Input((28, 28, 1), name="images")
    x = images
    for filters in (32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
        x = keras.layers.Dropout(0.25)(x)
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(128, activation="relu", name="features")(x)
    logits = keras.layers.Dense(10, name="logits")(keras.layers.Dropout(0.5)(features))
    return keras.Model(images, logits, name="fashion_mnist_classifier")


class FashionMNISTClassifier:
    """The classifier shipped with ganzoo (trained by tools/train_eval_classifier.py), its
    weights checked against the sha256 recorded when it was trained.

    `features(images)` gives the 128-d feature layer, `probabilities(images)` the class
    probabilities, `predict_classes(images)` the labels; images are [n, 28, 28, 1] in [-1, 1],
    or [n, 32, 32, 1] (`data.load("fashion_mnist", pad_to=32)`), of which it reads the 28x28
    centre: a generator's border pixels, which the real data holds at -1, are not scored.
    """

    def __init__(self, weights=CLASSIFIER_WEIGHTS, record=CLASSIFIER_RECORD):
        if not os.path.exists(weights) or not os.path.exists(record):
            raise FileNotFoundError(
                f"The Fashion-MNIST classifier's files are missing ({weights}, {record}); "
                "train them with `python tools/train_eval_classifier.py`.")
        with open(record) as f:
            self.record = json.load(f)
        actual = sha256_of(weights)
        if actual != self.record["sha256"]:
            raise ValueError(f"Checksum mismatch for {weights}: sha256 {actual}, expected "
                             f"{self.record['sha256']}. Reinstall ganzoo or retrain the classifier.")
        self.model = build_fashion_mnist_classifier()
        self.model.load_weights(weights)
        self._both = keras.Model(self.model.input, [self.model.get_layer("features").output, self.model.output])
        self._call = tf.function(lambda x: self._both(x, training=False))

    def _run(self, images):
        images = tf.convert_to_tensor(images, tf.float32)
        if images.shape[1:] == (32, 32, 1):  # padded by data.load(pad_to=32) (StyleGAN): the 28x28 centre
            images = images[:, 2:30, 2:30]
        if images.shape[1:] != (28, 28, 1):
            raise ValueError(f"The Fashion-MNIST classifier takes [n, 28, 28, 1] images (or [n, 32, 32, 1], "
                             f"Fashion-MNIST padded to 32, whose centre it reads); got {tuple(images.shape)}.")
        return self._call(images)

    def features(self, images):
        return self._run(images)[0].numpy()

    def probabilities(self, images):
        return tf.nn.softmax(self._run(images)[1]).numpy()

    def predict_classes(self, images):
        return np.argmax(self._run(images)[1].numpy(), axis=1)
