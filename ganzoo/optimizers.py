"""A GAN's two optimisers as Keras's callbacks see `model.optimizer`.

Keras's learning-rate callbacks (`LearningRateScheduler`, `ReduceLROnPlateau`) and
`SwapEMAWeights` act on `model.optimizer`, and on each of `model.optimizer.optimizers` when it
has that attribute (Keras's multi-optimiser interface). A GAN has no single optimiser: its
`optimizer` is `BothOptimizers(d_optimizer, g_optimizer)`, so those callbacks act on both and
log `learning_rate_<name>` for each. To act on one, wrap the callback:
`ganzoo.optimizers.on_optimizer(keras.callbacks.ReduceLROnPlateau(...), "generator")`.
"""

import keras
import tensorflow as tf

from ganzoo import precision


class BothOptimizers:
    """`model.optimizer` of a GAN: the discriminator's and the generator's optimisers."""

    built = True  # both are built by GAN.compile; Keras must not build this one

    def __init__(self, d_optimizer, g_optimizer):
        self.optimizers = [d_optimizer, g_optimizer]

    @property
    def iterations(self):  # train steps, as TensorBoard counts them: one generator update each
        return self.optimizers[1].iterations

    @property
    def variables(self):
        return [v for optimizer in self.optimizers for v in optimizer.variables]


class _ModelWithOneOptimizer:
    """The GAN as one callback sees it: `optimizer` is one of its two."""

    def __init__(self, model, optimizer):
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "optimizer", optimizer)

    def __getattr__(self, name):
        return getattr(self._model, name)

    def __setattr__(self, name, value):  # e.g. stop_training, set by the callback
        setattr(self._model, name, value)


class _OnOptimizer(keras.callbacks.Callback):
    def __init__(self, callback, which):
        super().__init__()
        if which not in ("discriminator", "generator"):
            raise ValueError(f"on_optimizer takes 'discriminator' or 'generator'; got {which!r}.")
        self.callback, self.which = callback, which

    def set_model(self, model):
        super().set_model(model)
        optimizer = model.d_optimizer if self.which == "discriminator" else model.g_optimizer
        self.callback.set_model(_ModelWithOneOptimizer(model, optimizer))

    def set_params(self, params):
        super().set_params(params)
        self.callback.set_params(params)


def _forward(hook):
    def method(self, *args, **kwargs):
        return getattr(self.callback, hook)(*args, **kwargs)
    return method


for _hook in ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
              "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
              "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end"):
    setattr(_OnOptimizer, _hook, _forward(_hook))


def on_optimizer(callback, which):
    """`callback` (e.g. a `keras.callbacks.LearningRateScheduler`) acting on the GAN's
    "discriminator" or "generator" optimiser only."""
    return _OnOptimizer(callback, which)


def track_gradient_norm(optimizer, tracker):
    """Makes `optimizer` add the global L2 norm of each gradient it applies to `tracker` (a
    `keras.metrics.Mean`); returns False if this Keras has no place to hook it.

    The norm is taken where Keras's TensorFlow optimizer has just summed the replicas'
    gradients (`_all_reduce_sum_gradients`), so it is the norm of the update's gradient under
    `tf.distribute` too (a norm of each replica's own gradient, averaged, would not be), with no
    extra communication. By then a LossScaleOptimizer has divided the loss scale out again, and
    a step it skips (non-finite gradients) is not counted. Gradient clipping (`clipnorm`) has
    run before, so the norm is that of the clipped gradient. Hooking twice swaps the tracker.
    """
    inner = precision.inner_optimizer(optimizer)
    reduce = getattr(inner, "_all_reduce_sum_gradients", None)
    if reduce is None:
        return False
    inner._ganzoo_norm_tracker = tracker
    if not getattr(inner, "_ganzoo_norm_hooked", False):
        def all_reduce_and_measure(grads_and_vars):
            reduced = reduce(grads_and_vars)
            grads = [g for g, _ in reduced if g is not None]
            norm = tf.linalg.global_norm(grads) if grads else 0.0
            inner._ganzoo_norm_tracker.update_state(norm)
            return reduced

        inner._all_reduce_sum_gradients = all_reduce_and_measure
        inner._ganzoo_norm_hooked = True
    return True
