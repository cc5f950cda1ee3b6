"""pacgan (PacGAN2; model.pack=4 for PacGAN4) on the ring8 mixture: ganzoo train --config pacgan_ring8

20,000 generator updates (the protocol's budget), at which benchmarks/modes.md's PacGAN2 covers
all 8 modes on every seed with 97% high-quality samples (the pacgan_ring8 preset is seed 0's run).
"""

from _mixture_protocol import mixture_experiment


def get_config():
    return mixture_experiment("pacgan", "ring8")
