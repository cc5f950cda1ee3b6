"""ganzoo: a zoo of generative adversarial networks for Keras 3 on TensorFlow.

    gan = ganzoo.get("dcgan", data_shape=(28, 28, 1))
    gan.compile()
    gan.fit(ganzoo.data.load("fashion_mnist", batch_size=64), epochs=1)
"""

import os
import sys


def _quiet_tensorflow_start():
    """Imports TensorFlow and starts its runtime with the process's stderr (fd 2) sent to a
    temporary file, then restores it. TensorFlow 2.21 prints its C++ start-up lines (absl,
    oneDNN, CPU features) before TF_CPP_MIN_LOG_LEVEL applies, so only this keeps the `ganzoo`
    command's first screen its own. If the import fails, what it printed is replayed."""
    import tempfile

    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            # The runtime's own start-up lines come with the first op; but a worker of a
            # cluster (TF_CONFIG) must create its MultiWorkerMirroredStrategy before any op.
            if not os.environ.get("TF_CONFIG"):
                tf.constant(0.0) + 1.0
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.buffer.write(captured.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


# The `ganzoo` command only (library users keep TensorFlow's defaults), and only when the user
# has not chosen a log level: TF_CPP_MIN_LOG_LEVEL=0 shows everything again.
if os.path.basename(sys.argv[0]) == "ganzoo" and "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    _quiet_tensorflow_start()

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

from ganzoo import data, losses, models, networks, objectives, regularizers  # noqa: E402,F401
from ganzoo.gan import GAN  # noqa: E402
from ganzoo.models.conditional import ConditionalGAN  # noqa: E402
from ganzoo.models.unrolled import UnrolledGAN  # noqa: E402
from ganzoo.presets import load_preset  # noqa: E402
from ganzoo.registry import get, list_models, model_options, register  # noqa: E402

__version__ = "0.1.0"
__all__ = ["ConditionalGAN", "GAN", "UnrolledGAN", "data", "get", "list_models", "load_preset", "losses",
           "model_options", "networks", "objectives", "register", "regularizers", "__version__"]
