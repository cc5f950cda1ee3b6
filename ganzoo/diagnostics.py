"""Training health while it happens: the `Diagnostics` callback.

A GAN's losses do not say which of the classic failures is under way. `Diagnostics` reads the
health signals every train step reports (`GAN.compile(health_signals=True)`, the default:
gradient norms, D's accuracies, the generator's logit gradient) in windows of a few generator
updates, checks the samples' diversity once per epoch, and turns both into events:

| event | raised when (defaults in `THRESHOLDS`) |
|---|---|
| `vanishing_gradient` | D rejects the fakes (accuracy on them >= 0.99) and the generator's gradient has vanished: its logit gradient <= 0.01 (50x below the balance's 1/2) or its norm <= 0.1x its early value; in 8 of the last 10 windows (objectives that report D's accuracies: not a Wasserstein critic; the logit-gradient test for minimax and non-saturating only) |
| `discriminator_too_weak` | (objectives that report D's accuracies) D's balanced accuracy <= 0.55 while the last diversity check found the samples far from the data (mixtures: < 10% near a mode; images: NDB finds 80% of the bins different), in 40 of the last 50 windows |
| `mode_collapse` | two diversity checks in a row find modes lost (mixtures: a mode with < 10% of its share of the high-quality samples; images: a class of the shipped classifier at < 20% of its real share, label KL > 0.5, or the NDB test's lost bins holding >= 25% of the real data) |
| `divergence` | a non-finite loss in a window (or weights, reported by `ganzoo train`'s writer): `fit` stops |

An event is printed once when it starts and once when it ends, and written with the step, its
evidence and the remedies ganzoo offers to `diagnostics.json` in the run directory: JSON Lines,
one object per line ("header", "signals" per window, "baseline", "diversity" per check, "event").
`ganzoo diagnose RUN_DIR` draws and summarises that file.
"""

import collections
import json
import math
import numbers
import os

import keras
import numpy as np
import tensorflow as tf

from ganzoo import distribute, diversity, metrics
from ganzoo.run_directory import write_atomically

FILE = "diagnostics.json"
VERSION = 1

# Every threshold, documented; `Diagnostics(thresholds={...})` or `--set train.diagnostics=...`
# overrides any of them.
THRESHOLDS = {
    "window": 10,                     # generator updates per signals window
    "baseline_updates": 100,          # ‖∇G‖'s early value: the largest window mean over these updates
    "vanishing_d_acc_fake": 0.99,     # D's accuracy on the fakes at or above this ...
    "vanishing_logit_grad": 0.01,     # ... and |dL_G/dlogit| at or below this (balance: 0.5)
    "vanishing_norm_fraction": 0.1,   # ... or ‖∇G‖ at or below this fraction of its early value
    "vanishing_windows": [8, 2, 10],  # starts when 8 of the last 10 windows hold, ends when at most 2 do
    "weak_balanced_accuracy": 0.55,   # D's (acc_real + acc_fake) / 2 at or below this ...
    "far_high_quality_percent": 10,   # ... while under 10% of a mixture's samples lie near a mode
    "far_ndb_ratio": 0.8,             # ... or an image GAN's NDB test finds 80% of the bins different (a
                                      # 2-epoch healthy DCGAN: 0.54-0.68; a D-crushed one: 0.88-0.94)
    "weak_windows": [40, 10, 50],
    "collapse_checks": [2, 0, 2],     # mode collapse: starts after 2 collapsed checks in a row, ends after 2 clean
    "mode_lost_fraction": 0.1,        # a mixture mode with fewer high-quality samples than 10% of its share is lost
    "min_high_quality_percent": 10,   # below this a mixture's samples are too far from the data to judge
    "class_lost_fraction": 0.2,       # an image class generated at under 20% of its real share is lost
    "label_kl": 0.5,                  # KL(generated labels || real labels) above this is collapse (an
                                      # unfinished healthy DCGAN reaches 0.2 after its first epoch)
    "lost_real_mass": 0.25,           # NDB's lost bins holding this much of the real data is collapse
    "ndb_bins": 50,                   # K of the NDB test (K = 20 cannot see one class dropped)
}

REMEDIES = {
    "vanishing_gradient": [
        "the non-saturating generator loss (--set model.objective=non_saturating)",
        "fewer discriminator steps per generator step (model.d_steps)",  # offered only when d_steps > 1
        "a smaller discriminator learning rate (compile.d_optimizer)",
        "a Wasserstein critic with gradient penalty (--config wgan_gp_*)",
    ],
    "discriminator_too_weak": [
        "more discriminator steps per generator step (model.d_steps)",
        "a smaller generator learning rate (compile.g_optimizer)",
        "a larger discriminator (model.discriminator_units or model.filters)",
    ],
    "mode_collapse": [
        "the unrolled GAN (model unrolled_gan, e.g. --config unrolled_gan_ring8; model.unroll_steps)",
        "packing (model pacgan, e.g. --config pacgan_ring8; model.pack=2)",
        "a Wasserstein critic with gradient penalty (--config wgan_gp_*)",
        "a smaller generator learning rate (compile.g_optimizer)",
    ],
    "divergence": [
        "smaller learning rates",
        "checking the data for NaN or infinite values",
        "float32 training (--set train.precision=float32)",
    ],
}

TITLES = {
    "vanishing_gradient": "discriminator too strong: the generator's gradient is vanishing",
    "discriminator_too_weak": "discriminator too weak: its outputs carry no signal while the samples are far from the data",
    "mode_collapse": "mode collapse",
    "divergence": "training diverged",
}


class EventTracker:
    """On/off state of one event from a stream of per-window verdicts, with hysteresis: it
    starts when at least `start` of the last `of` verdicts hold and ends when at most `end` do,
    so a condition that flickers around its threshold does not flap."""

    def __init__(self, start, end, of):
        if not 0 <= end < start <= of:
            raise ValueError(f"An event needs 0 <= end < start <= of; got start={start}, end={end}, of={of}.")
        self.start, self.end = start, end
        self.verdicts = collections.deque(maxlen=of)
        self.active = False

    def update(self, holds):
        """Adds a verdict; returns "start", "end" or None."""
        self.verdicts.append(bool(holds))
        count = sum(self.verdicts)
        if not self.active and count >= self.start:
            self.active = True
            return "start"
        if self.active and count <= self.end:
            self.active = False
            return "end"
        return None

    def resume_active(self):
        """State of an event that was open when the run was interrupted."""
        self.active = True
        self.verdicts.extend([True] * self.verdicts.maxlen)


# ---------------------------------------------------------------------------- diversity
class MixtureDiversity:
    """Modes kept and lost by samples of a 2-D Gaussian mixture (the VEEGAN/PacGAN protocol of
    `metrics.mode_coverage`); a mode counts as lost below `mode_lost_fraction` of its share of
    the high-quality samples, stricter than the protocol's "at least one sample"."""

    def __init__(self, mixture, thresholds):
        self.mixture, self.thresholds = mixture, thresholds

    def check(self, samples):
        coverage = metrics.mode_coverage(samples, self.mixture)
        counts = np.asarray(coverage["counts"])
        share = counts.sum() / len(counts)
        lost = [int(i) for i in np.flatnonzero(counts < self.thresholds["mode_lost_fraction"] * share)]
        kept = [i for i in range(len(counts)) if i not in lost]
        quality = coverage["high_quality_percent"]
        judged = quality >= self.thresholds["min_high_quality_percent"]
        record = {**coverage, "of": len(counts), "modes_lost": lost, "modes_kept": kept,
                  "collapse": bool(lost) if judged else None,
                  "far": quality < self.thresholds["far_high_quality_percent"]}
        if not judged:
            record["message"] = f"not judged: only {quality:.1f}% of the samples lie near a mode"
        elif lost:
            centres = self.mixture.centers
            names = ", ".join(f"{i} ({centres[i][0]:.2f}, {centres[i][1]:.2f})" for i in lost)
            record["message"] = (f"{len(kept)} of {len(counts)} modes kept ({', '.join(map(str, kept))}); lost {names} "
                                 f"({int(counts[lost].sum())} of {int(counts.sum())} high-quality samples)")
        return record


class ImageDiversity:
    """Image diversity against real samples: the number of statistically different bins
    (Richardson & Weiss 2018, `ganzoo.diversity.BinnedReference`, K-means bins fitted once) and,
    with a classifier, the generated labels' histogram against the real one, naming lost classes."""

    def __init__(self, real_samples, thresholds, classifier=None, class_names=None, seed=0):
        self.thresholds, self.classifier = thresholds, classifier
        self.class_names = class_names
        self.reference = diversity.BinnedReference(real_samples, bins=thresholds["ndb_bins"], seed=seed)
        if classifier is not None:
            labels = classifier.predict_classes(real_samples)
            self.real_counts = np.bincount(labels, minlength=len(class_names))

    def check(self, samples):
        bins = self.reference.compare(samples)
        record = {key: bins[key] for key in ("ndb", "bins", "ndb_ratio", "lost_bins", "lost_real_mass")}
        record["far"] = bins["ndb_ratio"] >= self.thresholds["far_ndb_ratio"]
        reasons = []
        if self.classifier is not None:
            counts = np.bincount(self.classifier.predict_classes(samples), minlength=len(self.real_counts))
            p_fake, p_real = counts / counts.sum(), self.real_counts / self.real_counts.sum()
            lost = [self.class_names[c] for c in np.flatnonzero(p_fake < self.thresholds["class_lost_fraction"] * p_real)]
            record.update(label_counts=counts.tolist(), label_kl=diversity.histogram_kl(counts, self.real_counts),
                          lost_classes=lost)
            if lost:
                reasons.append(f"lost {', '.join(lost)}")
            if record["label_kl"] > self.thresholds["label_kl"]:
                reasons.append(f"label KL {record['label_kl']:.2f}")
        if record["lost_real_mass"] >= self.thresholds["lost_real_mass"]:
            reasons.append(f"{len(record['lost_bins'])} of {record['bins']} bins lost, "
                           f"holding {100 * record['lost_real_mass']:.0f}% of the real data")
        record["collapse"] = bool(reasons)
        if reasons:
            record["message"] = "; ".join(reasons) + f" (NDB {record['ndb']}/{record['bins']})"
        return record


# ----------------------------------------------------------------------------- callback
_WINDOW_KEYS = ("vanishing_windows", "weak_windows", "collapse_checks")


def check_thresholds(overrides):
    """Raises ValueError naming a threshold that is unknown or of the wrong kind."""
    unknown = set(overrides) - set(THRESHOLDS)
    if unknown:
        raise ValueError(f"Unknown diagnostics threshold(s) {sorted(unknown)}; valid: {', '.join(THRESHOLDS)}.")
    for key, value in overrides.items():
        if key in _WINDOW_KEYS:
            if not (isinstance(value, (list, tuple)) and len(value) == 3 and all(
                    isinstance(v, int) and not isinstance(v, bool) for v in value)):
                raise ValueError(f"Diagnostics threshold {key} is [start, end, of] (integers: the event starts when "
                                 f"`start` of the last `of` verdicts hold, ends when at most `end` do); got {value!r}.")
            EventTracker(*value)
        elif not (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0):
            raise ValueError(f"Diagnostics threshold {key} must be a positive number; got {value!r}.")
        elif key in ("window", "baseline_updates", "ndb_bins") and not isinstance(value, numbers.Integral):
            raise ValueError(f"Diagnostics threshold {key} must be a positive integer; got {value!r}.")


def remedies(event, model_name, objective, d_steps):
    """The remedies of `event` a model can still try: not the objective or model it already is,
    nor fewer D steps than one."""
    return [text for text in REMEDIES[event]
            if f"objective={objective}" not in text and f"model {model_name}," not in text
            and f"--config {model_name}_" not in text and not (d_steps == 1 and text.startswith("fewer discriminator"))]


def _finite_json(value):
    """`value` with non-finite floats as strings ("nan", "inf"), so every line is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite_json(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_json(v) for v in value]
    return value


def _json_line(record):
    """One line of diagnostics.json: strict JSON (non-finite floats as strings), keys sorted."""
    return json.dumps(_finite_json(record), sort_keys=True, allow_nan=False) + "\n"


class Diagnostics(keras.callbacks.Callback):
    """Turns a GAN's health signals and per-epoch diversity checks into events (see the module
    docstring), written to `directory/diagnostics.json` and, with `log_dir`, TensorBoard.

    Every worker must run it (as `ganzoo train` does): reading the metrics and drawing the
    diversity samples are collective steps under MultiWorkerMirroredStrategy.

    A non-finite loss records a `divergence` event and stops `fit`. On a resumed run (the same
    `directory`, a model restored from a checkpoint), the lines past the model's generator
    updates are dropped, since Keras trains them again, and the early gradient norm, the last
    diversity check and the open events are restored. Only the chief worker prints events.

    Args:
        directory: where `diagnostics.json` goes (the run directory in `ganzoo train`). In a
            multi-worker script of your own, give non-chief workers a folder of their own
            (`ganzoo.distribute.worker_path`), and the same for `log_dir`.
        log_dir: TensorBoard log directory (scalars under `diagnostics/`), or None.
        mixture: the `ganzoo.data.Mixture` trained on, for the mode check; or
        real_samples: real images [n, H, W, C] in [-1, 1] (e.g. 10,000), for the image check.
        classifier, class_names: a classifier with `predict_classes(images)` (ganzoo's
            Fashion-MNIST one) and its class names, to name lost classes; optional.
        num_samples: samples per diversity check (default 2,500 for mixtures, 2,000 for images),
            drawn from the raw generator (the one training moves) with a fixed `seed`.
        thresholds: overrides of `THRESHOLDS`.
        verbose: 1 prints each event's start and end; 0 prints nothing.
    """

    def __init__(self, directory, log_dir=None, mixture=None, real_samples=None, classifier=None,
                 class_names=None, num_samples=None, seed=0, thresholds=None, verbose=1):
        super().__init__()
        check_thresholds(thresholds or {})
        if mixture is not None and real_samples is not None:
            raise ValueError("Diagnostics checks a mixture or images: give mixture or real_samples, not both.")
        self.path = os.path.join(directory, FILE)
        self.log_dir, self.mixture, self.seed, self.verbose = log_dir, mixture, seed, verbose
        self.thresholds = {**THRESHOLDS, **(thresholds or {})}
        self._real_samples, self._classifier, self._class_names = real_samples, classifier, class_names
        self.num_samples = num_samples or (2500 if mixture is not None else 2000)
        self._trackers = {name: EventTracker(*self.thresholds[key]) for name, key in (
            ("vanishing_gradient", "vanishing_windows"), ("discriminator_too_weak", "weak_windows"),
            ("mode_collapse", "collapse_checks"))}
        self._opened = {}  # event -> step it started
        self._diversity_checker = None
        self._last_diversity = None
        self._baseline, self._baseline_written = None, False
        self._diverged = False
        self._writer = None
        self._epoch, self._chief = 0, True  # on_train_begin asks the strategy

    # -------------------------------------------------------------- file and printing
    def _append(self, record):
        with open(self.path, "a") as f:
            f.write(_json_line(record))
        if self._writer is not None and record["kind"] == "event":
            with self._writer.as_default():
                tf.summary.text("events", f"{record['event']} {record['state']}: {record.get('message', '')}",
                                step=record["step"])

    def _scalars(self, prefix, record, step):
        if self._writer is None:
            return
        with self._writer.as_default():
            for key, value in record.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and key not in ("step", "epoch"):
                    tf.summary.scalar(f"{prefix}/{key}", value, step=step)

    def _event(self, name, state, step, message=None, evidence=None):
        record = {"kind": "event", "event": name, "state": state, "step": step, "epoch": self._epoch + 1}
        if state == "end":
            started = self._opened.pop(name, None)
            record["message"] = f"{TITLES[name]} ended" + (f" after {step - started:,} updates" if started else "")
        else:
            self._opened[name] = step
            record.update(message=f"{TITLES[name]}: {message}", evidence=evidence or {},
                          remedies=remedies(name, self.model.name, self.model.objective.name, self.model.d_steps))
        self._append(record)
        if self.verbose and self._chief:
            text = f"\nganzoo: [step {step:,}] {record['message']}"
            if state != "end":
                text += ".\n  Try: " + "; ".join(record["remedies"]) + "."
            print(text, flush=True)

    def _resume(self, step):
        """Keeps the records of what the model holds (steps up to `step`: Keras trains the rest
        again) and restores the state they imply; returns them without their old header(s)."""
        if not os.path.exists(self.path):
            return []
        kept = [r for r in read(self.path) if r["kind"] != "header" and r.get("step", 0) <= step]
        early = [r["g_grad_norm"] for r in kept
                 if r["kind"] == "signals" and "g_grad_norm" in r and r["step"] <= self.thresholds["baseline_updates"]]
        self._baseline = max(early) if early else None
        for record in kept:
            if record["kind"] == "baseline":
                self._baseline, self._baseline_written = record["g_grad_norm"], True
            elif record["kind"] == "diversity":
                self._last_diversity = record
            elif record["kind"] == "event" and record["state"] == "start":
                self._opened[record["event"]] = record["step"]
            elif record["kind"] == "event":
                self._opened.pop(record["event"], None)
        for name in self._opened:
            if name in self._trackers:
                self._trackers[name].resume_active()
        return kept

    # ------------------------------------------------------------------------- hooks
    def on_train_begin(self, logs=None):
        gan = self.model
        self._chief = distribute.is_chief(gan.distribute_strategy)
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        self._logit_objective = "d_acc_fake" in gan._trackers and gan._health_signals  # D reports accuracies
        self._reads = gan.objective.reads
        kept = self._resume(int(gan.g_optimizer.iterations.numpy()))
        header = {"kind": "header", "version": VERSION, "model": gan.name, "objective": gan.objective.name,
                  "scores": gan.objective.reads,
                  "d_steps": gan.d_steps, "thresholds": self.thresholds,
                  "data": self.mixture.name if self.mixture is not None else "images"}

        def write(temporary):  # this session's header first, then what the model still holds
            with open(temporary, "w") as f:
                f.writelines(_json_line(record) for record in [header] + kept)
        write_atomically(self.path, write)
        if self.log_dir:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "diagnostics"))
        if self._diversity_checker is None:
            if self.mixture is not None:
                self._diversity_checker = MixtureDiversity(self.mixture, self.thresholds)
            elif self._real_samples is not None:
                self._diversity_checker = ImageDiversity(self._real_samples, self.thresholds, self._classifier,
                                                         self._class_names, self.seed)
                self._real_samples = None  # the bins hold what the checks need

    def on_epoch_begin(self, epoch, logs=None):
        # Keras has just reset the trackers: windows restart from zero totals.
        self._epoch, self._window_start, self._totals = epoch, 0, {}

    def on_train_batch_end(self, batch, logs=None):
        steps = batch + 1 - self._window_start
        last_of_epoch = batch + 1 == self.params.get("steps")  # closes a shorter window: nothing goes unchecked
        if steps < self.thresholds["window"] and not (last_of_epoch and steps > 0):
            return
        # A window's mean is the difference of the trackers' running totals over that of their
        # counts (a count can lag the steps: loss scaling skips an update's norm).
        totals = self.model.metric_totals()
        step = int(self.model.g_optimizer.iterations.numpy())
        window = {}
        for key, (total, count) in totals.items():
            before_total, before_count = self._totals.get(key, (0.0, 0.0))
            if count > before_count:
                window[key] = float((total - before_total) / (count - before_count))
        self._window_start, self._totals = batch + 1, totals
        for key in ("d_loss", "g_loss"):  # one non-finite step makes the window's mean non-finite
            if key in window and not math.isfinite(window[key]):
                self.record_divergence(f"{key} is {window[key]} in the window ending at step {step:,}", step,
                                       {key: window[key]})
                self.model.stop_training = True
                return
        self._on_window(step, steps, window)

    def _on_window(self, step, steps, window):
        record = {"kind": "signals", "step": step, "epoch": self._epoch + 1, "steps": steps, **window}
        self._append(record)
        self._scalars("health", window, step)
        norm = window.get("g_grad_norm")
        if norm is not None and not self._baseline_written:
            if step <= self.thresholds["baseline_updates"]:
                self._baseline = max(self._baseline or 0.0, norm)
            elif self._baseline is not None:  # the early updates are over: record their value once
                self._append({"kind": "baseline", "step": step, "g_grad_norm": self._baseline})
                self._baseline_written = True
        if not self._logit_objective or "d_acc_fake" not in window:  # a critic's gradient does not saturate
            return
        self._check_vanishing(step, window)
        self._check_too_weak(step, window)

    def _check_vanishing(self, step, window):
        t = self.thresholds
        baseline_known = self._baseline and step > t["baseline_updates"] and "g_grad_norm" in window
        norm_fraction = window["g_grad_norm"] / self._baseline if baseline_known else None
        # The logit gradient vanishes for a sigmoid's objectives only (hinge's is constant, least
        # squares' small when G wins); the norm criterion holds for every objective with accuracies.
        logit_gradient = window.get("g_logit_grad") if self._reads == "probability" else None
        holds = window["d_acc_fake"] >= t["vanishing_d_acc_fake"] and (
            (logit_gradient is not None and logit_gradient <= t["vanishing_logit_grad"])
            or (norm_fraction is not None and norm_fraction <= t["vanishing_norm_fraction"]))
        state = self._trackers["vanishing_gradient"].update(holds)
        if state == "start":
            evidence = {key: window.get(key) for key in ("d_acc_real", "d_acc_fake", "d_real", "d_fake",
                                                          "g_logit_grad", "g_grad_norm")}
            evidence.update(g_grad_norm_early=self._baseline, g_grad_norm_fraction=norm_fraction)
            fraction = f" ({norm_fraction:.0%} of its early {self._baseline:.3g})" if norm_fraction is not None else ""
            norm = f" and ‖∇G‖ {window['g_grad_norm']:.3g}{fraction}" if "g_grad_norm" in window else ""
            logit = (f"the generator's logit gradient is {logit_gradient:.2g} (1/2 at balance)"
                     if logit_gradient is not None else "the generator's gradient has shrunk")
            scores = f" (D(G(z)) = {window['d_fake']:.2g})" if "d_fake" in window else ""
            self._event("vanishing_gradient", "start", step,
                        f"D is right on {window['d_acc_fake']:.1%} of the fakes{scores}; {logit}{norm}", evidence)
        elif state == "end":
            self._event("vanishing_gradient", "end", step)

    def _check_too_weak(self, step, window):
        far = self._last_diversity is not None and self._last_diversity["far"]
        balanced = (window["d_acc_real"] + window["d_acc_fake"]) / 2
        state = self._trackers["discriminator_too_weak"].update(far and balanced <= self.thresholds["weak_balanced_accuracy"])
        if state == "start":
            distance = {key: self._last_diversity[key] for key in ("high_quality_percent", "ndb_ratio")
                        if key in self._last_diversity}
            self._event("discriminator_too_weak", "start", step,
                        f"D's balanced accuracy is {balanced:.1%} while the samples are far from the data "
                        f"({', '.join(f'{k} {v:.3g}' for k, v in distance.items())})",
                        {"d_acc_real": window["d_acc_real"], "d_acc_fake": window["d_acc_fake"], **distance})
        elif state == "end":
            self._event("discriminator_too_weak", "end", step)

    def on_epoch_end(self, epoch, logs=None):
        if self._diversity_checker is None or self._diverged:
            return
        step = int(self.model.g_optimizer.iterations.numpy())
        samples = self.model.generate(self.num_samples, seed=self.seed, use_ema=False)
        record = self._diversity_checker.check(samples)
        self._last_diversity = record
        self._append({"kind": "diversity", "step": step, "epoch": epoch + 1, "num_samples": self.num_samples,
                      **record})
        self._scalars("diversity", record, step)
        if record["collapse"] is None:  # not judged: keep the current state
            return
        state = self._trackers["mode_collapse"].update(record["collapse"])
        if state == "start":
            self._event("mode_collapse", "start", step, record["message"],
                        {key: value for key, value in record.items() if key not in ("message", "far")})
        elif state == "end":
            self._event("mode_collapse", "end", step)

    def record_divergence(self, message, step=None, evidence=None):
        """Writes the `divergence` stop event (once); `ganzoo train` calls it when the run's
        writer refuses non-finite weights."""
        if self._diverged:
            return
        self._diverged = True
        if step is None:
            step = int(self.model.g_optimizer.iterations.numpy())
        self._event("divergence", "stop", step, message, evidence)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()


def read(path):
    """The records of a `diagnostics.json` file (a folder: the file in it), skipping a line a
    kill cut short."""
    if os.path.isdir(path):
        path = os.path.join(path, FILE)
    records = []
    with open(path) as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records
