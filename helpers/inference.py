"""Use the trained models: saved artefacts and classifying raw messages.

Two models are served: the BiLSTM of notebook 05 (decision rules from notebook 07) and the
series' final model, chosen on validation in notebooks 08 and 09 (a pretrained or fine-tuned
encoder, its heads and the linear baseline, blended). Artefacts
live in build/models/<mode>/ so a quick run never overwrites a full one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import joblib
import keras
import numpy as np
import pandas as pd

from helpers import encoders, linear, modeling, text
from helpers.data import BINARY_LABELS, LABELS, RELATED, RELATED_CLASSES
from helpers.evaluation import DEFAULT_THRESHOLD, apply_thresholds, as_classes, binary_matrix

# $SERIES_MODELS_DIR moves them (the test suite gives its JAX runs their own folder).
MODELS_DIR = Path(
    os.environ.get("SERIES_MODELS_DIR", Path(__file__).resolve().parent.parent / "build" / "models")
)
MODEL_FILE = "model.keras"
VECTORIZER_FILE = "vectorizer.json"
THRESHOLDS_FILE = "thresholds.json"
LINEAR_FILE = "linear.joblib"
ENCODER_FILE = "encoder.weights.h5"  # only when the served encoder was fine-tuned (notebook 09)
CANDIDATES_FILE = "candidates.joblib"  # notebook 08's models' predictions, for notebook 09
FINAL_DIR = "final"
PRODUCED_BY = {
    MODEL_FILE: "05",
    VECTORIZER_FILE: "05",
    THRESHOLDS_FILE: "07",
    LINEAR_FILE: "08",
    CANDIDATES_FILE: "08",
}
MAX_CHARACTERS = 10_000  # the BiLSTM reads 64 tokens, the encoder 128; longer input is cut first
BATCH_SIZE = 1024
BUCKETS = (16, 32, 48, 64, 1 << 30)  # sequence widths a batch is cut to (see probabilities)


class ArtifactError(RuntimeError):
    """Saved model files are missing or do not belong together; the message says which."""


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
    if sorted(rules.get("thresholds", {})) != sorted(BINARY_LABELS):
        raise ArtifactError(
            f"{path} does not hold one threshold per binary label; re-run notebook 07."
        )
    thresholds = np.array([rules["thresholds"][label] for label in BINARY_LABELS])
    return thresholds, np.array(rules["related_weights"])


def _require(directory: Path, name: str) -> Path:
    path = directory / name
    if not path.is_file():
        number = PRODUCED_BY[name]
        raise ArtifactError(
            f"{path} is missing. It is written by notebook {number}: run "
            f"notebooks/{number}_*.ipynb (or `make run`) first."
        )
    return path


def load_artifacts(directory: Path) -> tuple[keras.Model, object]:
    """The saved model and vectorizer from ``directory``, checked to belong together."""
    # compile=False: we only predict, and a model compiled on another backend loads quietly
    model = keras.models.load_model(_require(directory, MODEL_FILE), compile=False)
    vectorizer = load_vectorizer(_require(directory, VECTORIZER_FILE))
    if sorted(model.output_names) != sorted(LABELS):
        raise ArtifactError(
            f"{directory / MODEL_FILE} has outputs {sorted(model.output_names)[:4]}..., not the "
            "36 heads of the series; re-run notebook 05 to write a matching model."
        )
    expected = (len(vectorizer.get_vocabulary()), vectorizer.get_config()["output_sequence_length"])
    embedding = model.get_layer("embedding")
    found = (embedding.input_dim, model.input_shape[1])
    if found != expected:
        raise ArtifactError(
            f"{directory / VECTORIZER_FILE} (vocabulary, length) {expected} does not match "
            f"{directory / MODEL_FILE} {found}: they come from different runs; re-run notebook 05."
        )
    return model, vectorizer


def vectorize(vectorizer, messages) -> np.ndarray:
    """Clean raw messages and turn them into the model's integer input."""
    return np.asarray(vectorizer(text.clean_texts(messages)))


def load_or_train(mode: str, train, validation, epochs: int, batch_size: int = 128):
    """Notebook 05's model and vectorizer: loaded from build/models/<mode>, else trained now.

    Training here is the fallback for running a later notebook on its own; it prints why.
    """
    directory = artifact_dir(mode)
    if (directory / MODEL_FILE).is_file() and (directory / VECTORIZER_FILE).is_file():
        print(f"loaded notebook 05's {mode} model from {directory}")
        return load_artifacts(directory)
    print(f"no saved model in {directory} (notebook 05 writes it): training one, {epochs} epochs")
    vectorizer = text.build_vectorizer(text.clean_texts(train["message"]))
    model = modeling.compile_model(
        modeling.build_multi_output_model(len(vectorizer.get_vocabulary()), text.SEQUENCE_LENGTH)
    )
    modeling.fit_with_early_stopping(
        model,
        vectorize(vectorizer, train["message"]),
        modeling.targets(train),
        vectorize(vectorizer, validation["message"]),
        validation,
        epochs=epochs,
        batch_size=batch_size,
    )
    save_artifacts(model, vectorizer, directory)
    return model, vectorizer


@dataclass
class Classifier:
    """A loaded model with its vectorizer and decision rules: ``predict`` raw messages."""

    model: keras.Model
    vectorizer: object
    thresholds: np.ndarray
    related_weights: np.ndarray

    def predict(self, messages: str | Iterable[str], as_dicts: bool = False):
        """Classify one message or many: labels above their thresholds, and probabilities.

        Returns a DataFrame, one row per message: ``labels`` (list), ``related`` (0/1/2), and a
        probability column per binary label; or, with ``as_dicts``, a list of plain dicts.
        A message with no words after cleaning ("", "  ", "!!!") gets no labels, related 0 and
        NaN probabilities: there is nothing to classify. Only the first MAX_CHARACTERS
        characters of a message are read.
        """
        batch = validate_messages(messages)
        cleaned = [text.clean_text(message[:MAX_CHARACTERS]) for message in batch]
        binary, related = self.probabilities(cleaned)
        return decide(batch, cleaned, binary, related, self, as_dicts)

    def probabilities(self, cleaned: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(n, 35) binary and (n, 3) related probabilities for cleaned texts.

        Messages are sorted by length and each batch is cut to the shortest bucket that holds
        its longest message: the LSTM then skips most of the padding it would only mask
        (the results are identical; half the messages have at most ~21 tokens of 64).
        """
        ids = np.asarray(self.vectorizer(cleaned)) if cleaned else np.zeros((0, 1), "int64")
        lengths = (ids > 0).sum(axis=1)
        binary = np.empty((len(cleaned), len(BINARY_LABELS)))
        related = np.empty((len(cleaned), len(RELATED_CLASSES)))
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            width = min(ids.shape[1], next(b for b in BUCKETS if b >= lengths[rows].max()))
            outputs = self.model.predict_on_batch(ids[rows, :width])
            binary[rows] = binary_matrix(outputs)
            related[rows] = np.asarray(outputs[RELATED])
        return binary, related

    def warm_up(self) -> None:
        """Build the prediction graph for one message and for a full batch, before timing."""
        self.predict("warm up")
        self.predict(["warm up " * 40] * BATCH_SIZE)


def decide(
    batch: list[str],
    cleaned: list[str],
    binary: np.ndarray,
    related_probabilities: np.ndarray,
    rules: Classifier | FinalClassifier,
    as_dicts: bool = False,
):
    """Turn probabilities into each message's labels and related class with ``rules``'
    thresholds and related weights; messages with no words get no labels and NaN."""
    frame = pd.DataFrame(binary, columns=list(BINARY_LABELS))
    decisions = apply_thresholds(binary, rules.thresholds).astype(bool)
    related = as_classes(related_probabilities, rules.related_weights)
    empty = np.array([not words for words in cleaned], dtype=bool)
    frame.loc[empty, :] = np.nan
    related[empty] = 0
    decisions[empty] = False
    frame.insert(0, "message", batch)
    frame.insert(1, RELATED, related)
    names = list(BINARY_LABELS)  # plain str, so a list prints as ['water'], not np.str_
    frame.insert(2, "labels", [[names[i] for i in np.flatnonzero(row)] for row in decisions])
    if not as_dicts:
        return frame
    return [
        {
            "message": row["message"],
            "related": int(row[RELATED]),
            "labels": row["labels"],
            "probabilities": {label: float(row[label]) for label in BINARY_LABELS},
        }
        for _, row in frame.iterrows()
    ]


@dataclass
class FinalClassifier:
    """The series' final model (notebooks 08 and 09): encoder vectors and the linear baseline's
    probabilities in, blended heads out, with its decision rules; ``predict`` raw messages."""

    model: keras.Model
    baseline: linear.LinearBaseline
    encoder: encoders.Encoder
    thresholds: np.ndarray
    related_weights: np.ndarray

    def predict(self, messages: str | Iterable[str], as_dicts: bool = False):
        """Classify one message or many, with the same output and odd-input rules as
        ``Classifier.predict``. The encoder reads the message itself, the baseline its
        cleaned text."""
        batch = validate_messages(messages)
        cut = [message[:MAX_CHARACTERS] for message in batch]
        cleaned = text.clean_texts(cut)
        binary, related = self.probabilities(cut, cleaned)
        return decide(batch, cleaned, binary, related, self, as_dicts)

    def probabilities(
        self, messages: list[str], cleaned: list[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n, 35) binary and (n, 3) related probabilities of the blended model."""
        if not messages:
            return np.zeros((0, len(BINARY_LABELS))), np.zeros((0, len(RELATED_CLASSES)))
        outputs = self.model.predict_on_batch(self.inputs(messages, cleaned))
        return binary_matrix(outputs), np.asarray(outputs[RELATED])

    def inputs(self, messages: list[str], cleaned: list[str]) -> dict[str, np.ndarray]:
        """The blended model's inputs: sentence vectors and the baseline's probabilities."""
        vectors = encoders.encode(messages, self.encoder, progress=False)
        probabilities = linear.predict_linear(self.baseline, cleaned)
        return {"sentence_vector": vectors} | {f"linear_{k}": v for k, v in probabilities.items()}

    def warm_up(self) -> None:
        """Build the graphs for one message and for a batch, before timing."""
        self.predict("warm up")
        self.predict(["warm up " * 40] * 64)


def build_blend(heads: keras.Model, linear_weight: float) -> keras.Model:
    """One model: sentence vector + the baseline's probabilities in, 36 blended heads out,
    ``linear_weight × baseline + (1 − linear_weight) × heads`` (notebook 08 writes it out)."""
    vector = keras.Input((encoders.VECTOR_SIZE,), name="sentence_vector")
    deep = heads(vector)
    baseline_inputs = {
        label: keras.Input((deep[label].shape[-1],), name=f"linear_{label}") for label in LABELS
    }
    outputs = {
        label: linear_weight * baseline_inputs[label] + (1 - linear_weight) * deep[label]
        for label in LABELS
    }
    inputs = {"sentence_vector": vector} | {f"linear_{k}": v for k, v in baseline_inputs.items()}
    return keras.Model(inputs, outputs, name="blend")


def save_final(
    directory: Path,
    model: keras.Model,
    baseline: linear.LinearBaseline,
    thresholds: np.ndarray,
    related_weights: np.ndarray,
    encoder: keras.Model | None = None,
) -> Path:
    """Save the served model into ``directory/final``: the Keras blend, the linear baseline
    (joblib), the decision rules (JSON) and, when it was fine-tuned, the encoder's weights
    (without it, the pretrained encoder is read from its verified cache)."""
    final = directory / FINAL_DIR
    final.mkdir(parents=True, exist_ok=True)
    model.save(final / MODEL_FILE)
    joblib.dump(baseline, final / LINEAR_FILE)
    save_thresholds(final, thresholds, related_weights)
    if encoder is not None:
        encoder.save_weights(final / ENCODER_FILE)  # low-rank adapters merged into the weights
    else:
        (final / ENCODER_FILE).unlink(missing_ok=True)  # an earlier run's fine-tuned encoder
    return final


def load_final_classifier(directory: Path) -> FinalClassifier:
    """The served model from ``directory/final``, with its decision rules and its encoder."""
    final = directory / FINAL_DIR
    for name in (MODEL_FILE, LINEAR_FILE, THRESHOLDS_FILE):
        if not (final / name).is_file():
            raise ArtifactError(
                f"{final / name} is missing. It is written by notebook 08: run "
                "notebooks/08_*.ipynb (or `make run`) first."
            )
    model = keras.models.load_model(final / MODEL_FILE, compile=False)  # as in load_artifacts
    baseline = joblib.load(final / LINEAR_FILE)
    thresholds, related_weights = load_thresholds(final)
    encoder = encoders.load_sentence_encoder()
    if (final / ENCODER_FILE).is_file():
        encoder.model.load_weights(final / ENCODER_FILE)
    return FinalClassifier(model, baseline, encoder, thresholds, related_weights)


def save_candidates(
    directory: Path, candidates: dict, frames: dict[str, pd.DataFrame], chosen: str
) -> Path:
    """Save each candidate model's probabilities ({name: {split: heads}}), the name of the one
    chosen and the message ids of each split, for a later notebook to compare its own models
    with them on the same messages."""
    path = directory / CANDIDATES_FILE
    directory.mkdir(parents=True, exist_ok=True)
    ids = {split: frame["id"].to_numpy() for split, frame in frames.items()}
    joblib.dump({"candidates": candidates, "chosen": chosen, "ids": ids}, path)
    return path


def load_candidates(directory: Path, frames: dict[str, pd.DataFrame]) -> tuple[dict, str]:
    """The candidates and the chosen name ``save_candidates`` saved, checked to be about the
    messages of ``frames``."""
    saved = joblib.load(_require(directory, CANDIDATES_FILE))
    for split, frame in frames.items():
        if not np.array_equal(saved["ids"][split], frame["id"].to_numpy()):
            raise ArtifactError(
                f"{directory / CANDIDATES_FILE} holds predictions for other {split} messages "
                "(another mode or sample); re-run notebook 08 with this notebook's settings."
            )
    return saved["candidates"], saved["chosen"]


def load_baseline(directory: Path) -> linear.LinearBaseline:
    """The linear baseline saved with the served model in ``directory/final``."""
    return joblib.load(_require(directory / FINAL_DIR, LINEAR_FILE))


def validate_messages(messages: str | Iterable[str]) -> list[str]:
    """A list of strings, or a TypeError that names the first bad item's position."""
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, bytes | bytearray | Mapping) or not isinstance(messages, Iterable):
        hint = ""
        if isinstance(messages, bytes):
            hint = " (decode bytes first: data.decode('utf-8'))"
        elif isinstance(messages, Mapping):  # iterating a dict would classify its keys
            hint = " (pass the message itself, e.g. row['message'], or a list of them)"
        raise TypeError(
            f"predict expects a string or a list of strings, got {type(messages).__name__}{hint}"
        )
    batch = list(messages)
    for position, message in enumerate(batch):
        if not isinstance(message, str):
            raise TypeError(
                f"message at position {position} is {type(message).__name__} ({message!r:.40}), "
                "not a string; pass '' for an empty message"
            )
    return batch


def any_length(model: keras.Model) -> keras.Model:
    """The same network and weights, with its token input open to any sequence length.

    Training fixed the input at 64 tokens; the LSTM itself does not care, so this serving copy
    lets ``Classifier.probabilities`` cut padding off short batches.
    """
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = (None, None)
    serving = keras.Model.from_config(config)
    serving.set_weights(model.get_weights())
    return serving


def load_classifier(directory: Path) -> Classifier:
    """Load model, vectorizer and thresholds once (thresholds default to 0.5 before notebook 07)."""
    model, vectorizer = load_artifacts(directory)
    thresholds, related_weights = load_thresholds(directory)
    return Classifier(any_length(model), vectorizer, thresholds, related_weights)
