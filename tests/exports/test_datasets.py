"""The dataset formats: CSV, GeoJSON, GeoJSON text sequence and GeoPackage, read back."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyogrio.raw import read as ogr_read

from exports.base import get
from exports.formats import dataset_gpkg
from exports.formats._dataset import CATCH_COLUMNS, CSV_CATCH_COLUMNS, TRIP_COLUMNS
from exports.formats._geojson import FeatureStream, catch_encoder
from exports.formats.dataset_csv import csv_row
from exports.records import Action, CatchRecord
from exports.sinks import MemorySink
from tests.exports.records import TRIP_ID, make_context, make_record, make_trip

OTHER_TRIP = "0190a1b2-c3d4-7e5f-9a6b-00000000beef"


def export(name: str, records: list[CatchRecord]) -> tuple[MemorySink, dict[str, int]]:
    sink = MemorySink()
    stats = get(name)().write(iter(records), sink, make_context())
    assert stats.records == len(records)
    return sink, stats.rows


def sample() -> list[CatchRecord]:
    """Two trips: one with a cancelled catch and one catch without a position or price."""
    first = make_trip(species=("LJS", "LJS", "PNV"), quality_flags=("gps_jump", "late_sync"))
    first[2] = replace(first[2], action=Action.cancellation, refers_to_run="run-0", cancelled=True)
    caught = datetime(2024, 5, 20, 18, 5, 7, 250000, tzinfo=UTC)
    second = [make_record("MUF", trip_id=OTHER_TRIP, lon=None, lat=None, unit_price=None, live_kg=None,
                          count=None, landed_kg=Decimal("4.1"), caught_at=caught)]
    return first + second


# CSV

def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


def test_csv_catches_and_trips() -> None:
    records = sample()
    sink, rows = export("dataset_csv", records)
    assert rows == {"catches.csv": 4, "trips.csv": 2}
    assert sink.media_types == dict.fromkeys(("catches.csv", "trips.csv"), "text/csv; charset=utf-8")
    catches = read_csv(sink.files["catches.csv"])
    assert tuple(catches[0]) == CSV_CATCH_COLUMNS
    assert catches[0] == {
        "catch_id": records[0].catch_id, "version": "1", "action": "original", "refers_to_run": "",
        "org_id": records[0].org_id, "rnpa": "2501002519", "trip_id": TRIP_ID, "vessel": "00047381",
        "species_code": "LJS", "species_key": "1350105", "scientific_name": "Lutjanus peru",
        "gear_code": "LHP", "landed_kg": "12.500", "live_kg": "13.200", "count": "9",
        "presentation": "entero", "disposition": "venta", "unit_price": "95.00", "currency": "MXN",
        "value": "1187.50", "caught_at": "2024-05-14T14:30:00Z", "lon": "-106.5123", "lat": "23.1544",
        "fao_area": "77", "catch_place_key": "SIN-Z07", "quality_flags": "gps_jump;late_sync",
        "cancelled": "false",
    }
    assert (catches[2]["action"], catches[2]["refers_to_run"], catches[2]["cancelled"]) == (
        "cancellation", "run-0", "true")
    mullet = catches[3]
    assert (mullet["lon"], mullet["lat"], mullet["unit_price"], mullet["value"], mullet["live_kg"],
            mullet["count"], mullet["landed_kg"]) == ("", "", "", "", "", "", "4.100")
    assert mullet["caught_at"] == "2024-05-20T18:05:07.250000Z"

    trips = read_csv(sink.files["trips.csv"])
    assert tuple(trips[0]) == TRIP_COLUMNS
    assert trips[0] == {
        "trip_id": TRIP_ID, "org_id": records[0].org_id, "vessel": "00047381",
        "departed_at": "2024-05-14T11:30:00Z", "returned_at": "2024-05-14T20:30:00Z",
        "landing_port_key": "2501-017", "landing_port_name": "Playa Sur, Mazatlán",
        "landed_at": "2024-05-14T20:50:00Z", "catches": "2", "landed_kg": "25.000",
    }
    assert (trips[1]["trip_id"], trips[1]["catches"], trips[1]["landed_kg"]) == (OTHER_TRIP, "1", "4.100")


def test_csv_quotes_fields_with_commas_quotes_and_line_breaks() -> None:
    odd = make_record(scientific_name='Lutjanus "peru", var.\nnorte', presentation="filete, s/piel",
                      vessel_rnp=None, vessel_registration="BC-1\r2")
    catches = read_csv(export("dataset_csv", [odd, make_record()])[0].files["catches.csv"])
    assert catches[0]["scientific_name"] == 'Lutjanus "peru", var.\nnorte'
    assert (catches[0]["presentation"], catches[0]["vessel"]) == ("filete, s/piel", "BC-1\r2")
    assert catches[1]["scientific_name"] == "Lutjanus peru"


text = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=100, deadline=None)
@given(name=text, rnpa=st.none() | text, flags=st.lists(text, max_size=3), place=st.none() | text,
       kg=st.decimals(min_value=0, max_value=10**6, places=4), lon=st.none() | st.floats(-180, 180))
def test_csv_fast_path_writes_what_the_csv_module_would(name: str, rnpa: str | None, flags: list[str],
                                                        place: str | None, kg: Decimal,
                                                        lon: float | None) -> None:
    record = make_record(scientific_name=name, rnpa=rnpa, quality_flags=tuple(flags),
                         catch_place_key=place, landed_kg=kg, lon=lon)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_CATCH_COLUMNS)
    writer.writerow(csv_row(record))
    assert export("dataset_csv", [record])[0].files["catches.csv"].decode() == out.getvalue()


# GeoJSON

@settings(max_examples=100, deadline=None)
@given(catch_id=text, refers=st.none() | text, flags=st.lists(text, max_size=3), name=text,
       rnpa=st.none() | text, place=st.none() | text, currency=text,
       kg=st.decimals(min_value=0, max_value=10**6, places=4),
       price=st.none() | st.decimals(0, 5000, places=3),
       lon=st.none() | st.floats(-180, 180), count=st.none() | st.integers(0, 10**6),
       action=st.sampled_from(list(Action)), cancelled=st.booleans())
def test_geojson_fast_path_writes_what_orjson_would(
        catch_id: str, refers: str | None, flags: list[str], name: str, rnpa: str | None,
        place: str | None, currency: str, kg: Decimal, price: Decimal | None, lon: float | None,
        count: int | None, action: Action, cancelled: bool) -> None:
    record = make_record(catch_id=catch_id, refers_to_run=refers, quality_flags=tuple(flags),
                         scientific_name=name, rnpa=rnpa, catch_place_key=place, currency=currency,
                         landed_kg=kg, unit_price=price, lon=lon, count=count, action=action,
                         cancelled=cancelled)
    sink, _ = export("dataset_geojsonseq", [record, record])
    expected = b"\x1e" + catch_encoder(newline=True)(record)
    assert sink.files["catches.geojsons"] == expected * 2
    collection = export("dataset_geojson", [record, record])[0].files["catches.geojson"]
    assert collection == b'%s%s,\n%s\n]}\n' % (FeatureStream.COLLECTION_HEAD, expected[1:-1], expected[1:-1])


def test_geojson_feature_collections() -> None:
    records = sample()
    sink, rows = export("dataset_geojson", records)
    assert rows == {"catches.geojson": 4, "trips.geojson": 2}
    assert set(sink.media_types.values()) == {"application/geo+json"}
    catches = orjson.loads(sink.files["catches.geojson"])
    assert catches["type"] == "FeatureCollection" and len(catches["features"]) == 4
    first = catches["features"][0]
    assert first["id"] == records[0].catch_id
    assert first["geometry"] == {"type": "Point", "coordinates": [-106.5123, 23.1544]}
    assert tuple(first["properties"]) == CATCH_COLUMNS
    assert first["properties"]["landed_kg"] == 12.5 and first["properties"]["cancelled"] is False
    assert catches["features"][3]["geometry"] is None
    # Decimals are plain JSON numbers with their fixed places.
    assert b'"landed_kg":12.500,"live_kg":13.200' in sink.files["catches.geojson"]
    assert b'"unit_price":95.00,"currency":"MXN","value":1187.50' in sink.files["catches.geojson"]
    trips = orjson.loads(sink.files["trips.geojson"])
    assert [f["geometry"] for f in trips["features"]] == [None, None]
    assert tuple(trips["features"][0]["properties"]) == TRIP_COLUMNS
    assert trips["features"][0]["properties"]["catches"] == 2


def test_geojson_of_nothing_is_an_empty_collection() -> None:
    sink, rows = export("dataset_geojson", [])
    assert rows == {"catches.geojson": 0, "trips.geojson": 0}
    assert orjson.loads(sink.files["catches.geojson"]) == {"type": "FeatureCollection", "features": []}


def test_geojson_sequence_is_rs_framed_features() -> None:
    records = sample()
    sink, rows = export("dataset_geojsonseq", records)
    assert rows == {"catches.geojsons": 4, "trips.geojsons": 2}
    assert set(sink.media_types.values()) == {"application/geo+json-seq"}
    data = sink.files["catches.geojsons"]
    assert data.startswith(b"\x1e") and data.endswith(b"\n")
    texts = data.split(b"\x1e")[1:]
    assert len(texts) == 4 and all(t.endswith(b"\n") and t.count(b"\n") == 1 for t in texts)
    features = [orjson.loads(t) for t in texts]
    collection = orjson.loads(export("dataset_geojson", records)[0].files["catches.geojson"])
    assert features == collection["features"]
    trips = [orjson.loads(t) for t in sink.files["trips.geojsons"].split(b"\x1e")[1:]]
    assert [t["id"] for t in trips] == [TRIP_ID, OTHER_TRIP]


# GeoPackage

def read_gpkg(data: bytes, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "read.gpkg"
    path.write_bytes(data)
    layers = {str(name): geom for name, geom in pyogrio.list_layers(path)}
    out: dict[str, Any] = {"layers": layers}
    for layer in layers:
        meta, _, geometry, values = ogr_read(path, layer=layer, datetime_as_string=True)
        rows = [dict(zip(meta["fields"], row, strict=True)) for row in zip(*values, strict=True)]
        out[layer] = {"meta": meta, "geometry": geometry, "rows": rows}
    return out


def test_geopackage_layers_types_and_geometry(tmp_path: Path) -> None:
    records = sample()
    sink, rows = export("dataset_gpkg", records)
    assert rows == {"dataset.gpkg": 6}
    assert sink.media_types == {"dataset.gpkg": "application/geopackage+sqlite3"}
    gpkg = read_gpkg(sink.files["dataset.gpkg"], tmp_path)
    assert gpkg["layers"] == {"catches": "Point", "trips": None}
    catches = gpkg["catches"]
    assert catches["meta"]["crs"] == "EPSG:4326"
    assert tuple(catches["meta"]["fields"]) == CATCH_COLUMNS
    assert len(catches["rows"]) == 4
    point = shapely.from_wkb(catches["geometry"][0])
    assert (point.x, point.y) == (-106.5123, 23.1544)
    assert catches["geometry"][3] is None
    first = catches["rows"][0]
    assert first["landed_kg"] == 12.5 and first["value"] == 1187.5 and first["version"] == 1
    assert first["caught_at"] == "2024-05-14T14:30:00Z" and first["quality_flags"] == "gps_jump;late_sync"
    assert first["cancelled"] == False  # noqa: E712  (a numpy bool)
    mullet = catches["rows"][3]
    assert mullet["live_kg"] is None or mullet["live_kg"] != mullet["live_kg"]  # null (NaN)
    assert mullet["caught_at"] == "2024-05-20T18:05:07.250Z"
    trips = gpkg["trips"]["rows"]
    assert [(t["trip_id"], t["catches"], t["landed_kg"]) for t in trips] == [
        (TRIP_ID, 2, 25.0), (OTHER_TRIP, 1, 4.1)]
    assert trips[0]["landed_at"] == "2024-05-14T20:50:00Z"


def test_geopackage_is_written_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataset_gpkg, "CHUNK", 3)
    records = [make_record(trip_id=f"trip-{i // 2:03d}") for i in range(11)]
    gpkg = read_gpkg(export("dataset_gpkg", records)[0].files["dataset.gpkg"], tmp_path)
    assert [r["catch_id"] for r in gpkg["catches"]["rows"]] == [r.catch_id for r in records]
    assert len(gpkg["trips"]["rows"]) == 6


def test_geopackage_of_nothing_has_both_layers(tmp_path: Path) -> None:
    gpkg = read_gpkg(export("dataset_gpkg", [])[0].files["dataset.gpkg"], tmp_path)
    assert gpkg["layers"] == {"catches": "Point", "trips": None}
    assert gpkg["catches"]["rows"] == [] and tuple(gpkg["trips"]["meta"]["fields"]) == TRIP_COLUMNS


def test_geopackage_leaves_the_gdal_date_option_as_it_was() -> None:
    assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") is None
    export("dataset_gpkg", sample())
    assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") is None
