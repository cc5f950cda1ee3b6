"""Presets: save, archive, serve over HTTP on 127.0.0.1, verify, refuse bad archives, load."""

import functools
import http.server
import io
import json
import os
import tarfile
import textwrap
import threading

import numpy as np
import pytest
import tensorflow as tf

import ganzoo
from ganzoo import presets
from zoo_checks import run_tensorflow_only, small_options


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))


@pytest.fixture
def trained_gan():
    gan = ganzoo.get("dcgan", data_shape=(28, 28, 1), seed=4, **small_options("dcgan", (28, 28, 1)))
    gan.compile()
    gan.fit(np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32"), batch_size=8, verbose=0)
    return gan


@pytest.fixture
def archive(trained_gan, tmp_path):
    folder = trained_gan.save_to_preset(str(tmp_path / "preset"), metadata={"dataset": "test"})
    return presets.make_archive(folder, str(tmp_path / "preset.tar.gz"))


@pytest.fixture
def http_server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


def test_folder_round_trip_full_and_generator_only(trained_gan, tmp_path):
    expected = trained_gan.generate(3, seed=9)
    for generator_only in (False, True):
        folder = trained_gan.save_to_preset(str(tmp_path / f"p{generator_only}"), generator_only=generator_only)
        assert sorted(os.listdir(folder)) == ["config.json", "metadata.json", "model.weights.h5"]
        loaded = ganzoo.load_preset(folder)
        np.testing.assert_allclose(loaded.generate(3, seed=9), expected, atol=1e-6)
        assert loaded.preset_metadata["contents"] == ("generator" if generator_only else "gan")
        if not generator_only:
            for a, b in zip(trained_gan.discriminator.weights, loaded.discriminator.weights):
                np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(FileExistsError):
        trained_gan.save_to_preset(folder)


def test_load_by_http_url_with_checksum(archive, http_server, trained_gan, tmp_path):
    sha256 = presets.sha256_of(archive)
    loaded = ganzoo.load_preset(f"{http_server}/preset.tar.gz", sha256=sha256)
    np.testing.assert_allclose(loaded.generate(2, seed=1), trained_gan.generate(2, seed=1), atol=1e-6)
    # file:// URLs and archive paths work too.
    assert ganzoo.load_preset(f"file://{archive}", sha256=sha256).latent_dim == trained_gan.latent_dim


def test_one_corrupted_byte_fails_the_checksum_and_leaves_nothing_in_the_cache(archive, http_server, tmp_path):
    sha256 = presets.sha256_of(archive)
    data = bytearray(open(archive, "rb").read())
    data[len(data) // 2] ^= 0x01
    (tmp_path / "corrupt.tar.gz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="Checksum mismatch"):
        ganzoo.load_preset(f"{http_server}/corrupt.tar.gz", sha256=sha256)
    cache = presets.cache_dir()
    leftovers = [os.path.join(d, f) for d, _, files in os.walk(cache) for f in files] if os.path.exists(cache) else []
    assert leftovers == []


def tar_with_member(path, name, content=b"x", kind=tarfile.REGTYPE):
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.type = kind
        if kind == tarfile.SYMTYPE:
            info.linkname = "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return str(path)


@pytest.mark.parametrize("member,kind", [("../x", tarfile.REGTYPE), ("/tmp/evil", tarfile.REGTYPE),
                                         ("a/../../x", tarfile.REGTYPE), ("link", tarfile.SYMTYPE)])
def test_archives_that_escape_their_folder_are_refused(member, kind, tmp_path):
    bad = tar_with_member(tmp_path / "bad.tar.gz", member, kind=kind)
    with pytest.raises(ValueError, match="Refusing preset archive"):
        ganzoo.load_preset(bad)
    assert not (tmp_path / "x").exists()
    cache = presets.cache_dir()
    assert not os.path.exists(cache) or not any(d for d in os.listdir(cache) if d != "downloads")


def test_a_tampered_weights_file_is_caught_by_the_metadata(trained_gan, tmp_path):
    folder = trained_gan.save_to_preset(str(tmp_path / "p"))
    with open(os.path.join(folder, "model.weights.h5"), "r+b") as f:
        f.seek(3000)
        byte = f.read(1)[0]
        f.seek(3000)
        f.write(bytes([byte ^ 0xFF]))
    with pytest.raises(ValueError, match="corrupted"):
        ganzoo.load_preset(folder)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown preset 'no_such_preset'"):
        ganzoo.load_preset("no_such_preset")


@pytest.mark.parametrize("name", sorted(presets.index()))
def test_bundled_presets_reproduce_their_recorded_samples(name):
    gan = ganzoo.load_preset(name)
    reference = gan.preset_metadata["reference_samples"]
    if hasattr(gan, "translate"):  # a CycleGAN: its translations of test images kept in the metadata
        for source, direction in (("inputs_a", "a_to_b"), ("inputs_b", "b_to_a")):
            translated = gan.translate(np.array(reference[source], np.uint8), direction)
            np.testing.assert_allclose(translated, np.array(reference[direction]), atol=2e-4)
    else:
        samples = gan.generate(len(reference["values"]), seed=reference["seed"])
        np.testing.assert_allclose(samples, np.array(reference["values"]), atol=2e-4)
    assert gan.preset_metadata["metrics"]["protocol"]


EXPORTED_RUNS = textwrap.dedent("""
    import sys, tensorflow as tf
    loaded = tf.saved_model.load(sys.argv[1])
    out = loaded.signatures["sample"](seed=tf.range(3, dtype=tf.int64))
    print("SHAPE", tuple(out["images"].shape))
""")


def test_a_loaded_preset_exports_to_a_savedmodel_tensorflow_runs(archive, tmp_path):
    gan = ganzoo.load_preset(archive)
    path = gan.export(str(tmp_path / "exports"), name="from_preset")
    assert "SHAPE (3, 28, 28, 1)" in run_tensorflow_only(EXPORTED_RUNS, path).stdout


def test_presets_cli(archive, capsys, monkeypatch, tmp_path):
    from ganzoo import cli

    index_file = tmp_path / "index.json"
    index_file.write_text(json.dumps({"tiny": {"location": f"file://{archive}", "sha256": presets.sha256_of(archive),
                                               "description": "a tiny test dcgan", "metric": "none"}}))
    monkeypatch.setattr(presets, "INDEX_FILE", str(index_file))
    assert cli.main(["presets", "list"]) == 0
    assert "tiny" in capsys.readouterr().out
    assert cli.main(["presets", "download", "tiny"]) == 0
    assert presets.cache_dir() in capsys.readouterr().out
    assert cli.main(["presets", "show", "tiny"]) == 0
    assert '"contents": "gan"' in capsys.readouterr().out
    # `ganzoo sample --preset` draws the preset's samples: the same images as load_preset's generate.
    from ganzoo.callbacks import sample_picture

    assert cli.main(["sample", "--preset", "tiny", "--num-samples", "4", "--seed", "3", "--out", str(tmp_path / "s.png")]) == 0
    drawn = tf.io.decode_png(tf.io.read_file(str(tmp_path / "s.png"))).numpy()
    expected = sample_picture(ganzoo.load_preset("tiny").generate(4, seed=3))
    np.testing.assert_allclose(drawn.astype(int)[..., :expected.shape[-1]], np.asarray(expected).astype(int), atol=1)
