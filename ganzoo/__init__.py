"""ganzoo: a zoo of generative adversarial networks for Keras 3 on TensorFlow.

    gan = ganzoo.get("dcgan", data_shape=(28, 28, 1))
    gan.compile()
    gan.fit(ganzoo.data.load("fashion_mnist", batch_size=64), epochs=1)
"""

import os

# ganzoo's train steps use tf.GradientTape and tf.distribute: it runs on the TensorFlow backend.
_backend = os.environ.get("KERAS_BACKEND", "tensorflow")
if _backend != "tensorflow":
    raise ImportError(
        f"ganzoo needs Keras's TensorFlow backend, but KERAS_BACKEND={_backend!r}. "
        "Unset KERAS_BACKEND or set it to 'tensorflow' before importing ganzoo."
    )

import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        f"ganzoo needs Keras's TensorFlow backend, but Keras runs on {keras.backend.backend()!r} "
        "(see ~/.keras/keras.json). Set KERAS_BACKEND=tensorflow."
    )

from ganzoo import data, losses, models, networks  # noqa: E402,F401
from ganzoo.gan import GAN  # noqa: E402
from ganzoo.models.unrolled import UnrolledGAN  # noqa: E402
from ganzoo.presets import load_preset  # noqa: E402
from ganzoo.registry import get, list_models, model_options, register  # noqa: E402

__version__ = "0.1.0"
__all__ = ["GAN", "UnrolledGAN", "data", "get", "list_models", "load_preset", "losses", "model_options",
           "networks", "register", "__version__"]
