"""Classify raw messages with an export of ``serving.export``: NumPy, ONNX Runtime and Hugging
Face ``tokenizers``; no TensorFlow, no Keras, no ``helpers``.

    model = load("build/export")
    model.classify(["We need water and food in Leogane"])  # one dict per message

Answers follow ``helpers.inference``: a message with no words after cleaning ("", "  ", "!!!")
gets no labels, related 0 and NaN probabilities; only the first ``max_characters`` characters
are read; anything but a string or a list of strings is a TypeError naming the culprit.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

FORMAT = 1  # the layout of serving.export's folder; a folder of another format is refused
SETTINGS_FILE, BASELINE_FILE, TOKENIZER_FILE = "serving.json", "baseline.npz", "tokenizer.json"
VARIANTS = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
BATCH_SIZE = 64  # messages per call of the network, sorted by length (little padding)
INSTALL = "pip install onnxruntime tokenizers numpy"


class ServingError(RuntimeError):
    """The export or the runtime is missing or does not fit; the message says how to fix it."""


def _runtime():
    """ONNX Runtime and tokenizers, or a ServingError that says what to install."""
    try:
        import onnxruntime
        import tokenizers
    except ImportError as error:
        raise ServingError(f"{error.name} is not installed: {INSTALL}") from None
    return onnxruntime, tokenizers


def usable_cpus() -> int:
    """The CPUs this process may run on (`taskset`, a container's limit), not all the machine's:
    more threads than that would only take turns on the same cores."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def load_tokenizer(path: Path, sequence_length: int):
    """The encoder's own WordPiece tokenizer (its tokenizer.json), set as notebook 08 tokenizes:
    [CLS] words [SEP], cut to ``sequence_length`` tokens, unpadded; "[CLS]" typed in a message
    is plain text."""
    _, tokenizers = _runtime()
    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(sequence_length)
    tokenizer.encode_special_tokens = True
    return tokenizer


def as_batch(messages: str | Iterable[str]) -> list[str]:
    """A list of strings, or a TypeError naming the first bad item's position."""
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, bytes | bytearray | Mapping) or not isinstance(messages, Iterable):
        raise TypeError(
            f"expected a string or a list of strings, got {type(messages).__name__}"
            + (" (decode bytes first)" if isinstance(messages, bytes | bytearray) else "")
        )
    batch = list(messages)
    for position, message in enumerate(batch):
        if not isinstance(message, str):
            raise TypeError(
                f"message at position {position} is {type(message).__name__} ({message!r:.40}), "
                "not a string; pass '' for an empty message"
            )
    return batch


class Cleaner:
    """Notebook 03's cleaning, from the rules the export carries (patterns as data)."""

    def __init__(self, rules: dict):
        def compiled(pairs: list[dict]) -> list[tuple[re.Pattern[str], str]]:
            return [(re.compile(r["pattern"], r["flags"]), r["replacement"]) for r in pairs]

        self.before = compiled(rules["before_casefold"])
        self.after = compiled(rules["after_casefold"])

    def __call__(self, message: str) -> str:
        message = html.unescape(message)
        for pattern, replacement in self.before:
            message = pattern.sub(replacement, message)
        message = message.casefold()
        for pattern, replacement in self.after:
            message = pattern.sub(replacement, message)
        return " ".join(message.split())


class Baseline:
    """The TF-IDF + logistic regression baseline: word and word-pair counts (words of 2+
    characters), 1 + log count, times idf, L2-normalised; then a sigmoid per binary label
    and a softmax over related's classes, as scikit-learn computes them."""

    def __init__(self, arrays: Mapping[str, np.ndarray], n_binary: int):
        self.index = {term: i for i, term in enumerate(arrays["terms"].tolist())}
        self.idf, self.coef, self.intercept = arrays["idf"], arrays["coef"], arrays["intercept"]
        self.n_binary = n_binary

    def __call__(self, cleaned: list[str]) -> np.ndarray:
        """(n, 38) probabilities: the binary labels, then related's classes."""
        ids, values, starts = [], [], []
        for message in cleaned:
            words = [word for word in message.lower().split() if len(word) >= 2]
            grams = words + [f"{a} {b}" for a, b in zip(words[:-1], words[1:], strict=True)]
            known = np.array([self.index[g] for g in grams if g in self.index], dtype=int)
            found, counts = np.unique(known, return_counts=True)
            weights = (1 + np.log(counts)) * self.idf[found]
            starts.append(len(ids))
            ids.extend(found)
            values.extend(weights / max(np.sqrt((weights**2).sum()), 1e-12))
        logits = np.tile(self.intercept, (len(cleaned), 1))
        starts, ends = np.array(starts, int), np.array([*starts[1:], len(ids)], int)
        rows = ends > starts  # messages with at least one known term
        if rows.any():
            terms = self.coef[np.array(ids, int)] * np.array(values, "float32")[:, None]
            logits[rows] += np.add.reduceat(terms, starts[rows], axis=0)
        binary, related = logits[:, : self.n_binary], logits[:, self.n_binary :]
        binary = np.exp(-np.logaddexp(0, -binary))  # a sigmoid that never overflows
        related = np.exp(related - related.max(axis=1, keepdims=True))  # a softmax, likewise
        return np.hstack([binary, related / related.sum(axis=1, keepdims=True)]).astype("float32")


class ServedModel:
    """An export loaded once: ``classify`` raw messages, or ``probabilities`` for checks."""

    def __init__(self, folder: str | Path, variant: str | None = None, threads: int = 0):
        """``threads`` 0: one per CPU this process may use."""
        folder = Path(folder)
        fix = "Notebook 11 writes build/export (`make run`), or run `python -m serving.export`."
        if not folder.is_dir():
            raise ServingError(f"there is no export folder {folder}. {fix}")
        needed = (SETTINGS_FILE, BASELINE_FILE, TOKENIZER_FILE, *VARIANTS.values())
        if missing := [name for name in needed if not (folder / name).is_file()]:
            raise ServingError(f"{folder} is not a whole export (no {', '.join(missing)}). {fix}")
        settings = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
        if settings.get("format") != FORMAT:
            raise ServingError(
                f"{folder} was exported in format {settings.get('format')}, this code reads "
                f"format {FORMAT}: export again with this version (`python -m serving.export`)."
            )
        self.variant = variant or settings["variant"]  # by default, the one chosen on validation
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, not {self.variant!r}")
        onnxruntime, _ = _runtime()
        self.labels, self.thresholds = settings["binary_labels"], np.array(settings["thresholds"])
        self.related_weights = np.array(settings["related_weights"])
        self.max_characters = settings["max_characters"]
        self.cleaner = Cleaner(settings["cleaning"])
        with np.load(folder / BASELINE_FILE) as arrays:
            self.baseline = Baseline(arrays, len(self.labels))
        self.tokenizer = load_tokenizer(folder / TOKENIZER_FILE, settings["sequence_length"])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or usable_cpus()
        options.log_severity_level = 3  # errors only
        self.session = onnxruntime.InferenceSession(
            str(folder / VARIANTS[self.variant]), options, providers=["CPUExecutionProvider"]
        )
        self._check_model()

    def _check_model(self) -> None:
        """The network's outputs must fit the decision rules shipped beside it."""
        shapes = {o.name: o.shape[-1] for o in self.session.get_outputs()}
        expected = {"binary": len(self.labels), "related": len(self.related_weights)}
        if shapes != expected:
            raise ServingError(
                f"the network's outputs {shapes} do not match the decision rules {expected} "
                f"in {SETTINGS_FILE}: the files come from different exports; export again."
            )

    def probabilities(self, messages: str | Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """(n, 35) binary and (n, 3) related probabilities; NaN rows for messages with no words."""
        batch = [m[: self.max_characters] for m in as_batch(messages)]
        cleaned = [self.cleaner(message) for message in batch]
        binary = np.full((len(batch), len(self.labels)), np.nan)
        related = np.full((len(batch), len(self.related_weights)), np.nan)
        tokens = self.tokenizer.encode_batch(batch) if batch else []
        linear = self.baseline(cleaned) if batch else None
        order = np.argsort([len(t.ids) for t in tokens], kind="stable")
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            width = max(len(tokens[row].ids) for row in rows)
            ids, mask = np.zeros((2, len(rows), width), "int32")  # 0: padding
            for i, row in enumerate(rows):
                ids[i, : len(tokens[row].ids)], mask[i, : len(tokens[row].ids)] = tokens[row].ids, 1
            feed = {"token_ids": ids, "padding_mask": mask, "linear": linear[rows]}
            binary[rows], related[rows] = self.session.run(["binary", "related"], feed)
        empty = np.array([not words for words in cleaned], dtype=bool)
        binary[empty], related[empty] = np.nan, np.nan
        return binary, related

    def classify(self, messages: str | Iterable[str]) -> list[dict]:
        """One dict per message: the message, its labels, related (0/1/2), probabilities."""
        batch = as_batch(messages)
        binary, related = self.probabilities(batch)
        on = binary >= self.thresholds  # NaN (no words) is never on
        classes = np.where(
            np.isnan(related[:, 0]), 0, np.nan_to_num(related * self.related_weights).argmax(1)
        )
        return [
            {
                "message": message,
                "related": int(classes[row]),
                "labels": [label for label, yes in zip(self.labels, on[row], strict=True) if yes],
                "probabilities": dict(zip(self.labels, map(float, binary[row]), strict=True)),
            }
            for row, message in enumerate(batch)
        ]


def load(folder: str | Path, variant: str | None = None) -> ServedModel:
    """The export in ``folder``, ready to classify: its network chosen on validation (notebook
    11), or ``variant`` "fp32" or "int8"."""
    return ServedModel(folder, variant)
