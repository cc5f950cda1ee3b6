"""Export cost and serving speed: the exported SavedModel beside the in-process Keras generator.

    python tools/benchmark_serving.py --model runs/dcgan_fashion_mnist/model.keras
    python tools/benchmark_serving.py                 # an untrained 28x28 dcgan (same speed)

Measures, in one run: the time `ganzoo export` takes, the SavedModel's size on disk, and
images/s of `serving_default` at batch 1 and 64 from `tf.saved_model.load`, beside the Keras
generator in the same process, called as `generator.predict_on_batch` and as a `tf.function`.
Each figure is the median of `--repeats` timed loops of `--iterations` calls after warm-up.
Writes benchmarks/serving.json and benchmarks/serving.md.
"""

import argparse
import json
import os
import statistics
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def images_per_second(call, latent, iterations, repeats):
    for _ in range(3):
        call(latent)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            call(latent)
        rates.append(len(latent) * iterations / (time.perf_counter() - start))
    return statistics.median(rates)


def directory_size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help=".keras file (default: a fresh dcgan for 28x28x1)")
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks"))
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    import ganzoo

    gan = keras.models.load_model(args.model) if args.model else ganzoo.get("dcgan", data_shape=(28, 28, 1))
    with tempfile.TemporaryDirectory() as base:
        start = time.perf_counter()
        path = gan.export(base, name="benchmark")
        export_seconds = time.perf_counter() - start
        size = directory_size(path)
        serving = tf.saved_model.load(path).signatures["serving_default"]
        keras_function = tf.function(lambda z: gan.generator(z, training=False))
        rows = {}
        for batch in (1, 64):
            latent = tf.constant(np.random.default_rng(0).normal(size=(batch, gan.latent_dim)).astype("float32"))
            rows[batch] = {
                "SavedModel serving_default": images_per_second(lambda z: serving(latent=z), latent, args.iterations, args.repeats),
                "Keras generator.predict_on_batch": images_per_second(gan.generator.predict_on_batch, latent, args.iterations, args.repeats),
                "Keras generator in tf.function": images_per_second(keras_function, latent, args.iterations, args.repeats),
            }

    report = {
        "model": gan.name, "source": args.model or "untrained dcgan 28x28x1",
        "export_seconds": round(export_seconds, 2), "saved_model_bytes": size,
        "images_per_s": {str(b): {k: round(v, 1) for k, v in r.items()} for b, r in rows.items()},
        "cpus": os.cpu_count(), "tensorflow": tf.__version__,
        "command": "python tools/benchmark_serving.py" + (f" --model {args.model}" if args.model else ""),
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "serving.json"), "w") as f:
        json.dump(report, f, indent=2)
    lines = [f"# Export and serving: {report['source']}", "",
             f"`{report['command']}` on {os.cpu_count()} CPUs, TensorFlow {tf.__version__}.", "",
             f"- export: {export_seconds:.1f} s; SavedModel (with assets.extra): {size / 1e6:.2f} MB", "",
             "| called as | images/s, batch 1 | images/s, batch 64 |", "|---|---|---|"]
    for name in rows[1]:
        lines.append(f"| {name} | {rows[1][name]:.0f} | {rows[64][name]:.0f} |")
    with open(os.path.join(args.out, "serving.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
