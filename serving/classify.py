"""Classify messages with the exported model: TensorFlow only, no Keras code, no helpers.

    python serving/classify.py build/export "We need water and food in Leogane" "..."

`make run` writes build/export (notebook 11): a SavedModel whose `serve` endpoint takes raw
message strings and returns probabilities, and decision_rules.json beside it. This script
applies those rules and prints one JSON line per message. (The notebooks' classifier also
gives a message with no words, such as "!!!", no labels at all; this script does not.)
"""

import json
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf


def classify(folder: Path, messages: list[str]) -> list[dict]:
    """Labels and related class for each message, by the rules shipped with the model."""
    model = tf.saved_model.load(str(folder))
    rules = json.loads((folder / "decision_rules.json").read_text(encoding="utf-8"))
    outputs = model.serve(tf.constant(messages, dtype=tf.string))
    on = outputs["binary"].numpy() >= np.array(rules["thresholds"])
    related = (outputs["related"].numpy() * np.array(rules["related_weights"])).argmax(axis=1)
    return [
        {
            "message": message,
            "related": rules["related_classes"][related[row]],
            "labels": [
                label for label, yes in zip(rules["binary_labels"], on[row], strict=True) if yes
            ],
        }
        for row, message in enumerate(messages)
    ]


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: python serving/classify.py EXPORT_FOLDER MESSAGE [MESSAGE ...]")
    for result in classify(Path(sys.argv[1]), sys.argv[2:]):
        print(json.dumps(result))
