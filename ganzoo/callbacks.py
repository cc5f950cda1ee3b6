"""Training callbacks: a sample picture per epoch (PNG and TensorBoard), a stop at the
first non-finite loss, a progress bar that keeps to the main figures, and (from
`ganzoo.diagnostics`) the training-health events."""

import math
import os

import keras
import numpy as np
import tensorflow as tf

from ganzoo.data import to_unit_range
from ganzoo.run_directory import TrainingDivergedError, write_atomically


def image_grid(images, columns=None):
    """[n, H, W, C] images in [0, 1] -> one uint8 [rows*H, cols*W, C] grid, 1px gaps, filled
    row by row; `columns` (default ceil(sqrt(n))) per row."""
    images = np.asarray(images)
    n, height, width, channels = images.shape
    cols = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.ones((rows * (height + 1) - 1, cols * (width + 1) - 1, channels), np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        grid[r * (height + 1):r * (height + 1) + height, c * (width + 1):c * (width + 1) + width] = image
    return (grid * 255 + 0.5).astype(np.uint8)


def grid_row_labels(num_samples, num_classes):
    """Class labels that put one class on each row of `image_grid`'s layout of `num_samples`
    images (classes 0, 1, ... from the top, starting over after the last class)."""
    columns = int(np.ceil(np.sqrt(num_samples)))
    return (np.arange(num_samples) // columns % num_classes).astype("int32")


def scatter_plot(points, centers=None, size=480, margin=0.15):
    """A uint8 RGB [size, size, 3] picture of 2-D points (blue) over true centres (red
    crosses), drawn with NumPy so that no plotting library is needed."""
    points = np.asarray(points, np.float32)
    reference = centers if centers is not None else points
    low, high = reference.min(axis=0), reference.max(axis=0)
    span = float(np.max(high - low)) or 1.0
    low, high = low - margin * span - 0.5, high + margin * span + 0.5
    canvas = np.full((size, size, 3), 255, np.uint8)

    def to_pixels(xy):
        scaled = (xy - low) / (high - low) * (size - 1)
        return np.round(scaled[:, 0]).astype(int), np.round((size - 1) - scaled[:, 1]).astype(int)

    xs, ys = to_pixels(points)
    inside = (xs >= 1) & (xs < size - 1) & (ys >= 1) & (ys < size - 1)
    for dx in (-1, 0):
        for dy in (-1, 0):
            canvas[ys[inside] + dy, xs[inside] + dx] = (40, 90, 200)
    if centers is not None:
        cx, cy = to_pixels(np.asarray(centers, np.float32))
        for offset in range(-6, 7):
            for x, y in zip(cx, cy):
                for px, py in ((x + offset, y), (x, y + offset)):
                    if 0 <= px < size and 0 <= py < size:
                        canvas[py, px] = (220, 30, 30)
    return canvas


def sample_picture(samples, centers=None):
    """The picture of a batch of samples: a grid for images, a scatter plot for 2-D points."""
    samples = np.asarray(samples)
    if samples.ndim == 4:
        return image_grid(to_unit_range(samples))
    if samples.ndim == 2 and samples.shape[1] == 2:
        return scatter_plot(samples, centers)
    raise ValueError(f"Can draw images [n, H, W, C] or 2-D points [n, 2]; got shape {samples.shape}.")


def translation_picture(cyclegan, images_a, images_b):
    """A CycleGAN's translations as four rows: images_a, G_AB(images_a), images_b, G_BA(images_b)
    (inference mode), one column per image."""
    rows = [images_a, cyclegan.translate(images_a, "a_to_b"), images_b, cyclegan.translate(images_b, "b_to_a")]
    return image_grid(to_unit_range(np.concatenate(rows)), columns=len(images_a))


TRUNCATION_STRIP_PSIS = (1.0, 0.7, 0.5, 0.0, -0.5, -1.0)  # StyleGAN's Fig. 8 (Karras et al. 2019)


def style_mixing_picture(stylegan, row_seeds, column_seeds, crossover, truncation_psi=1.0):
    """A style-mixing grid (Karras et al. 2019, Fig. 3): the top row is the column seeds'
    images, the left column the row seeds', and cell [i, j] takes row seed i's styles below
    `crossover` (the coarse ones) and column seed j's from it on. The corner is blank."""
    mixed = stylegan.style_mix(row_seeds, column_seeds, crossover, truncation_psi)
    rows, columns = (_one_per_seed(stylegan, seeds, truncation_psi) for seeds in (row_seeds, column_seeds))
    blank = -np.ones((1, *mixed.shape[2:]), np.float32)
    cells = [blank, columns] + [part for i in range(len(row_seeds)) for part in (rows[i:i + 1], mixed[i])]
    return image_grid(to_unit_range(np.concatenate(cells)), columns=len(column_seeds) + 1)


def truncation_picture(stylegan, seeds, psis=TRUNCATION_STRIP_PSIS):
    """The truncation trick, a row per seed and a column per ψ (1: the generator's own image,
    0: the average image w_avg gives, negative: the 'opposite' of the image)."""
    images = np.stack([_one_per_seed(stylegan, seeds, psi) for psi in psis], axis=1)  # [seeds, psis, ...]
    return image_grid(to_unit_range(images.reshape(-1, *images.shape[2:])), columns=len(psis))


def _one_per_seed(stylegan, seeds, truncation_psi):
    """Image i is `generate(1, seed=seeds[i])`'s: the latents `style_mix` draws for the seeds."""
    return np.concatenate([stylegan.generate(1, seed=int(seed), truncation_psi=truncation_psi) for seed in seeds])


def write_png(path, picture):
    """Writes a uint8 picture as PNG atomically."""
    encoded = tf.io.encode_png(picture).numpy()

    def write(temporary):
        with open(temporary, "wb") as f:
            f.write(encoded)
    write_atomically(path, write)


class SampleGrid(keras.callbacks.Callback):
    """After each epoch, draws samples from one fixed latent batch and saves them as
    `directory/epoch_NNN.png` (an image grid, or a scatter plot over `centers` for 2-D
    points) and, when `log_dir` is given, as a TensorBoard image.

    Args:
        directory: where the PNG files go.
        num_samples: samples per picture (64 makes an 8x8 grid).
        seed: seed of the fixed latent batch, so pictures of successive epochs compare.
        centers: the true mode centres to draw under 2-D samples, or None.
        log_dir: TensorBoard log directory, or None.
    """

    def __init__(self, directory, num_samples=64, seed=0, centers=None, log_dir=None):
        super().__init__()
        self.directory = directory
        self.num_samples = num_samples
        self.seed = seed
        self.centers = centers
        self.log_dir = log_dir
        self._writer = None

    def on_train_begin(self, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        self._latent = tf.random.stateless_normal(
            [self.num_samples, self.model.latent_dim], tf.constant([self.seed, 0], tf.int64))
        if self.log_dir:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))

    def on_epoch_end(self, epoch, logs=None):
        inputs = self._latent
        if getattr(self.model, "takes_labels", False):  # a conditional GAN: one class per row of the grid
            inputs = [self._latent, grid_row_labels(self.num_samples, self.model.num_classes)]
        samples = self.model.predict(inputs, batch_size=256, verbose=0)
        picture = sample_picture(samples, self.centers)
        write_png(os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png"), picture)
        if self._writer is not None:
            with self._writer.as_default():
                tf.summary.image("samples", picture[None], step=epoch + 1)
            self._writer.flush()


class TranslationGrid(keras.callbacks.Callback):
    """SampleGrid for a CycleGAN: after each epoch, `translation_picture` of fixed images of
    each domain (e.g. the first test images) as `directory/epoch_NNN.png` and, with `log_dir`,
    a TensorBoard image."""

    def __init__(self, directory, images_a, images_b, log_dir=None):
        super().__init__()
        self.directory, self.images_a, self.images_b, self.log_dir = directory, images_a, images_b, log_dir

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        picture = translation_picture(self.model, self.images_a, self.images_b)
        write_png(os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png"), picture)
        if self.log_dir:
            with tf.summary.create_file_writer(os.path.join(self.log_dir, "samples")).as_default():
                tf.summary.image("translations", picture[None], step=epoch + 1)


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops `fit` at the first train step whose d_loss or g_loss is NaN or infinite, with an
    error naming the step (Keras's TerminateOnNaN watches `logs["loss"]`, which a GAN does not
    report). On in `ganzoo train`; add it to any `fit`."""

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if key.endswith("loss") and not math.isfinite(float(value)):
                raise TrainingDivergedError(
                    f"Training diverged: {key} is {float(value)} at epoch {self._epoch + 1}, step {batch + 1}. "
                    "Nothing was saved after the last checkpoint. Check the data for NaN or infinite values, "
                    "or lower the learning rates (in a new --workdir: a run's config is fixed).")


class GANProgbarLogger(keras.callbacks.ProgbarLogger):
    """Keras's progress bar without the detail health signals (D's accuracies, the generator's
    logit gradient), which would make the line wrap; they stay in the logs, `History` and
    TensorBoard. `GAN.fit` uses it unless given a ProgbarLogger of your own."""

    HIDDEN = ("d_acc_real", "d_acc_fake", "g_logit_grad")

    def _update_progbar(self, batch, logs=None):
        super()._update_progbar(batch, self._shown(logs))

    def _finalize_progbar(self, logs):
        super()._finalize_progbar(self._shown(logs))

    def _shown(self, logs):
        return {key: value for key, value in (logs or {}).items() if key.removeprefix("val_") not in self.HIDDEN}


# The training-health callback lives in its own module (ganzoo.diagnostics); it is a callback
# like the ones above, so it is importable from here too.
from ganzoo.diagnostics import Diagnostics  # noqa: E402,F401
