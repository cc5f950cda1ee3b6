"""Pretrained presets: a folder (or a .tar.gz of one) that loads into a GAN in one line.

    gan = ganzoo.load_preset("dcgan_fashion_mnist")     # a name in the index, a folder, or a URL

A preset folder holds:
    config.json         the GAN, serialized by Keras (both networks' architectures, hyperparameters)
    model.weights.h5    the weights: the whole GAN's, or the generator's alone (smaller; the EMA
                        generator's when the GAN keeps one; a CycleGAN's two generators)
    metadata.json       model, dataset, training config and steps, metrics with their protocol,
                        versions, contents ("gan" or "generator"), and each file's size and sha256

Names resolve through INDEX (ganzoo/assets/presets/index.json): a location (a file shipped in
the package, or an http(s):// or file:// URL of an archive), its sha256, a description and a
headline metric. Downloads go to the cache ($GANZOO_HOME, default ~/.keras/ganzoo), are checked
against the sha256 before use (a mismatch deletes the download and fails), land atomically,
and are extracted refusing absolute paths, `..` and links. Configs load in Keras's safe mode.
"""

import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid

import keras

from ganzoo.evaluation import upgrade_result
from ganzoo.features import ganzoo_home, sha256_of

PRESETS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", "presets")
INDEX_FILE = os.path.join(PRESETS_DIR, "index.json")
CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE = "config.json", "model.weights.h5", "metadata.json"


def cache_dir():
    return os.path.join(ganzoo_home(), "presets")


def index():
    """{name: {"location", "sha256", "description", "metric"}} of the presets ganzoo knows."""
    if not os.path.exists(INDEX_FILE):  # shipped with the package: missing means a broken install
        raise FileNotFoundError(f"ganzoo's preset index {INDEX_FILE} is missing from this installation; "
                                "reinstall ganzoo (pip install --force-reinstall ganzoo).")
    with open(INDEX_FILE) as f:
        return json.load(f)


# --------------------------------------------------------------------------------- saving
def save_to_preset(gan, directory, generator_only=False, metadata=None):
    """Writes a preset folder for `gan` (atomically: built beside it, then renamed)."""
    if os.path.exists(directory):
        raise FileExistsError(f"{directory} exists; choose a new folder for the preset.")
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    temporary = tempfile.mkdtemp(prefix=".partial-preset-", dir=parent)
    try:
        config = keras.saving.serialize_keras_object(gan)
        with open(os.path.join(temporary, CONFIG_FILE), "w") as f:
            json.dump(config, f, indent=2)
        if generator_only:  # the generator that samples: the EMA one if the GAN keeps it
            _generators(gan, sampling=True).save_weights(os.path.join(temporary, WEIGHTS_FILE))
        else:  # the networks and the noise counter, not the optimisers' state
            uncompiled = keras.saving.deserialize_keras_object(config)
            uncompiled.set_weights(gan.get_weights())
            uncompiled.save_weights(os.path.join(temporary, WEIGHTS_FILE))
        record = dict(metadata or {})
        record.update(model=gan.name, contents="generator" if generator_only else "gan",
                      versions=_versions(), files={
                          name: {"bytes": os.path.getsize(os.path.join(temporary, name)),
                                 "sha256": sha256_of(os.path.join(temporary, name))}
                          for name in (CONFIG_FILE, WEIGHTS_FILE)})
        with open(os.path.join(temporary, METADATA_FILE), "w") as f:
            json.dump(record, f, indent=2)
        os.rename(temporary, directory)
    finally:
        if os.path.exists(temporary):
            shutil.rmtree(temporary)
    return directory


def _is_translator(model):
    return hasattr(model, "translate")  # a CycleGAN: two generators, no sampling


def _generators(model, sampling):
    """The weights a generator-only preset holds, as one Keras model to save or load: a GAN's
    generator (`sampling`: the one that samples, the EMA copy if kept), or a CycleGAN's two."""
    if not _is_translator(model):
        return model.sampling_generator if sampling else model.generator
    return _TranslationGenerators(model.generator_ab, model.generator_ba)


class _TranslationGenerators(keras.Model):
    """A CycleGAN's two generators as one model, whose weight file keys them by these
    attributes' names (whatever the networks are called)."""

    def __init__(self, generator_ab, generator_ba):
        super().__init__(name="generators")
        self.generator_ab, self.generator_ba = generator_ab, generator_ba
        self.built = True  # both networks are built; this holds them only


def _versions():
    import tensorflow as tf

    import ganzoo

    return {"ganzoo": ganzoo.__version__, "keras": keras.__version__, "tensorflow": tf.__version__}


def make_archive(directory, archive_path):
    """A .tar.gz of a preset folder, with the folder's files at its top level."""
    temporary = f"{archive_path}.partial"
    with tarfile.open(temporary, "w:gz") as archive:
        for name in sorted(os.listdir(directory)):
            archive.add(os.path.join(directory, name), arcname=name)
    os.replace(temporary, archive_path)
    return archive_path


# -------------------------------------------------------------------------------- loading
def load_preset(name_or_path, sha256=None):
    """The GAN in a preset: a name in the index, a preset folder, a .tar.gz archive, or an
    http(s):// / file:// URL of one. `sha256` checks an archive named by path or URL."""
    directory = resolve(name_or_path, sha256)
    with open(os.path.join(directory, METADATA_FILE)) as f:
        metadata = json.load(f)
    for name, expected in metadata["files"].items():
        actual = sha256_of(os.path.join(directory, name))
        if actual != expected["sha256"]:
            raise ValueError(f"Preset file {os.path.join(directory, name)} has sha256 {actual}, but its "
                             f"metadata says {expected['sha256']}: the preset is corrupted.")
    with open(os.path.join(directory, CONFIG_FILE)) as f:
        gan = keras.saving.deserialize_keras_object(json.load(f), safe_mode=True)
    weights = os.path.join(directory, WEIGHTS_FILE)
    if metadata["contents"] == "generator":
        _generators(gan, sampling=False).load_weights(weights)
        if hasattr(gan, "reset_ema"):
            gan.reset_ema()  # a generator-only preset holds the sampling (EMA) generator's weights
        gan.generator_only = True
        held = ("the generators' weights only; the discriminators are untrained (translate and export work"
                if _is_translator(gan) else
                "the generator's weights only; the discriminator is untrained (generate and export work")
        print(f"ganzoo: preset {name_or_path!r} holds {held}; fit() refuses: use a full preset to keep training).",
              file=sys.stderr)
    else:
        gan.load_weights(weights)
    # An older preset's "fid" on classifier features, under its name now.
    metadata["metrics"] = upgrade_result(metadata.get("metrics", {}))
    gan.preset_metadata = metadata
    return gan


def resolve(name_or_path, sha256=None):
    """A local preset folder for a name, folder, archive path or URL (downloading if needed)."""
    if os.path.isdir(name_or_path):
        return name_or_path
    entry = index().get(name_or_path)
    if entry is not None:
        location, sha256 = entry["location"], entry["sha256"]
        if not urllib.parse.urlparse(location).scheme:  # shipped in the package
            location = os.path.join(PRESETS_DIR, location)
    elif name_or_path.startswith(("http://", "https://", "file://")) or os.path.isfile(name_or_path):
        location = name_or_path
    else:
        raise ValueError(f"Unknown preset {name_or_path!r}: not a folder, archive or URL, and not in the "
                         f"index. Presets: {', '.join(sorted(index())) or 'none'}.")
    return _fetch_and_extract(location, sha256)


def _fetch_and_extract(location, sha256):
    cache = cache_dir()
    os.makedirs(cache, exist_ok=True)
    archive = location if os.path.isfile(location) else None
    if archive is None:
        archive = download(location, os.path.join(cache, "downloads"), sha256)
    digest = sha256_of(archive)
    if sha256 and digest != sha256:
        raise ValueError(f"Checksum mismatch for {location}: sha256 {digest}, expected {sha256}.")
    target = os.path.join(cache, digest[:16])
    if not os.path.isdir(target):
        extract(archive, target)
    if not os.path.exists(os.path.join(target, METADATA_FILE)):  # an archive of the folder itself
        folders = [os.path.join(target, d) for d in os.listdir(target) if os.path.isdir(os.path.join(target, d))]
        if len(folders) == 1 and os.path.exists(os.path.join(folders[0], METADATA_FILE)):
            return folders[0]
        raise ValueError(f"{location} is not a preset archive: no {METADATA_FILE} in it.")
    return target


def download(url, directory, sha256=None):
    """Downloads `url` into `directory` with a progress bar; a file that fails `sha256` is
    removed, and a download is renamed into place only when complete and verified."""
    os.makedirs(directory, exist_ok=True)
    filename = os.path.basename(urllib.parse.urlparse(url).path) or "preset.tar.gz"
    final = os.path.join(directory, f"{sha256[:16]}-{filename}" if sha256 else filename)
    if os.path.exists(final) and (not sha256 or sha256_of(final) == sha256):
        return final
    partial = f"{final}.partial-{uuid.uuid4().hex[:8]}"
    digest = hashlib.sha256()
    try:
        try:
            response = urllib.request.urlopen(url, timeout=60)
        except urllib.error.HTTPError as error:
            raise ConnectionError(f"Could not download {url}: HTTP {error.code} {error.reason}.") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ConnectionError(f"Could not download {url}: {reason}. Check the address and the network, "
                                  "or download the archive by other means and pass its path.") from None
        with response, open(partial, "wb") as f:
            total = int(response.headers.get("Content-Length") or 0)
            progress = keras.utils.Progbar(total or None, unit_name="byte")
            done = 0
            for block in iter(lambda: response.read(1 << 16), b""):
                f.write(block)
                digest.update(block)
                done += len(block)
                progress.update(done)
        if sha256 and digest.hexdigest() != sha256:
            raise ValueError(f"Checksum mismatch for {url}: sha256 {digest.hexdigest()}, expected {sha256}. "
                             "The download was deleted.")
        os.replace(partial, final)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return final


def _open_archive(archive):
    try:
        return tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as error:
        raise ValueError(f"{archive} is not a readable preset archive (.tar.gz): {error}.") from None


def extract(archive, target):
    """Extracts a preset archive into `target` atomically, refusing members that would land
    outside it (absolute paths, `..`), links and devices."""
    temporary = f"{target}.partial-{uuid.uuid4().hex[:8]}"
    try:
        with _open_archive(archive) as tar:
            try:
                members = tar.getmembers()
            except (tarfile.TarError, EOFError, OSError) as error:  # a damaged gzip stream is an OSError
                raise ValueError(f"{archive} is not a readable preset archive (.tar.gz): {error}.") from None
            for member in members:
                path = os.path.normpath(member.name)
                if os.path.isabs(member.name) or path == ".." or path.startswith(".." + os.sep):
                    raise ValueError(f"Refusing preset archive {archive}: member {member.name!r} would be "
                                     "written outside its folder.")
                if not (member.isfile() or member.isdir()):
                    raise ValueError(f"Refusing preset archive {archive}: member {member.name!r} is not a "
                                     "regular file or folder.")
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # and the stdlib's own checks
            tar.extractall(temporary, members=members, **safe)
        os.rename(temporary, target)
    finally:
        if os.path.exists(temporary):
            shutil.rmtree(temporary)
