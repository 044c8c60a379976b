"""The linear baseline of notebook 07: TF-IDF word and word-pair features, one logistic
regression per label. Notebook 08 blends it with the pretrained encoder's heads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from helpers.data import LABELS, RELATED, RELATED_CLASSES

TFIDF_FEATURES = 100_000


@dataclass
class LinearBaseline:
    """A fitted TF-IDF vectorizer and one classifier per output (None: nothing to learn)."""

    tfidf: TfidfVectorizer
    classifiers: dict[str, LogisticRegression | None]


def fit_linear_baseline(
    cleaned_train_texts: list[str], train: pd.DataFrame, max_features: int = TFIDF_FEATURES
) -> LinearBaseline:
    """TF-IDF of 1-2-grams fitted on train, and a balanced logistic regression per label.

    ``class_weight="balanced"`` works here because each scikit-learn model has one output.
    A label without a positive in train gets None: there is nothing to learn.
    """
    tfidf = TfidfVectorizer(
        ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=max_features,
        dtype=np.float32,
    )  # fmt: skip
    features = tfidf.fit_transform(cleaned_train_texts)
    classifiers: dict[str, LogisticRegression | None] = {}
    for label in LABELS:
        y = train[label].to_numpy()
        fitted = len(np.unique(y)) > 1
        classifiers[label] = (
            LogisticRegression(class_weight="balanced", max_iter=2000).fit(features, y)
            if fitted
            else None
        )
    return LinearBaseline(tfidf, classifiers)


def predict_linear(baseline: LinearBaseline, cleaned_texts: list[str]) -> dict[str, Any]:
    """Probabilities keyed by label, shaped like a Keras model's: (n, 1) per binary label,
    (n, 3) for related; a label without a classifier gets probability 0."""
    features = baseline.tfidf.transform(cleaned_texts)
    n = features.shape[0]
    out: dict[str, Any] = {}
    for label, classifier in baseline.classifiers.items():
        if classifier is None:
            out[label] = np.zeros((n, 1), dtype="float32")
        elif label == RELATED:  # columns in class order 0, 1, 2, even if a class was unseen
            related = np.zeros((n, len(RELATED_CLASSES)), dtype="float32")
            related[:, classifier.classes_] = classifier.predict_proba(features)
            out[label] = related
        else:
            out[label] = classifier.predict_proba(features)[:, 1:].astype("float32")
    return out
