"""Trains a ganzoo config: `ganzoo train` as a script, with the same arguments (--help).

    python tools/train.py --config dcgan_fashion_mnist --workdir runs/dcgan --set train.epochs=2

The command line goes to the CLI unchanged, so the script and the command cannot drift apart.
"""

import sys

from ganzoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", *sys.argv[1:]]))
