"""Sinks for exporters outside the server: a directory (the CLI) and memory (tests).

The server brings its own sink, which streams each file into artifact storage.
A sink hands out one binary stream per file name; closing it finishes the
file. An exporter that fails leaves its streams open, and whoever ran it calls
``abort`` so that no half-written file passes for a finished one.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _check_name(name: str, taken: dict[str, str]) -> None:
    # Names come from exporters, but a sink that writes to disk must not let a
    # bad one escape its directory or silently replace a file of the same run.
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"invalid file name {name!r}")
    if name in taken:
        raise ValueError(f"file {name!r} opened twice")


class DirectorySink:
    """Writes each file into ``path`` (created if missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.media_types: dict[str, str] = {}  # file name -> media type, in opening order
        self._streams: dict[str, BinaryIO] = {}

    def open(self, name: str, media_type: str) -> BinaryIO:
        _check_name(name, self.media_types)
        self.media_types[name] = media_type
        # The exporter closes it (or abort() does).
        stream = self._streams[name] = open(self.path / name, "wb")  # noqa: SIM115
        return stream

    def abort(self) -> None:
        """Delete the files an exporter left unfinished (open)."""
        for name, stream in self._streams.items():
            if not stream.closed:
                stream.close()
                (self.path / name).unlink(missing_ok=True)
                del self.media_types[name]


class _MemoryFile(io.BytesIO):
    def __init__(self, on_close: Callable[[bytes], None]) -> None:
        super().__init__()
        self._on_close: Callable[[bytes], None] | None = on_close

    def close(self) -> None:
        if not self.closed and self._on_close is not None:
            self._on_close(self.getvalue())
        super().close()

    def discard(self) -> None:
        self._on_close = None
        self.close()


class MemorySink:
    """Keeps each file in memory; ``files`` has the bytes of every finished (closed) file."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.media_types: dict[str, str] = {}
        self._streams: dict[str, _MemoryFile] = {}

    def open(self, name: str, media_type: str) -> BinaryIO:
        _check_name(name, self.media_types)
        self.media_types[name] = media_type

        def finish(data: bytes) -> None:
            self.files[name] = data

        stream = self._streams[name] = _MemoryFile(finish)
        return stream

    def abort(self) -> None:
        """Forget the files an exporter left unfinished (open)."""
        for name, stream in self._streams.items():
            if not stream.closed:
                stream.discard()
                del self.media_types[name]
