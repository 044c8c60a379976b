"""helpers.weighting: capped balanced weights, per-output sample weights, focal and loss weights."""

import keras
import numpy as np
import pandas as pd
import pytest

from helpers import data, weighting


def frame_with_rates(n: int = 100) -> pd.DataFrame:
    """Every binary label 10 % positive except: water 50 %, shops 1 %, offer never."""
    frame = pd.DataFrame(
        {label: (np.arange(n) % 10 == 0).astype(int) for label in data.BINARY_LABELS}
    )
    frame["water"] = np.arange(n) % 2
    frame["shops"] = (np.arange(n) == 0).astype(int)
    frame["offer"] = 0
    frame["related"] = np.where(np.arange(n) < 90, 1, np.where(np.arange(n) < 98, 0, 2))
    return frame


def test_positive_weight_is_the_balanced_ratio_capped():
    assert weighting.positive_weight(np.array([1, 0, 0, 0])) == pytest.approx(3.0)  # 3 neg : 1 pos
    assert weighting.positive_weight(np.array([1] + [0] * 99)) == weighting.DEFAULT_CAP  # 99 capped
    assert weighting.positive_weight(np.array([1] + [0] * 99), cap=200) == pytest.approx(99.0)
    assert weighting.positive_weight(np.zeros(10)) == 1.0  # no positives: nothing to weigh


def test_sample_weights_are_keyed_by_head_and_weigh_only_positives():
    frame = frame_with_rates()
    weights = weighting.sample_weights(frame)
    assert set(weights) == set(data.LABELS)
    assert all(w.shape == (100,) and w.dtype == np.float32 for w in weights.values())
    assert set(weights["water"]) == {1.0}  # 50/50: balanced already
    assert weights["request"][0] == pytest.approx(9.0) and weights["request"][1] == 1.0
    assert weights["shops"][0] == weighting.DEFAULT_CAP  # 99:1, capped
    assert set(weights["offer"]) == {1.0}


def test_related_weights_follow_class_frequency():
    frame = frame_with_rates()
    per_class = weighting.related_class_weights(frame["related"].to_numpy(), cap=100)
    assert per_class[1] == pytest.approx(1.0)  # the commonest class is the unit
    assert per_class[0] == pytest.approx(90 / 8) and per_class[2] == pytest.approx(90 / 2)
    unweighted = weighting.sample_weights(frame, weight_related=False)["related"]
    assert set(unweighted) == {1.0}


def test_a_sample_without_some_related_class_still_gets_weights():
    # 256 random messages may hold no related = 2 message: the absent class weighs 1
    assert weighting.related_class_weights(np.array([0, 1, 1, 1])).tolist() == [3.0, 1.0, 1.0]
    frame = frame_with_rates()
    weights = weighting.sample_weights(frame[frame["related"] != 2], cap=100)
    assert set(weights["related"]) == {np.float32(90 / 8), 1.0}


def test_focal_losses_balance_every_binary_head():
    losses = weighting.focal_losses(gamma=2.0)
    assert set(losses) == set(data.LABELS)
    assert isinstance(losses["related"], keras.losses.SparseCategoricalCrossentropy)
    focal = losses["water"]
    assert isinstance(focal, keras.losses.BinaryFocalCrossentropy)
    assert focal.get_config()["apply_class_balancing"] is True
    # an easy, confident correct example costs far less under focal loss than under plain BCE
    easy_true, easy_pred = np.array([[1.0]]), np.array([[0.95]])
    assert float(focal(easy_true, easy_pred)) < 0.01 * float(
        keras.losses.BinaryCrossentropy()(easy_true, easy_pred)
    )


def test_rarity_loss_weights_grow_for_rare_heads():
    weights = weighting.rarity_loss_weights(frame_with_rates())
    assert set(weights) == set(data.LABELS)
    assert weights["request"] == pytest.approx(1.0)  # at the median rate
    assert weights["water"] < 1.0 < weights["shops"] <= weighting.DEFAULT_CAP
    assert weights["offer"] == 1.0 and weights["related"] == 1.0
