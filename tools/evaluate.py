"""Scores a trained model: `ganzoo evaluate` as a script, with the same arguments (--help);
writes JSON and prints a table.

    python tools/evaluate.py runs/dcgan_fashion_mnist --num-samples 10000

The command line goes to the CLI unchanged, so the script and the command cannot drift apart.
"""

import sys

from ganzoo import cli

if __name__ == "__main__":
    sys.exit(cli.main(["evaluate", *sys.argv[1:]]))
