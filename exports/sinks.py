"""Sinks for exporters outside the server: a directory (the CLI) and memory (tests).

The server brings its own sink, which streams each file into artifact storage.
A sink hands out one binary stream per file name; closing it finishes the file.
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

    def open(self, name: str, media_type: str) -> BinaryIO:
        _check_name(name, self.media_types)
        self.media_types[name] = media_type
        return open(self.path / name, "wb")  # the caller closes it


class _MemoryFile(io.BytesIO):
    def __init__(self, on_close: Callable[[bytes], None]) -> None:
        super().__init__()
        self._on_close = on_close

    def close(self) -> None:
        if not self.closed:
            self._on_close(self.getvalue())
        super().close()


class MemorySink:
    """Keeps each file in memory; ``files`` has the bytes of every closed file."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.media_types: dict[str, str] = {}

    def open(self, name: str, media_type: str) -> BinaryIO:
        _check_name(name, self.media_types)
        self.media_types[name] = media_type

        def finish(data: bytes) -> None:
            self.files[name] = data

        return _MemoryFile(finish)
