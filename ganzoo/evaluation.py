"""Evaluating a trained GAN: generated samples against real data, under the metrics' protocols.

    evaluate(gan, data={"name": "ring8"})                        -> mode coverage (2,500 samples)
    evaluate(gan, data={"name": "fashion_mnist"}, num_samples=10_000)
                                                                 -> frechet_classifier_distance,
                                                                    kid, classifier_score,
                                                                    precision, recall
    evaluate(samples_array, data=...)                            -> the same, for samples made
                                                                    elsewhere (another framework)

Generated images are drawn and turned into features batch by batch, so only features are
kept; real features come from the dataset's test split.

The Fréchet distance is named for its features, as TF-GAN names it: "fid" (Fréchet Inception
distance) on InceptionV3's pool features only; "frechet_classifier_distance" on ganzoo's
Fashion-MNIST classifier's. Results written before that split called both "fid";
`upgrade_result` renames them on reading.
"""

import numpy as np

from ganzoo import data as data_lib
from ganzoo import metrics

MIXTURE_METRICS = ("mode_coverage",)
IMAGE_METRICS = ("frechet_distance", "kid", "classifier_score", "precision_recall", "per_class")
METRIC_ALIASES = {"fid": "frechet_distance"}  # the name before Fréchet distances were named by features
# features -> the key of the Fréchet distance on them
FRECHET_KEYS = {"inception_v3_pool": "fid", "fashion_mnist_classifier": "frechet_classifier_distance"}
FLOOR_SUFFIX = "_real_train_vs_test"


def frechet_key(result):
    """The key of the Fréchet distance in an evaluation result, by its features."""
    return FRECHET_KEYS.get(result.get("features"), "fid")


def upgrade_result(result):
    """An evaluation result as this version names it: an old classifier-feature "fid" (and
    its floor) becomes "frechet_classifier_distance"; anything else is returned unchanged."""
    result = dict(result)
    key = frechet_key(result)
    if key != "fid":
        for suffix in ("", FLOOR_SUFFIX):
            if "fid" + suffix in result and key + suffix not in result:
                result[key + suffix] = result.pop("fid" + suffix)
    return result


def feature_extractor(name, data_shape, dataset=None):
    from ganzoo import features

    if name == "auto":  # 28x28x1 images, or Fashion-MNIST padded to 32 (the classifier reads the centre)
        name = "classifier" if tuple(data_shape) == (28, 28, 1) or dataset == "fashion_mnist" else "inception"
    if name == "classifier":
        return "fashion_mnist_classifier", features.FashionMNISTClassifier()
    if name == "inception":
        return "inception_v3_pool", features.InceptionFeatures()
    raise ValueError(f"Unknown features {name!r}; valid: auto, classifier, inception.")


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


def real_batches(data_config, num_samples, split="test", batch_size=500):
    """`num_samples` real images (no labels) of the run's dataset, in batches."""
    dataset = data_lib.load(**_dataset_arguments(data_config), batch_size=batch_size, split=split, shuffle=False)
    return dataset.unbatch().take(num_samples).batch(batch_size)


def evaluate(gan, data, metric_names=None, num_samples=None, features="auto", seed=0, use_ema=True):
    """Scores `gan` (a GAN, or an array of its samples in data space) against the dataset of
    config section `data`; returns a dict. A GAN that keeps an EMA generator is scored on it,
    unless `use_ema=False` (the raw generator)."""
    name = data["name"]
    if hasattr(gan, "translate"):  # a CycleGAN translates rather than samples
        return translation_scores(gan, data, num_samples)
    samples_given = isinstance(gan, np.ndarray)
    data_shape = gan.shape[1:] if samples_given else gan.data_shape
    metric_names = [METRIC_ALIASES.get(m, m) for m in metric_names] if metric_names else None
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

    metric_names = tuple(metric_names or IMAGE_METRICS)
    unknown = set(metric_names) - set(IMAGE_METRICS)
    if unknown:
        raise ValueError(f"Unknown metric(s) {sorted(unknown)}; valid: {', '.join(IMAGE_METRICS)}.")
    num_samples = num_samples or (len(gan) if samples_given else 10_000)
    feature_name, extractor = feature_extractor(features, data_shape, name)
    fake_features, fake_probabilities = [], []
    for batch in generated_batches(gan, num_samples, seed, use_ema=use_ema):
        fake_features.append(extractor.features(batch))
        if "classifier_score" in metric_names:
            fake_probabilities.append(extractor.probabilities(batch))
    fake = np.concatenate(fake_features)
    real = metrics.extract_features(extractor.features, real_batches(data, num_samples))
    result = {"protocol": f"{num_samples} generated vs {len(real)} real test images, {feature_name} features",
              "num_samples": num_samples, "scored": source, "features": feature_name}
    if "frechet_distance" in metric_names:
        key = frechet_key(result)
        result[key] = metrics.frechet_distance(real, fake)
        # The floor a perfect generator would reach: real training images against the test ones.
        train = metrics.extract_features(extractor.features, real_batches(data, num_samples, split="train"))
        result[key + FLOOR_SUFFIX] = metrics.frechet_distance(real, train)
    if "kid" in metric_names:
        result["kid"], result["kid_std"] = metrics.kernel_distance(real, fake)
    if "classifier_score" in metric_names:
        result["classifier_score"], result["classifier_score_std"] = metrics.classifier_score(
            np.concatenate(fake_probabilities))
    if "precision_recall" in metric_names:
        result.update(metrics.precision_recall(real, fake))
    if "per_class" in metric_names and feature_name == "fashion_mnist_classifier":
        result.update(per_class_scores(gan, data, num_samples, extractor, seed, use_ema))
    return result


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


def translation_scores(cyclegan, data, num_samples=None, batch_size=64):
    """A CycleGAN on the test images of its two domains (config section `data`: name
    "unpaired", domain_a, domain_b), both ways:
    - `cycle_error_a` / `_b`: mean |G_BA(G_AB(a)) - a| (and the other way), images in [-1, 1];
    - when the domains are Fashion-MNIST classes: `target_accuracy_a_to_b` / `_b_to_a`, the
      share of translated images the shipped classifier calls the target domain's class, and
      `frechet_classifier_distance_a_to_b` / `_b_to_a`, translated images against the real test
      images of the target domain (classifier features).
    `num_samples`: test images per domain (default all: Fashion-MNIST has 1,000 per class)."""
    from ganzoo import features, unpaired_data

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
    for source, target, direction, back in (("a", "b", "a_to_b", "b_to_a"), ("b", "a", "b_to_a", "a_to_b")):
        translated = cyclegan.translate(images[source], direction, batch_size)
        restored = cyclegan.translate(translated, back, batch_size)
        result[f"cycle_error_{source}"] = float(np.mean(np.abs(restored - images[source])))
        if classifier is not None:
            predicted = np.argmax(classifier.probabilities(translated), axis=1)
            result[f"target_accuracy_{direction}"] = float(np.mean(predicted == classes[target]))
            result[f"frechet_classifier_distance_{direction}"] = _class_distance(classifier, translated, images[target])
    return result


def format_table(result):
    """A two-column text table of the scalar results."""
    rows = [(k, f"{v:.4g}" if isinstance(v, float) else str(v)) for k, v in result.items()
            if isinstance(v, (int, float, str)) and k != "protocol"]
    width = max(len(k) for k, _ in rows)
    return "\n".join([result["protocol"]] + [f"  {k:<{width}}  {v}" for k, v in rows])
