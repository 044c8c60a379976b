"""Saved artefacts: the trained model, its vectorizer and thresholds, written by notebook 05/07.

Artefacts live in build/models/<mode>/ so a quick run never overwrites a full one.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

from helpers import text
from helpers.data import BINARY_LABELS, RELATED_CLASSES
from helpers.evaluation import DEFAULT_THRESHOLD

MODELS_DIR = Path(__file__).resolve().parent.parent / "build" / "models"
MODEL_FILE = "model.keras"
VECTORIZER_FILE = "vectorizer.json"
THRESHOLDS_FILE = "thresholds.json"


def artifact_dir(mode: str, root: Path = MODELS_DIR) -> Path:
    """Where the artefacts of a quick or full run live."""
    return root / mode


def save_artifacts(model: keras.Model, vectorizer, directory: Path) -> None:
    """Save the model (.keras) and the vectorizer's vocabulary and settings (JSON)."""
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / MODEL_FILE)
    config = vectorizer.get_config()
    settings = {
        "vocabulary": [str(token) for token in vectorizer.get_vocabulary()],
        "sequence_length": config["output_sequence_length"],
    }
    (directory / VECTORIZER_FILE).write_text(json.dumps(settings), encoding="utf-8")


def load_vectorizer(path: Path):
    """Rebuild the TextVectorization layer from its saved vocabulary (no adapt needed)."""
    settings = json.loads(path.read_text(encoding="utf-8"))
    vocabulary = settings["vocabulary"]
    return keras.layers.TextVectorization(
        standardize=None,
        split="whitespace",
        output_mode="int",
        output_sequence_length=settings["sequence_length"],
        vocabulary=vocabulary[2:],  # "" (padding) and "[UNK]" are added back by the layer
        name="vectorizer",
    )


def save_thresholds(directory: Path, thresholds: np.ndarray, related_weights: np.ndarray) -> Path:
    """Save the decision rules tuned on validation (notebook 07) beside the model."""
    rules = {
        "thresholds": dict(zip(BINARY_LABELS, map(float, thresholds), strict=True)),
        "related_weights": [float(w) for w in related_weights],
    }
    path = directory / THRESHOLDS_FILE
    path.write_text(json.dumps(rules, indent=1), encoding="utf-8")
    return path


def load_thresholds(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    """Tuned thresholds and related weights; 0.5 and equal weights if notebook 07 has not run."""
    path = directory / THRESHOLDS_FILE
    if not path.is_file():
        return np.full(len(BINARY_LABELS), DEFAULT_THRESHOLD), np.ones(len(RELATED_CLASSES))
    rules = json.loads(path.read_text(encoding="utf-8"))
    thresholds = np.array([rules["thresholds"][label] for label in BINARY_LABELS])
    return thresholds, np.array(rules["related_weights"])


def load_artifacts(directory: Path) -> tuple[keras.Model, object]:
    """The saved model and vectorizer from ``directory``."""
    model = keras.models.load_model(directory / MODEL_FILE)
    return model, load_vectorizer(directory / VECTORIZER_FILE)


def vectorize(vectorizer, messages) -> np.ndarray:
    """Clean raw messages and turn them into the model's integer input."""
    return np.asarray(vectorizer(text.clean_texts(messages)))


def load_or_train(mode: str, train, validation, epochs: int, batch_size: int = 64):
    """Notebook 05's model and vectorizer: loaded from build/models/<mode>, else trained now.

    Training here is the fallback for running a later notebook on its own; it prints why.
    """
    from helpers import modeling

    directory = artifact_dir(mode)
    if (directory / MODEL_FILE).is_file() and (directory / VECTORIZER_FILE).is_file():
        print(f"loaded notebook 05's {mode} model from {directory}")
        return load_artifacts(directory)
    print(f"no saved model in {directory} (notebook 05 writes it): training one, {epochs} epochs")
    vectorizer = text.build_vectorizer(text.clean_texts(train["message"]))
    model = modeling.compile_model(
        modeling.build_multi_output_model(len(vectorizer.get_vocabulary()), text.SEQUENCE_LENGTH)
    )
    x_validation = vectorize(vectorizer, validation["message"])
    model.fit(
        vectorize(vectorizer, train["message"]),
        modeling.targets(train),
        validation_data=(x_validation, modeling.targets(validation)),
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        callbacks=[
            modeling.CompactProgress(x_validation, validation),
            keras.callbacks.EarlyStopping(
                monitor="val_macro_f1", mode="max", patience=3, restore_best_weights=True
            ),
        ],
    )
    save_artifacts(model, vectorizer, directory)
    return model, vectorizer
