"""helpers.evaluation against small cases computed by hand."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from helpers import data, evaluation

# Label A: true 1,0,1,0 / pred 1,0,0,0 -> P 1, R 1/2, F1 2/3
# Label B: true 0,1,0,0 / pred 0,1,1,0 -> P 1/2, R 1, F1 2/3
# Label C: no positive in truth (one false positive) -> left out of macro_f1
Y_TRUE = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]])
Y_PRED = np.array([[1, 0, 1], [0, 1, 0], [0, 1, 0], [0, 0, 0]])


def test_macro_f1_skips_labels_without_positives():
    assert evaluation.macro_f1(Y_TRUE, Y_PRED) == pytest.approx(2 / 3)


def test_micro_f1_pools_every_decision():
    # TP 2, FP 2 (B, C), FN 1 -> P 1/2, R 2/3 -> F1 4/7
    assert evaluation.micro_f1(Y_TRUE, Y_PRED) == pytest.approx(4 / 7)


def test_related_macro_f1_averages_three_classes():
    # class 0: F1 1; class 1: P 2/3, R 1 -> 0.8; class 2: never predicted -> 0
    assert evaluation.related_macro_f1(np.array([0, 1, 2, 1]), np.array([0, 1, 1, 1])) == (
        pytest.approx((1 + 0.8 + 0) / 3)
    )


def test_blog_total_averages_the_easy_negative_class_in():
    y_true, nothing = np.array([[1], [0], [0], [0]]), np.zeros((4, 1), dtype=int)
    # class 0: P 3/4, R 1 -> 6/7; class 1: 0 -> label score 3/7; related perfect -> 1
    total = evaluation.blog_total(y_true, nothing, np.array([0, 1, 1, 2]), np.array([0, 1, 1, 2]))
    assert total == pytest.approx(3 / 7 + 1)


def test_tune_thresholds_picks_the_best_grid_point_with_enough_positives():
    rng = np.random.default_rng(0)
    y = (rng.random((400, 2)) < 0.2).astype(int)
    p = np.where(y == 1, 0.3, 0.1) + rng.normal(0, 0.02, y.shape)  # positives sit near 0.3
    y[:, 1] = 0
    y[:3, 1] = 1  # 3 positives: too few to tune on
    thresholds = evaluation.tune_thresholds(y, p)
    assert 0.15 <= thresholds[0] <= 0.3 and thresholds[0] in evaluation.THRESHOLD_GRID
    assert thresholds[1] == evaluation.DEFAULT_THRESHOLD


def test_tuned_thresholds_never_leave_the_documented_range():
    y = np.zeros((200, 1), dtype=int)
    y[:40] = 1
    p = np.full((200, 1), 0.001)
    p[:40] = 0.002  # the positives are separable only far below 0.05
    (threshold,) = evaluation.tune_thresholds(y, p)
    assert min(evaluation.THRESHOLD_GRID) == 0.05 and threshold >= 0.05


def test_cross_fitted_metrics_judge_a_rule_on_messages_it_was_not_tuned_on():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({label: rng.random(300) < 0.1 for label in data.BINARY_LABELS}).astype(int)
    frame["related"] = rng.integers(0, 3, 300)
    noise = {label: rng.random((300, 1)) for label in data.BINARY_LABELS}  # no signal at all
    noise["related"] = rng.dirichlet(np.ones(3), 300)

    def memorise(y_true, p):  # the best threshold on the tuning rows, without guard rails
        return np.array([p[y_true[:, i] == 1, i].min() for i in range(y_true.shape[1])])

    y, probabilities = evaluation.binary_matrix(frame), evaluation.binary_matrix(noise)
    in_sample = evaluation.evaluate(frame, noise, memorise(y, probabilities))["macro_f1"]
    crossed = evaluation.cross_fitted_metrics(frame, noise, memorise, seed=0)["macro_f1"]
    assert crossed <= in_sample
    assert set(evaluation.cross_fitted_metrics(frame, noise)) == {
        "macro_f1", "micro_f1", "related_macro_f1", "blog_total",
    }  # fmt: skip
    each = [evaluation.cross_fitted_metrics(frame, noise, seed=s)["micro_f1"] for s in (5, 6, 7)]
    repeated = evaluation.cross_fitted_metrics(frame, noise, seed=5, repeats=3)["micro_f1"]
    assert repeated == pytest.approx(np.mean(each), abs=1e-4)


def test_evaluate_and_report_on_named_predictions():
    n = 4
    frame = pd.DataFrame({label: [1, 0, 1, 0] for label in data.BINARY_LABELS})
    frame["related"] = [1, 0, 1, 2]
    predictions = {label: np.array([[0.9], [0.2], [0.6], [0.1]]) for label in data.BINARY_LABELS}
    predictions["related"] = np.eye(3)[[1, 0, 1, 2]]
    metrics = evaluation.evaluate(frame, predictions)
    assert metrics == {
        "macro_f1": 1.0,
        "micro_f1": 1.0,
        "related_macro_f1": 1.0,
        "blog_total": 36.0,
    }
    stricter = evaluation.evaluate(frame, predictions, thresholds=0.7)  # the 0.6 turns into a miss
    assert stricter["macro_f1"] == pytest.approx(2 / 3, abs=1e-4)
    report = evaluation.per_label_report(frame, predictions)
    assert list(report.columns) == ["precision", "recall", "f1", "support"]
    assert len(report) == 35 and (report["support"] == 2).all() and n == len(frame)


def test_related_weights_tune_the_softmax_decision():
    # class 2 is always the runner-up: only up-weighting it lets the head predict it
    probabilities = np.array([[0.1, 0.6, 0.3], [0.1, 0.7, 0.2], [0.7, 0.2, 0.1], [0.2, 0.7, 0.1]])
    truth = np.array([2, 1, 0, 1])
    assert evaluation.related_macro_f1(truth, evaluation.as_classes(probabilities)) < 0.7
    weights = evaluation.tune_related_weights(truth, probabilities, min_examples=1)
    assert weights[1] == 1.0
    assert evaluation.as_classes(probabilities, weights).tolist() == [2, 1, 0, 1]


def test_related_classes_with_too_few_examples_keep_weight_one():
    probabilities = np.array([[0.1, 0.6, 0.3], [0.1, 0.7, 0.2], [0.7, 0.2, 0.1], [0.2, 0.7, 0.1]])
    truth = np.array([2, 1, 0, 1])
    assert evaluation.tune_related_weights(truth, probabilities).tolist() == [1.0, 1.0, 1.0]
    assert max(evaluation.RELATED_WEIGHT_GRID) <= 4


def test_tuned_thresholds_maximise_scikit_learns_f1_per_label():
    rng = np.random.default_rng(3)
    y = (rng.random((400, 6)) < 0.3).astype(int)
    p = np.clip(0.4 * y + rng.random((400, 6)) * 0.7, 0, 1)
    thresholds = evaluation.tune_thresholds(y, p, min_positives=1)
    for i, chosen in enumerate(thresholds):
        best = max(f1_score(y[:, i], p[:, i] >= t) for t in evaluation.THRESHOLD_GRID)
        assert f1_score(y[:, i], p[:, i] >= chosen) == pytest.approx(best)


def test_macro_pr_auc_averages_average_precision_over_labels_with_positives():
    # Label A ranks its two positives first (AP 1); label B's positive comes second (AP 1/2);
    # label C has no positive and is left out, as in macro_f1.
    y_true = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 0]])
    scores = np.array([[0.9, 0.8, 0.1], [0.8, 0.6, 0.2], [0.1, 0.5, 0.3], [0.2, 0.1, 0.4]])
    assert evaluation.macro_pr_auc(y_true, scores) == pytest.approx((1 + 0.5) / 2)


def _random_split(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({label: rng.random(n) < 0.15 for label in data.BINARY_LABELS}).astype(int)
    frame["related"] = rng.integers(0, 3, n)
    signal = {
        label: np.clip(0.3 * frame[[label]].to_numpy() + rng.random((n, 1)) * 0.7, 0, 1)
        for label in data.BINARY_LABELS
    }
    signal["related"] = rng.dirichlet(np.ones(3), n)
    noise = {label: rng.random((n, 1)) for label in data.BINARY_LABELS}
    noise["related"] = signal["related"]
    return frame, signal, noise


def test_cross_fitting_tunes_the_labels_the_deployed_rule_tunes():
    frame, signal, _ = _random_split(2)
    positives = evaluation.binary_matrix(frame).sum(axis=0)
    assert (positives >= evaluation.MIN_POSITIVES).all()  # each half holds fewer than that
    p = evaluation.binary_matrix(signal)
    y_pred, _ = evaluation.cross_fitted_decisions(frame, signal, seed=0)
    at_half = evaluation.apply_thresholds(p, 0.5)
    assert (y_pred != at_half).any(axis=0).all()  # every label was tuned in each half


def test_paired_bootstrap_matches_cross_fitting_and_brackets_a_real_difference():
    frame, signal, noise = _random_split(4)
    for metric in ("macro_f1", "micro_f1", "related_macro_f1"):
        result = evaluation.paired_bootstrap(frame, signal, noise, metric=metric, repeats=3, seed=9)
        a = evaluation.cross_fitted_metrics(frame, signal, seed=9, repeats=3)[metric]
        b = evaluation.cross_fitted_metrics(frame, noise, seed=9, repeats=3)[metric]
        assert result["difference"] == pytest.approx(a - b, abs=2e-4)
        assert result["low"] <= result["difference"] <= result["high"]
    assert evaluation.paired_bootstrap(frame, signal, noise, repeats=2)["low"] > 0  # real signal
    same = evaluation.paired_bootstrap(frame, signal, signal, repeats=2)
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0}
    assert "95 % interval" in evaluation.describe_difference(same)
    with pytest.raises(ValueError, match="pair them"):
        evaluation.paired_bootstrap(frame, [signal, signal], [noise])


def test_decision_rules_keep_the_default_unless_tuning_wins_beyond_the_noise():
    frame, signal, _ = _random_split(5)
    # every message at 0.6: 0.5 already says yes to all, no threshold can do better
    flat = {label: np.full((len(frame), 1), 0.6) for label in data.BINARY_LABELS}
    flat["related"] = signal["related"]
    thresholds, weights, gain = evaluation.choose_decision_rules(frame, flat, repeats=2)
    assert gain["low"] <= 0 and (thresholds == 0.5).all() and len(weights) == 3
    # a signal whose positives sit around 0.3-1.0: tuned thresholds below 0.5 win clearly
    thresholds, _, gain = evaluation.choose_decision_rules(frame, signal, repeats=2)
    assert gain["low"] > 0 and (thresholds != 0.5).any()
    assert (evaluation.default_thresholds(np.zeros((3, 35)), None) == 0.5).all()


def test_the_fast_related_score_used_in_tuning_is_related_macro_f1():
    rng = np.random.default_rng(11)
    for _ in range(20):
        truth, predicted = rng.integers(0, 3, 50), rng.choice(3, 50, p=[0.6, 0.4, 0.0])
        assert evaluation._class_macro_f1(truth, predicted) == pytest.approx(
            evaluation.related_macro_f1(truth, predicted)
        )
