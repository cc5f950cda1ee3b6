import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def pytest_configure(config):
    # Keras 3.15 converts TF variables with np.array(x, copy=False), which NumPy 2 flags; not ours.
    config.addinivalue_line("filterwarnings", "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


# FID's Inception weights, where `ganzoo fetch-inception` put them (README's test line runs it),
# read before any test points GANZOO_HOME elsewhere.
_FID_INCEPTION_DIR = os.path.join(os.environ.get("GANZOO_HOME", os.path.join(os.path.expanduser("~"), ".keras", "ganzoo")),
                                  "inception")


@pytest.fixture
def fid_home(tmp_path, monkeypatch):
    """A fresh $GANZOO_HOME (reference features cached there) that sees the converted FID
    Inception weights; skips where they were never fetched."""
    if not os.path.exists(os.path.join(_FID_INCEPTION_DIR, "fid_inception_2015_12_05.weights.h5")):
        pytest.skip("FID's Inception weights are not here: run `ganzoo fetch-inception`")
    home = tmp_path / "ganzoo_home"
    home.mkdir()
    os.symlink(_FID_INCEPTION_DIR, home / "inception")
    monkeypatch.setenv("GANZOO_HOME", str(home))
    return home
