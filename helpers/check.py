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


def check(key: str, answer: Any, deliberately_wrong: bool = False) -> bool:
    """Grade one answer and print the verdict; None means "not answered yet". A solution that
    shows the checker refusing a wrong answer passes ``deliberately_wrong=True``."""
    if key not in EXERCISES:
        raise KeyError(f"no exercise {key!r}; known: {', '.join(sorted(EXERCISES))}")
    if answer is None:
        print(f"… {key}: not answered yet (replace None with your answer)")
        return False
    try:
        correct = bool(EXERCISES[key].grade(answer))
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        correct = False
    if deliberately_wrong:
        verdict = "ACCEPTED: the checker is broken" if correct else "refused, as it should be"
        print(f"· {key}: a deliberately wrong answer is {verdict} (hint: {EXERCISES[key].hint})")
    else:
        hint = f"not yet. Hint: {EXERCISES[key].hint}"
        print(f"✓ {key}: correct" if correct else f"✗ {key}: {hint}")
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
@exercise("01.1", "softmax divides each e^z by the sum of all e^z: what happens to a shared e^10?")
def _(answer):
    return str(answer).strip().lower() == "unchanged"


@exercise("01.2", "-mean(y * log(p) + (1 - y) * log(1 - p)) over the three labels, with np.log.")
def _(answer):
    y, p = np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.2, 0.6])
    return _close(answer, -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), 1e-4)


@exercise(
    "01.3", "among related == 1 messages, one answer is right only with 0 or 1 binary labels."
)
def _(answer):
    related = _train()[_train()["related"] == 1]
    share = (related[list(data.BINARY_LABELS)].sum(axis=1) <= 1).mean()
    return _close(answer, share, 0.005)


# --- 02 · exploring the dataset -------------------------------------------------------------
@exercise("02.1", "group the training messages by genre; share of related == 1 in each group.")
def _(answer):
    shares = _train().groupby("genre")["related"].apply(lambda s: (s == 1).mean())
    return answer == shares.idxmax()


@exercise("02.2", "P(water | aid_related) = messages with both / messages with aid_related.")
def _(answer):
    train = _train()
    return _close(answer, train.loc[train["aid_related"] == 1, "water"].mean(), 0.005)


@exercise("02.3", "'always no' is right on every validation message where the label is 0.")
def _(answer):
    return _close(answer, (_splits().validation["aid_related"] == 0).mean(), 0.002)


# --- 03 · text cleaning -----------------------------------------------------------------------
@exercise("03.1", "use the finished cleaner from helpers.text on exactly that string.")
def _(answer):
    return answer == text.clean_text("RT @UN: We CAN'T find #water!!! http://t.co/x 3,000 ppl")


NEGATIONS = ("DONT go", "don't go", "I cant go", "I WONT go", "Im not going", "nothing left")
ORGAN_WORDS = ("organ", "organs", "organic", "organism", "organisation", "organized")


@exercise("03.2", "run text.clean_text on each message and split it; look for the token 'not'.")
def _(answer):
    if isinstance(answer, str):
        return False
    expected = {m for m in NEGATIONS if "not" in text.clean_text(m).split()}
    return set(answer) == expected


@exercise("03.3", "compare SnowballStemmer('english').stem(word) with the stem of 'organization'.")
def _(answer):
    from nltk.stem import SnowballStemmer

    if isinstance(answer, str):
        return False
    stem = SnowballStemmer("english").stem
    return set(answer) == {w for w in ORGAN_WORDS if stem(w) == stem("organization")}


# --- 04 · tokenization and sequences ----------------------------------------------------------
@exercise("04.1", "distinct cleaned training words minus the vocabulary's word entries (not 0, 1).")
def _(answer):
    return int(answer) == len(_cleaned_train_tokens()) - (text.VOCAB_SIZE - 2)


@exercise("04.2", "sort the word counts, take the cumulative share; the first k reaching 0.9.")
def _(answer):
    counts = np.array(sorted(_cleaned_train_tokens().values(), reverse=True))
    coverage = counts.cumsum() / counts.sum()
    return int(answer) == int(np.argmax(coverage >= 0.9)) + 1


@cache
def _leaky_unknown_share() -> float:
    """[UNK] share of validation tokens for a vectorizer adapted on train + validation."""
    validation = text.clean_texts(_splits().validation["message"])
    vectorizer = text.build_vectorizer(text.clean_texts(_train()["message"]) + validation)
    ids = np.asarray(vectorizer(validation))
    return float((ids == 1).sum() / (ids > 0).sum())


@exercise("04.3", "adapt on cleaned train + validation; share of ids == 1 among validation ids > 0")
def _(answer):
    return _close(answer, _leaky_unknown_share(), 0.002)


# --- 05 · the multi-output LSTM ---------------------------------------------------------------
@exercise("05.1", "four named outputs (water, food, shelter, related), a loss for each, fit once.")
def _(answer):
    heads = {"water", "food", "shelter", "related"}
    losses = answer.loss if isinstance(answer.loss, dict) else {}
    shapes = {name: tuple(answer.get_layer(name).output.shape) for name in heads}
    return (
        set(answer.output_names) == heads
        and set(losses) == heads
        and shapes == {"water": (None, 1), "food": (None, 1), "shelter": (None, 1),
                       "related": (None, 3)}
        and int(answer.optimizer.iterations) > 0
    )  # fmt: skip


@exercise("05.2", "with weight 0, what gradient reaches the related head from the total loss?")
def _(answer):
    return str(answer).strip().lower() == "higher"


@exercise("05.3", "35 heads add their losses up: 35 x 0.1; related's term is weight x 0.6.")
def _(answer):
    return _close(answer, 35 * 0.1 / 0.6, 0.01)


# --- 06 · class imbalance ---------------------------------------------------------------------
@exercise("06.1", "n_negative / n_positive, then min(cap, ...); 1.0 when no label is positive.")
def _(answer):
    from helpers import weighting

    cases = [
        np.array([1, 0, 0, 0]),
        np.array([0, 0, 0]),
        np.array([1] + [0] * 99),
        _train()["tools"],
    ]
    return all(
        _close(answer(y, cap), weighting.positive_weight(y, cap), 1e-6)
        for y in cases
        for cap in (10.0, np.inf)
    )


@exercise("06.2", "class balancing multiplies a positive's loss by alpha: compare the two alphas.")
def _(answer):
    return _close(answer, 0.75 / 0.25, 0.01)


@exercise("06.3", "rates = frame[BINARY_LABELS].mean(); median over rates > 0; min(10, ...).")
def _(answer):
    from helpers import weighting

    mine, expected = answer(_train(), 0.5), weighting.rarity_loss_weights(_train(), power=0.5)
    return set(mine) == set(expected) and all(_close(mine[k], expected[k], 1e-6) for k in expected)


# --- 07 · evaluation and thresholds -----------------------------------------------------------
TOY_TRUE = np.array([0, 1, 1, 1])
TOY_PROBABILITIES = np.array([0.1, 0.4, 0.35, 0.8])


@exercise("07.1", "try each probability as the threshold: where does F1 reach its peak?")
def _(answer):
    from sklearn.metrics import f1_score

    probabilities = TOY_PROBABILITIES
    best = max(f1_score(TOY_TRUE, probabilities >= t) for t in probabilities)
    return 0 <= float(answer) <= 1 and f1_score(TOY_TRUE, probabilities >= float(answer)) == best


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


@exercise(
    "07.4", "micro F1 of (p >= t) for each t on THRESHOLD_GRID; return 35 copies of the best."
)
def _(answer):
    from helpers import evaluation

    rng = np.random.default_rng(7)
    y_true = (rng.random((300, 35)) < 0.2).astype(int)
    p = np.clip(0.35 * y_true + 0.8 * rng.random((300, 35)), 0, 1)
    scores = [evaluation.micro_f1(y_true, (p >= t).astype(int)) for t in evaluation.THRESHOLD_GRID]
    expected = np.full(35, evaluation.THRESHOLD_GRID[int(np.argmax(scores))])
    return np.allclose(np.asarray(answer(y_true, p), dtype=float), expected)


# --- 08 · transfer learning -------------------------------------------------------------------
@exercise("08.1", "mask[..., None] zeroes the padding; divide by the mask's sum, then by the norm.")
def _(answer):
    rng = np.random.default_rng(8)
    vectors = rng.normal(size=(3, 6, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1], [1, 0, 0, 0, 0, 0]])
    means = np.stack([v[m == 1].mean(axis=0) for v, m in zip(vectors, mask, strict=True)])
    pooled = means / np.linalg.norm(means, axis=1, keepdims=True)
    return np.allclose(np.asarray(answer(vectors, mask), dtype="float32"), pooled, atol=1e-5)


@cache
def _wordpiece_count(word: str) -> int:
    import keras_hub

    from helpers import encoders

    tokenizer = keras_hub.models.BertTokenizer.from_preset(
        str(encoders.fetch()), strip_accents=True
    )
    return len(np.asarray(tokenizer(word)))


@exercise("08.2", "tokenizer(word) gives the ids; tokenizer.id_to_token shows each piece.")
def _(answer):
    return int(answer) == _wordpiece_count("desalinization")


@exercise("08.3", "cosine(a, b) = a·b / (|a| |b|): what happens to it when a is scaled by 3?")
def _(answer):
    return str(answer).strip().lower() == "no"


# --- 09 · fine-tuning ----------------------------------------------------------------------
@exercise("09.1", "A: the kernel's shape, last axis replaced by the rank; B: rank × 32.")
def _(answer):
    return int(answer) == 384 * 12 * 4 + 4 * 32


@exercise("09.2", "count the batches of one pass (the last one partly filled), keep whole parts.")
def _(answer):
    batches = -(-len(data.load_splits()[0]) // 32)
    return int(answer) == batches // 4


@exercise("09.3", "look at how B is initialised, and at the assert of section 2.")
def _(answer):
    return str(answer).strip().lower() == "no"


# --- 10 · many devices and hosts ---------------------------------------------------------------
@exercise("10.1", "the global batch is cut into one equal slice per device.")
def _(answer):
    return int(answer) == 256 // 4


@exercise("10.2", "8 GPUs × 256 is a global batch 8 times larger; the rate scales with it.")
def _(answer):
    return _close(answer, 0.01 * 2048 / 256, 1e-9)


@exercise("10.3", "section 4: list_devices() returns the devices of every process of the job.")
def _(answer):
    return int(answer) == 2 * 2


# --- 11 · using the model ---------------------------------------------------------------------
@exercise("11.1", "for each row, the names at np.flatnonzero(row >= thresholds), in label order.")
def _(answer):
    rng = np.random.default_rng(9)
    probabilities, thresholds = rng.random((6, 35)), rng.choice([0.3, 0.5, 0.7], 35)
    names = list(data.BINARY_LABELS)
    expected = [[names[i] for i in np.flatnonzero(row >= thresholds)] for row in probabilities]
    return [list(labels) for labels in answer(probabilities, thresholds)] == expected


@exercise("11.2", "padding is masked: does a longer neighbour in the batch reach the message?")
def _(answer):
    return str(answer).strip().lower() == "no"


@exercise("11.3", "notebook 04: the vectorizer pads or cuts every message to one length.")
def _(answer):
    return int(answer) == text.SEQUENCE_LENGTH
