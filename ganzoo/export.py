"""Trained generators as SavedModels that TensorFlow Serving serves as they are.

Layout: `base_dir/name/version/` (an integer version, as TF Serving expects), holding
`saved_model.pb`, `variables/`, and `assets.extra/` with `ganzoo_metadata.json` and
`tf_serving_warmup_requests`. A version appears atomically: it is written in a hidden
temporary folder beside it and renamed into place, since TF Serving loads any numeric folder
it sees.

Signatures (inference mode throughout). Every input and output has a batch dimension and row i
of every output depends on row i of the inputs alone, so TF Serving's request batching (which
refuses rank-0 inputs, concatenates requests along dimension 0 and splits the outputs back)
serves every signature:
    serving_default  latent float32 [batch, latent_dim] -> images float32 [batch, H, W, C] in [0, 1]
                     (vector models: samples float32 [batch, D])
    sample           seed int64 [batch] -> images (or samples) [batch, ...], latent [batch, latent_dim]
    sample_png       seed int64 [batch] -> images_bytes string [batch] (PNG; image models)
A conditional GAN's signatures take `label` int64 [batch] as well (a class index per row, in
[0, num_classes); the metadata lists the class names). StyleGAN's take `truncation_psi` float32
[batch] (1: no truncation, 0: the average image), and it adds
    mix              seed, mix_seed, crossover int64 [batch], truncation_psi -> images: style
                     mixing, seed's styles below layer `crossover`, mix_seed's from it on.

A CycleGAN's export translates instead (`build_translation_archive`):
    translate_a_to_b, translate_b_to_a   images float32 [batch, H, W, C] in [0, 1] -> images
    translate_a_to_b_png, ..._b_to_a_png images_bytes string [batch] (PNG) -> images_bytes (PNG)
    serving_default                      translate_a_to_b

`sample` draws one sample per seed, its latent by stateless ops seeded by (seed, 0): row i is
`GAN.generate(1, seed=seed[i])` (conditional: `generate(1, labels=label[i], seed=seed[i])`), in
the SavedModel and in Python. N samples are N seeds (as StyleGAN's `--seeds`): a `num_samples`
input would have no batch dimension, which TF Serving's request batching refuses. A request holds at most `max_batch_size` rows (1,024 by default; an
export option), so one request cannot exhaust the server's memory.
"""

import json
import os
import re
import shutil
import socket
import uuid

import keras
import numpy as np
import tensorflow as tf

from ganzoo import registry
from ganzoo.run_directory import PARTIAL, write_atomically, write_point

REPLACED = ".replaced-"  # a version an overwriting export moved aside
# The temporary names export() writes: .partial-<version>-<host>-<pid>-<hex> (and .replaced-...).
LEFTOVER = re.compile(r"^\.(?P<kind>partial|replaced)-(?P<version>\d+)-(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{8}$")
METADATA_FILE = "ganzoo_metadata.json"
WARMUP_FILE = "tf_serving_warmup_requests"
MAX_BATCH_SIZE = 1024  # rows per request, in every signature


def _is_image_model(gan):
    return len(gan.data_shape) == 3


def _is_conditional(gan):
    return getattr(gan, "takes_labels", False)


def _is_style(gan):
    """StyleGAN: its generator maps, truncates and mixes (`ganzoo.stylegan_networks`)."""
    return hasattr(gan.sampling_generator, "synthesize")


def _output_name(gan):
    return "images" if _is_image_model(gan) else "samples"


def build_archive(gan, max_batch_size=MAX_BATCH_SIZE):
    """A `keras.export.ExportArchive` of the generator (the EMA one if the GAN keeps it) with
    ganzoo's signatures, each refusing requests of more than `max_batch_size` rows, and rows
    whose extra input (a conditional GAN's `label`, StyleGAN's `truncation_psi`) is missing or
    out of range."""
    generator, latent_dim, output = gan.sampling_generator, gan.latent_dim, _output_name(gan)
    image_model, conditional, style = _is_image_model(gan), _is_conditional(gan), _is_style(gan)

    within_cap = _row_cap(max_batch_size)

    def one_per_row(values, rows, what, checks=()):
        """`values` once checked to hold one entry per row of `rows` (and `checks` passed)."""
        count = tf.debugging.assert_equal(tf.shape(values)[0], tf.shape(rows)[0],
                                          message=f"a request needs one {what} per row")
        with tf.control_dependencies([count, *checks]):
            return tf.identity(values)

    def checked_labels(label, rows):
        """A conditional request's labels as the generator's int32, once checked: one per row and
        each a class index (an embedding lookup out of range fails obscurely, or not at all)."""
        return tf.cast(one_per_row(label, rows, "label", [
            tf.debugging.assert_non_negative(label, message="labels are class indices >= 0"),
            tf.debugging.assert_less(label, tf.constant(gan.num_classes, tf.int64),
                                     message=f"labels are class indices < num_classes = {gan.num_classes}")]), tf.int32)

    def truncated_ws(latent, psi):
        """StyleGAN's ws with the truncation trick, ψ per row: w_avg + ψ·(w - w_avg)."""
        psi = one_per_row(psi, latent, "truncation_psi",
                          [tf.debugging.assert_all_finite(psi, "truncation_psi must be finite")])
        ws = generator.map(latent)
        return generator.w_avg + psi[:, None, None] * (ws - generator.w_avg)

    def for_clients(samples):
        samples = tf.cast(samples, tf.float32)  # whatever the policy the generator computes in
        if image_model:  # generator outputs in [-1, 1] -> [0, 1] for clients
            samples = tf.clip_by_value((samples + 1.0) / 2.0, 0.0, 1.0)
        return samples

    def generate(latent, extra=None):
        """The samples of `latent`; `extra`: a conditional GAN's labels, StyleGAN's ψ."""
        if conditional:
            return for_clients(generator([latent, checked_labels(extra, latent)], training=False))
        if style:
            return for_clients(generator.synthesize(truncated_ws(latent, extra), training=False))
        return for_clients(generator(latent, training=False))

    def draw_latent(seeds):
        # One latent per seed, each generate(1, seed)'s: a row depends on its own seed only.
        zero = tf.constant(0, tf.int64)
        return tf.map_fn(lambda seed: tf.random.stateless_normal([latent_dim], tf.stack([seed, zero])),
                         within_cap(seeds), fn_output_signature=tf.TensorSpec([latent_dim], tf.float32))

    archive = keras.export.ExportArchive()
    archive.track(generator)
    latent_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="latent")
    seed_spec = tf.TensorSpec([None], tf.int64, name="seed")
    psi_spec = tf.TensorSpec([None], tf.float32, name="truncation_psi")
    extra_spec = ([tf.TensorSpec([None], tf.int64, name="label")] if conditional else [psi_spec] if style else [])

    # Each signature takes its inputs, plus the extra one (`label`, `truncation_psi`) if the model has one.
    @tf.function(input_signature=[latent_spec] + extra_spec)
    def serving_default(latent, extra=None):
        return {output: generate(within_cap(latent), extra)}

    @tf.function(input_signature=[seed_spec] + extra_spec)
    def sample(seed, extra=None):
        latent = draw_latent(seed)
        return {output: generate(latent, extra), "latent": latent}

    archive.add_endpoint("serving_default", serving_default)
    archive.add_endpoint("sample", sample)
    if image_model:

        @tf.function(input_signature=[seed_spec] + extra_spec)
        def sample_png(seed, extra=None):
            pixels = tf.cast(tf.round(generate(draw_latent(seed), extra) * 255.0), tf.uint8)
            return {"images_bytes": tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)}

        archive.add_endpoint("sample_png", sample_png)
    if style:

        @tf.function(input_signature=[seed_spec, tf.TensorSpec([None], tf.int64, name="mix_seed"),
                                      tf.TensorSpec([None], tf.int64, name="crossover"), psi_spec])
        def mix(seed, mix_seed, crossover, truncation_psi):
            """Style mixing: seed's ws below `crossover`, mix_seed's from it on (`StyleGAN.style_mix`)."""
            ws_a = truncated_ws(draw_latent(seed), truncation_psi)
            ws_b = truncated_ws(draw_latent(one_per_row(mix_seed, seed, "mix_seed")), truncation_psi)
            crossover = one_per_row(crossover, seed, "crossover", [
                tf.debugging.assert_non_negative(crossover, message="crossover is a layer index >= 0"),
                tf.debugging.assert_less_equal(crossover, tf.constant(generator.num_ws, tf.int64),
                                               message=f"crossover is a layer index <= num_ws = {generator.num_ws}")])
            return {output: for_clients(generator.synthesize(generator.mix(ws_a, ws_b, crossover), training=False))}

        archive.add_endpoint("mix", mix)
    return archive


def _is_translation(gan):
    """CycleGAN: two generators translating between domains A and B, no latent."""
    return hasattr(gan, "generator_ab")


TRANSLATIONS = {"translate_a_to_b": "generator_ab", "translate_b_to_a": "generator_ba"}


def build_translation_archive(gan, max_batch_size=MAX_BATCH_SIZE):
    """A CycleGAN's archive: `translate_a_to_b` / `translate_b_to_a` (`images` float32 [batch, H,
    W, C] in [0, 1] -> `images` in [0, 1]), their PNG variants (`images_bytes` string [batch] of
    PNG files both ways), and serving_default = translate_a_to_b. Inference mode; each row
    depends on its own input row only (instance normalisation is per image)."""
    archive = keras.export.ExportArchive()
    for direction, attribute in TRANSLATIONS.items():
        generator = getattr(gan, attribute)
        archive.track(generator)
        shape = tuple(generator.inputs[0].shape[1:])
        translate = _translation(generator, shape, max_batch_size)
        archive.add_endpoint(direction, translate)
        archive.add_endpoint(direction + "_png", _png_translation(translate, shape, _row_cap(max_batch_size)))
        if direction == "translate_a_to_b":
            archive.add_endpoint("serving_default", translate)
    return archive


def _row_cap(max_batch_size):
    """A function returning its argument once checked to hold at most `max_batch_size` rows:
    the check runs before any work on the request."""
    def within_cap(rows):
        check = tf.debugging.assert_less_equal(
            tf.shape(rows)[0], max_batch_size,
            message=f"a request holds at most {max_batch_size} rows (the export's max_batch_size); send several requests")
        with tf.control_dependencies([check]):
            return tf.identity(rows)
    return within_cap


def _translation(generator, shape, max_batch_size):
    within_cap = _row_cap(max_batch_size)

    @tf.function(input_signature=[tf.TensorSpec([None, *shape], tf.float32, name="images")])
    def translate(images):
        scaled = within_cap(images) * 2.0 - 1.0  # [0, 1] -> the generator's [-1, 1]
        translated = tf.cast(generator(scaled, training=False), tf.float32)
        return {"images": tf.clip_by_value((translated + 1.0) / 2.0, 0.0, 1.0)}
    return translate


def _png_translation(translate, shape, within_cap):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images_bytes")])
    def translate_png(images_bytes):
        images_bytes = within_cap(images_bytes)  # before any decoding
        decoded = tf.map_fn(lambda png: tf.io.decode_png(png, channels=shape[-1]), images_bytes,
                            fn_output_signature=tf.TensorSpec([None, None, shape[-1]], tf.uint8))
        images = tf.ensure_shape(tf.cast(decoded, tf.float32) / 255.0, [None, *shape])
        pixels = tf.cast(tf.round(translate(images)["images"] * 255.0), tf.uint8)
        return {"images_bytes": tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)}
    return translate_png


def translation_metadata(gan, model_name, training_config=None, max_batch_size=MAX_BATCH_SIZE):
    import ganzoo

    domains = (training_config or {}).get("data", {})
    return {
        "model": model_name,
        "class": type(gan).__name__,
        "domains": {"a": domains.get("domain_a"), "b": domains.get("domain_b")},
        "shape_a": list(gan.shape_a), "shape_b": list(gan.shape_b),
        "value_range": [0.0, 1.0],
        "signatures": ["serving_default", *TRANSLATIONS, *(d + "_png" for d in TRANSLATIONS)],
        "max_batch_size": max_batch_size,
        "versions": {"ganzoo": ganzoo.__version__, "tensorflow": tf.__version__, "keras": keras.__version__},
        "hyperparameters": {k: v for k, v in gan.get_config().items() if not k.startswith(("generator", "discriminator"))},
        "training_config": training_config,
        "generator_parameters": int(gan.generator_ab.count_params() + gan.generator_ba.count_params()),
    }


def translation_warmup_requests(gan, model_name, max_batch_size=MAX_BATCH_SIZE):
    rng = np.random.default_rng(0)
    requests = []
    for direction, shape in (("translate_a_to_b", gan.shape_a), ("translate_b_to_a", gan.shape_b)):
        for n in sorted({min(n, max_batch_size) for n in (1, 4)}):
            images = rng.uniform(0, 1, (n, *shape)).astype(np.float32)
            pngs = np.array([tf.io.encode_png(tf.cast(tf.round(image * 255), tf.uint8)).numpy() for image in images],
                            dtype=object)
            requests += [(direction, {"images": images}), (direction + "_png", {"images_bytes": pngs})]
    requests.append(("serving_default", {"images": rng.uniform(0, 1, (1, *gan.shape_a)).astype(np.float32)}))
    return [prediction_log(model_name, signature, inputs) for signature, inputs in requests]


def metadata(gan, model_name, training_config=None, max_batch_size=MAX_BATCH_SIZE):
    import ganzoo

    return {
        "model": model_name,
        "class": type(gan).__name__,
        "latent_dim": gan.latent_dim,
        "output": _output_name(gan),
        "output_shape": list(gan.data_shape),
        "value_range": [0.0, 1.0] if _is_image_model(gan) else None,
        "signatures": ["serving_default", "sample"] + (["sample_png"] if _is_image_model(gan) else []) + (
            ["mix"] if _is_style(gan) else []),
        # StyleGAN's `crossover` input of `mix` runs 0..num_ws.
        "num_ws": gan.sampling_generator.num_ws if _is_style(gan) else None,
        # A conditional GAN's `label` input: class index i names class_names[i].
        "num_classes": gan.num_classes if _is_conditional(gan) else None,
        "class_names": _class_names(gan) if _is_conditional(gan) else None,
        "max_batch_size": max_batch_size,
        "versions": {"ganzoo": ganzoo.__version__, "tensorflow": tf.__version__, "keras": keras.__version__},
        "hyperparameters": {k: v for k, v in gan.get_config().items() if k not in ("generator", "discriminator")},
        "training_config": training_config,
        "generator_parameters": int(gan.generator.count_params()),
        "generator_weights": "exponential moving average" if gan.ema_generator is not None else "trained",
    }


def _class_names(gan):
    """The names the metadata gives label 0..num_classes-1: the model's, or the indices as text."""
    return list(gan.class_names) if gan.class_names is not None else [str(i) for i in range(gan.num_classes)]


# ---------------------------------------------------------------- warmup requests (protobuf)
# TF Serving reads PredictionLog protos (tensorflow_serving/apis/prediction_log.proto). The
# tensorflow-serving-api package that defines them requires the `tensorflow` distribution,
# which would install a second TensorFlow beside tensorflow-cpu; the four messages needed are
# small, so they are encoded here by hand (field numbers from the .proto files; the tests
# parse the result with tensorflow-serving-api's own classes).
def _varint(value):
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number, payload):
    """A length-delimited (wire type 2) protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def prediction_log(model_name, signature_name, inputs):
    """A serialized PredictionLog{predict_log{request}} for `inputs` {name: array}."""
    model_spec = _field(1, model_name.encode()) + _field(3, signature_name.encode())
    request = _field(1, model_spec)
    for name, value in sorted(inputs.items()):
        tensor = tf.make_tensor_proto(value).SerializeToString()
        request += _field(2, _field(1, name.encode()) + _field(2, tensor))  # map<string, TensorProto>
    return _field(6, _field(1, request))


def warmup_requests(gan, model_name, max_batch_size=MAX_BATCH_SIZE):
    """A few requests per signature, at the batch sizes clients are likely to send (within the
    cap: TF Serving refuses to load a model whose warmup request fails)."""
    rng = np.random.default_rng(0)
    sizes = lambda *counts: sorted({min(n, max_batch_size) for n in counts})  # noqa: E731

    def extra(n):  # a conditional GAN's requests cycle through its classes; StyleGAN's truncate at 0.7
        if _is_conditional(gan):
            return {"label": np.arange(n, dtype=np.int64) % gan.num_classes}
        return {"truncation_psi": np.full(n, 0.7, np.float32)} if _is_style(gan) else {}

    requests = [("serving_default", {"latent": rng.normal(size=(n, gan.latent_dim)).astype(np.float32), **extra(n)})
                for n in sizes(1, 8)]
    seeds = lambda n: {"seed": np.arange(n, dtype=np.int64), **extra(n)}  # noqa: E731
    requests += [("sample", seeds(n)) for n in sizes(1, 8)]
    if _is_image_model(gan):
        requests += [("sample_png", seeds(n)) for n in sizes(1, 4)]
    if _is_style(gan):
        requests += [("mix", {"seed": np.arange(n, dtype=np.int64), "mix_seed": np.arange(n, dtype=np.int64) + n,
                              "crossover": np.full(n, gan.sampling_generator.num_ws // 2, np.int64),
                              "truncation_psi": np.ones(n, np.float32)}) for n in sizes(1, 4)]
    return [prediction_log(model_name, signature, inputs) for signature, inputs in requests]


# ---------------------------------------------------------------------------- the export
def next_version(model_dir):
    versions = [int(d) for d in os.listdir(model_dir) if d.isdigit()] if os.path.isdir(model_dir) else []
    return max(versions, default=0) + 1


def export(gan, base_dir, name=None, version=None, overwrite=False, training_config=None,
           max_batch_size=None):
    """Writes `base_dir/name/version/` atomically and returns its path.

    Args:
        gan: a ganzoo GAN.
        base_dir: the folder TF Serving watches (its --model_base_path's parent).
        name: the model's name under base_dir; default the GAN's name.
        version: integer version; default one more than the highest there.
        overwrite: replace an existing version (otherwise that is an error).
        training_config: the run's config, recorded in the metadata.
        max_batch_size: the most rows a request may hold, in every signature (default
            MAX_BATCH_SIZE; TF Serving's batching `max_batch_size` should not exceed it).
    """
    name = name or gan.name
    model_dir = os.path.join(base_dir, name)
    if os.path.isdir(model_dir):  # first: a version a killed overwrite moved aside counts again
        recover_interrupted_exports(model_dir)
    version = next_version(model_dir) if version is None else int(version)
    if version < 1:
        raise ValueError(f"Versions are positive integers; got {version}.")
    max_batch_size = MAX_BATCH_SIZE if max_batch_size is None else max_batch_size
    if not registry.is_positive_int(max_batch_size):
        raise ValueError(f"max_batch_size must be a positive integer; got {max_batch_size!r}.")
    final = os.path.join(model_dir, str(version))
    if os.path.exists(final) and not overwrite:
        raise FileExistsError(f"{final} exists; pass overwrite=True (--overwrite) or another version.")
    os.makedirs(model_dir, exist_ok=True)
    # Hidden and non-numeric: TF Serving ignores it until the rename. Host and pid tell a later
    # export whether the process that wrote it is gone.
    tag = f"{version}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temporary = os.path.join(model_dir, f"{PARTIAL}{tag}")
    try:
        translation = _is_translation(gan)  # CycleGAN: images in, images out
        (build_translation_archive if translation else build_archive)(gan, max_batch_size).write_out(
            temporary, verbose=False)
        extra = os.path.join(temporary, "assets.extra")
        os.makedirs(extra)
        with open(os.path.join(extra, METADATA_FILE), "w") as f:
            json.dump((translation_metadata if translation else metadata)(gan, name, training_config, max_batch_size),
                      f, indent=2)
        with tf.io.TFRecordWriter(os.path.join(extra, WARMUP_FILE)) as writer:
            for record in (translation_warmup_requests if translation else warmup_requests)(gan, name, max_batch_size):
                writer.write(record)
        write_point(temporary)
        if os.path.exists(final):  # overwrite: move the old version aside, then swap
            old = os.path.join(model_dir, f"{REPLACED}{tag}")
            os.rename(final, old)
            write_point()
            os.rename(temporary, final)
            write_point()
            shutil.rmtree(old)
        else:
            os.rename(temporary, final)
            write_point()
    finally:
        if os.path.exists(temporary):
            shutil.rmtree(temporary)
    return final


def recover_interrupted_exports(model_dir):
    """Cleans up after exports that were killed on this host: their partial folders are
    deleted, and a version moved aside by an overwrite that never put its successor in place
    comes back. Folders of exports still running, or from other hosts sharing the volume (whose
    processes this one cannot see), are left alone, as are names this module did not write."""
    for entry in sorted(os.listdir(model_dir)):
        match = LEFTOVER.match(entry)
        if not match:
            continue
        kind, version, host, pid = match.group("kind", "version", "host", "pid")
        if host != socket.gethostname() or _process_alive(int(pid)):
            continue
        path, final = os.path.join(model_dir, entry), os.path.join(model_dir, version)
        if kind == "replaced" and not os.path.exists(final):
            os.rename(path, final)
        else:
            shutil.rmtree(path)


def _process_alive(pid):
    if pid == os.getpid():
        return False  # this process is exporting now, so whatever it left earlier is done with
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_model_config(base_dir, base_path=None):
    """Writes `base_dir/models.config`, a TF Serving model config naming every exported model.

    `base_path` is where TF Serving will see base_dir (e.g. "/models" inside its container);
    default base_dir's absolute path. Returns the file's path.
    """
    base_path = base_path or os.path.abspath(base_dir)
    names = sorted(d for d in os.listdir(base_dir)
                   if os.path.isdir(os.path.join(base_dir, d)) and any(v.isdigit() for v in os.listdir(os.path.join(base_dir, d))))
    if not names:
        raise ValueError(f"No exported model (a folder with a numeric version) under {base_dir}.")
    entries = "".join(
        f'  config {{\n    name: "{n}"\n    base_path: "{base_path.rstrip("/")}/{n}"\n    model_platform: "tensorflow"\n  }}\n'
        for n in names)
    path = os.path.join(base_dir, "models.config")

    def write(temporary):
        with open(temporary, "w") as f:
            f.write("model_config_list {\n" + entries + "}\n")
    write_atomically(path, write)
    return path
