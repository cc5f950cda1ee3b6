"""unrolled_gan on the grid25 mixture: ganzoo train --config unrolled_gan_grid25"""

from _mixture_protocol import mixture_experiment


def get_config():
    return mixture_experiment("unrolled_gan", "grid25")
