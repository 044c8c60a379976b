"""Export the series' final model for ONNX Runtime: one folder that ``serving.runtime`` reads.

    python -m serving.export [full|quick] [DESTINATION]

This side runs in the training environment (it reads the Keras model with ``helpers``); what it
writes needs only ``serving.runtime``, NumPy, ONNX Runtime and Hugging Face ``tokenizers``:

- ``model.onnx``: encoder and blended heads; token ids, padding mask and the linear baseline's 38
  probabilities in, 35 binary and 3 ``related`` probabilities out (Keras' ``export(format=
  "onnx")``, through tf2onnx on the TensorFlow backend);
- ``model-int8.onnx``: the same with its matrix weights quantized to 8-bit integers (ONNX
  Runtime's dynamic quantization), the faster variant notebook 11 weighs on validation;
- ``tokenizer.json``: the encoder's own WordPiece tokenizer, for Hugging Face ``tokenizers``;
- ``baseline.npz``: the TF-IDF vocabulary, idf weights and the logistic regressions' weights;
- ``serving.json``: notebook 03's cleaning rules (patterns as data), the sequence length, the
  character cut, the decision rules chosen on validation and which network to serve.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import keras
import numpy as np
import onnx
import onnx.numpy_helper

from helpers import encoders, inference, linear, session, text
from helpers.data import BINARY_LABELS, LABELS, RELATED, RELATED_CLASSES
from serving.runtime import FORMAT, VARIANTS

MODEL_FILE, INT8_FILE = VARIANTS["fp32"], VARIANTS["int8"]
TOKENIZER_FILE, BASELINE_FILE, SETTINGS_FILE = "tokenizer.json", "baseline.npz", "serving.json"
N_LINEAR = len(BINARY_LABELS) + len(RELATED_CLASSES)  # the baseline's 38 probabilities


def export_dir(mode: str) -> Path:
    """build/export for the full run (what `make run` ships), build/export-quick for quick
    (beside build/models, wherever $SERIES_MODELS_DIR puts that); under build/lab/ when a
    learner runs notebook 11 by hand, so their run never replaces what the series ships."""
    root = inference.MODELS_DIR.parent
    if not session.run_by_the_series():
        root = root / "lab"
    return root / ("export" if mode == "full" else f"export-{mode}")


def serving_network(final: inference.FinalClassifier) -> keras.Model:
    """The encoder and the blend as one Keras model: token ids, padding mask and the baseline's
    probabilities (one (n, 38) input, binary labels then related) in; binary and related out."""
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((None,), dtype="int32", name="padding_mask")
    baseline = keras.Input((N_LINEAR,), name="linear")
    vector = final.encoder.model({"token_ids": token_ids, "padding_mask": padding_mask})
    columns = {label: baseline[:, i : i + 1] for i, label in enumerate(BINARY_LABELS)}
    columns[RELATED] = baseline[:, len(BINARY_LABELS) :]
    outputs = final.model({"sentence_vector": vector} | {f"linear_{k}": columns[k] for k in LABELS})
    binary = keras.ops.concatenate([outputs[label] for label in BINARY_LABELS], axis=1)
    return keras.Model(
        {"token_ids": token_ids, "padding_mask": padding_mask, "linear": baseline},
        {"binary": binary, RELATED: outputs[RELATED]},
        name="served",
    )


def baseline_arrays(baseline: linear.LinearBaseline) -> dict[str, np.ndarray]:
    """The baseline as arrays: its vocabulary in column order, idf, a (features, 38) weight
    matrix and 38 intercepts (binary labels, then related's classes). An output with nothing
    learned gets intercept -inf: probability 0, as in ``linear.predict_linear``."""
    tfidf = baseline.tfidf
    terms = sorted(tfidf.vocabulary_, key=tfidf.vocabulary_.get)
    coef = np.zeros((len(terms), N_LINEAR), dtype="float32")
    intercept = np.full(N_LINEAR, -np.inf, dtype="float32")
    for column, label in enumerate(BINARY_LABELS):
        classifier = baseline.classifiers[label]
        if classifier is not None:
            coef[:, column], intercept[column] = classifier.coef_[0], classifier.intercept_[0]
    related = baseline.classifiers[RELATED]
    if related is not None:
        columns = [len(BINARY_LABELS) + cls for cls in related.classes_]
        if len(columns) == 2:  # a binary regression: softmax([0, z]) = [1 - sigmoid z, sigmoid z]
            coef[:, columns[1]], intercept[columns[1]] = related.coef_[0], related.intercept_[0]
            intercept[columns[0]] = 0.0
        else:
            coef[:, columns], intercept[columns] = related.coef_.T, related.intercept_
    return {
        "terms": np.array(terms),
        "idf": tfidf.idf_.astype("float32"),
        "coef": coef,
        "intercept": intercept,
    }


def cleaning_rules() -> dict[str, list[dict]]:
    """``helpers.text``'s cleaning rules as data: each pattern, its flags and replacement."""

    def rules(pairs) -> list[dict]:
        return [{"pattern": p.pattern, "flags": int(p.flags), "replacement": r} for p, r in pairs]

    return {
        "before_casefold": rules(text.BEFORE_CASEFOLD),
        "after_casefold": rules(text.AFTER_CASEFOLD),
    }


def settings(
    thresholds: Iterable[float], related_weights: Iterable[float], sequence_length: int
) -> dict:
    """What the runtime needs besides the arrays: cleaning rules, cuts and decision rules."""
    return {
        "format": FORMAT,
        "variant": "fp32",  # the network `load` uses by default; notebook 11 chooses
        "max_characters": inference.MAX_CHARACTERS,
        "sequence_length": sequence_length,
        "cleaning": cleaning_rules(),
        "binary_labels": list(BINARY_LABELS),
        "thresholds": [float(t) for t in thresholds],
        "related_classes": list(RELATED_CLASSES),
        "related_weights": [float(w) for w in related_weights],
    }


def gemms_as_matmuls(model: onnx.ModelProto) -> int:
    """Rewrite each Gemm that is a plain product with constant weights (no bias term, as
    tf2onnx writes attention's projections) as a MatMul, which the quantizer handles; how many."""
    weights = {weight.name: weight for weight in model.graph.initializer}
    nodes, transposed = [], set()
    for node in model.graph.node:
        options = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        plain = options.get("alpha", 1.0) == 1.0 and options.get("beta", 1.0) == 0.0
        if node.op_type == "Gemm" and plain and not options.get("transA", 0):
            name = node.input[1]
            if name in weights and (not options.get("transB", 0) or name not in transposed):
                if options.get("transB", 0):  # store the weights as MatMul reads them
                    values = onnx.numpy_helper.to_array(weights[name]).T.copy()
                    weights[name].CopyFrom(onnx.numpy_helper.from_array(values, name))
                    transposed.add(name)
                node = onnx.helper.make_node("MatMul", node.input[:2], node.output, node.name)
        nodes.append(node)
    rewritten = sum(a.op_type != b.op_type for a, b in zip(model.graph.node, nodes, strict=True))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return rewritten


def quantize(source: Path, destination: Path) -> int:
    """int8 weights for every matrix product with constant weights (one scale per output
    channel); activations are quantized on the fly, one scale per tensor and call (ONNX
    Runtime's dynamic quantization). Returns how many Gemm it rewrote as MatMul first."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(source)
    rewritten = gemms_as_matmuls(model)
    quantize_dynamic(
        model,
        destination,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
    )
    return rewritten


@contextmanager
def step(what: str):
    """Print what is being done, then how long it took (the export's steps take a while).
    Meanwhile only errors are logged: tf2onnx and the quantizer log harmless advice."""
    print(f"exporting {what} ...", end=" ", flush=True)
    started = time.perf_counter()
    loggers = [logging.getLogger(), logging.getLogger("tensorflow")]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # tf2onnx on NumPy 2
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    print(f"{time.perf_counter() - started:.0f} s", flush=True)


def export_final(mode: str, destination: Path | None = None) -> Path:
    """Write the final model of ``mode`` as an ONNX Runtime export (see the module's docstring).
    The folder is replaced only once everything is written."""
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"The ONNX export runs on the TensorFlow backend; this process runs "
            f"{keras.backend.backend()}. Run `KERAS_BACKEND=tensorflow python -m serving.export`."
        )
    final = inference.load_final_classifier(inference.artifact_dir(mode))
    network = serving_network(final)
    network.predict_on_batch(  # Keras exports only a model that has been called
        {
            "token_ids": np.ones((1, 4), "int32"),
            "padding_mask": np.ones((1, 4), "int32"),
            "linear": np.zeros((1, N_LINEAR), "float32"),
        }
    )
    destination = destination or export_dir(mode)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    try:
        with step("the network, to ONNX (tf2onnx)"):
            network.export(str(staging / MODEL_FILE), format="onnx", verbose=False)
        with step("its int8 twin (dynamic quantization)"):
            rewritten = quantize(staging / MODEL_FILE, staging / INT8_FILE)
            print(f"{rewritten} Gemm rewritten as MatMul first;", end=" ")
        shutil.copyfile(encoders.model_folder() / TOKENIZER_FILE, staging / TOKENIZER_FILE)
        np.savez(staging / BASELINE_FILE, **baseline_arrays(final.baseline))
        rules = settings(
            final.thresholds, final.related_weights, final.encoder.preprocessor.sequence_length
        )
        (staging / SETTINGS_FILE).write_text(json.dumps(rules, indent=1), "utf-8")
        shutil.rmtree(destination, ignore_errors=True)
        staging.rename(destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination


def choose_variant(folder: Path, variant: str) -> None:
    """Make ``variant`` ("fp32" or "int8") the network the export serves by default."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, not {variant!r}")
    path = folder / SETTINGS_FILE
    saved = json.loads(path.read_text(encoding="utf-8")) | {"variant": variant}
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(saved, indent=1), encoding="utf-8")
    staging.replace(path)  # atomic: a reader sees the old file or the new one


def export_in_tensorflow_process(mode: str) -> Path:
    """``export_final`` from a notebook on another backend: a separate Python process with
    ``KERAS_BACKEND=tensorflow`` (a backend is fixed once Keras is imported)."""
    session.run_module("serving.export", [mode], "tensorflow", "the ONNX export")
    return export_dir(mode)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "full"
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    print(f"exported to {export_final(mode, target)}")
