import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def pytest_configure(config):
    # Keras 3.15 converts TF variables with np.array(x, copy=False), which NumPy 2 flags; not ours.
    config.addinivalue_line("filterwarnings", "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


from ganzoo import fid_inception  # noqa: E402  (after the environment above)

# FID's Inception weights, where `ganzoo fetch-inception` put them (README's test line runs it),
# read before any test points GANZOO_HOME elsewhere.
_FID_INCEPTION_DIR = fid_inception.cache_dir()


@pytest.fixture
def fid_home(tmp_path, monkeypatch):
    """A fresh $GANZOO_HOME (reference features cached there) that sees the converted FID
    Inception weights; skips where they were never fetched."""
    if not os.path.exists(os.path.join(_FID_INCEPTION_DIR, fid_inception.WEIGHTS_NAME)):
        pytest.skip("FID's Inception weights are not here: run `ganzoo fetch-inception`")
    home = tmp_path / "ganzoo_home"
    home.mkdir()
    os.symlink(_FID_INCEPTION_DIR, home / "inception")
    monkeypatch.setenv("GANZOO_HOME", str(home))
    return home
