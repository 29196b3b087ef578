"""The format registry, and what every built-in format promises: determinism, option checks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

import pytest

from exports.base import (
    REGISTRY,
    AmendmentScope,
    BaseExporter,
    OptionError,
    Sink,
    WriteStats,
    get,
    names,
    register,
)
from exports.records import Action, CatchRecord, ExportContext
from exports.sinks import MemorySink
from tests.exports.records import make_context, make_record, make_trip

BUILT_IN = {
    "conapesca_aviso_csv": AmendmentScope.trip,
    "conapesca_aviso_pdf": AmendmentScope.trip,
    "fao_cwp_monthly": AmendmentScope.stat_cell,
    "dataset_csv": AmendmentScope.record,
    "dataset_geojson": AmendmentScope.record,
    "dataset_geojsonseq": AmendmentScope.record,
    "dataset_gpkg": AmendmentScope.record,
}


def test_names_lists_the_built_in_formats() -> None:
    assert set(BUILT_IN) <= set(names())
    assert names() == sorted(names())
    for name, scope in BUILT_IN.items():
        exporter = get(name)
        assert exporter.name == name and exporter.amendment_scope is scope
        assert exporter.title_es and exporter.title_en


def test_unknown_format_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        get("eu_flux_fa_xml")


def test_a_new_format_is_one_class() -> None:
    class TripCount(BaseExporter):
        name = "test_trip_count"
        title_es = "Número de viajes"
        title_en = "Trip count"

        def write(self, records: Iterable[CatchRecord], sink: Sink, context: ExportContext) -> WriteStats:
            self.validate_options(context.options)
            records = list(records)
            with sink.open("trips.txt", "text/plain") as out:
                out.write(b"%d\n" % len({r.trip_id for r in records}))
            return WriteStats(records=len(records), rows={"trips.txt": 1})

    register(TripCount)
    try:
        assert "test_trip_count" in names() and get("test_trip_count") is TripCount
        sink = MemorySink()
        get("test_trip_count")().write(iter(make_trip()), sink, make_context())
        assert sink.files == {"trips.txt": b"1\n"}
        with pytest.raises(ValueError, match="registered twice"):
            register(TripCount)
    finally:
        del REGISTRY["test_trip_count"]
    assert "test_trip_count" not in names()


def run(name: str, records: list[CatchRecord], context: ExportContext) -> dict[str, bytes]:
    sink = MemorySink()
    get(name)().write(iter(records), sink, context)
    assert set(sink.files) == set(sink.media_types)
    return sink.files


def varied() -> list[CatchRecord]:
    trip = make_trip(species=("LJS", "PNV", "MUF", "LJS"))
    trip[1] = replace(trip[1], action=Action.cancellation)
    return trip + make_trip("0190a1b2-c3d4-7e5f-9a6b-00000000beef", species=("PNV",), lon=None, lat=None)


@pytest.mark.parametrize("name", sorted(BUILT_IN))
@pytest.mark.parametrize("purpose", ["original", "amendment"])
def test_identical_inputs_give_identical_bytes(name: str, purpose: str) -> None:
    context = make_context(purpose=purpose, sequence=1 if purpose == "original" else 2)
    records = varied()
    first = run(name, records, context)
    assert first and all(first.values())
    assert run(name, records, context) == first


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_records_are_read_once_in_order(name: str) -> None:
    records = varied()
    seen: list[str] = []

    def once() -> Iterator[CatchRecord]:
        for r in records:
            seen.append(r.catch_id)
            yield r

    stats = get(name)().write(once(), MemorySink(), make_context())
    assert seen == [r.catch_id for r in records] and stats.records == len(records)


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_unknown_options_are_refused_before_writing(name: str) -> None:
    sink = MemorySink()
    with pytest.raises(OptionError) as err:
        get(name)().write(iter([make_record()]), sink, make_context(options={"colour": "red"}))
    assert (err.value.field, err.value.code) == ("options.colour", "unknown_option")
    assert sink.media_types == {}  # refused before any file was opened
