"""pacgan (PacGAN2; model.pack=4 for PacGAN4) on the grid25 mixture: ganzoo train --config pacgan_grid25"""

from _mixture_protocol import mixture_experiment


def get_config():
    return mixture_experiment("pacgan", "grid25")
