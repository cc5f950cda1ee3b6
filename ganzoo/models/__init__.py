"""The zoo: importing this package registers every model family."""

from ganzoo.models import conditional, cyclegan, dcgan, pacgan, stylegan, unrolled, vanilla, wgan  # noqa: F401  (registers the models)
