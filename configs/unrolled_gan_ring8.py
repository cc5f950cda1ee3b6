"""unrolled_gan on the ring8 mixture: ganzoo train --config unrolled_gan_ring8"""

from _mixture_protocol import mixture_experiment


def get_config():
    return mixture_experiment("unrolled_gan", "ring8")
