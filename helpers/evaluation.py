"""The series' metrics (DESIGN.md) and threshold tuning, on arrays, built on scikit-learn.

Binary labels are (n, 35) arrays in ``data.BINARY_LABELS`` order; ``related`` is an (n,) array
of classes 0/1/2 (or an (n, 3) array of probabilities). Nothing here knows about Keras.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_recall_curve, precision_recall_fscore_support

from helpers.data import BINARY_LABELS, RELATED, RELATED_CLASSES

DEFAULT_THRESHOLD = 0.5


def binary_matrix(columns: Mapping[str, np.ndarray] | pd.DataFrame) -> np.ndarray:
    """Stack the 35 binary labels (true values or probabilities) into an (n, 35) array."""
    return np.column_stack([np.asarray(columns[label]).reshape(-1) for label in BINARY_LABELS])


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean positive-class F1 over the labels with at least one positive in ``y_true``."""
    present = np.asarray(y_true).sum(axis=0) > 0
    return float(f1_score(y_true[:, present], y_pred[:, present], average="macro", zero_division=0))


def micro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """F1 over all binary label decisions pooled."""
    return float(f1_score(y_true, y_pred, average="micro", zero_division=0))


def related_macro_f1(true_classes: np.ndarray, predicted_classes: np.ndarray) -> float:
    """Macro F1 over the three classes of the ``related`` head."""
    return float(
        f1_score(
            true_classes, predicted_classes, labels=list(RELATED_CLASSES), average="macro",
            zero_division=0,
        )
    )  # fmt: skip


def seed_total(
    y_true: np.ndarray, y_pred: np.ndarray, true_classes: np.ndarray, predicted_classes: np.ndarray
) -> float:
    """The blog post's score: sum over the 36 outputs of sklearn's ``f1_score(average="macro")``.

    Kept only for comparison (21.56): it averages in the easy "no" class, so predicting nothing
    scores about 17.7 on test.
    """
    binary = sum(
        f1_score(y_true[:, i], y_pred[:, i], average="macro", zero_division=0)
        for i in range(y_true.shape[1])
    )
    related = f1_score(true_classes, predicted_classes, average="macro", zero_division=0)
    return float(binary + related)


def as_classes(related: np.ndarray, class_weights: np.ndarray | None = None) -> np.ndarray:
    """Classes from ``related`` given as classes (n,) or probabilities (n, 3).

    With ``class_weights`` the decision is argmax(p * w): the softmax head's "thresholds".
    """
    related = np.asarray(related)
    if related.ndim == 1:
        return related.astype(int)
    weights = np.ones(related.shape[1]) if class_weights is None else np.asarray(class_weights)
    return (related * weights).argmax(axis=1)


RELATED_WEIGHT_GRID = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 8.0, 16.0, 32.0)


def tune_related_weights(true_classes: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Per-class weights for the related head that maximise its macro F1 (on validation only).

    Class 1 (the commonest) stays at 1; classes 0 and 2 are searched on a small grid.
    """
    best_score, best = -1.0, np.ones(len(RELATED_CLASSES))
    for w0 in RELATED_WEIGHT_GRID:
        for w2 in RELATED_WEIGHT_GRID:
            weights = np.array([w0, 1.0, w2])
            score = related_macro_f1(true_classes, as_classes(probabilities, weights))
            if score > best_score:
                best_score, best = score, weights
    return best


def apply_thresholds(probabilities: np.ndarray, thresholds: float | np.ndarray) -> np.ndarray:
    """0/1 decisions: probability >= threshold (one threshold, or one per label)."""
    return (np.asarray(probabilities) >= np.asarray(thresholds)).astype(int)


def evaluate(
    frame: pd.DataFrame,
    predictions: Mapping[str, np.ndarray],
    thresholds: float | np.ndarray = DEFAULT_THRESHOLD,
    related_weights: np.ndarray | None = None,
) -> dict[str, float]:
    """The four series metrics for one split.

    ``frame`` holds the true labels; ``predictions`` maps each of the 36 output names to
    probabilities (a Keras model's ``predict`` output, or any model's). ``thresholds`` and
    ``related_weights`` are the decision rules, tuned on validation or left at their defaults.
    """
    y_true = binary_matrix(frame)
    y_pred = apply_thresholds(binary_matrix(predictions), thresholds)
    true_related = frame[RELATED].to_numpy()
    predicted_related = as_classes(predictions[RELATED], related_weights)
    return {
        "macro_f1": round(macro_f1(y_true, y_pred), 4),
        "micro_f1": round(micro_f1(y_true, y_pred), 4),
        "related_macro_f1": round(related_macro_f1(true_related, predicted_related), 4),
        "seed_total": round(seed_total(y_true, y_pred, true_related, predicted_related), 2),
    }


def per_label_report(
    frame: pd.DataFrame,
    predictions: Mapping[str, np.ndarray],
    thresholds: float | np.ndarray = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Precision, recall, F1 and support (positives) of each binary label, one row per label."""
    y_true = binary_matrix(frame)
    y_pred = apply_thresholds(binary_matrix(predictions), thresholds)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, average=None, zero_division=0
    )
    return pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": y_true.sum(axis=0)},
        index=pd.Index(BINARY_LABELS, name="label"),
    )


def tune_thresholds(y_true: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Per-label thresholds that maximise each label's F1 (call it on validation, never test).

    A label without positives keeps the default 0.5: there is nothing to tune it on.
    """
    thresholds = np.full(y_true.shape[1], DEFAULT_THRESHOLD)
    for i in range(y_true.shape[1]):
        if y_true[:, i].sum() == 0:
            continue
        precision, recall, candidates = precision_recall_curve(y_true[:, i], probabilities[:, i])
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        thresholds[i] = candidates[int(np.argmax(f1[:-1]))]
    return thresholds
