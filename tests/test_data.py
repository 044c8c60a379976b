"""helpers.data: the schema, the verified fetch, the cache, a clear error for each bad input."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from helpers import data
from helpers.data import DatasetError


def tiny_frame(rows_per_split: int = 2) -> pd.DataFrame:
    """A schema-valid frame: every column of the real CSV, a few rows in each split."""
    rows = []
    for split in data.SPLITS:
        for i in range(rows_per_split):
            row = {c: 0 for c in data.CSV_COLUMNS}
            row.update(
                id=len(rows), split=split, message=f"need water {i}", original="", genre="direct"
            )
            row.update(related=i % 3, water=1)
            rows.append(row)
    return pd.DataFrame(rows, columns=list(data.CSV_COLUMNS))


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def make_archive(path: Path, members: dict[str, bytes]) -> Path:
    """A .tar.gz holding ``members`` (name -> bytes), like the pinned source distribution."""
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


@pytest.fixture
def serve_archive(monkeypatch, tmp_path):
    """Make fetch() 'download' an archive built by the test instead of calling pip."""

    def serve(members: dict[str, bytes], trust_archive: bool = True) -> Path:
        source = make_archive(tmp_path / "served.tar.gz", members)
        if trust_archive:
            monkeypatch.setattr(data, "ARCHIVE_SHA256", sha(source.read_bytes()))

        def fake_download(dest: Path) -> Path:
            target = dest / data.ARCHIVE_NAME
            target.write_bytes(source.read_bytes())
            return target

        monkeypatch.setattr(data, "download_archive", fake_download)
        return source

    return serve


def test_schema_has_36_outputs_one_of_them_three_way():
    assert len(data.BINARY_LABELS) == 35 and len(set(data.BINARY_LABELS)) == 35
    assert data.LABELS[0] == "related" and len(data.LABELS) == 36
    assert "PII" not in data.LABELS and "PII" in data.CSV_COLUMNS
    assert data.RELATED_CLASSES == (0, 1, 2)
    grouped = [label for group in data.HEAD_GROUPS.values() for label in group]
    assert sorted(grouped) == sorted(data.LABELS), "every head in exactly one group"


def test_real_dataset_has_the_official_splits():
    splits = data.load_splits()
    assert [len(s) for s in splits] == [21_046, 2_573, 2_629]
    assert list(splits.train.columns) == [*data.META_COLUMNS, *data.LABELS]
    assert splits.train["child_alone"].sum() == 0
    assert splits.train["offer"].sum() == 0 and splits.test["offer"].sum() > 0


def test_second_fetch_uses_the_cache_and_never_downloads(monkeypatch, data_dir):
    (data_dir / data.CSV_NAME).write_bytes(data.fetch().read_bytes())

    def no_network(dest):
        raise AssertionError("fetch() tried to download although the cache is good")

    monkeypatch.setattr(data, "download_archive", no_network)
    assert data.fetch(data_dir) == data_dir / data.CSV_NAME


def test_fetch_extracts_only_the_csv_and_writes_it_atomically(monkeypatch, serve_archive, data_dir):
    payload = tiny_frame().to_csv(index=False).encode()
    monkeypatch.setattr(data, "CSV_SHA256", sha(payload))
    serve_archive({data.CSV_MEMBER: payload, "pkg/setup.py": b"print('never run')"})
    path = data.fetch(data_dir)
    assert path.read_bytes() == payload
    assert sorted(p.name for p in data_dir.iterdir()) == [data.CSV_NAME]
    assert len(data.load_splits(path).train) == 2


def test_offline_with_no_cache_says_where_to_put_the_file(monkeypatch, data_dir):
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip fails at once, as it does with no network
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    with pytest.raises(DatasetError, match="offline") as error:
        data.fetch(data_dir)
    assert str(data_dir / data.CSV_NAME) in str(error.value)
    assert data.CSV_ENV_VAR in str(error.value)
    assert list(data_dir.iterdir()) == []


def test_archive_checksum_mismatch_writes_nothing(serve_archive, data_dir):
    serve_archive({data.CSV_MEMBER: b"id\n"}, trust_archive=False)
    with pytest.raises(DatasetError, match="Checksum mismatch for the downloaded archive"):
        data.fetch(data_dir)
    assert list(data_dir.iterdir()) == []


def test_csv_checksum_mismatch_leaves_no_partial_file(serve_archive, data_dir):
    serve_archive({data.CSV_MEMBER: b"id,split\n1,train\n"})
    with pytest.raises(DatasetError, match=f"Checksum mismatch for {data.CSV_NAME}"):
        data.fetch(data_dir)
    assert list(data_dir.iterdir()) == []


def test_archive_without_the_csv_member_is_refused(serve_archive, data_dir):
    serve_archive({"elsewhere/disaster_response_messages.csv": b"x"})
    with pytest.raises(DatasetError, match="has no member"):
        data.fetch(data_dir)
    assert list(data_dir.iterdir()) == []


def test_corrupted_cache_is_reported_and_left_for_the_user(monkeypatch, data_dir):
    cached = data_dir / data.CSV_NAME
    cached.write_bytes(b"truncated")
    monkeypatch.setattr(data, "download_archive", lambda dest: pytest.fail("downloaded"))
    with pytest.raises(DatasetError, match="Delete it and run `make data`"):
        data.fetch(data_dir)
    assert cached.read_bytes() == b"truncated"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.drop(columns=["water"]), r"missing \['water'\]"),
        (lambda f: f.assign(extra_label=0), r"unexpected \['extra_label'\]"),
        (lambda f: f.assign(related=3), r"'related' has values \['3'\]"),
        (lambda f: f.assign(food=2), r"'food' has values \['2'\]"),
        (lambda f: f.assign(food=None), r"'food' has values \['<missing>'\]"),
        (lambda f: f[f["split"] != "test"], r"missing \['test'\]"),
        (lambda f: f.assign(split="dev"), r"found \['dev'\]"),
        (lambda f: f.assign(message=None), "have no message"),
        (lambda f: f.iloc[0:0], "header but no rows"),
    ],
    ids=["missing-column", "extra-column", "related-3", "binary-2", "nan-label",
         "split-missing", "unknown-split", "no-message", "header-only"],
)  # fmt: skip
def test_bad_csv_gets_a_clear_error(tmp_path, edit, message):
    path = write_csv(edit(tiny_frame()), tmp_path / "own.csv")
    with pytest.raises(DatasetError, match=message):
        data.load_splits(path)


def test_empty_file_is_reported(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DatasetError, match="is empty"):
        data.load_splits(empty)


def test_own_copy_via_environment_variable(monkeypatch, tmp_path):
    path = write_csv(tiny_frame(3), tmp_path / "own.csv")
    monkeypatch.setenv(data.CSV_ENV_VAR, str(path))
    splits = data.load_splits()
    assert [len(s) for s in splits] == [3, 3, 3]
    assert "PII" not in splits.test.columns and splits.test["related"].dtype == "int64"


def test_own_copy_that_does_not_exist(monkeypatch, tmp_path):
    monkeypatch.setenv(data.CSV_ENV_VAR, str(tmp_path / "nowhere.csv"))
    with pytest.raises(DatasetError, match=r"\$DISASTER_CSV points at .*nowhere.csv"):
        data.load_splits()
