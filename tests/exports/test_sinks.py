"""DirectorySink and MemorySink."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from exports.base import get, names
from exports.records import CatchRecord
from exports.sinks import DirectorySink, MemorySink
from tests.exports.records import make_context, make_trip


def test_directory_sink_writes_files_and_remembers_media_types(tmp_path: Path) -> None:
    sink = DirectorySink(tmp_path / "out")
    get("dataset_csv")().write(iter(make_trip()), sink, make_context())
    assert sink.media_types == dict.fromkeys(("catches.csv", "trips.csv"), "text/csv; charset=utf-8")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["catches.csv", "trips.csv"]
    assert (tmp_path / "out" / "catches.csv").read_bytes().startswith(b"catch_id,version,")


def test_memory_sink_keeps_bytes_on_close() -> None:
    sink = MemorySink()
    stream = sink.open("a.txt", "text/plain")
    stream.write(b"hola")
    assert sink.files == {}
    stream.close()
    stream.close()
    assert sink.files == {"a.txt": b"hola"} and sink.media_types == {"a.txt": "text/plain"}


@pytest.mark.parametrize("name", ["../x", "a/b", "", "..", "c\\d"])
def test_sinks_refuse_names_that_leave_the_directory(tmp_path: Path, name: str) -> None:
    for sink in (DirectorySink(tmp_path), MemorySink()):
        with pytest.raises(ValueError, match="invalid file name"):
            sink.open(name, "text/plain")


def test_sinks_refuse_the_same_file_twice(tmp_path: Path) -> None:
    for sink in (DirectorySink(tmp_path), MemorySink()):
        sink.open("a.csv", "text/csv").close()
        with pytest.raises(ValueError, match="opened twice"):
            sink.open("a.csv", "text/csv")


class Boom(Exception):
    pass


def failing(after: int) -> Iterator[CatchRecord]:
    yield from make_trip()[:after]
    raise Boom


@pytest.mark.parametrize("name", sorted(names()))
def test_a_failed_export_finishes_no_file(name: str, tmp_path: Path) -> None:
    memory, directory = MemorySink(), DirectorySink(tmp_path)
    for sink in (memory, directory):
        with pytest.raises(Boom):
            get(name)().write(failing(2), sink, make_context())
        sink.abort()
    assert memory.files == {} and memory.media_types == {}
    assert list(tmp_path.iterdir()) == [] and directory.media_types == {}
