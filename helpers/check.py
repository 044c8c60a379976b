"""Self-checking exercises: ``check("02.1", answer)`` says right, or wrong with a hint.

Each grader recomputes the right answer from the data or the helpers when it is called, so no
answer is written down here, and the feedback never prints it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

import numpy as np

from helpers import data, text


class Exercise(NamedTuple):
    grade: Callable[[Any], bool]
    hint: str


EXERCISES: dict[str, Exercise] = {}


def exercise(key: str, hint: str) -> Callable[[Callable[[Any], bool]], Callable[[Any], bool]]:
    """Register a grader (answer -> bool) under an exercise key such as "02.1"."""

    def register(grade: Callable[[Any], bool]) -> Callable[[Any], bool]:
        EXERCISES[key] = Exercise(grade, hint)
        return grade

    return register


def check(key: str, answer: Any) -> bool:
    """Grade one answer and print the verdict; None means "not answered yet"."""
    if key not in EXERCISES:
        raise KeyError(f"no exercise {key!r}; known: {', '.join(sorted(EXERCISES))}")
    if answer is None:
        print(f"… {key}: not answered yet (replace None with your answer)")
        return False
    try:
        correct = bool(EXERCISES[key].grade(answer))
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        correct = False
    print(f"✓ {key}: correct" if correct else f"✗ {key}: not yet. Hint: {EXERCISES[key].hint}")
    return correct


def _close(answer: Any, expected: float, tolerance: float) -> bool:
    return abs(float(answer) - expected) <= tolerance


@cache
def _splits() -> data.Splits:
    return data.load_splits()


def _train():
    return _splits().train


@cache
def _cleaned_train_tokens() -> Counter:
    return Counter(token for m in text.clean_texts(_train()["message"]) for token in m.split())


# --- 01 · multi-label vs multiclass -------------------------------------------------------
@exercise("01.1", "softmax divides e^z by the sum of e^z over all classes; the logits are equal.")
def _(answer):
    return np.allclose(np.asarray(answer, dtype=float), [1 / 3] * 3, atol=1e-3)


@exercise("01.2", "sum the 35 binary label columns per training message; count rows summing to 0.")
def _(answer):
    share = (_train()[list(data.BINARY_LABELS)].sum(axis=1) == 0).mean()
    return _close(answer, share, 0.005)


@exercise("01.3", "one head per output (35 binary labels + related); only related is multiclass.")
def _(answer):
    return tuple(answer) == (len(data.LABELS), 1)


# --- 02 · exploring the dataset -------------------------------------------------------------
@exercise("02.1", "group the training messages by genre; share of related == 1 in each group.")
def _(answer):
    shares = _train().groupby("genre")["related"].apply(lambda s: (s == 1).mean())
    return answer == shares.idxmax()


@exercise("02.2", "P(other | search_and_rescue) = co-occurrence count / search_and_rescue count.")
def _(answer):
    matrix = _train()[list(data.BINARY_LABELS)]
    together = matrix[matrix["search_and_rescue"] == 1].sum().drop("search_and_rescue")
    return answer == together.idxmax()


@exercise("02.3", "'always no' is right on every validation message where the label is 0.")
def _(answer):
    return _close(answer, (_splits().validation["aid_related"] == 0).mean(), 0.002)


# --- 03 · text cleaning -----------------------------------------------------------------------
@exercise("03.1", "use the finished cleaner from helpers.text on exactly that string.")
def _(answer):
    return answer == text.clean_text("RT @UN: We CAN'T find #water!!! http://t.co/x 3,000 ppl")


@exercise("03.2", "clean every training message, split on spaces, count distinct tokens.")
def _(answer):
    return int(answer) == len(_cleaned_train_tokens())


@exercise("03.3", "NLTK's SnowballStemmer('english') needs no downloaded data.")
def _(answer):
    from nltk.stem import SnowballStemmer

    return answer == SnowballStemmer("english").stem("supplies")


# --- 04 · tokenization and sequences ----------------------------------------------------------
@exercise("04.1", "sort the cleaned train token counts, sum the top 5,000, divide by the total.")
def _(answer):
    counts = np.array(sorted(_cleaned_train_tokens().values(), reverse=True))
    return _close(answer, counts[:5_000].sum() / counts.sum(), 0.002)


@exercise("04.2", "an Embedding holds one vector of output_dim numbers per vocabulary entry.")
def _(answer):
    return int(answer) == text.VOCAB_SIZE * 64


@exercise("04.3", "cleaned validation tokens minus the set of cleaned training tokens.")
def _(answer):
    validation = text.clean_texts(_splits().validation["message"])
    unseen = {t for m in validation for t in m.split()} - set(_cleaned_train_tokens())
    return int(answer) == len(unseen)


# --- 05 · the multi-output LSTM ---------------------------------------------------------------
@exercise("05.1", "a Dense(1) head has one weight per input unit plus one bias.")
def _(answer):
    return int(answer) == 128 + 1


@exercise("05.2", "the related targets are integers 0/1/2 and the head is a 3-way softmax.")
def _(answer):
    import keras

    name = answer if isinstance(answer, str) else type(answer).__name__
    return name in {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"} or (
        isinstance(answer, keras.losses.SparseCategoricalCrossentropy)
    )


@exercise("05.3", "build it with helpers.modeling and call count_params().")
def _(answer):
    from helpers import modeling

    model = modeling.build_multi_output_model(
        1_000, 32, embedding_dim=16, rnn_units=8, dense_units=16
    )
    return int(answer) == model.count_params()


# --- 06 · class imbalance ---------------------------------------------------------------------
@exercise("06.1", "weighting.positive_weight with cap=float('inf'), on the full training split.")
def _(answer):
    from helpers import weighting

    return _close(answer, weighting.positive_weight(_train()["tools"], cap=np.inf), 0.05)


@exercise("06.2", "call keras.losses.BinaryFocalCrossentropy(...)(y_true, y_pred) as described.")
def _(answer):
    import keras

    focal = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0)
    return _close(answer, float(focal(np.array([[1.0]]), np.array([[0.9]]))), 1e-4)


@exercise("06.3", "weighting.rarity_loss_weights on the full training split; read 'water'.")
def _(answer):
    from helpers import weighting

    return _close(answer, weighting.rarity_loss_weights(_train())["water"], 0.01)


# --- 07 · evaluation and thresholds -----------------------------------------------------------
TOY_TRUE = np.array([0, 1, 1, 1])
TOY_PROBABILITIES = np.array([0.1, 0.4, 0.35, 0.8])


@exercise("07.1", "try each probability as the threshold; keep the one with the highest F1.")
def _(answer):
    from helpers import evaluation

    best = evaluation.tune_thresholds(TOY_TRUE[:, None], TOY_PROBABILITIES[:, None])[0]
    return _close(answer, best, 1e-6)


@exercise("07.2", "pool all decisions: count TP, FP and FN over both labels, then F1.")
def _(answer):
    from helpers import evaluation

    y_true, y_pred = np.array([[1, 0], [0, 1], [1, 0]]), np.array([[1, 1], [0, 1], [0, 0]])
    return _close(answer, evaluation.micro_f1(y_true, y_pred), 1e-3)


@exercise("07.3", "F1 per class (0, 1, 2), then their plain mean; a class never found scores 0.")
def _(answer):
    from helpers import evaluation

    expected = evaluation.related_macro_f1(np.array([0, 1, 2, 1]), np.array([0, 1, 1, 1]))
    return _close(answer, expected, 1e-3)


# --- 08 · using the model ---------------------------------------------------------------------
@exercise("08.1", "read the rules table for input with no words after cleaning.")
def _(answer):
    return int(answer) == 0


@exercise("08.2", "validate_messages checks every item's type before anything runs.")
def _(answer):
    name = answer if isinstance(answer, str) else getattr(answer, "__name__", "")
    return name == "TypeError"


@exercise("08.3", "a label is predicted when its probability is at least its own threshold.")
def _(answer):
    probabilities = {"water": 0.42, "food": 0.28, "shelter": 0.31}
    thresholds = {"water": 0.5, "food": 0.25, "shelter": 0.3}
    return set(answer) == {k for k, p in probabilities.items() if p >= thresholds[k]}
