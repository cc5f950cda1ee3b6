"""Exports a trained generator for TF Serving: `ganzoo export` as a script, with the same
arguments (--help).

    python tools/export.py runs/dcgan_fashion_mnist --out exports

The command line goes to the CLI unchanged, so the script and the command cannot drift apart.
"""

import sys

from ganzoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["export", *sys.argv[1:]]))
