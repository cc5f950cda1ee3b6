"""wgan on the ring8 mixture: ganzoo train --config wgan_ring8"""

from _mixture_protocol import mixture_experiment


def get_config():
    return mixture_experiment("wgan", "ring8")
