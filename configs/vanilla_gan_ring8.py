"""vanilla_gan on the ring8 mixture: ganzoo train --config vanilla_gan_ring8"""

from _mixture_protocol import mixture_experiment


def get_config():
    return mixture_experiment("vanilla_gan", "ring8")
