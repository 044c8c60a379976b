"""helpers.export: the TensorFlow-op twins of the cleaning, the baseline and the tokenizer give
what the Python code gives, on the real messages. (Notebook 11 compares the whole exported
model with helpers.inference on the test split.)"""

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from helpers import data, encoders, export, linear, text

ODD = [
    "",
    "   ",
    "!!!",
    "I can&#39;t &amp; won&#8217;t wait &lt;3 &amp;lt; &quot;hi&quot;",
    "See http://bit.ly/abc12 or www.x.org/a?b=1 and http bit.ly 6cCG7r, @user #Haiti",
    "We'll go, they're here, I'd say it's Jean's; didnt, CANT, Don't",
    "lillavois47 3.5km 12/01/2010 1,000 _7_ x2y",
    "Sooooo helpppp!!! Aaaaah ééééé",
    "Straße µ ſ ΣΑΣ café naïve Ünïcödé",
    "ﬁne ½ ２０２０ ＡＢＣ",
    "중국어 日本語 中文 emoji 🙏🏽",
    "a\u00a0b\u200bc\u2003d\tx\ny",
    "supercalifragilisticexpialidocious" * 4,
]


@pytest.fixture(scope="module")
def splits():
    return data.load_splits()


def test_cleaning_in_tensorflow_ops_matches_clean_text_on_every_message(splits):
    messages = ODD + pd.concat([splits.train, splits.validation, splits.test])["message"].tolist()
    in_graph = [t.decode() for t in export.TextCleaner()(tf.constant(messages)).numpy()]
    differ = [
        (m, a, b)
        for m, a, b in zip(messages, text.clean_texts(messages), in_graph, strict=True)
        if a != b
    ]
    assert not differ, differ[:3]


def test_linear_graph_gives_the_probabilities_of_predict_linear(splits):
    train = splits.train.sample(3000, random_state=0)
    baseline = linear.fit_linear_baseline(text.clean_texts(train["message"]), train, 5000)
    assert any(classifier is None for classifier in baseline.classifiers.values())
    cleaned = text.clean_texts(ODD + splits.validation["message"].tolist()[:1000])
    expected = linear.predict_linear(baseline, cleaned)
    found = export.LinearBaselineGraph(baseline)(tf.constant(cleaned))
    assert set(found) == {f"linear_{label}" for label in data.LABELS}
    for label in data.LABELS:
        np.testing.assert_allclose(found[f"linear_{label}"].numpy(), expected[label], atol=1e-6)


def test_tokenizer_in_core_tensorflow_ops_matches_keras_hub(splits):
    preprocessor = encoders.load_sentence_encoder().preprocessor  # fetched once, then cached
    graph = export.BertTokenizerGraph(
        preprocessor.tokenizer.get_vocabulary(), preprocessor.sequence_length
    )
    messages = ODD + splits.test["message"].tolist() + ["word " * 200]
    expected = np.asarray(preprocessor(messages)["token_ids"])
    found = graph(tf.constant(messages)).numpy()
    differ = [messages[i] for i in np.flatnonzero((expected != found).any(axis=1))]
    assert not differ, differ[:3]


def test_export_refuses_a_backend_other_than_tensorflow(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(RuntimeError, match="KERAS_BACKEND=tensorflow python -m helpers.export"):
        export.export_final("quick")
