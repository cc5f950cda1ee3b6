"""Trains the Fashion-MNIST classifier ganzoo ships for the Fréchet classifier distance and mode counting, and records it.

    python tools/train_eval_classifier.py [--epochs 8]

Trains `ganzoo.features.build_fashion_mnist_classifier()` on the 60,000 training images,
measures its accuracy on the 10,000 test images, and writes into ganzoo/assets/:
fashion_mnist_classifier.weights.h5 and fashion_mnist_classifier.json (sha256 of the weights,
test accuracy, training settings). Fails if the test accuracy is under 90%.
"""

import json
import os
import sys

from absl import app, flags

flags.DEFINE_integer("epochs", 8, "Training epochs.")
flags.DEFINE_integer("batch_size", 128, "Minibatch size.")
flags.DEFINE_integer("seed", 0, "Random seed.")
FLAGS = flags.FLAGS
MINIMUM_ACCURACY = 0.90


def main(argv):
    del argv
    import keras

    from ganzoo import data, features
    from ganzoo.run_directory import write_json

    keras.utils.set_random_seed(FLAGS.seed)
    (train_images, train_labels), (test_images, test_labels) = (data.fashion_mnist_arrays(s) for s in ("train", "test"))
    scale = lambda images: (images[..., None].astype("float32") / 127.5 - 1.0)  # noqa: E731  same as data.load
    model = features.build_fashion_mnist_classifier()
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(scale(train_images), train_labels, batch_size=FLAGS.batch_size, epochs=FLAGS.epochs,
              validation_split=0.05, verbose=2)
    _, accuracy = model.evaluate(scale(test_images), test_labels, batch_size=512, verbose=0)
    print(f"test accuracy: {accuracy:.4f}")
    if accuracy < MINIMUM_ACCURACY:
        print(f"under the {MINIMUM_ACCURACY:.0%} the metrics need; nothing written", file=sys.stderr)
        raise SystemExit(1)

    os.makedirs(features.ASSETS, exist_ok=True)
    temporary = features.CLASSIFIER_WEIGHTS.replace(".weights.h5", ".partial.weights.h5")
    shipped = features.build_fashion_mnist_classifier()  # uncompiled: no optimiser state in the file
    shipped.set_weights(model.get_weights())
    shipped.save_weights(temporary)
    os.replace(temporary, features.CLASSIFIER_WEIGHTS)
    record = {
        "sha256": features.sha256_of(features.CLASSIFIER_WEIGHTS),
        "test_accuracy": round(float(accuracy), 4),
        "test_examples": int(len(test_labels)),
        "epochs": FLAGS.epochs, "batch_size": FLAGS.batch_size, "seed": FLAGS.seed,
        "parameters": int(model.count_params()),
        "command": "python tools/train_eval_classifier.py --epochs %d" % FLAGS.epochs,
        "keras": keras.__version__,
    }
    write_json(features.CLASSIFIER_RECORD, record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    app.run(main)
