"""Exported SavedModels, proven through TensorFlow's loaders in processes that import TensorFlow only."""

import json
import os
import subprocess
import textwrap

import keras
import numpy as np
import pytest

import ganzoo
from ganzoo import export as export_lib
from zoo_checks import IMAGE_CASES, STYLE_CASES, VECTOR_CASES, run_tensorflow_only, small_options

CONDITIONAL_CASES = [("conditional_dcgan", (28, 28, 1))]
CASES = VECTOR_CASES + IMAGE_CASES + CONDITIONAL_CASES + STYLE_CASES
LATENT_SEED = 0
SEEDS = [5, 0, 5, 123_456_789_012]  # one sample per seed; a repeated seed repeats its sample
# The extra input per row (rows 0 and 2 alike, so seed 5 repeats its sample): a conditional
# model's class, StyleGAN's truncation ψ; and StyleGAN's style mixing, per row.
LABELS = [2, 0, 2, 1]
PSIS = [0.7, 1.0, 0.7, 0.0]
MIX_SEEDS, CROSSOVERS = [9, 9, 9, 1], [0, 1, 2, 4]  # at 16x16, num_ws = 6
CLASS_NAMES = ["top", "trouser", "bag"]


def build(name, data_shape):
    """A small zoo model, trained one step so BatchNorm's moving statistics are not the initial ones."""
    rng = np.random.default_rng(0)
    if (name, data_shape) in CONDITIONAL_CASES:
        gan = ganzoo.get(name, data_shape=data_shape, num_classes=len(CLASS_NAMES), class_names=CLASS_NAMES, seed=2,
                         latent_dim=8, filters=4, ema_decay=0.5)
        labels = {"y": rng.integers(0, len(CLASS_NAMES), 8 * gan.d_steps)}
    elif (name, data_shape) in STYLE_CASES:
        gan, labels = ganzoo.get(name, data_shape=data_shape, seed=2, **small_options(name, data_shape)), {}
    else:
        gan, labels = ganzoo.get(name, data_shape=data_shape, seed=2, **small_options(name, data_shape)), {}
    gan.compile()
    gan.fit(rng.uniform(-1, 1, (8 * gan.d_steps, *data_shape)).astype("float32"), batch_size=8, verbose=0, **labels)
    return gan


def case_name(name, data_shape):
    return f"{name}_{'images' if len(data_shape) == 3 else 'points'}"


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Every zoo model exported, with what the in-process generator gives for the same inputs."""
    base = tmp_path_factory.mktemp("exports")
    expected = {}
    for name, data_shape in CASES:
        gan = build(name, data_shape)
        model = case_name(name, data_shape)
        path = gan.export(str(base), name=model)
        latent = np.random.default_rng(LATENT_SEED).normal(size=(len(SEEDS), gan.latent_dim)).astype("float32")
        to_output = (lambda x: np.clip((x + 1) / 2, 0, 1)) if len(data_shape) == 3 else (lambda x: x)
        conditional, style = gan.takes_labels, (name, data_shape) in STYLE_CASES
        expect = {"path": path, "latent": latent, "image": len(data_shape) == 3, "conditional": conditional,
                  "style": style, "extra": {"label": LABELS} if conditional else {"truncation_psi": PSIS} if style else {}}
        if style:  # row i truncated by PSIS[i]
            network = gan.sampling_generator
            psi = np.array(PSIS, "float32")[:, None, None]
            ws = network.w_avg.numpy() + psi * (np.asarray(network.map(latent)) - network.w_avg.numpy())
            expect["serving_default"] = to_output(np.asarray(network.synthesize(ws)))
            expect["sample"] = to_output(np.concatenate([gan.generate(1, seed=seed, truncation_psi=psi)
                                                         for seed, psi in zip(SEEDS, PSIS)]))
            expect["mix"] = to_output(np.stack([gan.style_mix([seed], [mix], crossover, truncation_psi=psi)[0, 0]
                                                for seed, mix, crossover, psi in zip(SEEDS, MIX_SEEDS, CROSSOVERS, PSIS)]))
        else:
            inputs = [latent, np.array(LABELS)] if conditional else latent
            expect["serving_default"] = to_output(np.asarray(gan.sampling_generator(inputs, training=False)))
            expect["sample"] = to_output(np.concatenate([gan.generate(1, seed=seed, labels=label if conditional else None)
                                                         for seed, label in zip(SEEDS, LABELS)]))
        if conditional:  # for the test that samples it in other classes
            expect["keras"] = str(base / f"{model}.keras")
            gan.save(expect["keras"])
        expected[model] = expect
    return base, expected


LOAD_EVERY_SIGNATURE = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    cases, seeds = json.loads(sys.argv[1]), np.array(json.loads(sys.argv[2]), np.int64)
    dtypes = {"label": np.int64, "truncation_psi": np.float32, "mix_seed": np.int64, "crossover": np.int64}
    as_numbers = lambda x: (np.stack([tf.io.decode_png(p).numpy() for p in x]).astype(np.float32)
                            if x.dtype == object else x)
    out = {}
    for model, case in cases.items():
        path, latent = case["path"], np.array(case["latent"], np.float32)
        # The model's extra input (a conditional model's label, StyleGAN's truncation_psi).
        extra = {k: np.array(v, dtypes[k]) for k, v in case["extra"].items()}
        feeds = {"serving_default": {"latent": latent, **extra}, "sample": {"seed": seeds, **extra},
                 "sample_png": {"seed": seeds, **extra},
                 "mix": {"seed": seeds, **{k: np.array(v, dtypes[k]) for k, v in case["mix"].items()}, **extra}}
        loaded = tf.saved_model.load(path)
        call = lambda name, feed: loaded.signatures[name](**{k: tf.constant(v) for k, v in feed.items()})
        result = {"signatures": sorted(loaded.signatures)}
        result["inputs"] = {name: np.array(sorted(f.structured_input_signature[1])) for name, f in loaded.signatures.items()}
        result["serving_default"] = call("serving_default", feeds["serving_default"])
        result["sample"], result["sample_again"] = call("sample", feeds["sample"]), call("sample", feeds["sample"])
        if "sample_png" in loaded.signatures:
            pngs = call("sample_png", feeds["sample_png"])["images_bytes"]
            result["png_decoded"] = np.stack([tf.io.decode_png(p).numpy() for p in pngs.numpy()])
        if "mix" in loaded.signatures:
            result["mix"] = call("mix", feeds["mix"])
        bad_feeds = [dict(feeds["serving_default"], latent=np.zeros((len(seeds), latent.shape[1] + 1), np.float32)),
                     dict(feeds["serving_default"], latent=latent.astype(np.float64))]
        if case["conditional"]:  # a class out of range either way, a label count unlike the rows'
            labels = extra["label"]
            bad_feeds += [dict(feeds["sample"], label=labels * 0 + case["num_classes"]),
                          dict(feeds["sample"], label=labels * 0 - 1), dict(feeds["sample"], label=labels[:1])]
        if "mix" in feeds and case["mix"]:  # a ψ count unlike the rows', a NaN ψ, a crossover past num_ws
            psi = extra["truncation_psi"]
            bad_feeds += [dict(feeds["sample"], truncation_psi=psi[:1]),
                          dict(feeds["sample"], truncation_psi=psi * np.nan),
                          dict(feeds["mix"], crossover=feeds["mix"]["crossover"] * 0 + 99)]
        refused = []
        for bad in bad_feeds:
            try:
                call("serving_default" if "latent" in bad else "mix" if "crossover" in bad else "sample", bad)
            except (TypeError, ValueError, tf.errors.InvalidArgumentError) as error:
                refused.append(str(error))
        result["refused"] = np.array(refused)

        # TF Serving's path: the TF1 session loader, feeding and fetching tensor names.
        records = list(tf.data.TFRecordDataset(path + "/assets.extra/tf_serving_warmup_requests").as_numpy_iterator())
        split = {}
        with tf.Graph().as_default(), tf.compat.v1.Session() as session:
            meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], path)
            for signature_name, signature in meta_graph.signature_def.items():
                if signature_name.startswith("__"):
                    continue
                outputs = {k: v.name for k, v in signature.outputs.items()}
                run = lambda feed: session.run(outputs, {signature.inputs[k].name: v for k, v in feed.items()})
                fetched = run(feeds[signature_name])
                result["session_" + signature_name] = fetched
                # What TF Serving's batching session needs: every input has a batch dimension,
                # and two requests run as one batch (rows concatenated) give each its own rows.
                result["batch_dimensions_" + signature_name] = [
                    len(v.tensor_shape.dim) >= 1 and v.tensor_shape.dim[0].size == -1 for v in signature.inputs.values()]
                head = run({k: v[:1] for k, v in feeds[signature_name].items()})
                tail = run({k: v[1:] for k, v in feeds[signature_name].items()})
                split[signature_name] = [(np.concatenate([head[k], tail[k]]), fetched[k]) for k in outputs]

            # Every warmup record parses as a PredictionLog and runs against its signature.
            ran = []
            for record in records:
                log = prediction_log_pb2.PredictionLog.FromString(record)
                request = log.predict_log.request
                signature = meta_graph.signature_def[request.model_spec.signature_name]
                assert request.model_spec.name == model, request.model_spec.name
                feed = {signature.inputs[k].name: tf.make_ndarray(v) for k, v in request.inputs.items()}
                outputs = session.run([v.name for v in signature.outputs.values()], feed)
                ran.append([request.model_spec.signature_name, int(len(outputs[0]))])
            result["warmup"] = ran
        for signature_name, pairs in split.items():  # largest difference per output (PNGs: in pixel levels)
            result["split_" + signature_name] = [float(np.abs(as_numbers(a) - as_numbers(b)).max()) for a, b in pairs]
        out[model] = result

    flat = {}
    for model, result in out.items():
        for key, value in result.items():
            if isinstance(value, dict):
                for output, tensor in value.items():
                    flat[f"{model}/{key}/{output}"] = np.asarray(tensor)
            else:
                flat[f"{model}/{key}"] = np.asarray(value, dtype=object if key == "warmup" else None)
    np.savez(sys.argv[3], **flat)
""")


@pytest.fixture(scope="module")
def loaded_results(exports, tmp_path_factory):
    pytest.importorskip("tensorflow_serving.apis.prediction_log_pb2",
                        reason="pip install --no-deps tensorflow-serving-api (README's test line)")
    _, expected = exports
    cases = {m: {"path": e["path"], "latent": e["latent"].tolist(), "conditional": e["conditional"],
                 "num_classes": len(CLASS_NAMES), "extra": e["extra"],
                 "mix": {"mix_seed": MIX_SEEDS, "crossover": CROSSOVERS} if e["style"] else {}}
             for m, e in expected.items()}
    results_file = str(tmp_path_factory.mktemp("results") / "results.npz")
    run_tensorflow_only(LOAD_EVERY_SIGNATURE, json.dumps(cases), json.dumps(SEEDS), results_file)
    return dict(np.load(results_file, allow_pickle=True))


@pytest.mark.parametrize("name,data_shape", CASES)
def test_every_signature_runs_in_tensorflow_alone(name, data_shape, exports, loaded_results):
    model = case_name(name, data_shape)
    expect = exports[1][model]
    r = lambda key: loaded_results[f"{model}/{key}"]  # noqa: E731
    output = "images" if expect["image"] else "samples"
    signatures = ["sample", "serving_default"] + (["sample_png"] if expect["image"] else []) + (
        ["mix"] if expect["style"] else [])
    assert sorted(r("signatures")) == sorted(signatures)
    extra = list(expect["extra"])  # label, truncation_psi or nothing
    assert list(r("inputs/serving_default")) == sorted(["latent"] + extra)
    assert list(r("inputs/sample")) == sorted(["seed"] + extra)
    # Same outputs as the in-process generator (inference mode), for the same latent / seed.
    np.testing.assert_allclose(r(f"serving_default/{output}"), expect["serving_default"], atol=1e-5)
    np.testing.assert_allclose(r(f"sample/{output}"), expect["sample"], atol=1e-5)
    np.testing.assert_array_equal(r(f"sample/{output}"), r(f"sample_again/{output}"))
    assert r("sample/latent").shape == (len(SEEDS), expect["latent"].shape[1])
    np.testing.assert_array_equal(r(f"sample/{output}")[0], r(f"sample/{output}")[2])  # seed 5 (same extra) twice
    if expect["style"]:  # style mixing, row by row as StyleGAN.style_mix
        assert list(r("inputs/mix")) == ["crossover", "mix_seed", "seed", "truncation_psi"]
        np.testing.assert_allclose(r("mix/images"), expect["mix"], atol=1e-5)
    if expect["image"]:
        assert r(f"serving_default/{output}").min() >= 0 and r(f"serving_default/{output}").max() <= 1
        np.testing.assert_allclose(r("png_decoded") / 255.0, r("sample/images"), atol=1 / 255 + 1e-6)
    # Refused: a latent of the wrong width and of the wrong dtype; a conditional model's labels
    # out of range either way, and a label count unlike the rows'; StyleGAN's ψ count unlike the
    # rows', a NaN ψ and a crossover past num_ws.
    refused = list(r("refused"))
    assert len(refused) == (5 if expect["conditional"] or expect["style"] else 2)
    if expect["conditional"]:
        assert "labels are class indices < num_classes = 3" in refused[2]
        assert "labels are class indices >= 0" in refused[3] and "one label per row" in refused[4]
    if expect["style"]:
        assert "one truncation_psi per row" in refused[2] and "truncation_psi must be finite" in refused[3]
        assert "crossover is a layer index <= num_ws = 6" in refused[4]
    # The TF1 session loader (TF Serving's) ran every signature, with the same results.
    np.testing.assert_allclose(r(f"session_serving_default/{output}"), expect["serving_default"], atol=1e-5)
    np.testing.assert_allclose(r(f"session_sample/{output}"), expect["sample"], atol=1e-5)
    if expect["image"]:
        assert r("session_sample_png/images_bytes").shape == (len(SEEDS),)
    for signature in signatures:  # batchable, as TF Serving's request batching needs
        assert all(r(f"batch_dimensions_{signature}"))
        assert max(r(f"split_{signature}")) <= (1.0 if signature == "sample_png" else 1e-5)
    ran = {tuple(x) for x in r("warmup")}
    assert {s for s, _ in ran} == set(signatures)


def test_a_conditional_models_classes_and_metadata(exports):
    """Each row is generated for its own label: the same seed gives a different sample in each
    class; the metadata names the classes the label indexes."""
    expect = exports[1]["conditional_dcgan_images"]
    # Rows 0 and 2 are seed 5 in class 2; the exported `sample` matched generate(1, labels, seed)
    # row by row (above), and seed 5 in another class is another image.
    gan = keras.models.load_model(expect["keras"])
    assert not np.allclose(gan.generate(1, seed=5, labels=2), gan.generate(1, seed=5, labels=0))
    with open(os.path.join(expect["path"], "assets.extra", export_lib.METADATA_FILE)) as f:
        metadata = json.load(f)
    assert metadata["num_classes"] == 3 and metadata["class_names"] == CLASS_NAMES
    assert metadata["class"] == "ConditionalGAN" and metadata["generator_weights"] == "exponential moving average"


@pytest.mark.parametrize("name,data_shape", [("wgan_gp", (2,)), ("dcgan", (28, 28, 1))])
def test_saved_model_cli_shows_and_runs(name, data_shape, exports, tmp_path):
    expect = exports[1][case_name(name, data_shape)]
    shown = subprocess.run(["saved_model_cli", "show", "--all", "--dir", expect["path"]],
                           capture_output=True, text=True, timeout=300).stdout
    output = "images" if expect["image"] else "samples"
    for text in ("signature_def['serving_default']", "signature_def['sample']", "inputs['latent']",
                 f"outputs['{output}']", "inputs['seed']", "outputs['latent']"):
        assert text in shown
    assert ("signature_def['sample_png']" in shown) == expect["image"]
    np.save(tmp_path / "latent.npy", expect["latent"])
    ran = subprocess.run(["saved_model_cli", "run", "--dir", expect["path"], "--tag_set", "serve",
                          "--signature_def", "serving_default", "--inputs", f"latent={tmp_path / 'latent.npy'}"],
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert f"Result for output key {output}" in ran.stdout


def test_metadata_and_model_config(exports):
    base, expected = exports
    with open(os.path.join(expected["dcgan_images"]["path"], "assets.extra", export_lib.METADATA_FILE)) as f:
        metadata = json.load(f)
    assert metadata["model"] == "dcgan_images" and metadata["latent_dim"] == 8
    assert metadata["output_shape"] == [28, 28, 1] and metadata["value_range"] == [0.0, 1.0]
    assert set(metadata["versions"]) == {"ganzoo", "tensorflow", "keras"} and metadata["generator_parameters"] > 0
    assert metadata["max_batch_size"] == export_lib.MAX_BATCH_SIZE
    config = open(export_lib.write_model_config(str(base), "/models")).read()
    assert config.count("config {") == len(CASES)
    assert 'name: "dcgan_images"\n    base_path: "/models/dcgan_images"\n    model_platform: "tensorflow"' in config


def test_versions_are_numbered_and_never_silently_overwritten(tmp_path):
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), **small_options("vanilla_gan", (2,)))
    assert gan.export(str(tmp_path)).endswith(os.path.join("vanilla_gan", "1"))
    assert gan.export(str(tmp_path)).endswith(os.path.join("vanilla_gan", "2"))
    with pytest.raises(FileExistsError, match="overwrite"):
        gan.export(str(tmp_path), version=1)
    gan.export(str(tmp_path), version=1, overwrite=True)
    assert sorted(os.listdir(tmp_path / "vanilla_gan")) == ["1", "2"]


def test_a_failed_export_leaves_no_version_folder(tmp_path, monkeypatch):
    gan = ganzoo.get("vanilla_gan", data_shape=(2,), **small_options("vanilla_gan", (2,)))

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_lib, "warmup_requests", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        gan.export(str(tmp_path))
    assert os.listdir(tmp_path / "vanilla_gan") == []


def test_cli_export_of_a_run_directory(tmp_path):
    from ganzoo import cli

    gan = ganzoo.get("vanilla_gan", data_shape=(2,), **small_options("vanilla_gan", (2,)))
    gan.compile()
    run = tmp_path / "runs" / "vanilla_gan_ring8"
    run.mkdir(parents=True)
    gan.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps({"model": {"name": "vanilla_gan"}}))
    assert cli.main(["export", str(run), "--out", str(tmp_path / "exports")]) == 0
    version = tmp_path / "exports" / "vanilla_gan_ring8" / "1"
    metadata = json.loads((version / "assets.extra" / export_lib.METADATA_FILE).read_text())
    assert metadata["training_config"] == {"model": {"name": "vanilla_gan"}}
    assert (tmp_path / "exports" / "models.config").exists()
    assert cli.main(["export", str(run), "--out", str(tmp_path / "exports"), "--version", "1"]) == 2
