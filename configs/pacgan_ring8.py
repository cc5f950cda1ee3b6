"""pacgan (PacGAN2; model.pack=4 for PacGAN4) on the ring8 mixture: ganzoo train --config pacgan_ring8"""

from ganzoo.config import mixture_experiment


def get_config():
    return mixture_experiment("pacgan", "ring8")
