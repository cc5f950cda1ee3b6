"""`ganzoo diagnose RUN_DIR`: a run's health in one picture and a text summary, from its
`diagnostics.json` (written by `ganzoo.diagnostics.Diagnostics`; readable while the run goes on).

The picture (`diagnosis.png`): four charts over generator updates, sharing the x axis —
gradient norms (log scale, with ‖∇G‖'s early value and the vanishing line at a tenth of it);
D's outputs on real and generated data against the balance's 1/2 (critics: their values and the
Wasserstein estimate); the generator's logit gradient (log scale, with the vanishing threshold);
diversity per epoch — with each event's span shaded across all four, and the run's last sample
picture beside them.
"""

import glob
import os

import numpy as np
import tensorflow as tf

from ganzoo import diagnostics
from ganzoo.callbacks import write_png
from ganzoo.plotting import Canvas

PICTURE, SUMMARY = "diagnosis.png", "diagnosis.txt"
WIDTH, PANEL_HEIGHT, TITLE_HEIGHT, SIDE = 1000, 190, 24, 300
EVENT_COLORS = {"vanishing_gradient": (230, 60, 60), "discriminator_too_weak": (240, 170, 30),
                "mode_collapse": (150, 70, 200), "divergence": (0, 0, 0)}
BLUE, ORANGE, GREEN, RED, GREY, PURPLE = (40, 90, 200), (240, 130, 20), (30, 150, 60), (210, 40, 40), (140, 140, 140), (150, 70, 200)


def event_spans(records):
    """[(event, start step, end step or None if still open, start record)] in start order."""
    spans, open_events = [], {}
    for record in records:
        if record["kind"] != "event":
            continue
        if record["state"] in ("start", "stop"):
            open_events[record["event"]] = len(spans)
            spans.append([record["event"], record["step"], None, record])
            if record["state"] == "stop":
                spans[-1][2] = record["step"]
        elif record["event"] in open_events:
            spans[open_events.pop(record["event"])][2] = record["step"]
    return [tuple(span) for span in spans]


def _series(records, kind, key):
    rows = [(r["step"], _number(r[key])) for r in records if r["kind"] == kind and r.get(key) is not None]
    if not rows:
        return np.zeros(0), np.zeros(0)
    steps, values = zip(*rows)
    return np.asarray(steps, np.float64), np.asarray(values, np.float64)


def _positive_range(*arrays):
    values = np.concatenate([a[np.isfinite(a) & (a > 0)] for a in arrays] or [np.zeros(0)])
    if not len(values):
        return 1e-3, 1.0
    return float(values.min()) / 1.5, float(values.max()) * 1.5


def draw(records, sample_picture=None):
    """The report picture (uint8 [H, W, 3]) of a run's records."""
    header = next((r for r in reversed(records) if r["kind"] == "header"), {})  # the latest session's
    thresholds = {**diagnostics.THRESHOLDS, **header.get("thresholds", {})}
    steps = [r["step"] for r in records if "step" in r]
    x_range = (0, max(steps) if steps else 1)
    # How D's scores read (files before the header had "scores": by objective).
    reads = header.get("scores") or ("critic" if header.get("objective") == "wasserstein" else "probability")
    logits = reads != "critic"  # D's outputs against targets 0 and 1: probabilities, or least squares' scores
    width = WIDTH + (SIDE if sample_picture is not None else 0)
    canvas = Canvas(TITLE_HEIGHT + 4 * PANEL_HEIGHT, width)
    canvas.text(6, 6, f"{header.get('model', '?')} on {header.get('data', '?')}, objective {header.get('objective', '?')}, "
                f"d_steps {header.get('d_steps', '?')}: ganzoo diagnose", scale=2 if WIDTH >= 900 else 1)
    panels = [canvas.panel(0, TITLE_HEIGHT + i * PANEL_HEIGHT, WIDTH, PANEL_HEIGHT) for i in range(4)]
    spans = event_spans(records)

    # 1. Gradient norms.
    g = _series(records, "signals", "g_grad_norm")
    d = _series(records, "signals", "d_grad_norm")
    baseline = next((r["g_grad_norm"] for r in records if r["kind"] == "baseline"), None)
    extra = [np.asarray([baseline, baseline * thresholds["vanishing_norm_fraction"]])] if baseline else []
    panels[0].set_ranges(x_range, _positive_range(g[1], d[1], *extra), log_y=True)
    # 2. D's outputs, or a critic's values.
    if logits:
        lines = [("D(X)", GREEN, "d_real"), ("D(G(Z))", RED, "d_fake"), ("ACC REAL", (120, 200, 140), "d_acc_real"),
                 ("ACC FAKE", (240, 150, 150), "d_acc_fake")]
        values = np.concatenate([_series(records, "signals", key)[1] for *_, key in lines] + [np.asarray([0.0, 1.0])])
        # Probabilities stay in [0, 1]; least squares' scores need not.
        panels[1].set_ranges(x_range, (0, 1) if reads == "probability" else (float(np.nanmin(values)), float(np.nanmax(values))))
    else:
        lines = [("CRITIC REAL", GREEN, "critic_real"), ("CRITIC FAKE", RED, "critic_fake"),
                 ("W ESTIMATE", BLUE, "wasserstein_estimate"), ("ACC REAL", (120, 200, 140), "d_acc_real"),
                 ("ACC FAKE", (240, 150, 150), "d_acc_fake")]
        values = np.concatenate([_series(records, "signals", key)[1] for *_, key in lines] + [np.zeros(1)])
        panels[1].set_ranges(x_range, (float(np.nanmin(values)), float(np.nanmax(values))))
    lines = [line for line in lines if len(_series(records, "signals", line[2])[1])]
    # 3. The generator's logit gradient, else the regulariser's penalty (a critic's has no logit gradient).
    third_key = next((key for key in ("g_logit_grad", "gradient_penalty", "r1_penalty")
                      if len(_series(records, "signals", key)[1])), "g_logit_grad" if logits else "gradient_penalty")
    # The vanishing line means something for a sigmoid's logit gradient only (least squares'
    # |D(G(z)) - 1| is small when G wins, not when its gradient vanishes).
    logit_gradient = third_key == "g_logit_grad" and reads == "probability"
    third = _series(records, "signals", third_key)
    panels[2].set_ranges(x_range, _positive_range(third[1], np.asarray([thresholds["vanishing_logit_grad"], 0.5])
                                                  if logit_gradient else np.zeros(0)), log_y=True)
    # 4. Diversity: fractions in [0, 1].
    panels[3].set_ranges(x_range, (0, 1))

    for name, start, end, _ in spans:  # under the lines: a light shade, and a solid lane per event kind
        lane = list(EVENT_COLORS).index(name)
        for panel in panels:
            if start == end:
                panel.vline(start, EVENT_COLORS[name])
            else:
                end_step = end if end is not None else x_range[1]
                panel.band(start, end_step, EVENT_COLORS[name], alpha=0.12)
                panel.band(start, end_step, EVENT_COLORS[name], alpha=1.0, rows=(1 + 12 * lane, 4 + 12 * lane))

    panels[0].frame("GRADIENT NORMS")
    if baseline:
        panels[0].hline(baseline, GREY)
        panels[0].hline(baseline * thresholds["vanishing_norm_fraction"], GREY, dashed=True)
    panels[0].line(*d, ORANGE)
    panels[0].line(*g, BLUE)
    panels[0].legend([("G", BLUE), ("D", ORANGE)] + ([("EARLY G, 1/10 OF IT", GREY)] if baseline else []))

    panels[1].frame("DISCRIMINATOR OUTPUTS" if logits else "CRITIC")
    if logits:
        panels[1].hline(0.5, GREY, dashed=True)
    for label, color, key in lines:
        panels[1].line(*_series(records, "signals", key), color, thickness=2 if "ACC" not in label else 1)
    panels[1].legend([(label, color) for label, color, _ in lines])

    panels[2].frame("GENERATOR'S LOGIT GRADIENT" if third_key == "g_logit_grad" else third_key.replace("_", " ").upper())
    if logit_gradient:
        panels[2].hline(0.5, GREY, dashed=True)
        panels[2].hline(thresholds["vanishing_logit_grad"], RED, dashed=True)
    panels[2].line(*third, PURPLE)
    panels[2].legend([("BALANCE 1/2", GREY), ("VANISHING", RED)] if logit_gradient else [("PENALTY", PURPLE)])

    panels[3].frame("DIVERSITY PER EPOCH")
    mixture = any(r["kind"] == "diversity" and "modes" in r for r in records)
    if mixture:
        rows = [r for r in records if r["kind"] == "diversity"]
        modes = (np.asarray([r["step"] for r in rows], float), np.asarray([r["modes"] / r["of"] for r in rows]))
        kept = (modes[0], np.asarray([len(r["modes_kept"]) / r["of"] if r["collapse"] is not None else np.nan
                                      for r in rows]))  # a gap where the samples were too far to judge
        quality = (modes[0], np.asarray([r["high_quality_percent"] / 100 for r in rows]))
        series = [("MODES / K", BLUE, modes), ("MODES KEPT / K", PURPLE, kept), ("HIGH QUALITY", GREEN, quality)]
    else:
        series = [("NDB / K", BLUE, _series(records, "diversity", "ndb_ratio")),
                  ("LOST REAL MASS", PURPLE, _series(records, "diversity", "lost_real_mass")),
                  ("LABEL KL", GREEN, _series(records, "diversity", "label_kl"))]
    for label, color, (xs, ys) in series:
        panels[3].line(xs, ys, color)
        panels[3].points(xs, ys, color)
    panels[3].legend([(label, color) for label, color, _ in series])

    for name, start, _, _ in spans:  # event names, in their lanes of the first panel
        left, top, _, _ = panels[0].area
        column = panels[0].to_pixels([start], [1.0])[0][0]
        lane = list(EVENT_COLORS).index(name)
        if np.isfinite(column):
            label = name.upper().replace("_", " ")
            right = panels[0].area[2]
            canvas.text(min(int(column) + 3, right - canvas.text_width(label)), top + 5 + 12 * lane, label,
                        EVENT_COLORS[name])
    if sample_picture is not None:
        stride = -(-max(sample_picture.shape[:2]) // (SIDE - 10))  # shrink by an integer factor to fit
        picture = sample_picture[::stride, ::stride]
        canvas.paste(WIDTH + 5, TITLE_HEIGHT + 12, picture)
        canvas.text(WIDTH + 5, TITLE_HEIGHT, "LAST SAMPLES")
    return canvas.pixels


def _number(value):
    """A record's value as a float: NaN where it is missing or non-finite (written as a string)."""
    return float(value) if isinstance(value, (int, float)) else np.nan


def summary(records, run_dir=None):
    """A text summary: the run, each event with its span and remedies, the final diversity, the
    last window's signals and a verdict."""
    header = next((r for r in reversed(records) if r["kind"] == "header"), {})
    fraction = {**diagnostics.THRESHOLDS, **header.get("thresholds", {})}["mode_lost_fraction"]
    signals = [r for r in records if r["kind"] == "signals"]
    checks = [r for r in records if r["kind"] == "diversity"]
    last_step = max((r["step"] for r in records if "step" in r), default=0)
    lines = [f"{run_dir or 'run'}: {header.get('model', '?')} on {header.get('data', '?')} "
             f"(objective {header.get('objective', '?')}, d_steps {header.get('d_steps', '?')}), "
             f"{last_step:,} generator updates, {len(checks)} diversity check(s)."]
    spans = event_spans(records)
    if spans:
        lines.append("Events:")
    for name, start, end, record in spans:
        when = f"at step {start:,}" if record["state"] == "stop" else (
            f"steps {start:,}-{end:,}" if end is not None else f"from step {start:,}, still open")
        lines.append(f"  - {when}: {record['message']}")
        if record.get("remedies"):
            lines.append(f"    Try: {'; '.join(record['remedies'])}.")
    if checks:
        last = checks[-1]
        if "modes" in last and last["collapse"] is None:
            lines.append(f"Last diversity check (step {last['step']:,}): {last['message']}; mode loss not judged.")
        elif "modes" in last:
            lines.append(f"Last diversity check (step {last['step']:,}): {last['modes']} of {last['of']} modes with a "
                         f"high-quality sample, {len(last['modes_kept'])} kept (at least {fraction:g} of their share): "
                         f"{last['modes_kept']}; {last['high_quality_percent']:.1f}% high quality.")
        else:
            text = f"NDB {last['ndb']}/{last['bins']}, lost bins hold {100 * last['lost_real_mass']:.0f}% of the real data"
            if "label_kl" in last:
                text += f", label KL {last['label_kl']:.3f}, lost classes {last['lost_classes'] or 'none'}"
            lines.append(f"Last diversity check (step {last['step']:,}): {text}.")
    tail = [r for r in signals if r["step"] > last_step - 1000]
    if tail:
        keys = [k for k in ("d_real", "d_fake", "d_acc_real", "d_acc_fake", "g_logit_grad", "critic_real",
                            "critic_fake", "wasserstein_estimate", "g_grad_norm", "d_grad_norm")
                if any(k in r for r in tail)]
        means = ", ".join(f"{k} {np.nanmean([_number(r.get(k)) for r in tail]):.3g}" for k in keys)
        lines.append(f"Last {sum(r['steps'] for r in tail):,} updates, mean: {means}.")
    still_open = [name for name, _, end, record in spans if end is None or record["state"] == "stop"]
    far = bool(checks) and checks[-1].get("collapse", False) is None
    lines.append("Verdict: " + (("no event raised, but the samples are too far from the data to judge their modes."
                                 if far else "healthy: no event raised.") if not spans else
                                "healthy now: every event has ended." if not still_open else
                                f"{', '.join(n.replace('_', ' ') for n in still_open)} (see above)."))
    return "\n".join(lines) + "\n"


def diagnose(run_dir, out=None):
    """Writes `diagnosis.png` (or `out`) and `diagnosis.txt` in `run_dir`; returns the summary."""
    path = os.path.join(run_dir, diagnostics.FILE)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{run_dir} has no {diagnostics.FILE}: it was trained without diagnostics (train.diagnostics=false, "
            "or before ganzoo had them). Train with `ganzoo train` or add ganzoo.callbacks.Diagnostics to fit's callbacks.")
    records = diagnostics.read(path)
    pictures = sorted(glob.glob(os.path.join(run_dir, "samples", "epoch_*.png")))
    sample_picture = tf.io.decode_png(tf.io.read_file(pictures[-1]), channels=3).numpy() if pictures else None
    write_png(out or os.path.join(run_dir, PICTURE), draw(records, sample_picture))
    text = summary(records, run_dir)
    with open(os.path.join(run_dir, SUMMARY), "w") as f:
        f.write(text)
    return text
