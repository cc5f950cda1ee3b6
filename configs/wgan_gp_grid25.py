"""wgan_gp on the grid25 mixture: ganzoo train --config wgan_gp_grid25"""

from _mixture_protocol import mixture_experiment


def get_config():
    return mixture_experiment("wgan_gp", "grid25")
