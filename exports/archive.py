"""A member's archive of all their data: one ZIP with JSON, CSV and a GeoPackage.

``write`` takes plain tables (lists of dicts) and writes:

- ``data.json``: everything, nested under each table's name, with the archive's
  ``meta`` (who, when);
- one CSV per table (UTF-8 with a header; lists as JSON text);
- ``catches.gpkg`` when a table has positions: its rows as points (EPSG:4326),
  every version of every catch, for any GIS;
- ``manifest.json``: each file's size and SHA-256, so the member can check that
  the archive is whole.

No Flask, no database: server/members/archive.py gathers the tables.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
import shapely
from pyogrio.raw import write as ogr_write


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    # (lon, lat) column names when the rows are points: they go to the GeoPackage too
    points: tuple[str, str] | None = None
    numeric: tuple[str, ...] = ()  # columns written as numbers in the GeoPackage


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def _json(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return orjson.dumps(value, default=_default).decode()
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _csv(table: Table) -> bytes:
    out = io.StringIO()
    columns = table.columns
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    for row in table.rows:
        w.writerow([_cell(row[c]) for c in columns])
    return out.getvalue().encode("utf-8")


def _gpkg(table: Table, workdir: Path) -> bytes:
    assert table.points is not None
    lon, lat = table.points
    rows = [r for r in table.rows if r[lon] is not None and r[lat] is not None]
    columns = [c for c in table.columns if c not in (lon, lat)]
    data = []
    for c in columns:
        if c in table.numeric:
            data.append(np.array([np.nan if r[c] is None else float(r[c]) for r in rows],
                                 dtype=np.float64))
        else:
            data.append(np.array([None if r[c] is None else _cell(r[c]) for r in rows],
                                 dtype=object))
    geometry = np.array([shapely.to_wkb(shapely.Point(float(r[lon]), float(r[lat])))
                         for r in rows], dtype=object)
    path = workdir / f"{table.name}.gpkg"
    ogr_write(str(path), geometry, data, columns, layer=table.name, driver="GPKG",
              geometry_type="Point", crs="EPSG:4326")
    return path.read_bytes()


def write(out: IO[bytes], meta: dict[str, Any], tables: Sequence[Table]) -> list[dict[str, Any]]:
    """Write the archive; returns its manifest's file list."""
    files: list[tuple[str, bytes]] = [
        ("data.json", _json({"meta": meta} | {t.name: t.rows for t in tables}))]
    files += [(f"{t.name}.csv", _csv(t)) for t in tables]
    with tempfile.TemporaryDirectory(prefix="cardumen-archive-") as tmp:
        files += [(f"{t.name}.gpkg", _gpkg(t, Path(tmp))) for t in tables if t.points]
    listed = [{"name": n, "bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}
              for n, b in files]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, body in files:
            z.writestr(name, body)
        z.writestr("manifest.json", _json({"meta": meta, "files": listed}))
    return listed
