"""serving: the runtime's cleaning and baseline give what helpers gives on the real messages, its
tokenizer what KerasHub gives; odd input, broken exports and a missing runtime get clear
answers. (Notebook 11 compares the whole exported model with helpers.inference.)"""

import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import pandas as pd
import pytest
from onnx import TensorProto, helper

from helpers import data, encoders, inference, linear, text
from serving import export, runtime

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
    "[CLS] typed [SEP] by hand [PAD]",
    "supercalifragilisticexpialidocious" * 4,
    "need water " * 10_000,
]
N_BINARY = len(data.BINARY_LABELS)


@pytest.fixture(scope="module")
def splits():
    return data.load_splits()


@pytest.fixture(scope="module")
def baseline(splits):
    train = splits.train.sample(3000, random_state=0)
    return linear.fit_linear_baseline(text.clean_texts(train["message"]), train, 5000)


def test_the_exported_cleaning_rules_clean_every_message_as_helpers_does(splits):
    cleaner = runtime.Cleaner(json.loads(json.dumps(export.cleaning_rules())))  # via JSON
    messages = ODD + pd.concat([splits.train, splits.validation, splits.test])["message"].tolist()
    expected = text.clean_texts(messages)
    differ = [m for m, cleaned in zip(messages, expected, strict=True) if cleaner(m) != cleaned]
    assert not differ, differ[:3]


def as_columns(probabilities: dict) -> np.ndarray:
    """predict_linear's dict as the runtime's (n, 38): binary labels, then related."""
    return np.hstack([probabilities[label] for label in (*data.BINARY_LABELS, data.RELATED)])


def test_the_runtime_baseline_gives_the_probabilities_of_predict_linear(splits, baseline):
    assert any(classifier is None for classifier in baseline.classifiers.values())
    runtime_baseline = runtime.Baseline(export.baseline_arrays(baseline), N_BINARY)
    cleaned = text.clean_texts(ODD + splits.validation["message"].tolist()[:1000])
    expected = as_columns(linear.predict_linear(baseline, cleaned))
    np.testing.assert_allclose(runtime_baseline(cleaned), expected, atol=2e-6)


def test_a_related_regression_with_two_classes_is_exported_as_its_softmax(splits):
    train = splits.train[splits.train[data.RELATED] != 2].sample(600, random_state=0)
    small = linear.fit_linear_baseline(text.clean_texts(train["message"]), train, 2000)
    cleaned = text.clean_texts(splits.validation["message"].tolist()[:200])
    found = runtime.Baseline(export.baseline_arrays(small), N_BINARY)(cleaned)
    np.testing.assert_allclose(found, as_columns(linear.predict_linear(small, cleaned)), atol=2e-6)


def test_the_models_own_tokenizer_gives_keras_hubs_ids_but_on_rare_odd_text(splits):
    """tokenizers runs the model's tokenizer.json; KerasHub's port case-folds with NFKC and
    treats format characters as spaces: they differ on some mojibake and other scripts."""
    preprocessor = encoders.load_sentence_encoder().preprocessor  # fetched once, then cached
    tokenizer = runtime.load_tokenizer(
        encoders.model_folder() / export.TOKENIZER_FILE, preprocessor.sequence_length
    )
    messages = ODD + splits.test["message"].tolist()
    expected = np.asarray(preprocessor(messages)["token_ids"])
    found = np.zeros_like(expected)
    for row, encoding in enumerate(tokenizer.encode_batch(messages)):
        found[row, : len(encoding.ids)] = encoding.ids
    differ = np.flatnonzero((expected != found).any(axis=1))
    assert len(differ) <= 0.005 * len(messages), f"{len(differ)} of {len(messages)} differ"
    assert {messages[i] for i in differ} & set(ODD[:8] + ODD[12:]) == set()


def tiny_network(path, n_binary: int = N_BINARY) -> None:
    """An ONNX network with the served inputs and outputs that passes the baseline's
    probabilities through: the runtime's answers are then the baseline's."""
    ints = [
        helper.make_tensor_value_info(name, TensorProto.INT32, ["n", "w"])
        for name in ("token_ids", "padding_mask")
    ]
    floats = helper.make_tensor_value_info("linear", TensorProto.FLOAT, ["n", N_BINARY + 3])
    bounds = {"zero": 0, "cut": n_binary, "split": N_BINARY, "end": N_BINARY + 3, "axis": 1}
    cuts = [helper.make_tensor(name, TensorProto.INT64, [1], [v]) for name, v in bounds.items()]
    nodes = [
        helper.make_node("Slice", ["linear", "zero", "cut", "axis"], ["binary"]),
        helper.make_node("Slice", ["linear", "split", "end", "axis"], ["related"]),
    ]
    outputs = [
        helper.make_tensor_value_info("binary", TensorProto.FLOAT, ["n", n_binary]),
        helper.make_tensor_value_info("related", TensorProto.FLOAT, ["n", 3]),
    ]
    graph = helper.make_graph(nodes, "tiny", [*ints, floats], outputs, initializer=cuts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory, baseline):
    folder = tmp_path_factory.mktemp("export")
    tiny_network(folder / export.MODEL_FILE)
    tiny_network(folder / export.INT8_FILE)
    (folder / export.TOKENIZER_FILE).write_bytes(
        (encoders.model_folder() / export.TOKENIZER_FILE).read_bytes()
    )
    np.savez(folder / export.BASELINE_FILE, **export.baseline_arrays(baseline))
    rules = export.settings([0.3] * N_BINARY, [1.0, 1.0, 2.0], encoders.SEQUENCE_LENGTH)
    (folder / export.SETTINGS_FILE).write_text(json.dumps(rules))
    return folder


def test_the_runtime_classifies_odd_input_as_helpers_does(tiny_export, baseline, splits):
    model = runtime.load(tiny_export)
    messages = ODD + splits.test["message"].tolist()[:300]  # many batches, sorted by length
    answers = model.classify(messages)
    cut = [message[: inference.MAX_CHARACTERS] for message in messages]
    cleaned = text.clean_texts(cut)
    columns = as_columns(linear.predict_linear(baseline, cleaned))
    rules = inference.Classifier(None, None, model.thresholds, model.related_weights)
    expected = inference.decide(
        messages, cleaned, columns[:, :N_BINARY], columns[:, N_BINARY:], rules, as_dicts=True
    )
    assert [a["labels"] for a in answers] == [e["labels"] for e in expected]
    assert [a["related"] for a in answers] == [e["related"] for e in expected]
    assert answers[0]["labels"] == [] and np.isnan(answers[0]["probabilities"]["water"])
    assert model.classify([]) == []
    assert model.classify("need water")[0]["message"] == "need water"


@pytest.mark.parametrize(
    "bad", [None, 7, b"need water", {"message": "water"}, ["need food", None, "need water"]]
)
def test_the_runtime_refuses_what_helpers_refuses(tiny_export, bad):
    with pytest.raises(TypeError) as from_helpers:
        inference.validate_messages(bad)
    with pytest.raises(TypeError) as from_runtime:
        runtime.load(tiny_export).classify(bad)
    if isinstance(bad, list):
        assert "position 1" in str(from_runtime.value) and "position 1" in str(from_helpers.value)


def test_broken_exports_and_a_missing_runtime_are_named(tiny_export, tmp_path, monkeypatch):
    with pytest.raises(runtime.ServingError, match="there is no export folder .*make run"):
        runtime.load(tmp_path / "nowhere")
    (tmp_path / export.SETTINGS_FILE).write_text("{}")
    with pytest.raises(runtime.ServingError, match="not a whole export .*no baseline.npz"):
        runtime.load(tmp_path)
    for name in [*runtime.VARIANTS.values(), export.TOKENIZER_FILE, export.BASELINE_FILE]:
        (tmp_path / name).write_bytes((tiny_export / name).read_bytes())
    with pytest.raises(runtime.ServingError, match="format None, this code reads format 1"):
        runtime.load(tmp_path)
    (tmp_path / export.SETTINGS_FILE).write_bytes((tiny_export / export.SETTINGS_FILE).read_bytes())
    tiny_network(tmp_path / export.MODEL_FILE, n_binary=34)
    with pytest.raises(runtime.ServingError, match="do not match the decision rules"):
        runtime.load(tmp_path)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(runtime.ServingError, match="pip install onnxruntime tokenizers numpy"):
        runtime.load(tiny_export)


def test_choosing_a_variant_rewrites_the_settings_whole(tiny_export):
    export.choose_variant(tiny_export, "int8")
    assert runtime.load(tiny_export).variant == "int8"
    export.choose_variant(tiny_export, "fp32")
    with pytest.raises(ValueError, match="fp16"):
        export.choose_variant(tiny_export, "fp16")


def test_the_command_line_classifier_needs_neither_helpers_nor_keras(tiny_export):
    """A fresh process: JSON lines out, and not one module of helpers, Keras or TensorFlow."""
    script = (
        "import sys; from serving.__main__ import main; code = main(sys.argv[1:]); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'helpers', 'keras', "
        "'tensorflow', 'jax'})); sys.exit(code)"
    )
    messages = ["We need water", "", "🙏🙏🙏"]
    run = subprocess.run(
        [sys.executable, "-c", script, str(tiny_export), *messages],
        capture_output=True,
        text=True,
        check=True,
    )
    *lines, imported = run.stdout.splitlines()
    assert imported == "[]"
    answers = [json.loads(line) for line in lines]
    assert [a["message"] for a in answers] == messages and answers[1]["labels"] == []
    missing = subprocess.run(
        [sys.executable, "-m", "serving", "nowhere", "x"], capture_output=True, text=True
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith("error: there is no export folder nowhere")


def test_the_export_refuses_a_backend_other_than_tensorflow(monkeypatch):
    monkeypatch.setattr(export.keras.backend, "backend", lambda: "jax")
    with pytest.raises(RuntimeError, match="KERAS_BACKEND=tensorflow python -m serving.export"):
        export.export_final("quick")


def test_a_gemm_without_bias_becomes_the_matmul_it_is(tmp_path):
    """tf2onnx writes attention's projections as Gemm (transposed weights, beta 0), which the
    int8 quantizer skips: rewritten as MatMul, the network computes the same."""
    import onnxruntime

    weights = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")  # (out, in)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], beta=0.0, transB=1)],
        "gemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
        initializer=[onnx.numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    x = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")
    before = onnxruntime.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    assert export.gemms_as_matmuls(model) == 1
    assert [node.op_type for node in model.graph.node] == ["MatMul"]
    after = onnxruntime.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    np.testing.assert_allclose(after, before, rtol=1e-6)


def test_the_runtime_uses_the_cpus_this_process_may_run_on():
    assert 1 <= runtime.usable_cpus() <= (os.cpu_count() or 1)
