"""helpers.linear: the baseline of notebook 07 on a tiny corpus."""

import numpy as np
import pandas as pd

from helpers import data, linear

TEXTS = ["need water now", "water please", "the road is blocked", "nice day", "need food"] * 6


def test_one_classifier_per_output_and_none_without_positives():
    frame = pd.DataFrame({label: 0 for label in data.LABELS}, index=range(len(TEXTS)))
    frame["water"] = [1, 1, 0, 0, 0] * 6
    frame["related"] = [1, 1, 1, 0, 1] * 6  # class 2 never seen
    baseline = linear.fit_linear_baseline(TEXTS, frame, max_features=50)
    assert baseline.classifiers["water"] is not None and baseline.classifiers["food"] is None
    predicted = linear.predict_linear(baseline, ["water water", "nice day"])
    assert set(predicted) == set(data.LABELS)
    assert (
        predicted["water"].shape == (2, 1) and predicted["water"][0, 0] > predicted["water"][1, 0]
    )
    assert predicted["related"].shape == (2, 3) and np.allclose(predicted["related"][:, 2], 0)
    assert np.allclose(predicted["related"].sum(axis=1), 1) and (predicted["food"] == 0).all()
