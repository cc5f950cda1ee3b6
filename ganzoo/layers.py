"""Layers ganzoo's networks need beyond Keras's own."""

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="ganzoo")
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` whose moving statistics stay the same on every replica.

    Under tf.distribute each replica updates the moving mean and variance from its own batch;
    tf.keras created them with aggregation "mean", so the update averaged the replicas', but
    Keras 3 creates them with aggregation "none", which leaves each replica and worker its own
    (and a saved model the chief's). This class asks for "mean" again. The class keeps Keras's
    name, so weights files name its variables as they name Keras's (`batch_normalization`).
    With `synchronized=True` the batch statistics themselves span the global batch.
    """

    def add_weight(self, *args, name=None, **kwargs):
        if name in ("moving_mean", "moving_variance"):
            kwargs["aggregation"] = "mean"
        return super().add_weight(*args, name=name, **kwargs)


@keras.saving.register_keras_serializable(package="ganzoo")
class FusedBatchNormalization(BatchNormalization):
    """`BatchNormalization` (above) that trains through TensorFlow's fused kernel.

    Keras 3 normalises with a dozen elementwise ops (moments, then scale and shift, each with
    its gradient), and upcasts bfloat16 inputs to float32 and back around them. On the CPU
    those ops took a third of a DCGAN step once the convolutions ran on AMX. TensorFlow's
    `FusedBatchNormV3` does the same in one oneDNN kernel (and one for the gradient, with a
    second-order gradient for the unrolled GAN), reading bfloat16/float16 inputs directly and
    keeping its statistics in float32. The result is Keras's: the same normalisation with the
    biased batch variance, and the same moving-average update of the same statistics
    (the fused kernel's unbiased variance is rescaled by (n - 1) / n for it).

    Images only, channels last, as the DCGAN networks use it; any other case (other axes,
    masks, renorm, synchronized statistics, or inference) runs Keras's own implementation, so
    the layer accepts every argument of `keras.layers.BatchNormalization` and has the same
    weights.
    """

    def _fusable(self, inputs, mask):
        return (len(inputs.shape) == 4 and self.axis in (-1, 3) and mask is None
                and not self.renorm and not getattr(self, "synchronized", False))

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and self._fusable(inputs, mask)):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        scale = tf.cast(self.gamma, "float32") if self.scale else tf.ones([channels], "float32")
        offset = tf.cast(self.beta, "float32") if self.center else tf.zeros([channels], "float32")
        outputs, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
            tf.cast(inputs, self.compute_dtype), scale, offset, epsilon=self.epsilon,
            data_format="NHWC", is_training=True)
        count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), "float32")
        variance = unbiased_variance * (count - 1.0) / tf.maximum(count, 1.0)
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return outputs


@keras.saving.register_keras_serializable(package="ganzoo")
class Pack(keras.layers.Layer):
    """PacGAN's packing (Lin et al. 2018): [batch, *shape] -> [batch / m, *shape[:-1], m * shape[-1]].

    Each group of `pack` = m consecutive examples becomes one input, concatenated along the
    last axis: vectors [x1, x2, ...], images channel-stacked. A discriminator that starts with
    it judges m samples jointly, so it sees at once how diverse they are. The batch must be a
    multiple of m.
    """

    def __init__(self, pack, **kwargs):
        super().__init__(**kwargs)
        if int(pack) < 1:
            raise ValueError(f"pack must be a positive integer; got {pack}.")
        self.pack = int(pack)

    def call(self, inputs):
        if self.pack == 1:
            return inputs
        tf.debugging.assert_equal(
            tf.shape(inputs)[0] % self.pack, 0,
            message=f"A PacGAN discriminator packs {self.pack} examples into one input: the batch size "
                    f"must be a multiple of {self.pack}.")
        shape = tuple(inputs.shape[1:])
        grouped = ops.reshape(inputs, (-1, self.pack) + shape)      # [batch / m, m, ..., C]
        grouped = ops.moveaxis(grouped, 1, -2)                       # [batch / m, ..., m, C]
        return ops.reshape(grouped, (-1,) + shape[:-1] + (self.pack * shape[-1],))

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] // self.pack
        return (batch, *input_shape[1:-1], input_shape[-1] * self.pack)

    def get_config(self):
        return {**super().get_config(), "pack": self.pack}
