"""The open dataset as one GeoPackage, ``dataset.gpkg``: layers ``catches`` (Points, EPSG:4326) and ``trips``.

Columns are the dataset's (``_dataset.CATCH_COLUMNS`` / ``TRIP_COLUMNS``)
with native types: weights and money as REAL rounded to 3 / 2 places,
counts as INTEGER, ``cancelled`` as BOOLEAN, times as DATETIME in UTC
(millisecond precision, the most GeoPackage stores). A catch without a
position has a null geometry; trips have no geometry column.

GDAL writes to a path, not a stream, so the file is built in a temporary
directory, ``CHUNK`` rows at a time with ``append=True`` (memory holds one
chunk), and then copied into the sink. GeoPackage records a "last change"
time per layer; GDAL takes it from the ``OGR_CURRENT_DATE`` option when set,
which is set here to the end of the run's period so that two runs over the
same records write the same bytes. That option is process-global, so GeoPackage
writes in one process take turns.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
from pyogrio.raw import write as ogr_write

from exports.base import AmendmentScope, BaseExporter, Sink, WriteStats, register
from exports.formats._common import Q2, Q3, aware, dec, finishing
from exports.formats._dataset import ACTION_TEXT, CATCH_COLUMNS, TRIP_COLUMNS, Trip, walk
from exports.records import CatchRecord, ExportContext

FILE_NAME = "dataset.gpkg"
MEDIA_TYPE = "application/geopackage+sqlite3"
CHUNK = 5000
_UTC_FLAG = 100  # GDAL's time zone flag for UTC: DATETIME values are written with a "Z"
_POINT = struct.Struct("<BIdd")  # WKB little-endian Point
_lock = threading.Lock()

# Column kinds: "s" text, "i" integer (nullable), "f3"/"f2" real with 3/2 places,
# "t" UTC time, "b" boolean.
CATCH_KINDS = ("s", "i", "s", "s", "s", "s", "s", "s", "s", "s", "s", "s", "f3", "f3", "i", "s", "s",
               "f2", "s", "f2", "t", "s", "s", "s", "b")
TRIP_KINDS = ("s", "s", "s", "t", "t", "s", "s", "t", "i", "f3")


def _utc_naive(dt: datetime | None) -> datetime | None:
    # numpy takes naive datetimes only; the UTC flag says what they are.
    return None if dt is None else aware(dt).astimezone(UTC).replace(tzinfo=None)


def catch_row(r: CatchRecord) -> list[Any]:
    price = r.unit_price
    return [
        r.catch_id, r.version, ACTION_TEXT[r.action], r.refers_to_run, r.org_id, r.rnpa, r.trip_id,
        r.vessel_rnp or r.vessel_registration, r.species_code, r.species_key, r.scientific_name,
        r.gear_code, dec(r.landed_kg, Q3), dec(r.live_kg, Q3), r.count, r.presentation,
        r.disposition, dec(price, Q2), r.currency,
        None if price is None else dec(r.landed_kg * price, Q2),
        _utc_naive(r.caught_at), r.fao_area, r.catch_place_key, ";".join(r.quality_flags),
        r.cancelled,
    ]


def trip_row(trip: Trip) -> list[Any]:
    f = trip.first
    return [
        f.trip_id, f.org_id, f.vessel_rnp or f.vessel_registration, _utc_naive(f.departed_at),
        _utc_naive(f.returned_at), f.landing_port_key, f.landing_port_name, _utc_naive(f.landed_at),
        trip.catches, dec(trip.landed_kg, Q3),
    ]


def _column(kind: str, values: list[Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any] | None]:
    """A column as pyogrio takes it: values and a null mask (None: no nulls possible)."""
    if kind == "s":
        return np.array(values, dtype=object), None
    if kind in ("f3", "f2"):  # already rounded as text; NaN is written as null
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64), None
    if kind == "i":
        mask = np.array([v is None for v in values], dtype=bool)
        return np.array([0 if v is None else v for v in values], dtype=np.int64), mask
    if kind == "t":
        return np.array(["NaT" if v is None else v for v in values], dtype="datetime64[ms]"), None
    return np.array(values, dtype=bool), None


class _Layer:
    """Buffers rows of one layer and appends them to the GeoPackage a chunk at a time."""

    def __init__(self, path: Path, name: str, columns: tuple[str, ...], kinds: tuple[str, ...],
                 points: bool) -> None:
        self.path, self.name, self.columns, self.kinds, self.points = path, name, columns, kinds, points
        self.rows: list[list[Any]] = []
        self.geometry: list[bytes | None] = []
        self.count = 0
        self.flush(create=True)  # the layer exists, with its types, even when empty

    def add(self, row: list[Any], geometry: bytes | None = None) -> None:
        self.rows.append(row)
        self.geometry.append(geometry)
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self, create: bool = False) -> None:
        if not self.rows and not create:
            return
        data, masks = [], []
        for i, kind in enumerate(self.kinds):
            values, mask = _column(kind, [row[i] for row in self.rows])
            data.append(values)
            masks.append(mask)
        times = {c: np.full(len(self.rows), _UTC_FLAG, dtype=np.int16)
                 for c, k in zip(self.columns, self.kinds, strict=True) if k == "t"}
        ogr_write(
            str(self.path), np.array(self.geometry, dtype=object) if self.points else None,
            data, list(self.columns), field_mask=masks, layer=self.name, driver="GPKG",
            geometry_type="Point" if self.points else None,
            crs="EPSG:4326" if self.points else None,
            append=self.path.exists(), gdal_tz_offsets=times,
        )
        self.count += len(self.rows)
        self.rows.clear()
        self.geometry.clear()


@contextmanager
def _fixed_gdal_date(stamp: str) -> Iterator[None]:
    with _lock:
        previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
        try:
            yield
        finally:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


@register
class DatasetGpkg(BaseExporter):
    name = "dataset_gpkg"
    title_es = "Conjunto de datos de capturas (GeoPackage)"
    title_en = "Catch dataset (GeoPackage)"
    amendment_scope = AmendmentScope.record

    def write(self, records: Iterable[CatchRecord], sink: Sink, context: ExportContext) -> WriteStats:
        self.validate_options(context.options)
        stamp = f"{context.period_end.isoformat()}T00:00:00Z"
        with tempfile.TemporaryDirectory(prefix="cardumen-gpkg-") as tmp, _fixed_gdal_date(stamp):
            path = Path(tmp) / FILE_NAME
            catches = _Layer(path, "catches", CATCH_COLUMNS, CATCH_KINDS, points=True)
            trips = _Layer(path, "trips", TRIP_COLUMNS, TRIP_KINDS, points=False)

            def on_catch(r: CatchRecord) -> None:
                lon, lat = r.lon, r.lat
                point = None if lon is None or lat is None else _POINT.pack(1, 1, lon, lat)
                catches.add(catch_row(r), point)

            n, _ = walk(records, on_catch, lambda trip: trips.add(trip_row(trip)))
            catches.flush()
            trips.flush()
            with path.open("rb") as built, finishing(sink.open(FILE_NAME, MEDIA_TYPE)) as out:
                shutil.copyfileobj(built, out, 1 << 20)
        return WriteStats(records=n, rows={FILE_NAME: catches.count + trips.count})
