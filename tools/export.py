"""Exports a trained generator for TF Serving, the same job as `ganzoo export`.

    python tools/export.py --model=runs/dcgan_fashion_mnist --out=exports
"""

from absl import app, flags

flags.DEFINE_string("model", None, "Run directory or .keras file.", required=True)
flags.DEFINE_string("out", "exports", "Base directory: writes OUT/NAME/VERSION/.")
flags.DEFINE_string("name", None, "Model name (default: the run directory's or file's name).")
flags.DEFINE_integer("version", None, "Integer version (default: the next one).")
flags.DEFINE_bool("overwrite", False, "Replace an existing version.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from ganzoo import cli

    args = ["export", FLAGS.model, "--out", FLAGS.out]
    args += ["--name", FLAGS.name] if FLAGS.name else []
    args += ["--version", str(FLAGS.version)] if FLAGS.version else []
    args += ["--overwrite"] if FLAGS.overwrite else []
    raise SystemExit(cli.main(args))


if __name__ == "__main__":
    app.run(main)
