"""Class imbalance with several outputs (notebook 06): per-output sample weights, focal losses,
per-head loss weights. Works on label arrays and DataFrames; nothing here builds a model.

Keras 3 refuses ``class_weight`` for multi-output models, but accepts ``sample_weight`` as a dict
keyed by head name, which expresses the same thing one head at a time.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
from sklearn.utils.class_weight import compute_class_weight

from helpers.data import BINARY_LABELS, RELATED, RELATED_CLASSES

DEFAULT_CAP = 10.0


def positive_weight(y: np.ndarray, cap: float = DEFAULT_CAP) -> float:
    """How much more a positive counts than a negative: sklearn's "balanced" ratio, capped.

    "balanced" gives n_neg / n_pos (300 for a label with 0.3 % positives): uncapped, a few
    examples would dominate the gradient and the head would say "yes" to everything.
    A label without positives gets 1.0: there is nothing to up-weight.
    """
    y = np.asarray(y).reshape(-1)
    if y.min() == y.max():
        return 1.0
    negative, positive = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    return float(min(cap, positive / negative))


def related_class_weights(classes: np.ndarray, cap: float = DEFAULT_CAP) -> np.ndarray:
    """Weights of related = 0/1/2 relative to the commonest class ("balanced"), capped.

    A class absent from ``classes`` (a small sample may hold no class-2 message) gets 1.0.
    """
    classes = np.asarray(classes).reshape(-1)
    present = np.unique(classes)
    balanced = compute_class_weight("balanced", classes=present, y=classes)
    weights = np.ones(len(RELATED_CLASSES))
    weights[present] = np.minimum(cap, balanced / balanced.min())
    return weights


def sample_weights(
    frame: pd.DataFrame, cap: float = DEFAULT_CAP, weight_related: bool = True
) -> dict[str, np.ndarray]:
    """Per-output sample weights for ``model.fit(sample_weight=...)``, keyed by head name.

    Each binary head weighs its positives by ``positive_weight`` and its negatives by 1; the
    related head weighs each class by ``related_class_weights`` (or 1 when not asked to).
    """
    weights = {}
    for label in BINARY_LABELS:
        y = frame[label].to_numpy()
        weights[label] = np.where(y == 1, positive_weight(y, cap), 1.0).astype("float32")
    classes = frame[RELATED].to_numpy()
    per_class = related_class_weights(classes, cap) if weight_related else np.ones(3)
    weights[RELATED] = per_class[classes].astype("float32")
    return weights


def focal_losses(gamma: float = 2.0, alpha: float = 0.25) -> dict[str, keras.losses.Loss]:
    """Binary focal cross-entropy with class balancing for every sigmoid head.

    Focal loss multiplies each example's loss by (1 - p_true) ** gamma, so the easy negatives
    that make up most of every label stop dominating; alpha balances positives against
    negatives. ``related`` keeps sparse categorical cross-entropy.
    """
    losses: dict[str, keras.losses.Loss] = {
        label: keras.losses.BinaryFocalCrossentropy(
            apply_class_balancing=True, alpha=alpha, gamma=gamma, name=f"{label}_focal"
        )
        for label in BINARY_LABELS
    }
    losses[RELATED] = keras.losses.SparseCategoricalCrossentropy(name="related_sce")
    return losses


def rarity_loss_weights(
    frame: pd.DataFrame, power: float = 0.5, cap: float = DEFAULT_CAP
) -> dict[str, float]:
    """Per-head ``loss_weights``: rarer labels weigh more, (median rate / rate) ** power, capped.

    Unlike sample weights this scales a whole head's loss, positives and negatives alike: it
    tells the shared trunk which heads matter, not which examples.
    """
    rates = frame[list(BINARY_LABELS)].mean()
    median = rates[rates > 0].median()
    weights = {
        label: float(min(cap, (median / rate) ** power)) if rate > 0 else 1.0
        for label, rate in rates.items()
    }
    weights[RELATED] = 1.0
    return weights
