"""helpers.text: one test per cleaning rule, the odd inputs, and the vectorizer contract."""

import time

import numpy as np
import pytest

from helpers.text import NUMBER_TOKEN, URL_TOKEN, USER_TOKEN, build_vectorizer, clean_text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("see http://www.jobpaw.com/ now", f"see {URL_TOKEN} now"),
        ("www.example.org/news today", f"{URL_TOKEN} today"),
        ("Donate http bit.ly 67t0d0 Select", f"donate {URL_TOKEN} select"),
        ("Voices http tinyurl.com yzr5osv today", f"voices {URL_TOKEN} today"),
        ("@meliithebest26 thanks", f"{USER_TOKEN} thanks"),
        ("the cafe Net@le", "the cafe net le"),  # not a mention: @ inside a word
        ("#Haiti needs help", "haiti needs help"),
        ("We can't wait, it won't stop", "we can not wait it will not stop"),
        ("They DONT HAVE water", "they do not have water"),
        ("we're ok, I'm in, we'll go, I've it, I'd go", "we are ok i am in we will go i have it i would go"),  # noqa: E501
        ("There’s no food", "there no food"),  # curly apostrophe normalised, 's dropped
        ("Won&#39;t you help? 5 &gt; 3", f"will not you help {NUMBER_TOKEN} {NUMBER_TOKEN}"),
        ("3,000 at 4636 on 12/01/2010", f"{NUMBER_TOKEN} at {NUMBER_TOKEN} on {NUMBER_TOKEN}"),
        ("in lillavois47, answer1", f"in lillavois {NUMBER_TOKEN} answer {NUMBER_TOKEN}"),
        ("#power_4:50pm", f"power {NUMBER_TOKEN} pm"),
        ("Help!!! Now... (please)", "help now please"),
        ("WATER Food", "water food"),
        ("Pleeeeease HELPPPP", "pleease helpp"),
        ("  lots \t of \n space  ", "lots of space"),
    ],
    ids=["url", "www", "broken-shortlink", "broken-link", "mention", "at-in-word", "hashtag",
         "contractions", "shouted-negation", "more-contractions", "curly-apostrophe",
         "html-entities", "numbers", "glued-digits", "underscore-number", "punctuation", "case",
         "repeated-characters",
         "whitespace"],
)  # fmt: skip
def test_each_cleaning_rule(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize("empty", ["", "   ", "\n\t", "!!! ...", None, float("nan")])
def test_empty_and_missing_messages_become_empty_text(empty):
    assert clean_text(empty) == ""


def test_emoji_are_dropped_and_words_kept():
    assert clean_text("need water 🌊🙏 now 😭") == "need water now"


def test_non_latin_scripts_survive():
    assert clean_text("Où est l'eau? 地震 Землетрясение") == "où est l eau 地震 землетрясение"


def test_very_long_text_is_cleaned_in_linear_time():
    text = "Help!!! need water at http://x.org " * 20_000  # about 700 kB
    start = time.perf_counter()
    cleaned = clean_text(text)
    assert time.perf_counter() - start < 2.0
    assert cleaned.split()[:4] == ["help", "need", "water", "at"]


@pytest.mark.parametrize("bad", [42, b"bytes", ["a list"]])
def test_non_strings_are_a_type_error(bad):
    with pytest.raises(TypeError, match="expects a string"):
        clean_text(bad)


def test_vectorizer_reserves_padding_and_unknown_and_fixes_the_length():
    vectorizer = build_vectorizer(["need water", "need food now"], vocab_size=10, sequence_length=5)
    vocabulary = vectorizer.get_vocabulary()
    assert vocabulary[:3] == ["", "[UNK]", "need"]
    ids = np.asarray(vectorizer(["need tents need water", ""]))
    assert ids.shape == (2, 5)
    assert ids[0].tolist() == [2, 1, 2, vocabulary.index("water"), 0]  # tents is out of vocabulary
    assert ids[1].tolist() == [0] * 5
