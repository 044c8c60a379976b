"""Export the series' final model as one TensorFlow SavedModel that reads raw message strings.

The served model (notebook 08) has three parts: the pretrained encoder with its KerasHub
tokenizer, the TF-IDF + logistic regression baseline fed by notebook 03's cleaning, and the
Keras blend. The encoder network and the blend are Keras already; the cleaning, the baseline
and the tokenizer are rebuilt here from core TensorFlow ops (``tf.strings`` with RE2 regular
expressions, lookup tables, a sparse product), so the exported graph needs neither Python nor
this package to run, and not even ``tensorflow-text``.
SavedModel is TensorFlow's format: exporting needs ``KERAS_BACKEND=tensorflow``, whatever
backend trained the model (``python -m helpers.export`` runs it in its own process).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers import inference, linear, session
from helpers.data import BINARY_LABELS, RELATED, RELATED_CLASSES

SERVING_SCRIPT = Path(__file__).resolve().parent.parent / "serving" / "classify.py"
RULES_FILE = "decision_rules.json"

# Python's \w and \s, spelled for RE2 (TensorFlow's regex engine), whose own \w, \s and \b
# are ASCII-only. RE2 has no look-behind either: "(^|[^\w])" captures the character before.
WORD = r"\pL\pN_"
SPACE = r"\s\v\x{1c}-\x{1f}\x{85}\pZ"
BEFORE = rf"(^|[^{WORD}])"
AFTER = rf"([^{WORD}]|$)"
# html.unescape for the entities the messages use (tests/test_export.py checks every message);
# "&amp;" goes last so that "&amp;lt;" becomes "&lt;", as html.unescape leaves it.
ENTITIES = (
    (r"&#0*39;?|&#[xX]0*27;?|&apos;", "'"),
    (r"&#0*8216;?", "\u2018"),
    (r"&#0*8217;?", "\u2019"),
    (r"&#0*8220;?", "\u201c"),
    (r"&#0*8221;?", "\u201d"),
    (r"&lt;?", "<"),
    (r"&gt;?", ">"),
    (r"&quot;?", '"'),
    (r"&nbsp;?", "\u00a0"),
    (r"&amp;?", "&"),
)
# helpers.text's rules in the same order, each rewritten without look-arounds.
BEFORE_CASEFOLD = (
    (r"[\x{2019}\x{2018}\x{02bc}`\x{b4}]", "'"),
    (
        rf"(?i){BEFORE}((?:https?://|www\.)[^{SPACE}]+"
        rf"|https?[{SPACE}]+[{WORD}-]+(?:\.[{WORD}-]+)+(?:[{SPACE}]*/?[{SPACE}]*[{WORD}]*\p{{Nd}}[{WORD}]*)?"
        rf"|bit\.ly[{SPACE}]*/?[{SPACE}]*[{WORD}]*)",
        r"\1 xxurl ",
    ),
    (rf"{BEFORE}@[{WORD}]+", r"\1 xxuser "),
    (rf"{BEFORE}#([{WORD}]+)", r"\1\2"),
    (rf"(?i){BEFORE}won't{AFTER}", r"\1will not\2"),
    (rf"(?i){BEFORE}can'?t{AFTER}", r"\1can not\2"),
    (rf"(?i)n't{AFTER}", r" not\1"),
    (
        rf"(?i){BEFORE}(do|does|did|is|are|was|were|has|have|had|could|would|should)nt{AFTER}",
        r"\1\2 not\3",
    ),
    (rf"(?i)'re{AFTER}", r" are\1"),
    (rf"(?i)'m{AFTER}", r" am\1"),
    (rf"(?i)'ll{AFTER}", r" will\1"),
    (rf"(?i)'ve{AFTER}", r" have\1"),
    (rf"(?i)'d{AFTER}", r" would\1"),
    (rf"(?i)'s{AFTER}", r"\1"),
)
AFTER_CASEFOLD = (
    (r"([\pL\p{Nl}\p{No}])(\p{Nd})", r"\1 \2"),  # glued digits, letter then digit ...
    (r"(\p{Nd})([\pL\p{Nl}\p{No}])", r"\1 \2"),  # ... and digit then letter
    (r"\p{Nd}[\p{Nd}.,:/-]*", " xxnum "),
    (r"[^\pL\pN]+", " "),
)
# RE2 has no back-references, so "(\w)\1{2,}" becomes one rule per letter; a letter outside
# this alphabet repeated three times or more stays as it is (none does in the dataset).
REPEATABLE = "abcdefghijklmnopqrstuvwxyzàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿœ"


def require_tensorflow_backend() -> None:
    """Raise a clear error unless Keras runs on TensorFlow, which SavedModel export needs."""
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"Exporting a SavedModel needs the TensorFlow backend; this process runs "
            f"{keras.backend.backend()}. Run `KERAS_BACKEND=tensorflow python -m helpers.export`."
        )


def changed_characters(function: Callable[[str], str]) -> dict[str, str]:
    """Every Unicode character that ``function`` changes, with what it becomes."""
    chars = (chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)
    return {char: mapped for char in chars if (mapped := function(char)) != char}


class CharacterMap(tf.Module):
    """Apply a per-character function (str.casefold, say) to string tensors, through a lookup
    table of the characters it changes: TensorFlow has no op for most of Unicode's mappings."""

    def __init__(self, function: Callable[[str], str]):
        super().__init__(name=function.__name__)
        changes = changed_characters(function)
        values = ["=" + mapped for mapped in changes.values()]  # "=": found, even if mapped to ""
        initializer = tf.lookup.KeyValueTensorInitializer(list(changes), values)
        self.table = tf.lookup.StaticHashTable(initializer, default_value="")

    def __call__(self, texts):
        chars = tf.strings.unicode_split(texts, "UTF-8", errors="replace")
        found = self.table.lookup(chars.flat_values)
        mapped = tf.where(found == "", chars.flat_values, tf.strings.regex_replace(found, "^=", ""))
        return tf.strings.reduce_join(chars.with_flat_values(mapped), axis=-1)


class TextCleaner(tf.Module):
    """helpers.text.clean_text for a 1-D string tensor, in TensorFlow ops."""

    def __init__(self):
        super().__init__(name="text_cleaner")
        self.casefold = CharacterMap(str.casefold)

    def __call__(self, texts):
        for pattern, replacement in ENTITIES + BEFORE_CASEFOLD:
            texts = tf.strings.regex_replace(texts, pattern, replacement)
        texts = self.casefold(texts)
        for pattern, replacement in AFTER_CASEFOLD:
            texts = tf.strings.regex_replace(texts, pattern, replacement)
        for letter in REPEATABLE:
            texts = tf.strings.regex_replace(texts, letter + "{3,}", letter * 2)
        return tf.strings.strip(tf.strings.regex_replace(texts, " +", " "))


def _columns(baseline: linear.LinearBaseline) -> tuple[np.ndarray, np.ndarray]:
    """The baselines' coefficients as one (features, 38) matrix and (38,) intercepts: one
    column per binary label, then related's three classes. An output with nothing learned
    gets intercept -inf, so its probability is exactly 0, as in ``linear.predict_linear``."""
    n_features = len(baseline.tfidf.vocabulary_)
    coef = np.zeros((n_features, len(BINARY_LABELS) + len(RELATED_CLASSES)), dtype="float32")
    intercept = np.full(coef.shape[1], -np.inf, dtype="float32")
    for column, label in enumerate(BINARY_LABELS):
        classifier = baseline.classifiers[label]
        if classifier is not None:
            coef[:, column] = classifier.coef_[0]
            intercept[column] = classifier.intercept_[0]
    related = baseline.classifiers[RELATED]
    if related is not None:
        for row, cls in enumerate(related.classes_):
            coef[:, len(BINARY_LABELS) + cls] = related.coef_[row]
            intercept[len(BINARY_LABELS) + cls] = related.intercept_[row]
    return coef, intercept


class LinearBaselineGraph(tf.Module):
    """``linear.predict_linear`` on cleaned text tensors: the same TF-IDF (1-2-grams of tokens
    of 2+ characters, 1 + log of counts, idf, L2 norm) and logistic regressions (a sigmoid per
    label, a softmax for related)."""

    def __init__(self, baseline: linear.LinearBaseline):
        super().__init__(name="linear_baseline")
        tfidf = baseline.tfidf
        terms = sorted(tfidf.vocabulary_, key=tfidf.vocabulary_.get)
        coef, intercept = _columns(baseline)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(terms, tf.range(len(terms), dtype=tf.int64)),
            default_value=-1,
        )
        self.idf = tf.Variable(tfidf.idf_.astype("float32"), trainable=False)
        self.coef = tf.Variable(coef, trainable=False)
        self.intercept = tf.Variable(intercept, trainable=False)

    def __call__(self, cleaned):
        """{"linear_<label>": probabilities} for a 1-D tensor of cleaned texts."""
        tokens = tf.strings.split(cleaned)
        tokens = tf.ragged.boolean_mask(tokens, tf.strings.length(tokens, unit="UTF8_CHAR") >= 2)
        grams = tf.concat([tokens, tf.strings.ngrams(tokens, 2, separator=" ")], axis=1)
        ids = self.table.lookup(grams.flat_values)
        rows = grams.value_rowids()  # which text each term comes from
        known = ids >= 0  # terms outside the vocabulary are ignored
        size = tf.cast(tf.shape(self.idf)[0], tf.int64)
        keys, _, counts = tf.unique_with_counts(  # how often each (text, term) occurs
            tf.sort(tf.boolean_mask(rows, known) * size + tf.boolean_mask(ids, known))
        )
        rows, ids = keys // size, keys % size
        n = tf.shape(cleaned, out_type=tf.int64)[0]
        values = (1.0 + tf.math.log(tf.cast(counts, tf.float32))) * tf.gather(self.idf, ids)
        norms = tf.sqrt(tf.math.unsorted_segment_sum(values**2, rows, n))
        values = values / tf.gather(norms, rows)
        features = tf.SparseTensor(tf.stack([rows, ids], axis=1), values, [n, size])
        logits = tf.sparse.sparse_dense_matmul(features, self.coef) + self.intercept
        binary = tf.sigmoid(logits[:, : len(BINARY_LABELS)])
        related = tf.nn.softmax(logits[:, len(BINARY_LABELS) :])
        out = {f"linear_{label}": binary[:, i : i + 1] for i, label in enumerate(BINARY_LABELS)}
        return out | {f"linear_{RELATED}": related}


# KerasHub's BertTokenizer, as its TensorFlow path runs it (keras_hub 0.32, word_piece_tokenizer
# .py), but in TensorFlow's own ops: its NFD and case-folding ops come from tensorflow-text, which
# a plain `import tensorflow` does not load. tests/test_export.py compares the two on test messages.
BERT_WHITESPACE = r"\s|\p{Cc}|\p{Cf}"
BERT_PUNCTUATION = r"[!-/]|[:-@]|[\[-`]|[{-~]|[\p{P}]"
BERT_CJK = (
    r"[\x{4E00}-\x{9FFF}]|[\x{3400}-\x{4DBF}]|[\x{20000}-\x{2A6DF}]|[\x{2A700}-\x{2B73F}]"
    r"|[\x{2B740}-\x{2B81F}]|[\x{2B820}-\x{2CEAF}]|[\x{F900}-\x{FAFF}]|[\x{2F800}-\x{2FA1F}]"
)
MAX_BYTES_PER_WORD = 100  # a longer word is one [UNK], as in tensorflow-text's WordPiece


def without_accents(char: str) -> str:
    """NFD, drop the accent marks (category Mn), compose again ("é" -> "e", "한" stays)."""
    marks_dropped = (
        c for c in unicodedata.normalize("NFD", char) if unicodedata.category(c) != "Mn"
    )
    return unicodedata.normalize("NFC", "".join(marks_dropped))


def nfkc_casefold(char: str) -> str:
    """Unicode NFKC case folding of one character ("ﬁ" -> "fi", "Ａ" -> "a")."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", char).casefold())


class BertTokenizerGraph(tf.Module):
    """Raw strings -> (n, sequence_length) token ids, [CLS] ... [SEP] and 0-padded, exactly as
    ``encoder.preprocessor`` gives them, in core TensorFlow ops."""

    def __init__(self, vocabulary: list[str], sequence_length: int):
        super().__init__(name="bert_tokenizer")
        self.ids = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                vocabulary, tf.range(len(vocabulary), dtype=tf.int64)
            ),
            default_value=-1,
        )
        self.without_accents = CharacterMap(without_accents)
        self.casefold = CharacterMap(nfkc_casefold)
        self.longest = max(len(token.removeprefix("##")) for token in vocabulary)
        self.unknown, self.cls, self.sep = (
            vocabulary.index(token) for token in ("[UNK]", "[CLS]", "[SEP]")
        )
        self.sequence_length = sequence_length

    def words(self, texts):
        """Strip accents, split on whitespace, keep punctuation and CJK as words, casefold."""
        texts = tf.strings.regex_replace(texts, BERT_CJK, r" \0 ")
        texts = self.without_accents(texts)
        texts = tf.strings.regex_replace(texts, f"{BERT_PUNCTUATION}|{BERT_CJK}", r" \0 ")
        texts = tf.strings.regex_replace(texts, f"(?:{BERT_WHITESPACE})+", " ")
        words = tf.strings.split(tf.strings.strip(texts), sep=" ")
        return words.with_flat_values(self.casefold(words.flat_values))

    def word_pieces(self, words):
        """WordPiece: from the start of each word, take the longest piece in the vocabulary
        ("##"-prefixed after the first), and go on after it; a word that cannot be
        covered, or is over 100 bytes, becomes one [UNK]."""
        n_words = tf.shape(words, out_type=tf.int64)[0]
        lengths = tf.cast(tf.strings.length(words, unit="UTF8_CHAR"), tf.int64)
        positions = tf.ragged.range(lengths)  # every (word, start) where a piece may begin
        word, start = positions.value_rowids(), positions.flat_values
        left = tf.gather(lengths, word) - start
        size = tf.range(1, self.longest + 1, dtype=tf.int64)[None, :]
        pieces = tf.strings.substr(
            tf.broadcast_to(tf.gather(words, word)[:, None], [tf.size(start), self.longest]),
            tf.broadcast_to(start[:, None], [tf.size(start), self.longest]),
            tf.broadcast_to(tf.minimum(size, left[:, None]), [tf.size(start), self.longest]),
            unit="UTF8_CHAR",
        )
        ids = self.ids.lookup(tf.where(start[:, None] > 0, "##" + pieces, pieces))
        found = (ids >= 0) & (size <= left[:, None])
        longest = tf.reduce_max(tf.where(found, size, 0), axis=1)  # 0: no piece fits
        longest_id = tf.reduce_max(tf.where(found & (size == longest[:, None]), ids, -1), 1)

        def step(at, failed, taken):  # every word moves on by its longest piece
            active = at < lengths
            where = tf.where(active, positions.row_starts() + at, 0)
            jump = tf.where(active, tf.gather(longest, where), 0)
            piece = tf.where(jump > 0, tf.gather(longest_id, where), -1)
            failed |= active & (jump == 0)
            return (
                tf.where(jump > 0, at + jump, lengths),
                failed,
                taken.write(taken.size(), piece),
            )

        _, failed, taken = tf.while_loop(
            lambda at, failed, taken: tf.reduce_any(at < lengths),
            step,
            (
                tf.zeros([n_words], tf.int64),
                tf.zeros([n_words], tf.bool),
                tf.TensorArray(tf.int64, size=0, dynamic_size=True, element_shape=[None]),
            ),
        )
        taken = tf.concat(  # (words, steps + 1): piece ids, -1 where a word had ended
            [
                tf.reshape(tf.transpose(taken.stack()), [n_words, -1]),
                -tf.ones([n_words, 1], tf.int64),
            ],
            axis=1,
        )
        unknown = failed | (tf.strings.length(words) > MAX_BYTES_PER_WORD)
        first = tf.range(tf.shape(taken, out_type=tf.int64)[1])[None, :] == 0
        taken = tf.where(
            unknown[:, None], tf.where(first, tf.constant(self.unknown, tf.int64), -1), taken
        )
        return tf.ragged.boolean_mask(taken, taken >= 0)

    def __call__(self, texts):
        words = self.words(texts)
        ids = words.with_flat_values(self.word_pieces(words.flat_values)).merge_dims(1, 2)
        n = tf.shape(texts, out_type=tf.int64)[0]
        ends = [tf.fill([n, 1], tf.constant(token, tf.int64)) for token in (self.cls, self.sep)]
        packed = tf.concat([ends[0], ids[:, : self.sequence_length - 2], ends[1]], axis=1)
        return tf.cast(packed.to_tensor(0, shape=[None, self.sequence_length]), tf.int32)


def export_dir(mode: str) -> Path:
    """build/export for the full run (what `make run` ships), build/export-quick for quick
    (beside build/models, wherever $SERIES_MODELS_DIR puts that); under build/lab/ when a
    learner runs notebook 11 by hand, so their run never replaces what the series ships."""
    root = inference.MODELS_DIR.parent
    if not session.run_by_the_series():
        root = root / "lab"
    return root / ("export" if mode == "full" else f"export-{mode}")


def write_rules(directory: Path, thresholds: np.ndarray, related_weights: np.ndarray) -> Path:
    """The decision rules beside the export, in a form any language can apply."""
    rules = {
        "binary_labels": list(BINARY_LABELS),
        "thresholds": [float(t) for t in thresholds],
        "related_classes": list(RELATED_CLASSES),
        "related_weights": [float(w) for w in related_weights],
        "how": "label i is on when binary[i] >= thresholds[i]; "
        "related = argmax over k of related[k] * related_weights[k]",
    }
    path = directory / RULES_FILE
    path.write_text(json.dumps(rules, indent=1), encoding="utf-8")
    return path


def export_final(mode: str, destination: Path | None = None) -> Path:
    """Write notebook 08's final model as a SavedModel with a ``serve`` endpoint: a 1-D batch
    of raw messages in, {"binary": (n, 35), "related": (n, 3)} probabilities out; the
    decision rules go beside it. The folder is replaced only once the export is complete."""
    require_tensorflow_backend()
    final = inference.load_final_classifier(inference.artifact_dir(mode))
    encoder, blend = final.encoder, final.model
    tokenizer = BertTokenizerGraph(
        encoder.preprocessor.tokenizer.get_vocabulary(), encoder.preprocessor.sequence_length
    )
    cleaner, baseline = TextCleaner(), LinearBaselineGraph(final.baseline)

    def serve(messages):
        messages = tf.strings.substr(messages, 0, inference.MAX_CHARACTERS, unit="UTF8_CHAR")
        token_ids = tokenizer(messages)
        mask = tf.cast(token_ids != 0, tf.int32)
        width = tf.maximum(tf.reduce_max(tf.reduce_sum(mask, axis=1)), 1)  # cut the padding
        vectors = encoder.model(
            {"token_ids": token_ids[:, :width], "padding_mask": mask[:, :width]}
        )
        outputs = blend({"sentence_vector": vectors} | baseline(cleaner(messages)))
        binary = tf.concat([outputs[label] for label in BINARY_LABELS], axis=1)
        return {"binary": binary, RELATED: outputs[RELATED]}

    archive = keras.export.ExportArchive()
    for resource in (tokenizer, encoder.model, cleaner, baseline, blend):
        archive.track(resource)
    archive.add_endpoint("serve", serve, input_signature=[tf.TensorSpec([None], tf.string)])
    destination = destination or export_dir(mode)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    logger, level = tf.get_logger(), tf.get_logger().level
    try:
        logger.setLevel("ERROR")  # TensorFlow logs "Assets written to: <temporary folder>"
        archive.write_out(str(staging), verbose=False)
        write_rules(staging, final.thresholds, final.related_weights)
        shutil.rmtree(destination, ignore_errors=True)
        staging.rename(destination)
    finally:
        logger.setLevel(level)
        shutil.rmtree(staging, ignore_errors=True)
    return destination


def export_in_tensorflow_process(mode: str) -> Path:
    """``export_final`` from a notebook on another backend: a separate Python process with
    ``KERAS_BACKEND=tensorflow`` (a backend is fixed once Keras is imported)."""
    session.run_module(
        "helpers.export", [mode], "tensorflow", "the export in its TensorFlow process"
    )
    return export_dir(mode)


if __name__ == "__main__":
    print(f"exported to {export_final(sys.argv[1] if len(sys.argv) > 1 else 'full')}")
