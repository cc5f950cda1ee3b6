"""Scores a trained model, the same job as `ganzoo evaluate`; writes JSON and prints a table.

    python tools/evaluate.py --model=runs/dcgan_fashion_mnist --num_samples=10000
"""

from absl import app, flags

flags.DEFINE_string("model", None, "Run directory or .keras file.", required=True)
flags.DEFINE_string("data", None, "Dataset to compare with (default: the run's config).")
flags.DEFINE_list("metrics", None, "Metrics (default: all for the data).")
flags.DEFINE_integer("num_samples", None, "Generated samples.")
flags.DEFINE_enum("features", "auto", ["auto", "classifier", "inception"], "Image features.")
flags.DEFINE_string("out", None, "JSON file (default RUN_DIR/evaluation.json).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from ganzoo import cli

    args = ["evaluate", FLAGS.model, "--features", FLAGS.features]
    for flag, value in (("--data", FLAGS.data), ("--num-samples", FLAGS.num_samples), ("--out", FLAGS.out),
                        ("--metrics", ",".join(FLAGS.metrics) if FLAGS.metrics else None)):
        if value is not None:
            args += [flag, str(value)]
    raise SystemExit(cli.main(args))


if __name__ == "__main__":
    app.run(main)
