"""vanilla_gan on the grid25 mixture: ganzoo train --config vanilla_gan_grid25"""

from _mixture_protocol import mixture_experiment


def get_config():
    return mixture_experiment("vanilla_gan", "grid25")
