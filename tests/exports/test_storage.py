"""Artifact storage: atomic, immutable, hashed while written."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from exports.storage import (
    ArtifactExists,
    ArtifactNotFound,
    HashingWriter,
    LocalStore,
    StorageError,
    StoredArtifact,
    digest_stream,
    sha256_file,
    sha256_stream,
    store_from_env,
)

KEY = "runs/2026/12/01HRUN/avisos.csv"


def leftovers(root: Path) -> list[Path]:
    """Temp files (the store's dot names) anywhere under root."""
    return [p for p in root.rglob(".*") if p.is_file()]


def test_publish_and_read(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    data = b"a,b\r\n1,2\r\n"
    with store.writer(KEY) as w:
        w.write(data[:4])
        w.writelines([data[4:7], bytearray(data[7:])])
        assert w.size == len(data)
    assert w.result == StoredArtifact(KEY, len(data), hashlib.sha256(data).hexdigest())
    assert store.exists(KEY)
    assert store.size(KEY) == len(data)
    with store.open(KEY) as f:
        assert f.read() == data
    assert store.path(KEY) == tmp_path / "runs" / "2026" / "12" / "01HRUN" / "avisos.csv"
    assert sha256_file(store.path(KEY)) == w.result.sha256
    assert leftovers(tmp_path) == []


def test_published_file_is_read_only(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with store.writer(KEY) as w:
        w.write(b"x")
    mode = stat.S_IMODE(os.stat(store.path(KEY)).st_mode)
    assert mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0
    assert mode & stat.S_IRUSR


def test_result_only_after_publishing(tmp_path: Path) -> None:
    with LocalStore(tmp_path).writer(KEY) as w:
        with pytest.raises(StorageError) as e:
            _ = w.result
        assert e.value.code == "not_published"


def test_csv_through_text_wrapper(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with store.writer(KEY) as w:
        text = io.TextIOWrapper(w, encoding="utf-8", newline="")
        csv.writer(text).writerows([["especie", "kg"], ["Camarón", "12.5"]])
        text.close()  # closes w too: the store must still publish
        assert w.closed
    expected = "especie,kg\r\nCamarón,12.5\r\n".encode()
    assert w.result.sha256 == hashlib.sha256(expected).hexdigest()
    assert store.path(KEY).read_bytes() == expected


def test_writer_refuses_writes_after_close_and_fileno(tmp_path: Path) -> None:
    with LocalStore(tmp_path).writer(KEY) as w:
        assert w.writable() and not w.readable() and not w.seekable()
        with pytest.raises(io.UnsupportedOperation):
            w.fileno()  # bytes written around the hash would make the digest lie
        w.close()
        with pytest.raises(ValueError):
            w.write(b"late")


def test_zipfile_can_stream_into_writer(tmp_path: Path) -> None:
    import zipfile

    store = LocalStore(tmp_path)
    with store.writer("runs/x/capas.zip") as w, zipfile.ZipFile(w, "w") as z:
        z.writestr("a.txt", "hola")
    with store.open("runs/x/capas.zip") as f, zipfile.ZipFile(f) as z:
        assert z.read("a.txt") == b"hola"


def test_exception_inside_writer_publishes_nothing(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(RuntimeError, match="exporter failed"), store.writer(KEY) as w:
        w.write(b"half a file")
        raise RuntimeError("exporter failed")
    assert not store.exists(KEY)
    assert leftovers(tmp_path) == []
    with pytest.raises(StorageError):
        _ = w.result
    # The key is still free for a good attempt.
    with store.writer(KEY) as w2:
        w2.write(b"whole file")
    assert store.path(KEY).read_bytes() == b"whole file"


def test_same_bytes_again_is_a_no_op(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with store.writer(KEY) as w1:
        w1.write(b"same")
    with store.writer(KEY) as w2:
        w2.write(b"same")
    assert w2.result == w1.result
    assert leftovers(tmp_path) == []


def test_different_bytes_raise_artifact_exists(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with store.writer(KEY) as w:
        w.write(b"first")
    with pytest.raises(ArtifactExists) as e, store.writer(KEY) as w2:
        w2.write(b"second")
    assert e.value.code == "artifact_exists"
    assert e.value.existing_sha256 == w.result.sha256
    assert store.path(KEY).read_bytes() == b"first"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("key", "code"), [
    ("", "key_empty"),
    ("/etc/passwd", "key_absolute"),
    ("runs/../../etc/passwd", "key_dot_segment"),
    ("runs/./a.csv", "key_dot_segment"),
    ("..", "key_dot_segment"),
    ("runs\\a.csv", "key_backslash"),
    ("runs//a.csv", "key_empty_segment"),
    ("runs/a/", "key_empty_segment"),
    ("runs/.a.csv.tmp", "key_hidden_segment"),
    ("runs/a\x00.csv", "key_invalid_char"),
    ("runs/a\n.csv", "key_invalid_char"),
])
def test_key_validation(tmp_path: Path, key: str, code: str) -> None:
    store = LocalStore(tmp_path)
    for call in (store.exists, store.open, store.size, store.path):
        with pytest.raises(StorageError) as e:
            call(key)
        assert e.value.code == code
    with pytest.raises(StorageError) as e, store.writer(key):
        pass
    assert e.value.code == code
    assert list(tmp_path.iterdir()) == []


def test_missing_key(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    assert not store.exists(KEY)
    for call in (store.open, store.size, store.path):
        with pytest.raises(ArtifactNotFound) as e:
            call(KEY)
        assert e.value.code == "artifact_not_found"


def test_store_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = tmp_path / "default"
    store = store_from_env({}, default)
    assert isinstance(store, LocalStore) and store.root == default
    store = store_from_env({"CARDUMEN_ARTIFACTS": "  "}, default)
    assert isinstance(store, LocalStore) and store.root == default
    store = store_from_env({"CARDUMEN_ARTIFACTS": str(tmp_path / "a")}, default)
    assert isinstance(store, LocalStore) and store.root == tmp_path / "a"
    store = store_from_env({"CARDUMEN_ARTIFACTS": f"file://{tmp_path}/b%20c"}, default)
    assert isinstance(store, LocalStore) and store.root == tmp_path / "b c"
    store = store_from_env({"CARDUMEN_ARTIFACTS": f"FILE://localhost{tmp_path}/d"}, default)
    assert isinstance(store, LocalStore) and store.root == tmp_path / "d"
    monkeypatch.chdir(tmp_path)
    store = store_from_env({"CARDUMEN_ARTIFACTS": "rel/dir"}, default)
    assert isinstance(store, LocalStore) and store.root == tmp_path / "rel" / "dir"


@pytest.mark.parametrize(("value", "code"), [
    ("s3://bucket/prefix", "unsupported_scheme"),
    ("https://example.org/x", "unsupported_scheme"),
    ("file://otherhost/srv/x", "invalid_url"),
    ("file://relative", "invalid_url"),
    ("file:///srv/x?versioned=1", "invalid_url"),
])
def test_store_from_env_refuses(tmp_path: Path, value: str, code: str) -> None:
    with pytest.raises(StorageError) as e:
        store_from_env({"CARDUMEN_ARTIFACTS": value}, tmp_path)
    assert e.value.code == code
    if code == "unsupported_scheme":
        assert "only local storage" in str(e.value)
        assert "ArtifactStore" in str(e.value)


def test_hash_helpers(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk
    p = tmp_path / "blob"
    p.write_bytes(data)
    expected = hashlib.sha256(data).hexdigest()
    assert sha256_file(p) == expected
    assert sha256_stream(io.BytesIO(data)) == expected
    assert digest_stream(io.BytesIO(data)) == (expected, len(data))


def test_hashing_writer_alone() -> None:
    raw = io.BytesIO()
    w = HashingWriter(raw, "k")
    w.write(b"abc")
    assert w.tell() == 3
    assert w.hexdigest() == hashlib.sha256(b"abc").hexdigest()
    assert raw.getvalue() == b"abc"
    with pytest.raises(TypeError):
        w.write("text")
    w.close()  # no file descriptor to fsync: closing still works
    assert w.closed and raw.closed


def test_concurrent_writers_never_clobber(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(ArtifactExists), store.writer(KEY) as slow:
        slow.write(b"slow writer")
        with store.writer(KEY) as fast:
            fast.write(b"fast writer")
        # fast published first; slow now finds the key taken by other bytes.
    assert store.path(KEY).read_bytes() == b"fast writer"
    assert leftovers(tmp_path) == []
