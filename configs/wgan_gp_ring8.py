"""wgan_gp on the ring8 mixture: ganzoo train --config wgan_gp_ring8"""

from _mixture_protocol import mixture_experiment


def get_config():
    return mixture_experiment("wgan_gp", "ring8")
