"""Where report artifacts live: an immutable key -> bytes store.

A report run writes its files once and never changes them (an amendment is a
new run), so the store refuses to overwrite a key with different bytes. Keys
are relative POSIX paths such as ``runs/2026/12/<run-id>/avisos.csv``.

Only local storage exists (``LocalStore``). ``ArtifactStore`` is the interface
another backend (an object store, say) would implement; ``store_from_env`` is
the one place that would learn its URL scheme.

Writing streams through a ``HashingWriter``, which hashes while it writes, so
publishing a multi-gigabyte file never reads it back::

    with store.writer("runs/2026/12/r1/avisos.csv") as w:
        text = io.TextIOWrapper(w, encoding="utf-8", newline="")
        csv.writer(text).writerows(rows)
        text.detach()  # hand the buffered text to ``w`` (or close ``text``)
    w.result  # StoredArtifact(key, size, sha256)
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import re
import stat
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol
from urllib.parse import unquote, urlsplit

CHUNK = 1024 * 1024
ENV_VAR = "CARDUMEN_ARTIFACTS"


class StorageError(Exception):
    """A storage problem with a stable ``code`` (for logs, problems and tests)."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class ArtifactExists(StorageError):
    """The key is already published with different bytes."""

    def __init__(self, key: str, existing_sha256: str, new_sha256: str) -> None:
        super().__init__("artifact_exists",
                         f"{key} is already stored with sha256 {existing_sha256}, not {new_sha256}")
        self.key = key
        self.existing_sha256 = existing_sha256
        self.new_sha256 = new_sha256


class ArtifactNotFound(StorageError):
    def __init__(self, key: str) -> None:
        super().__init__("artifact_not_found", key)
        self.key = key


@dataclass(frozen=True, slots=True)
class StoredArtifact:
    key: str
    size: int
    sha256: str  # lowercase hex


class HashingWriter(io.BufferedIOBase):
    """A write-only binary stream that hashes (SHA-256) and counts what it passes on.

    Works wherever a binary file does (``shutil.copyfileobj``, ``zipfile``,
    ``io.TextIOWrapper``). Closing it is harmless and idempotent: a
    ``TextIOWrapper`` closes its buffer, and the store finishes the file either
    way. ``fileno()`` is deliberately unsupported: bytes written around the
    hash would publish a file whose digest lies.
    """

    def __init__(self, raw: IO[bytes], key: str) -> None:
        super().__init__()
        self._raw = raw
        self._key = key
        self._hash = hashlib.sha256()
        self._size = 0
        self._result: StoredArtifact | None = None

    @property
    def key(self) -> str:
        return self._key

    @property
    def name(self) -> str:
        # TextIOWrapper (and its type stub) expects its buffer to have a name.
        return self._key

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    def hexdigest(self) -> str:
        """SHA-256 of the bytes written so far."""
        return self._hash.hexdigest()

    @property
    def result(self) -> StoredArtifact:
        """What was published; only after the ``with`` block ended without error."""
        if self._result is None:
            raise StorageError("not_published", f"{self._key} has not been published")
        return self._result

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        # Append-only from byte 0, so the position is the size; zipfile uses it for offsets.
        return self._size

    def write(self, b: Any) -> int:
        if self.closed:
            raise ValueError("write to closed file")
        view = memoryview(b).cast("B")
        self._raw.write(view)
        self._hash.update(view)
        self._size += len(view)
        return len(view)

    def flush(self) -> None:
        if not self._raw.closed:
            self._raw.flush()

    def close(self) -> None:
        if self.closed:
            return
        try:
            super().close()  # flush(), then mark closed
        finally:
            try:
                if not self._raw.closed:
                    self._raw.flush()
                    # The link/rename publishes a name; without fsync the bytes behind it
                    # may not survive a crash, and an immutable artifact cannot be redone.
                    fd: int | None
                    try:
                        fd = self._raw.fileno()
                    except (AttributeError, io.UnsupportedOperation):
                        fd = None  # an in-memory stream: nothing to make durable
                    if fd is not None:
                        os.fsync(fd)
            finally:
                self._raw.close()

    def _abort(self) -> None:
        # No fsync: these bytes are about to be deleted. An error closing (a full disk
        # flushing the buffer) must not mask the one that aborted the write.
        with contextlib.suppress(OSError, ValueError):
            self._raw.close()
        with contextlib.suppress(OSError, ValueError):
            super().close()


class ArtifactStore(Protocol):
    """Immutable artifact storage; see ``LocalStore`` for the semantics."""

    def writer(self, key: str) -> contextlib.AbstractContextManager[HashingWriter]:
        """Stream bytes for ``key``; published atomically when the block exits cleanly."""
        ...

    def open(self, key: str) -> BinaryIO:
        ...

    def exists(self, key: str) -> bool:
        ...

    def size(self, key: str) -> int:
        ...

    def path(self, key: str) -> Path | None:
        """A local file for ``key`` (for ``send_file``), or None if the backend has none."""
        ...


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_key(key: str) -> str:
    """``key`` if it is a safe relative POSIX path, else StorageError."""
    if not isinstance(key, str) or key == "":
        raise StorageError("key_empty")
    if "\\" in key:
        raise StorageError("key_backslash", repr(key))
    if key.startswith("/"):
        raise StorageError("key_absolute", repr(key))
    if _CONTROL.search(key):
        raise StorageError("key_invalid_char", repr(key))
    for segment in key.split("/"):
        if segment == "":
            raise StorageError("key_empty_segment", repr(key))
        if segment in (".", ".."):
            raise StorageError("key_dot_segment", repr(key))
        if segment.startswith("."):
            # Dot names are the store's own (temp files); keeping them apart means a
            # key can never name another writer's temp file.
            raise StorageError("key_hidden_segment", repr(key))
    return key


class LocalStore:
    """Artifacts as read-only files under ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _file(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[HashingWriter]:
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Same directory as the target: link/rename are only atomic within one filesystem.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        tmp = Path(tmp_name)
        try:
            w = HashingWriter(os.fdopen(fd, "wb"), key)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        try:
            try:
                yield w
            except BaseException:
                w._abort()
                raise
            w.close()
            os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            w._result = self._publish(tmp, target, key, w.size, w.hexdigest())
        finally:
            tmp.unlink(missing_ok=True)

    def _publish(self, tmp: Path, target: Path, key: str, size: int, sha256: str) -> StoredArtifact:
        result = StoredArtifact(key, size, sha256)
        try:
            # link() never replaces an existing name, so two racing writers cannot
            # clobber each other: exactly one wins, the other compares bytes below.
            os.link(tmp, target)
        except FileExistsError:
            return self._same_or_raise(target, result)
        except OSError as e:
            if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK):
                raise
            # Filesystems without hard links (some network mounts): rename after a
            # check. Racy between the two steps, acceptable where links do not exist.
            if target.exists():
                return self._same_or_raise(target, result)
            os.rename(tmp, target)
        _fsync_dir(target.parent)
        return result

    @staticmethod
    def _same_or_raise(target: Path, result: StoredArtifact) -> StoredArtifact:
        existing = sha256_file(target)
        if existing != result.sha256:
            raise ArtifactExists(result.key, existing, result.sha256)
        return result

    def open(self, key: str) -> BinaryIO:
        try:
            return self._file(key).open("rb")
        except (FileNotFoundError, NotADirectoryError):
            raise ArtifactNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self._file(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._file(key).stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            raise ArtifactNotFound(key) from None

    def path(self, key: str) -> Path:
        p = self._file(key)
        if not p.is_file():
            raise ArtifactNotFound(key)
        return p


def _fsync_dir(directory: Path) -> None:
    # Makes the new directory entry durable; not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def store_from_env(environ: Mapping[str, str], default_root: Path) -> ArtifactStore:
    """The store ``CARDUMEN_ARTIFACTS`` names: a directory or a ``file:///abs/path`` URL.

    Unset or empty: ``LocalStore(default_root)``. A relative directory is taken
    from the current directory, once, here.
    """
    value = environ.get(ENV_VAR, "").strip()
    if not value:
        return LocalStore(Path(default_root))
    m = _SCHEME.match(value)
    if m is None:
        return LocalStore(Path(value).absolute())
    scheme = m.group(1).lower()
    if scheme != "file":
        raise StorageError(
            "unsupported_scheme",
            f"{ENV_VAR}={value!r}: only local storage exists (a directory or file:///abs/path); "
            f"a {scheme}:// backend would implement exports.storage.ArtifactStore")
    parts = urlsplit(value)
    if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        raise StorageError("invalid_url", f"{ENV_VAR}={value!r}: expected file:///absolute/path")
    path = unquote(parts.path)
    if not path.startswith("/"):
        raise StorageError("invalid_url", f"{ENV_VAR}={value!r}: expected file:///absolute/path")
    return LocalStore(Path(path))


def digest_stream(f: IO[bytes]) -> tuple[str, int]:
    """(SHA-256 hex, size) of what is left to read in ``f``, in chunks."""
    h = hashlib.sha256()
    size = 0
    while chunk := f.read(CHUNK):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def sha256_stream(f: IO[bytes]) -> str:
    return digest_stream(f)[0]


def sha256_file(path: Path | str) -> str:
    with open(path, "rb") as f:
        return sha256_stream(f)
