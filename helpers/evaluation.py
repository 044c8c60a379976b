"""The series' metrics and its decision rules, on arrays, built on scikit-learn.

Binary labels are (n, 35) arrays in ``data.BINARY_LABELS`` order; ``related`` is an (n,) array
of classes 0/1/2 (or an (n, 3) array of probabilities). Nothing here knows about Keras.

The metrics (every notebook, the results record and the README use these names):

- ``macro_f1``: the mean, over the binary labels with at least one positive in the evaluated
  split, of the positive-class F1. Every label counts the same, so rare labels weigh in.
- ``micro_f1``: F1 over all binary yes/no decisions pooled; the frequent labels dominate it.
- ``related_macro_f1``: macro F1 over the three classes (0, 1, 2) of the ``related`` head.
- ``macro_pr_auc``: the mean, over the same labels as ``macro_f1``, of the area under the
  precision-recall curve (scikit-learn's average precision). It reads probabilities, not
  decisions, so no threshold is involved: notebook 05 stops training on it, because notebook 07
  replaces the 0.5 threshold that F1 depends on.
- ``blog_total``: only to compare with the blog post the series started from ("Text Classifier
  with Multiple Outputs and Multiple Losses in Keras", 2020): the sum over all 36 outputs of
  scikit-learn's ``f1_score(average="macro")``. Its LSTM scored 21.56 on the post's own random
  15 % split; predicting nothing scores about 17.7 on our test split, because the macro average
  includes the easy "no" class of every label.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import KFold

from helpers.data import BINARY_LABELS, RELATED, RELATED_CLASSES

DEFAULT_THRESHOLD = 0.5


def binary_matrix(columns: Mapping[str, np.ndarray] | pd.DataFrame) -> np.ndarray:
    """Stack the 35 binary labels (true values or probabilities) into an (n, 35) array."""
    return np.column_stack([np.asarray(columns[label]).reshape(-1) for label in BINARY_LABELS])


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean positive-class F1 over the labels with at least one positive in ``y_true``."""
    present = np.asarray(y_true).sum(axis=0) > 0
    return float(f1_score(y_true[:, present], y_pred[:, present], average="macro", zero_division=0))


def macro_pr_auc(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean area under the precision-recall curve (average precision) over the labels with at
    least one positive in ``y_true``: how well each head ranks its positives, at no threshold."""
    y_true, probabilities = np.asarray(y_true), np.asarray(probabilities)
    present = np.flatnonzero(y_true.sum(axis=0) > 0)
    return float(
        np.mean([average_precision_score(y_true[:, i], probabilities[:, i]) for i in present])
    )


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


def blog_total(
    y_true: np.ndarray, y_pred: np.ndarray, true_classes: np.ndarray, predicted_classes: np.ndarray
) -> float:
    """The blog post's score: the sum over the 36 outputs of ``f1_score(average="macro")``.

    Kept only to compare with the post's 21.56: predicting nothing scores about 17.7 on test.
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


# The decision rules are tuned on a small split (2,573 validation messages, a few dozen
# positives for most labels), so they get guard rails: a coarse grid inside a documented range,
# and the default kept where there are too few examples to estimate F1 (notebook 07 shows why).
THRESHOLD_GRID = tuple(np.round(np.arange(0.05, 0.951, 0.05), 2))  # never below 0.05
MIN_POSITIVES = 25  # fewer positives in the tuning split: keep DEFAULT_THRESHOLD
RELATED_WEIGHT_GRID = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)


def _class_macro_f1(true_classes: np.ndarray, predicted: np.ndarray) -> float:
    """``related_macro_f1`` from a confusion matrix: the same number, fast enough to call 49
    times per tuning (cross-fitting and the bootstrap tune thousands of times)."""
    n = len(RELATED_CLASSES)
    matrix = np.bincount(true_classes * n + predicted, minlength=n * n).reshape(n, n)
    hits = np.diag(matrix)
    denominator = matrix.sum(axis=0) + matrix.sum(axis=1)  # 2·TP + FP + FN per class
    return float(np.mean(np.where(denominator > 0, 2 * hits / np.maximum(denominator, 1), 0.0)))


def tune_related_weights(
    true_classes: np.ndarray, probabilities: np.ndarray, min_examples: int = MIN_POSITIVES
) -> np.ndarray:
    """Per-class weights for the related head that maximise its macro F1 on the tuning split.

    Class 1 (the commonest) stays at 1; classes 0 and 2 are searched on a small grid, and a
    class with fewer than ``min_examples`` examples keeps weight 1 (too few to tune on).
    """
    true_classes = np.asarray(true_classes)
    counts = np.bincount(true_classes, minlength=len(RELATED_CLASSES))
    grids = [RELATED_WEIGHT_GRID if counts[c] >= min_examples else (1.0,) for c in (0, 2)]
    best_score, best = -1.0, np.ones(len(RELATED_CLASSES))
    for w0 in grids[0]:
        for w2 in grids[1]:
            weights = np.array([w0, 1.0, w2])
            score = _class_macro_f1(true_classes, as_classes(probabilities, weights))
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
    return _metrics(y_true, y_pred, true_related, as_classes(predictions[RELATED], related_weights))


def _metrics(
    y_true: np.ndarray, y_pred: np.ndarray, true_related: np.ndarray, related_pred: np.ndarray
) -> dict[str, float]:
    return {
        "macro_f1": round(macro_f1(y_true, y_pred), 4),
        "micro_f1": round(micro_f1(y_true, y_pred), 4),
        "related_macro_f1": round(related_macro_f1(true_related, related_pred), 4),
        "blog_total": round(blog_total(y_true, y_pred, true_related, related_pred), 2),
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


def tune_thresholds(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    grid: tuple[float, ...] = THRESHOLD_GRID,
    min_positives: int = MIN_POSITIVES,
    tuned: np.ndarray | None = None,
) -> np.ndarray:
    """Per-label thresholds that maximise each label's F1 on the tuning split, with guard rails.

    Only thresholds on ``grid`` are tried, and a label with fewer than ``min_positives``
    positives keeps the default 0.5: a handful of examples cannot say where F1 peaks.
    ``tuned`` (35 booleans) names the labels to tune instead, as cross-fitting does.
    """
    y_true, probabilities = np.asarray(y_true) == 1, np.asarray(probabilities)
    positives = y_true.sum(axis=0)
    scores = []  # one row per threshold, one F1 per label: 2·TP / (2·TP + FP + FN)
    for t in grid:
        predicted = probabilities >= t
        true_positives = (predicted & y_true).sum(axis=0)
        scores.append(2 * true_positives / np.maximum(predicted.sum(axis=0) + positives, 1))
    best = np.asarray(grid)[np.argmax(scores, axis=0)]  # the first threshold at the peak
    if tuned is None:
        tuned = positives >= min_positives
    return np.where(tuned, best, DEFAULT_THRESHOLD)


Rule = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (y_true, probabilities) -> 35 thresholds


def cross_fitted_decisions(
    frame: pd.DataFrame,
    predictions: Mapping[str, np.ndarray],
    tune: Rule | None = None,
    folds: int = 2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Every message decided by rules tuned on the other folds: (n, 35) 0/1 and (n,) classes.

    ``tune`` is the threshold rule. By default it is the guarded rule, tuning exactly the labels
    with ``MIN_POSITIVES`` positives in the whole frame: the labels it tunes when deployed on it.
    """
    y_true, p = binary_matrix(frame), binary_matrix(predictions)
    if tune is None:
        tune = partial(tune_thresholds, tuned=y_true.sum(axis=0) >= MIN_POSITIVES)
    true_related = frame[RELATED].to_numpy()
    related = np.asarray(predictions[RELATED])
    y_pred = np.zeros_like(y_true)
    related_pred = np.zeros_like(true_related)
    for tune_rows, held_out in KFold(folds, shuffle=True, random_state=seed).split(y_true):
        thresholds = tune(y_true[tune_rows], p[tune_rows])
        weights = tune_related_weights(true_related[tune_rows], related[tune_rows])
        y_pred[held_out] = apply_thresholds(p[held_out], thresholds)
        related_pred[held_out] = as_classes(related[held_out], weights)
    return y_pred, related_pred


def cross_fitted_metrics(
    frame: pd.DataFrame,
    predictions: Mapping[str, np.ndarray],
    tune: Rule | None = None,
    folds: int = 2,
    seed: int = 0,
    repeats: int = 1,
) -> dict[str, float]:
    """What tuned decision rules score on messages they were not tuned on, within one split.

    The split is cut into ``folds`` parts; each part is decided with thresholds (``tune``) and
    related weights tuned on the other parts. No test data needed to judge a tuning rule.
    With ``repeats`` > 1 the metrics are averaged over that many random cuts (seeds ``seed``,
    ``seed + 1``, ...): steadier when comparing candidates that score close together.
    """
    y_true, true_related = binary_matrix(frame), frame[RELATED].to_numpy()
    scores = []
    for repeat in range(repeats):
        y_pred, related_pred = cross_fitted_decisions(
            frame, predictions, tune, folds, seed + repeat
        )
        scores.append(_metrics(y_true, y_pred, true_related, related_pred))
    return {name: round(float(np.mean([score[name] for score in scores])), 4) for name in scores[0]}


def _weighted_f1(weights: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, micro: bool):
    """F1 of 0/1 columns when message i counts weights[:, i] times: one score per weights row."""
    true_positives = weights @ (y_true * y_pred)
    errors = weights @ (y_true + y_pred - 2 * y_true * y_pred)  # false positives + negatives
    if micro:
        true_positives, errors = true_positives.sum(axis=1), errors.sum(axis=1)
    denominator = 2 * true_positives + errors
    f1 = np.divide(
        2 * true_positives, denominator, out=np.zeros(denominator.shape), where=denominator > 0
    )
    return f1 if micro else f1.mean(axis=1)


def _resampled_metric(
    metric: str, weights: np.ndarray, frame: pd.DataFrame, decisions
) -> np.ndarray:
    y_pred, related_pred = decisions
    if metric == "related_macro_f1":
        one_hot = np.eye(len(RELATED_CLASSES), dtype=int)
        return _weighted_f1(
            weights, one_hot[frame[RELATED].to_numpy()], one_hot[related_pred], False
        )
    y_true = binary_matrix(frame)
    if metric == "micro_f1":
        return _weighted_f1(weights, y_true, y_pred, micro=True)
    present = y_true.sum(axis=0) > 0  # the labels macro_f1 averages over
    return _weighted_f1(weights, y_true[:, present], y_pred[:, present], micro=False)


def paired_bootstrap(
    frame: pd.DataFrame,
    predictions_a: Mapping[str, np.ndarray] | list[Mapping[str, np.ndarray]],
    predictions_b: Mapping[str, np.ndarray] | list[Mapping[str, np.ndarray]],
    tune_a: Rule | None = None,
    tune_b: Rule | None = None,
    metric: str = "macro_f1",
    repeats: int = 5,
    seed: int = 0,
    resamples: int = 1000,
) -> dict[str, float]:
    """A minus B in cross-fitted ``metric`` on ``frame``, with a 95 % paired-bootstrap interval.

    Both are decided on the same ``repeats`` random halvings; then the messages are resampled
    with replacement ``resamples`` times, the same resample scoring A and B (paired), and the
    interval is the middle 95 % of the differences. Lists of predictions (one per training
    seed) are paired in order and their differences averaged.
    """
    runs_a = predictions_a if isinstance(predictions_a, list) else [predictions_a]
    runs_b = predictions_b if isinstance(predictions_b, list) else [predictions_b]
    if len(runs_a) != len(runs_b):
        raise ValueError(f"{len(runs_a)} runs of A but {len(runs_b)} of B: pair them one to one")
    rng = np.random.default_rng(seed)
    n = len(frame)
    weights = np.vstack([np.ones(n), rng.multinomial(n, np.full(n, 1 / n), size=resamples)])
    differences = np.zeros(len(weights))
    for a, b in zip(runs_a, runs_b, strict=True):
        for repeat in range(repeats):
            decided_a = cross_fitted_decisions(frame, a, tune_a, seed=seed + repeat)
            decided_b = cross_fitted_decisions(frame, b, tune_b, seed=seed + repeat)
            differences += _resampled_metric(metric, weights, frame, decided_a)
            differences -= _resampled_metric(metric, weights, frame, decided_b)
    differences /= len(runs_a) * repeats
    low, high = np.percentile(differences[1:], [2.5, 97.5])
    return {
        "difference": round(float(differences[0]), 4),
        "low": round(float(low), 4),
        "high": round(float(high), 4),
    }


def describe_difference(result: Mapping[str, float]) -> str:
    """'+0.0123 (95 % interval -0.0040 to +0.0290)': a paired_bootstrap result, readable."""
    return (
        f"{result['difference']:+.4f} (95 % interval {result['low']:+.4f} to {result['high']:+.4f})"
    )


def default_thresholds(y_true: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """The rule that tunes nothing: 0.5 for every label (a ``tune`` argument like the others)."""
    return np.full(np.asarray(y_true).shape[1], DEFAULT_THRESHOLD)


def choose_decision_rules(
    frame: pd.DataFrame, predictions: Mapping[str, np.ndarray], repeats: int = 5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """The rules a model deploys (notebook 07): guarded thresholds if they beat 0.5 everywhere
    on cross-fitted macro F1 with an interval above zero, else 0.5; related weights tuned.

    Returns the thresholds, the related weights and the paired_bootstrap result behind them.
    """
    gain = paired_bootstrap(
        frame, predictions, predictions, None, default_thresholds, repeats=repeats, seed=seed
    )
    tuned = tune_thresholds(binary_matrix(frame), binary_matrix(predictions))
    thresholds = tuned if gain["low"] > 0 else np.full(len(tuned), DEFAULT_THRESHOLD)
    weights = tune_related_weights(frame[RELATED].to_numpy(), np.asarray(predictions[RELATED]))
    return thresholds, weights, gain
