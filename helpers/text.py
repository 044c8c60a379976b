"""Text cleaning (taught in notebook 03) and the vectorizer (taught in notebook 04).

Placeholders follow fastai's convention of an ``xx`` prefix, so they cannot collide with a real
word after cleaning (the messages do contain the word "number").
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable

URL_TOKEN, USER_TOKEN, NUMBER_TOKEN = "xxurl", "xxuser", "xxnum"

# Each rule: (pattern, replacement). Order matters: see clean_text.
APOSTROPHES = (re.compile(r"[\u2019\u2018\u02bc`´]"), "'")
URLS = (
    re.compile(
        r"\b(?:https?://|www\.)\S+|\bhttps?\s+[\w-]+(?:\.[\w-]+)+(?:\s*/?\s*\w*\d\w*)?|\bbit\.ly\s*/?\s*\w*",
        re.I,
    ),
    f" {URL_TOKEN} ",
)  # the later alternatives catch links that lost their "://" ("http bit.ly 6cCG7r")
MENTIONS = (re.compile(r"(?<!\w)@\w+"), f" {USER_TOKEN} ")
HASHTAGS = (re.compile(r"(?<!\w)#(\w+)"), r"\1")
CONTRACTIONS = (
    (re.compile(r"\bwon't\b", re.I), "will not"),
    (re.compile(r"\bcan'?t\b", re.I), "can not"),
    (re.compile(r"n't\b", re.I), " not"),
    (re.compile(r"\b(do|does|did|is|are|was|were|has|have|had|could|would|should)nt\b", re.I),
     r"\1 not"),
    (re.compile(r"'re\b", re.I), " are"),
    (re.compile(r"'m\b", re.I), " am"),
    (re.compile(r"'ll\b", re.I), " will"),
    (re.compile(r"'ve\b", re.I), " have"),
    (re.compile(r"'d\b", re.I), " would"),
    (re.compile(r"'s\b", re.I), ""),
)  # fmt: skip
GLUED_DIGITS = (re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])"), " ")  # lillavois47
NUMBERS = (re.compile(r"(?<![^\W_])\d[\d.,:/-]*(?![^\W_])"), f" {NUMBER_TOKEN} ")  # _ separates
PUNCTUATION = (re.compile(r"[\W_]+"), " ")
REPEATS = (re.compile(r"(\w)\1{2,}"), r"\1\1")
# clean_text's order: unescape HTML, BEFORE_CASEFOLD, casefold, AFTER_CASEFOLD, single spaces.
BEFORE_CASEFOLD = (APOSTROPHES, URLS, MENTIONS, HASHTAGS, *CONTRACTIONS)
AFTER_CASEFOLD = (GLUED_DIGITS, NUMBERS, PUNCTUATION, REPEATS)


def _apply(rule: tuple[re.Pattern[str], str], text: str) -> str:
    pattern, replacement = rule
    return pattern.sub(replacement, text)


def clean_text(text: str | None) -> str:
    """Normalise one message for the models: the rules of notebook 03, in order.

    A missing message (None or NaN) is the empty string; any other non-string is a TypeError.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    if not isinstance(text, str):
        raise TypeError(f"clean_text expects a string, got {type(text).__name__}: {text!r:.60}")
    text = html.unescape(text)  # "&#39" -> "'", "&gt;" -> ">"
    for rule in BEFORE_CASEFOLD:  # apostrophes, links, mentions, hashtags, contractions
        text = _apply(rule, text)
    text = text.casefold()
    for rule in AFTER_CASEFOLD:  # glued digits, numbers, punctuation, repeated letters
        text = _apply(rule, text)
    return " ".join(text.split())


def clean_texts(texts: Iterable[str | None]) -> list[str]:
    """clean_text over many messages (a list, a pandas Series ...)."""
    return [clean_text(text) for text in texts]


# Chosen in notebook 04 from the coverage curve and the length percentiles of cleaned train text.
VOCAB_SIZE = 15_000  # ~ every token seen at least twice in train; 97 % of train tokens
SEQUENCE_LENGTH = 64  # 99th percentile of cleaned train messages is 67 tokens


def build_vectorizer(
    cleaned_train_texts: Iterable[str],
    vocab_size: int = VOCAB_SIZE,
    sequence_length: int = SEQUENCE_LENGTH,
):
    """A TextVectorization layer adapted on cleaned *train* texts only (text already cleaned).

    Index 0 is padding, index 1 the out-of-vocabulary token ``[UNK]``; longer texts are cut
    at ``sequence_length`` tokens, shorter ones padded with zeros at the end.
    """
    import keras

    vectorizer = keras.layers.TextVectorization(
        max_tokens=vocab_size,
        standardize=None,
        split="whitespace",
        output_mode="int",
        output_sequence_length=sequence_length,
        name="vectorizer",
    )
    vectorizer.adapt(list(cleaned_train_texts), batch_size=2048)
    return vectorizer
