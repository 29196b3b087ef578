"""Loading and querying the shared catalog; zone uploads."""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from geoalchemy2.shape import from_shape
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

import geo
from server.catalog.models import Gear, Port, Species, Zone, ZoneKind
from server.db import new_id
from server.errors import ApiError, FieldError, field_errors
from server.geofields import geo_validation_error

DATA = Path(__file__).resolve().parent / "data"
ZONE_CODE_MAX = 40  # zone.code is varchar(40)


def _csv(name: str) -> Iterator[dict[str, str]]:
    with open(DATA / name, newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def upsert_species(sess: Session, rows: list[dict[str, Any]]) -> int:
    """Insert species, or update those whose code exists. Fields a row leaves out
    keep their stored value. One statement per set of fields: a multi-row INSERT
    needs the same keys in every row."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for keys, group in groups.items():
        stmt = insert(Species).values(group)
        cols = {c: stmt.excluded[c] for c in keys if c != "code"}
        sess.execute(stmt.on_conflict_do_update(index_elements=["code"], set_=cols))
    return len(rows)


def load_seed(sess: Session) -> dict[str, int]:
    """Species, gear, ports, FAO areas and the land layer shipped in catalog/data.

    Idempotent: a second run updates rows in place and adds nothing.
    """
    species = [{
        "code": r["code"], "scientific_name": r["scientific_name"], "name_es": r["name_es"],
        "name_en": r["name_en"], "isscaap_group": _blank(r.get("isscaap_group")),
        "conapesca_key": _blank(r.get("conapesca_key")), "coasts": _blank(r.get("coasts")),
    } for r in _csv("species.csv")]
    upsert_species(sess, species)

    gear = [{"code": r["code"], "isscfg_code": r["isscfg_code"], "name_en": r["name_en"],
             "name_es": r["name_es"]} for r in _csv("gear.csv")]
    stmt = insert(Gear).values(gear)
    sess.execute(stmt.on_conflict_do_update(index_elements=["code"], set_={
        "isscfg_code": stmt.excluded.isscfg_code, "name_en": stmt.excluded.name_en,
        "name_es": stmt.excluded.name_es}))

    ports = 0
    for r in _csv("ports.csv"):
        point = from_shape(geo.parse_point(
            {"type": "Point", "coordinates": [float(r["lon"]), float(r["lat"])]}), srid=4326)
        code = _blank(r.get("code"))
        existing = sess.scalar(select(Port).where(
            Port.code == code if code else Port.name == r["name"]))
        values = {"code": code, "name": r["name"], "state": _blank(r.get("state")),
                  "coast": _blank(r.get("coast")), "geom": point}
        if existing is None:
            sess.add(Port(id=new_id(), **values))
        else:
            for k, v in values.items():
                setattr(existing, k, v)
        ports += 1

    zones = 0
    for filename, kind in (("fao_areas.geojson", ZoneKind.fao_area),
                           ("land.geojson", ZoneKind.land)):
        zones += _load_zones(sess, filename, kind)
    sess.flush()
    # Fresh statistics, or the planner may scan zone_piece instead of probing it.
    sess.execute(text("ANALYZE zone, zone_piece"))
    return {"species": len(species), "gear": len(gear), "ports": ports, "zones": zones}


def _load_zones(sess: Session, filename: str, kind: ZoneKind) -> int:
    """Upsert the features of a shipped layer by (kind, code); the zone_piece
    trigger recuts them only when a shape changed."""
    fc = json.loads((DATA / filename).read_text(encoding="utf-8"))
    count = 0
    for props, shape in geo.parse_feature_collection_polygons(fc, max_vertices=2_000_000):
        code = str(props.get("code") or props.get("name") or kind.value)
        zone = sess.scalar(select(Zone).where(Zone.kind == kind, Zone.code == code))
        digest = hashlib.sha256(shape.wkb).hexdigest()
        values: dict[str, Any] = {
            "name": str(props.get("name_en") or props.get("name") or code),
            "source": str(props.get("source") or filename),
            "properties": {**{k: v for k, v in props.items() if k != "source"},
                           "geom_sha256": digest},
        }
        if zone is None:
            sess.add(Zone(id=new_id(), kind=kind, code=code,
                          geom=from_shape(shape, srid=4326), **values))
        else:
            if zone.properties.get("geom_sha256") != digest:
                zone.geom = from_shape(shape, srid=4326)
            for k, v in values.items():
                setattr(zone, k, v)
        count += 1
    return count


def _date_prop(props: dict[str, Any], key: str) -> date | None:
    raw = props.get(key)
    return None if raw in (None, "") else date.fromisoformat(str(raw))


def upload_zones(sess: Session, collection: Any, kind: str, source: str | None,
                 by: uuid.UUID) -> list[Zone]:
    """Validate a GeoJSON FeatureCollection whole, then store every feature or none."""
    try:
        parsed = geo.parse_feature_collection_polygons(collection)
    except geo.GeoError as err:
        raise ApiError(422, "validation_error",
                       errors=field_errors(geo_validation_error(err).messages)) from err
    errors: list[FieldError] = []
    zones: list[Zone] = []
    for i, (props, shape) in enumerate(parsed):
        name = props.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append(FieldError(f"features.{i}.properties.name", "required"))
            continue
        dates: dict[str, date | None] = {}
        for key in ("valid_from", "valid_until"):
            try:
                dates[key] = _date_prop(props, key)
            except ValueError:
                errors.append(FieldError(f"features.{i}.properties.{key}", "not_a_date"))
        if len(dates) < 2:
            continue
        valid_from, valid_until = dates["valid_from"], dates["valid_until"]
        if valid_from and valid_until and valid_until < valid_from:
            errors.append(FieldError(f"features.{i}.properties.valid_until", "date_order"))
            continue
        code = props.get("code")
        if code is not None and len(str(code)) > ZONE_CODE_MAX:
            errors.append(FieldError(f"features.{i}.properties.code", "length_max",
                                     {"max": ZONE_CODE_MAX}))
            continue
        zones.append(Zone(
            id=new_id(), kind=kind, code=str(code) if code is not None else None,
            name=name.strip()[:200], geom=from_shape(shape, srid=4326),
            valid_from=valid_from, valid_until=valid_until, source=source, created_by=by,
            properties={k: v for k, v in props.items()
                        if k not in ("name", "code", "valid_from", "valid_until")},
        ))
    if errors:
        raise ApiError(422, "validation_error", errors=errors)
    sess.add_all(zones)
    sess.flush()
    return zones


def zone_geojson(sess: Session, kind: str | None) -> dict[str, Any]:
    """Zones as a FeatureCollection (the land layer only on request: it is large)."""
    q = select(Zone, func.ST_AsGeoJSON(Zone.geom, 6)).where(Zone.retired_at.is_(None))
    q = q.where(Zone.kind == kind) if kind else q.where(Zone.kind != ZoneKind.land)
    features = [{
        "type": "Feature", "id": str(z.id), "geometry": json.loads(g),
        "properties": {"kind": z.kind, "code": z.code, "name": z.name,
                       "valid_from": z.valid_from.isoformat() if z.valid_from else None,
                       "valid_until": z.valid_until.isoformat() if z.valid_until else None,
                       **z.properties},
    } for z, g in sess.execute(q.order_by(Zone.kind, Zone.name)).all()]
    return {"type": "FeatureCollection", "features": features}
