"""Trains a ganzoo config, the same job as `ganzoo train`.

    python tools/train.py --config=dcgan_fashion_mnist --workdir=runs/dcgan --set=train.epochs=2
"""

from absl import app, flags

flags.DEFINE_string("config", "dcgan_fashion_mnist", "Config name (in configs/) or file.")
flags.DEFINE_string("workdir", None, "Run directory; an existing one resumes. Default runs/CONFIG.")
flags.DEFINE_multi_string("set", [], "Config override section.key=value, e.g. train.epochs=2.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from ganzoo import cli

    args = ["train", "--config", FLAGS.config] + [f"--set={o}" for o in FLAGS.set]
    if FLAGS.workdir:
        args += ["--workdir", FLAGS.workdir]
    raise SystemExit(cli.main(args))


if __name__ == "__main__":
    app.run(main)
