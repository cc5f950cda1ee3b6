"""Scores the shipped image presets again, as they ship, and can write the figures into them.

    python tools/rescore_presets.py                      # -> benchmarks/preset_scores.json/.md
    python tools/rescore_presets.py --update             # and into each preset's metadata + index

Each image preset (and the CycleGAN's translations) is scored with `ganzoo.evaluation` under
one protocol: --num_samples generated images (default 5,000) against the whole Fashion-MNIST
test split (10,000 images; a CycleGAN: each target class's 1,000), FID and KID on the FID
Inception network, and the Fashion-MNIST classifier distance beside them. Results are written
after each preset, so a stopped run keeps what it finished; presets already in the JSON with
the same protocol are skipped (--force scores them again).

--update repacks each scored preset with the new `metrics` in its metadata.json (weights and
config unchanged) and rewrites its index entry (sha256, size, headline).
"""

import json
import os
import shutil
import tempfile
import time

from absl import app, flags
from benchmark_throughput import cpu_description  # tools/ is sys.path[0] for a script

flags.DEFINE_integer("num_samples", 5000, "Generated images per preset.")
flags.DEFINE_list("presets", None, "Presets to score (default: every image preset in the index).")
flags.DEFINE_string("out", "benchmarks/preset_scores", "Path stem of the JSON and Markdown results.")
flags.DEFINE_bool("update", False, "Write the figures into the presets' metadata and the index.")
flags.DEFINE_bool("force", False, "Score presets already in the JSON again.")
FLAGS = flags.FLAGS


def image_presets(index):
    from ganzoo import data

    return [name for name, entry in index.items() if not any(m in name for m in data.MIXTURES)]


def score(name, num_samples):
    import ganzoo
    from ganzoo import evaluation

    gan = ganzoo.load_preset(name)
    data = gan.preset_metadata["training_config"]["data"]
    started = time.time()
    # A CycleGAN takes num_samples as test images per domain: all of its 1,000 each.
    result = evaluation.evaluate(gan, data, evaluation.preset_metric_names(gan, data["name"]), num_samples)
    result["seconds"] = round(time.time() - started, 1)
    print(evaluation.format_table(result), flush=True)
    return result


def update_preset(name, metrics):
    """Repacks preset `name` with `metrics` in its metadata, and rewrites its index entry."""
    from ganzoo import evaluation, presets
    from ganzoo.run_directory import write_json

    folder = presets.resolve(name)
    with tempfile.TemporaryDirectory() as scratch:
        copy = os.path.join(scratch, name)
        shutil.copytree(folder, copy)
        metadata_path = os.path.join(copy, presets.METADATA_FILE)
        with open(metadata_path) as f:
            metadata = json.load(f)
        metadata["metrics"] = {k: v for k, v in metrics.items() if k != "seconds"}
        with open(metadata_path, "w") as f:
            json.dump(metadata, f, indent=2)
        archive = presets.make_archive(copy, os.path.join(presets.PRESETS_DIR, f"{name}.tar.gz"))
    index = presets.index()
    index[name].update(sha256=presets.sha256_of(archive), bytes=os.path.getsize(archive),
                       metric=evaluation.headline(metadata["metrics"]))
    write_json(presets.INDEX_FILE, index)


def write_table(results, path):
    rows = ["| preset | FID | KID | Fréchet classifier distance | other | seconds |", "|---|---|---|---|---|---|"]
    for name, r in results["presets"].items():
        if "cycle_error_a" in r:
            fid = f"{r['fid_a_to_b']:.1f} / {r['fid_b_to_a']:.1f}"
            kid = f"{r['kid_a_to_b']:.4f} / {r['kid_b_to_a']:.4f}"
            classifier = (f"{r['frechet_classifier_distance_a_to_b']:.1f} / "
                          f"{r['frechet_classifier_distance_b_to_a']:.1f}")
            other = (f"A→B / B→A; target accuracy {r['target_accuracy_a_to_b']:.1%} / "
                     f"{r['target_accuracy_b_to_a']:.1%}, cycle error {r['cycle_error_a']:.3f} / {r['cycle_error_b']:.3f}")
        else:
            fid, kid = f"{r['fid']:.1f}", f"{r['kid']:.4f}"
            classifier = f"{r['frechet_classifier_distance']:.1f}"
            other = (f"conditional accuracy {r['conditional_accuracy']:.1%}" if "conditional_accuracy" in r else "")
        rows.append(f"| {name} | {fid} | {kid} | {classifier} | {other} | {r['seconds']:.0f} |")
    text = "\n".join([
        "# The shipped presets, scored with FID and KID",
        "",
        f"Protocol: {results['protocol']}",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Machine: {results['machine']['model']}, {os.cpu_count()} CPUs; lscpu flags: "
        f"{' '.join(results['machine']['flags'])}.",
        "",
        *rows, ""])
    with open(path, "w") as f:
        f.write(text)


def main(argv):
    del argv
    from ganzoo import presets
    from ganzoo.run_directory import write_json

    json_path = FLAGS.out + ".json"
    protocol = (f"{FLAGS.num_samples} generated images (EMA generator where kept; float32) against the 10,000 "
                "Fashion-MNIST test images (StyleGAN: padded to 32x32 as it trained); a CycleGAN's translations of "
                "each class's 1,000 test images against the other class's. FID and KID (100 subsets of 1,000, "
                "cubic kernel) on the FID Inception network's pool3 (inception-2015-12-05; images as uint8, TF1 "
                "bilinear resize to 299); the Fréchet classifier distance on ganzoo's Fashion-MNIST classifier.")
    results = {"protocol": protocol, "presets": {}}
    if os.path.exists(json_path):
        with open(json_path) as f:
            previous = json.load(f)
        if previous.get("protocol") == protocol:
            results = previous
    results.update(command="python tools/rescore_presets.py" + (" --update" if FLAGS.update else ""),
                   machine=cpu_description())
    for name in FLAGS.presets or image_presets(presets.index()):
        if name not in results["presets"] or FLAGS.force:
            print(f"== {name}", flush=True)
            results["presets"][name] = score(name, FLAGS.num_samples)
            write_json(json_path, results)
            write_table(results, FLAGS.out + ".md")
        if FLAGS.update:
            update_preset(name, results["presets"][name])
    write_json(json_path, results)  # the command and machine of this call, with the figures
    write_table(results, FLAGS.out + ".md")


if __name__ == "__main__":
    app.run(main)
