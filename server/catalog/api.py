"""HTTP API of the shared catalog: read by everyone, changed by platform admins."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from server import db, feed
from server.catalog import services
from server.catalog.models import Gear, Port, Species, Zone, ZoneKind
from server.catalog.schemas import (
    ChangePageSchema,
    FeedQuery,
    GearSchema,
    PortSchema,
    SpeciesBatchSchema,
    SpeciesSchema,
    ZoneListQuery,
    ZoneSchema,
    ZoneUploadQuery,
)
from server.errors import ApiError
from server.http import json_body
from server.members import auth
from server.pages import conditional_json

blp = Blueprint("catalog", __name__, url_prefix="/api/v1/catalog",
                description="Species (ASFIS), gear (ISSCFG), ports and zones.")


def _port_dict(port: Port, geojson: str) -> dict[str, Any]:
    return {"id": port.id, "code": port.code, "name": port.name, "state": port.state,
            "coast": port.coast, "conapesca_key": port.conapesca_key,
            "location": json.loads(geojson)}


@blp.route("/species")
class SpeciesList(MethodView):
    @blp.response(200, SpeciesSchema(many=True))
    def get(self) -> Any:
        """All species (ASFIS 3-alpha code, scientific, Spanish and English names)."""
        return db.session().scalars(select(Species).order_by(Species.code)).all()

    @blp.doc(security=auth.SECURITY)
    @blp.arguments(SpeciesBatchSchema)
    @blp.response(200, SpeciesSchema(many=True))
    @auth.login_required
    @auth.platform_admin_required
    def put(self, data: dict[str, Any]) -> Any:
        """Add or update species (platform admin)."""
        sess = db.session()
        services.upsert_species(sess, data["species"])
        sess.commit()
        codes = [s["code"] for s in data["species"]]
        return sess.scalars(select(Species).where(Species.code.in_(codes))).all()


@blp.route("/gear")
class GearList(MethodView):
    @blp.response(200, GearSchema(many=True))
    def get(self) -> Any:
        """Fishing gear by ISSCFG code."""
        return db.session().scalars(select(Gear).order_by(Gear.isscfg_code)).all()


@blp.route("/ports")
class PortList(MethodView):
    @blp.response(200, PortSchema(many=True))
    def get(self) -> Any:
        """Landing ports (UN/LOCODE where one exists)."""
        rows = db.session().execute(
            select(Port, func.ST_AsGeoJSON(Port.geom, 6)).order_by(Port.name)).all()
        return [_port_dict(p, g) for p, g in rows]


@blp.route("/zones")
class ZoneList(MethodView):
    @blp.arguments(ZoneListQuery, location="query")
    @blp.response(200, description="GeoJSON FeatureCollection of zones.")
    def get(self, query: dict[str, Any]) -> Any:
        """Zones as GeoJSON (fishing zones, concessions, no-take refuges, FAO areas...)."""
        return conditional_json(services.zone_geojson(db.session(), query.get("kind")),
                                mimetype="application/geo+json")

    @blp.doc(security=auth.SECURITY, requestBody={"required": True, "content": {
        "application/geo+json": {"schema": {"type": "object"}}}})
    @blp.arguments(ZoneUploadQuery, location="query")
    @blp.response(201, ZoneSchema(many=True))
    @auth.login_required
    @auth.platform_admin_required
    def post(self, query: dict[str, Any]) -> Any:
        """Upload zones as a GeoJSON FeatureCollection (platform admin).

        Every feature needs a polygonal geometry and ``properties.name``; optional
        ``code``, ``valid_from``, ``valid_until``. Invalid polygons are refused with
        the reason (e.g. the self-intersection point); nothing is stored then."""
        body = json_body()
        sess = db.session()
        zones = services.upload_zones(sess, body, query["kind"], query.get("source"),
                                      auth.current().member_id)
        sess.commit()
        return zones


@blp.route("/zones/<uuid:zone_id>")
class ZoneItem(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(204)
    @auth.login_required
    @auth.platform_admin_required
    def delete(self, zone_id: uuid.UUID) -> None:
        """Retire a zone (kept for the records that were assigned to it)."""
        sess = db.session()
        zone = sess.get(Zone, zone_id)
        if zone is None or zone.retired_at is not None or zone.kind == ZoneKind.land:
            raise ApiError(404, "not_found")
        zone.retired_at = func.now()
        sess.commit()


def _species_change(s: Species) -> dict[str, Any]:
    return {"id": s.code, **SpeciesSchema().dump(s)}


def _gear_change(g: Gear) -> dict[str, Any]:
    return {"id": g.code, **GearSchema().dump(g)}


def _port_change(row: Any) -> dict[str, Any]:
    return _port_dict(row[0], row[1])


def _zone_change(row: Any) -> dict[str, Any]:
    z, geojson = row
    return {**ZoneSchema().dump(z), "id": str(z.id), "geometry": json.loads(geojson),
            "deleted": z.retired_at is not None}


@blp.route("/changes")
class CatalogChanges(MethodView):
    @blp.arguments(FeedQuery, location="query")
    @blp.response(200, ChangePageSchema)
    @blp.alt_response(304, description="Nothing new since this cursor (If-None-Match).")
    def get(self, query: dict[str, Any]) -> Any:
        """The catalog as a change feed: pull from no cursor once, then only what changed."""
        limit = query.get("limit") or current_app.config["FEED_PAGE_SIZE"]
        sources = [
            feed.Source("species", select(Species), Species, _species_change),
            feed.Source("gear", select(Gear), Gear, _gear_change),
            feed.Source("port", select(Port, func.ST_AsGeoJSON(Port.geom, 6)), Port,
                        _port_change),
            feed.Source("zone", select(Zone, func.ST_AsGeoJSON(Zone.geom, 5))
                        .where(Zone.kind != ZoneKind.land), Zone, _zone_change),
        ]
        page = feed.read(db.session(), sources, query.get("cursor"), limit)
        return conditional_json(
            {"changes": page.changes, "cursor": page.cursor, "has_more": page.has_more},
            etag=page.etag)
