"""helpers.inference: every bad input and every load error, on a tiny model trained here."""

import json
import shutil
import time

import keras
import numpy as np
import pandas as pd
import pytest

from helpers import data, inference, modeling, text

pytestmark = pytest.mark.xdist_group("inference")  # one worker builds the shared models once

MESSAGES = ["we need water and food", "the house collapsed, need tents", "nice weather today"] * 8


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny model and vectorizer saved like notebook 05 does (seconds, no dataset needed)."""
    keras.utils.set_random_seed(0)
    vectorizer = text.build_vectorizer(text.clean_texts(MESSAGES), vocab_size=50, sequence_length=8)
    model = modeling.build_multi_output_model(
        len(vectorizer.get_vocabulary()), 8, embedding_dim=4, rnn_units=2, dense_units=4
    )
    modeling.compile_model(model)  # untrained: these tests check the plumbing, not the answers
    directory = tmp_path_factory.mktemp("artifacts")
    inference.save_artifacts(model, vectorizer, directory)
    return directory


@pytest.fixture(scope="module")
def classifier(saved):
    return inference.load_classifier(saved)


def copy_of(saved, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(saved, target)
    return target


def test_one_string_gives_one_row_with_labels_and_probabilities(classifier):
    result = classifier.predict("We need WATER!!!")
    assert len(result) == 1
    assert list(result.columns[:3]) == ["message", "related", "labels"]
    assert list(result.columns[3:]) == list(data.BINARY_LABELS)
    probabilities = result[list(data.BINARY_LABELS)].to_numpy()
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert result.loc[0, "related"] in (0, 1, 2) and isinstance(result.loc[0, "labels"], list)


def test_many_messages_and_plain_dicts(classifier):
    rows = classifier.predict(["need food", "need tents"], as_dicts=True)
    assert [row["message"] for row in rows] == ["need food", "need tents"]
    assert set(rows[0]) == {"message", "related", "labels", "probabilities"}
    assert set(rows[0]["probabilities"]) == set(data.BINARY_LABELS)


def test_batches_agree_with_single_calls(classifier, monkeypatch):
    monkeypatch.setattr(inference, "BATCH_SIZE", 2)
    batched = classifier.predict(MESSAGES[:5])[list(data.BINARY_LABELS)].to_numpy()
    single = np.vstack(
        [classifier.predict(m)[list(data.BINARY_LABELS)].to_numpy() for m in MESSAGES[:5]]
    )
    assert np.allclose(batched, single, atol=1e-5)


@pytest.mark.parametrize("empty", ["", "   ", "\n\t", "!!! ..."])
def test_empty_messages_have_a_defined_answer(classifier, empty):
    row = classifier.predict([empty, "need water"]).iloc[0]
    assert row["labels"] == [] and row["related"] == 0
    assert np.isnan(row[list(data.BINARY_LABELS)].to_numpy(dtype=float)).all()


def test_an_empty_list_gives_an_empty_frame(classifier):
    assert len(classifier.predict([])) == 0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (None, "got NoneType"),
        (42, "got int"),
        (b"need water", r"decode bytes first"),
        ({"message": "water"}, r"got dict \(pass the message itself"),
        (["fine", None], "position 1 is NoneType"),
        (["fine", "also fine", 3.5], "position 2 is float"),
    ],
)
def test_bad_input_names_the_problem_and_position(classifier, bad, message):
    with pytest.raises(TypeError, match=message):
        classifier.predict(bad)


def test_a_100_kb_message_is_cut_not_a_memory_problem(classifier):
    started = time.perf_counter()
    row = classifier.predict("need water " * 10_000).iloc[0]  # 110 kB
    assert time.perf_counter() - started < 5
    assert row["message"].startswith("need water") and not np.isnan(row["water"])


def test_emoji_and_non_latin_scripts_are_classified(classifier):
    result = classifier.predict(["need water 🌊🙏", "Où est l'eau? 地震", "🙏🙏🙏"])
    assert not np.isnan(result.loc[0, "water"]) and not np.isnan(result.loc[1, "water"])
    assert result.loc[2, "labels"] == []  # emoji only: nothing left after cleaning


def test_thresholds_decide_the_labels(classifier):
    everything = inference.Classifier(
        classifier.model, classifier.vectorizer, np.zeros(35), np.ones(3)
    )
    nothing = inference.Classifier(
        classifier.model, classifier.vectorizer, np.full(35, 1.1), np.ones(3)
    )
    labels = everything.predict("need water").loc[0, "labels"]
    assert labels == list(data.BINARY_LABELS)
    assert all(type(label) is str for label in labels)  # prints as 'water', not np.str_('water')
    assert nothing.predict("need water").loc[0, "labels"] == []


def test_default_thresholds_before_notebook_07(classifier):
    assert (classifier.thresholds == 0.5).all() and (classifier.related_weights == 1).all()


@pytest.mark.parametrize(
    ("missing", "notebook"), [("model.keras", "05"), ("vectorizer.json", "05")]
)
def test_missing_files_name_the_file_and_the_notebook(saved, tmp_path, missing, notebook):
    directory = copy_of(saved, tmp_path)
    (directory / missing).unlink()
    with pytest.raises(
        inference.ArtifactError, match=rf"{missing} is missing.*notebook {notebook}"
    ):
        inference.load_classifier(directory)


def test_a_vectorizer_from_another_run_is_refused(saved, tmp_path):
    directory = copy_of(saved, tmp_path)
    settings = json.loads((directory / "vectorizer.json").read_text())
    settings["vocabulary"] += ["extra", "words"]
    (directory / "vectorizer.json").write_text(json.dumps(settings))
    with pytest.raises(inference.ArtifactError, match="does not match"):
        inference.load_classifier(directory)


def test_a_broken_thresholds_file_is_refused(saved, tmp_path):
    directory = copy_of(saved, tmp_path)
    (directory / "thresholds.json").write_text(json.dumps({"thresholds": {"water": 0.3}}))
    with pytest.raises(inference.ArtifactError, match="notebook 07"):
        inference.load_classifier(directory)


def test_saved_thresholds_round_trip(saved, tmp_path):
    directory = copy_of(saved, tmp_path)
    tuned = np.linspace(0.1, 0.9, 35)
    inference.save_thresholds(directory, tuned, np.array([2.0, 1.0, 4.0]))
    loaded = inference.load_classifier(directory)
    assert np.allclose(loaded.thresholds, tuned) and loaded.related_weights.tolist() == [2, 1, 4]


def test_length_buckets_change_speed_not_results(classifier, monkeypatch):
    cleaned = text.clean_texts(["need water", "we need water and food now please", "tents"])
    full_width = classifier.model.predict_on_batch(np.asarray(classifier.vectorizer(cleaned)))
    monkeypatch.setattr(inference, "BUCKETS", (2, 4, 8))
    binary, related = classifier.probabilities(cleaned)
    assert np.allclose(
        binary[:, data.BINARY_LABELS.index("water")], full_width["water"][:, 0], atol=1e-6
    )
    assert np.allclose(related, full_width["related"], atol=1e-6)


# --- the final model of notebook 08: encoder vectors + linear baseline, blended ------------------
@pytest.fixture(scope="module")
def final(tmp_path_factory):
    """A tiny final model saved like notebook 08 does, with a tiny random encoder."""
    import keras_hub

    from helpers import encoders, linear

    keras.utils.set_random_seed(0)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "need", "water", "food", "house"]
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(words), num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16,
        max_sequence_length=128,
    )  # fmt: skip
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=words, lowercase=True)
    preprocessor = keras_hub.models.BertTextEmbedderPreprocessor(tokenizer, sequence_length=128)
    encoder = encoders.Encoder(preprocessor, encoders.build_sentence_encoder(backbone))
    frame = pd.DataFrame({label: 0 for label in data.LABELS}, index=range(len(MESSAGES)))
    frame["water"], frame["related"] = [1, 0, 0] * 8, [1, 1, 0] * 8
    baseline = linear.fit_linear_baseline(text.clean_texts(MESSAGES), frame, max_features=20)
    head_input = keras.Input((8,))
    heads = keras.Model(head_input, modeling.output_heads(keras.layers.Dense(4)(head_input)))
    vector = keras.Input((8,), name="sentence_vector")
    deep = heads(vector)  # nested, as in notebook 08: its head names stay inside it
    linear_inputs = {
        f"linear_{label}": keras.Input((deep[label].shape[-1],), name=f"linear_{label}")
        for label in data.LABELS
    }
    outputs = {
        label: keras.layers.Add(name=label)(
            [
                keras.layers.Rescaling(0.5)(linear_inputs[f"linear_{label}"]),
                keras.layers.Rescaling(0.5)(deep[label]),
            ]
        )
        for label in data.LABELS
    }
    model = keras.Model({"sentence_vector": vector, **linear_inputs}, outputs)
    directory = tmp_path_factory.mktemp("final")
    inference.save_final(directory, model, baseline, np.full(35, 0.5), np.ones(3))
    return directory, encoder


def load_final(final, monkeypatch):
    from helpers import encoders

    directory, encoder = final
    monkeypatch.setattr(encoders, "load_sentence_encoder", lambda: encoder)
    return inference.load_final_classifier(directory)


def test_the_final_model_loads_and_answers_like_the_bilstm(final, monkeypatch):
    classifier = load_final(final, monkeypatch)
    result = classifier.predict(["We need WATER!!!", "", "🙏🙏", "need food " * 3000])
    assert list(result.columns[:3]) == ["message", "related", "labels"]
    assert list(result.columns[3:]) == list(data.BINARY_LABELS)
    probabilities = result[list(data.BINARY_LABELS)].to_numpy(dtype=float)
    assert ((probabilities[[0, 3]] >= 0) & (probabilities[[0, 3]] <= 1)).all()
    assert np.isnan(probabilities[[1, 2]]).all() and result.loc[1, "labels"] == []
    assert len(classifier.predict([])) == 0
    with pytest.raises(TypeError, match="position 1 is NoneType"):
        classifier.predict(["fine", None])


def test_the_final_model_batches_agree_with_single_calls(final, monkeypatch):
    classifier = load_final(final, monkeypatch)
    batched = classifier.predict(MESSAGES[:4])[list(data.BINARY_LABELS)].to_numpy()
    single = np.vstack(
        [classifier.predict(m)[list(data.BINARY_LABELS)].to_numpy() for m in MESSAGES[:4]]
    )
    assert np.allclose(batched, single, atol=1e-5)


@pytest.mark.parametrize("missing", ["model.keras", "linear.joblib", "thresholds.json"])
def test_a_missing_final_file_names_notebook_08(final, tmp_path, missing):
    directory = tmp_path / "copy"
    shutil.copytree(final[0], directory)
    (directory / inference.FINAL_DIR / missing).unlink()
    with pytest.raises(inference.ArtifactError, match=rf"{missing} is missing.*notebook 08"):
        inference.load_final_classifier(directory)


def test_a_fine_tuned_encoder_is_saved_merged_and_served(final, tmp_path, monkeypatch):
    """Notebook 09's case: LoRA-trained encoder weights travel with the final model; a later
    save without an encoder (notebook 08 again) removes them."""
    import keras_hub

    from helpers import encoders

    directory, encoder = final
    tuned = untrained_copy(encoder)
    (backbone,) = [x for x in tuned.model.layers if isinstance(x, keras_hub.models.Backbone)]
    backbone.enable_lora(2)
    for weight in backbone.trainable_weights:  # as if training had moved the adapters
        if "lora_kernel_b" in weight.path:
            weight.assign(np.full(weight.shape, 0.1, "float32"))
    expected = encoders.encode(MESSAGES[:3], tuned, progress=False)
    copy = tmp_path / "copy"
    shutil.copytree(directory, copy)
    blend = keras.models.load_model(copy / inference.FINAL_DIR / inference.MODEL_FILE)
    rules = (np.full(35, 0.5), np.ones(3))
    baseline = inference.load_baseline(copy)
    inference.save_final(copy, blend, baseline, *rules, encoder=tuned.model)
    monkeypatch.setattr(encoders, "load_sentence_encoder", lambda: untrained_copy(encoder))
    served = inference.load_final_classifier(copy)
    vectors = encoders.encode(MESSAGES[:3], served.encoder, progress=False)
    np.testing.assert_allclose(vectors, expected, atol=1e-5)
    assert not np.allclose(vectors, encoders.encode(MESSAGES[:3], encoder, progress=False))
    inference.save_final(copy, blend, baseline, *rules)
    assert not (copy / inference.FINAL_DIR / inference.ENCODER_FILE).exists()


def untrained_copy(encoder):
    """A fresh encoder with the pretrained weights, as load_sentence_encoder gives."""
    from helpers import encoders

    model = keras.models.clone_model(encoder.model)
    model.set_weights(encoder.model.get_weights())
    return encoders.Encoder(encoder.preprocessor, model)


def test_candidates_are_checked_against_the_messages(tmp_path):
    frames = {"validation": pd.DataFrame({"id": [3, 1, 2]})}
    candidates = {"tfidf_logreg": {"validation": {"water": np.zeros((3, 1))}}}
    inference.save_candidates(tmp_path, candidates, frames, chosen="tfidf_logreg")
    loaded, chosen = inference.load_candidates(tmp_path, frames)
    assert chosen == "tfidf_logreg"
    assert loaded["tfidf_logreg"]["validation"]["water"].shape == (3, 1)
    with pytest.raises(inference.ArtifactError, match="other validation messages.*notebook 08"):
        inference.load_candidates(tmp_path, {"validation": pd.DataFrame({"id": [1, 2, 3]})})
    with pytest.raises(inference.ArtifactError, match="candidates.joblib is missing.*notebook 08"):
        inference.load_candidates(tmp_path / "elsewhere", frames)
