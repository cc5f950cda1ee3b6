"""ganzoo: a zoo of generative adversarial networks for Keras 3 on TensorFlow.

TensorFlow is one import package shipped by several distributions: `tensorflow-cpu` (the CPU
build, ~270 MB) and `tensorflow` (on Linux, the GPU-capable build with CUDA extras). Two of
them in one environment overwrite each other's files, so ganzoo requires exactly one, chosen
by GANZOO_TENSORFLOW at install time:

    pip install -e .                                           # tensorflow-cpu (default)
    GANZOO_TENSORFLOW='tensorflow[and-cuda]' pip install -e .  # the GPU build
"""

import glob
import os

from setuptools import find_packages, setup

TENSORFLOW_VERSION = "2.21.*"
tensorflow = os.environ.get("GANZOO_TENSORFLOW", "tensorflow-cpu").strip()

setup(
    name="ganzoo",
    version="0.1.0",
    description="A zoo of generative adversarial networks for Keras 3 that train with model.fit",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["ganzoo", "ganzoo.*"]),
    # The Fashion-MNIST classifier's weights and record, and the bundled presets with their index.
    package_data={"ganzoo": ["assets/*", "assets/presets/*"]},
    python_requires=">=3.10",
    install_requires=[
        f"{tensorflow}=={TENSORFLOW_VERSION}",
        "keras>=3.12,<4",
        "tensorflow-datasets>=4.9",
        "numpy>=1.26",
        "absl-py>=1.0",
        # tf.summary (TensorBoard logs of the run directory) needs it; TensorFlow 2.21 no longer pulls it.
        "tensorboard>=2.20",
    ],
    # tensorflow-serving-api is installed with --no-deps (README: its `tensorflow` requirement would
    # install a second TensorFlow); these are the rest of its requirements, pinned as it pins them.
    # orbax-checkpoint (with JAX, ~700 MB) runs the test of keras.callbacks.OrbaxCheckpoint, which
    # would otherwise always skip.
    extras_require={"test": ["pytest>=7", "grpcio>=1.24.3,<2", "protobuf>=6.31.1,<8", "orbax-checkpoint"]},
    data_files=[("share/ganzoo/configs", sorted(glob.glob("configs/*.py")))],
    entry_points={"console_scripts": ["ganzoo=ganzoo.cli:main"]},
)
