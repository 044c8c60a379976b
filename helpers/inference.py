"""Saved artefacts: the trained model, its vectorizer and thresholds, written by notebook 05/07.

Artefacts live in build/models/<mode>/ so a quick run never overwrites a full one.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

from helpers import text

MODELS_DIR = Path(__file__).resolve().parent.parent / "build" / "models"
MODEL_FILE = "model.keras"
VECTORIZER_FILE = "vectorizer.json"


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


def load_artifacts(directory: Path) -> tuple[keras.Model, object]:
    """The saved model and vectorizer from ``directory``."""
    model = keras.models.load_model(directory / MODEL_FILE)
    return model, load_vectorizer(directory / VECTORIZER_FILE)


def vectorize(vectorizer, messages) -> np.ndarray:
    """Clean raw messages and turn them into the model's integer input."""
    return np.asarray(vectorizer(text.clean_texts(messages)))
