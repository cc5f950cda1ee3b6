"""Learning-rate decay over a whole run, sized when training starts.

`train.learning_rate_decay: "cosine"` decays both optimisers' learning rates to 0 over the run:
the generator's over its updates, the discriminator's over its k times as many. The length
comes from the resolved config (epochs, steps per epoch, the model's d_steps) when `ganzoo
train` starts, not when the config is written, so `--set train.epochs=30` decays over 30
epochs, and raising `train.epochs` to continue a finished run stretches the schedule to the
new end (the learning rate rises back to the cosine's value there) instead of training at 0.
"""

import copy

import keras
import numpy as np

DECAYS = ("cosine",)


def run_generator_updates(train_config, batches_per_epoch, d_steps):
    """Generator updates over the run: epochs x steps_per_epoch, or x the steps of one pass
    (fit groups k = d_steps minibatches per step)."""
    if not train_config["steps_per_epoch"] and batches_per_epoch < 0:
        raise ValueError("train.learning_rate_decay needs the run's length: the dataset's size is unknown, "
                         "so set train.steps_per_epoch.")
    steps = train_config["steps_per_epoch"] or batches_per_epoch // d_steps
    if steps < 1:
        raise ValueError(f"An epoch of {batches_per_epoch} minibatch(es) makes no step of d_steps={d_steps}; "
                         "set train.steps_per_epoch or use more data.")
    return train_config["epochs"] * steps


def with_decay(optimizer_config, kind, decay_steps):
    """A copy of a serialized optimizer whose constant learning rate becomes `kind` decay to 0
    over `decay_steps` updates."""
    if kind not in DECAYS:
        raise ValueError(f"Unknown learning_rate_decay {kind!r}; valid: {', '.join(DECAYS)}, or None.")
    config = copy.deepcopy(optimizer_config)
    inner = config["config"]
    if isinstance(inner.get("learning_rate"), dict):
        raise ValueError(f"train.learning_rate_decay={kind!r} decays a constant learning rate, but the "
                         f"{config.get('class_name')} optimizer already has a schedule; drop one of the two.")
    # Its rate as the optimizer holds it (its class's default if the config leaves it out), a
    # float32: written in float32's shortest form (1e-3, not 0.0010000000474974513), the same number.
    initial = float(str(np.float32(keras.optimizers.deserialize(copy.deepcopy(config)).learning_rate)))
    inner["learning_rate"] = {"module": "keras.optimizers.schedules", "class_name": "CosineDecay",
                              "config": {"initial_learning_rate": initial, "decay_steps": int(decay_steps)}}
    return config


def resize(optimizer, decay_steps):
    """Stretches a loaded optimizer's decay to `decay_steps` updates (before its step function
    is traced, which reads the length)."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # under loss scaling
    schedule = optimizer._learning_rate
    if not isinstance(schedule, keras.optimizers.schedules.CosineDecay):
        raise ValueError(f"train.learning_rate_decay is set, but the saved {type(optimizer).__name__}'s learning "
                         f"rate is {type(schedule).__name__}, not a decay it can resize.")
    schedule.decay_steps = int(decay_steps)
