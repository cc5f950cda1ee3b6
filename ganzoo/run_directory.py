"""A training run's directory, safe against a kill at any instant.

    config.json          the resolved config
    logs/, samples/      TensorBoard scalars and images; a sample picture per epoch
    backup/step-NNNNNNNNN/
                         checkpoints of the run in progress, named by generator updates:
                         `model.weights.h5` (the networks', both optimisers' and the noise
                         counter's variables) and `checkpoint.json` (epochs done, wall time)
    model.keras, state.json
                         the finished model, and its epochs and training wall time

Every file is written under a temporary name starting with ".partial-" and renamed into place;
a checkpoint is a folder renamed into place once whole. So whatever carries a final name is
complete, and a kill leaves at most a temporary name, which the next run deletes. Checkpoints
outlive the final write: `backup/` goes only after model.keras and state.json are in place
(renamed aside first, so that no half-deleted checkpoint is ever read). A run therefore resumes
from the newest checkpoint, else from model.keras and state.json, else starts afresh.

No non-finite weight is written: a checkpoint or final model of a diverged run raises
`TrainingDivergedError` instead, and the last good checkpoint stays.

Test hook: with GANZOO_KILL_AT=N in the environment, the process kills itself (SIGKILL) at the
N-th write point, leaving the file being written truncated as a cut-off write would.
"""

import json
import os
import shutil
import signal
import sys
import zipfile

import keras
import numpy as np

PARTIAL = ".partial-"
MODEL_FILE = "model.keras"
STATE_FILE = "state.json"
CONFIG_FILE = "config.json"
BACKUP_DIR = "backup"
CHECKPOINT_WEIGHTS = "model.weights.h5"
CHECKPOINT_STATE = "checkpoint.json"
KEEP_CHECKPOINTS = 2  # the newest and the one before it

_write_points = 0


def write_point(partial=None):
    """Counts a write point; at the GANZOO_KILL_AT-th, cuts the file or folder `partial` short
    (a temporary being written) and kills the process."""
    global _write_points
    kill_at = os.environ.get("GANZOO_KILL_AT")
    if not kill_at:
        return
    _write_points += 1
    if _write_points != int(kill_at):
        return
    path = partial
    if path and os.path.isdir(path):  # a folder being filled: cut its largest file short
        files = [os.path.join(root, name) for root, _, names in os.walk(path) for name in names]
        path = max(files, key=os.path.getsize) if files else None
    if path and os.path.isfile(path):
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
    os.kill(os.getpid(), signal.SIGKILL)


def write_atomically(path, write):
    """Calls `write(temporary_path)`, then renames the temporary file to `path`. The temporary
    name keeps `path`'s suffix (Keras picks the format by it)."""
    temporary = os.path.join(os.path.dirname(path), PARTIAL + os.path.basename(path))
    write(temporary)
    _sync(temporary)
    write_point(temporary)
    os.replace(temporary, path)
    write_point()


def _sync(path):
    """Flushes a written file to disk before its rename, so that a power cut (not only a kill)
    cannot leave a final name on an empty file."""
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def train_steps(model):
    """Train steps a model has taken: a GAN's generator updates (one per step), a CycleGAN's
    (one update of each of its four optimisers per step)."""
    optimizer = getattr(model, "g_optimizer", None) or model.g_ab_optimizer
    return int(optimizer.iterations.numpy())


def write_json(path, value):
    """Writes JSON atomically."""
    def write(temporary):
        with open(temporary, "w") as f:
            json.dump(value, f, indent=2, sort_keys=True)
            f.write("\n")
    write_atomically(path, write)


def remove_tree(path):
    """Deletes a folder so that no reader ever sees it half deleted: renamed aside, then removed."""
    if not os.path.exists(path):
        return
    aside = os.path.join(os.path.dirname(path), PARTIAL + "removed-" + os.path.basename(path))
    os.replace(path, aside)
    write_point(aside)  # a kill here leaves it half deleted
    shutil.rmtree(aside)


def remove_partials(directory):
    """Deletes what a killed process left under temporary names in `directory`."""
    if not os.path.isdir(directory):
        return
    for name in os.listdir(directory):
        if name.startswith(PARTIAL):
            path = os.path.join(directory, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


def load_model(path):
    """`keras.models.load_model`, saying what is wrong with an unreadable file (Keras calls a
    damaged, truncated or non-zip .keras file "File not found")."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No model file {path}.")
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except zipfile.BadZipFile:
        raise ValueError(f"{path} is not a readable .keras file (a zip archive): it is cut short, damaged, "
                         "or another kind of file.") from None
    if damaged:
        raise ValueError(f"{path} is damaged: its member {damaged} fails its checksum.")
    return keras.models.load_model(path)


class TrainingDivergedError(FloatingPointError):
    """A loss or a weight became NaN or infinite."""


def check_finite(model, where):
    """Raises TrainingDivergedError naming `where` if a weight of `model` is NaN or infinite."""
    bad = [v.path for v in model.weights if not np.all(np.isfinite(np.asarray(v.numpy(), np.float64)))]
    if bad:
        raise TrainingDivergedError(
            f"Training diverged: non-finite weights at {where} ({', '.join(bad[:3])}"
            f"{', ...' if len(bad) > 3 else ''}). Nothing was saved; the last good checkpoint stays. "
            "Check the data for NaN or infinite values, or lower the learning rates (in a new --workdir: "
            "a run's config is fixed).")


class RunDirectory:
    """The files of one run in `path`; see the module docstring for the life cycle."""

    def __init__(self, path, writer=True):
        """`writer=False` only reads: another process (the chief worker) writes `path`, so
        its temporary files are left alone."""
        self.path = path
        self.backup = os.path.join(path, BACKUP_DIR)
        if writer:
            os.makedirs(path, exist_ok=True)
            remove_partials(path)
            for name in os.listdir(path):  # backup/, samples/
                remove_partials(os.path.join(path, name))

    def file(self, name):
        return os.path.join(self.path, name)

    # ------------------------------------------------------------------------- checkpoints
    def checkpoints(self):
        """Checkpoint folders, newest first."""
        if not os.path.isdir(self.backup):
            return []
        names = sorted((n for n in os.listdir(self.backup) if n.startswith("step-")), reverse=True)
        return [os.path.join(self.backup, n) for n in names]

    def write_checkpoint(self, model, epochs_completed, wall_seconds, where):
        """Saves `model`'s variables as a new checkpoint and keeps the newest KEEP_CHECKPOINTS."""
        check_finite(model, where)
        step = train_steps(model)
        state = {"epochs_completed": epochs_completed, "generator_updates": step, "wall_seconds": round(wall_seconds, 1)}
        final = os.path.join(self.backup, f"step-{step:09d}")
        if os.path.exists(final):  # saved mid-epoch at this very step, which ended the epoch
            write_json(os.path.join(final, CHECKPOINT_STATE), state)
            return
        temporary = os.path.join(self.backup, PARTIAL + os.path.basename(final))
        os.makedirs(temporary)
        model.save_weights(os.path.join(temporary, CHECKPOINT_WEIGHTS))
        with open(os.path.join(temporary, CHECKPOINT_STATE), "w") as f:
            json.dump(state, f)
        for name in (CHECKPOINT_WEIGHTS, CHECKPOINT_STATE):
            _sync(os.path.join(temporary, name))
        write_point(temporary)
        os.replace(temporary, final)
        write_point()
        for old in self.checkpoints()[KEEP_CHECKPOINTS:]:
            remove_tree(old)

    def restore_checkpoint(self, model):
        """Loads the newest readable checkpoint into `model` (built and compiled); returns its
        state, or None when there is none. Checkpoints none of which loads are an error, not a
        fresh start: starting again would write checkpoints of lower steps, which the newer
        unreadable ones would outrank and prune."""
        errors = []
        for checkpoint in self.checkpoints():
            try:
                with open(os.path.join(checkpoint, CHECKPOINT_STATE)) as f:
                    state = json.load(f)
                model.load_weights(os.path.join(checkpoint, CHECKPOINT_WEIGHTS))
            except (OSError, ValueError) as error:  # a disk fault (kills leave no such file), or another model
                print(f"ganzoo: checkpoint {checkpoint} is unreadable ({error}); trying the one before it.",
                      file=sys.stderr)
                errors.append(f"{os.path.basename(checkpoint)}: {str(error).splitlines()[0] if str(error) else error!r}")
                continue
            return {**state, "checkpoint": checkpoint}
        if errors:
            raise ValueError(f"No checkpoint in {self.backup} loads into this model ({'; '.join(errors)}). "
                             "Move backup/ away to start this run again, or use another --workdir.")
        return None

    # ---------------------------------------------------------------------- the final model
    def finished_state(self):
        """state.json of a finished run, or None. A model.keras without it (which this life
        cycle never leaves) is an error that names the files."""
        model, state = self.file(MODEL_FILE), self.file(STATE_FILE)
        if not os.path.exists(model):
            return None
        if not os.path.exists(state):
            raise FileNotFoundError(
                f"{model} exists without {state}, so the epochs it was trained for are unknown. "
                "Move model.keras away to start this run again, or use another --workdir.")
        with open(state) as f:
            return json.load(f)

    def write_final(self, model, epochs_completed, wall_seconds):
        """model.keras, then state.json, then the checkpoints removed: until the last step,
        the newest checkpoint holds everything a rerun needs."""
        check_finite(model, f"the end of epoch {epochs_completed}")
        write_atomically(self.file(MODEL_FILE), model.save)
        write_json(self.file(STATE_FILE), {"epochs_completed": epochs_completed,
                                           "wall_seconds": round(wall_seconds, 1)})
        remove_tree(self.backup)
