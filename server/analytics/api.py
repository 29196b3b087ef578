"""HTTP API of the dashboards: a fisher's own, and a cooperative's pooled figures.

A fisher sees only their own rows; a cooperative's figures are for its admins
(and platform admins), pooled over consenting members and suppressed. Outsiders
get 404, as everywhere: an organization's data do not reveal it exists.

A recipient the cooperative voted to share with (server/governance/settings.py) sees
the same figures over the members who consent to it, under ``/shared/``: its admins
only, and only while the sharing is on.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from exports import statement as signed
from geo import hexgrid, privacy
from server import db, i18n, localdb
from server.analytics import services, statement
from server.analytics.schemas import (
    MAX_MONTHS,
    CooperativeDashboardSchema,
    FisherDashboardSchema,
    FisherQuery,
    KeySetSchema,
    MapQuery,
    MyMapQuery,
    SharedDashboardSchema,
    SharedMapQuery,
    SharedQuery,
    StatementSchema,
    VerificationSchema,
    WindowQuery,
)
from server.consent.models import Purpose
from server.errors import ApiError, FieldError
from server.governance import settings
from server.members import auth
from server.members.models import Role
from server.ogc.models import ROLLUP_TZ

blp = Blueprint("analytics", __name__, url_prefix="/api/v1",
                description="Dashboards: your own figures, and your cooperative's pooled ones.")


def _window(query: dict[str, Any]) -> services.Window:
    """The months asked for, defaults filled in: the 12 months up to this one."""
    last: date = query["to"] or _this_month()
    first: date | None = query["from_"]
    if first is None:
        months = last.year * 12 + last.month - 1 - 11
        first = date(months // 12, months % 12 + 1, 1)
    # Checked again here: a default month may be the one out of order.
    if last < first:
        raise ApiError(422, "validation_error",
                       errors=[FieldError("to", "period_inverted", location="query")])
    if (last.year - first.year) * 12 + last.month - first.month + 1 > MAX_MONTHS:
        raise ApiError(422, "validation_error", errors=[
            FieldError("from", "window_too_long", {"max": MAX_MONTHS}, location="query")])
    return services.Window(first, last)


def _my_orgs(p: auth.Principal, org_id: uuid.UUID | None) -> list[uuid.UUID]:
    """The cooperatives the caller fishes in (or the one asked, if it is one of them)."""
    orgs = p.orgs_with(Role.fisher, Role.admin)
    if org_id is not None:
        if org_id not in orgs:
            raise ApiError(404, "not_found")
        orgs = [org_id]
    return sorted(orgs, key=str)


@blp.route("/me/dashboard")
class MyDashboard(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, FisherDashboardSchema)
    @auth.login_required
    @blp.arguments(FisherQuery, location="query", unknown=RAISE)
    def get(self, query: dict[str, Any]) -> Any:
        """Your own catch by species and month, trips and days at sea, catch per unit effort by
        gear, income and costs, best months and species, and how your kg per trip compares
        with your cooperative's median member. Months in America/Mexico_City time."""
        p = auth.current()
        orgs = _my_orgs(p, query["org_id"])
        return services.fisher(db.session(), p.member_id, orgs, _window(query))


@blp.route("/organizations/<uuid:org_id>/dashboard")
class CooperativeDashboard(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, CooperativeDashboardSchema)
    @auth.login_required
    @blp.arguments(WindowQuery, location="query", unknown=RAISE)
    def get(self, query: dict[str, Any], org_id: uuid.UUID) -> Any:
        """The cooperative's pooled landings (by species, gear and month), effort, catch per
        unit effort and prices, over the members who consent to its statistics. Figures of
        fewer than 3 vessels are suppressed, and more with them, so that no hidden figure
        can be worked out from the totals (see the README)."""
        auth.require_role(org_id, [Role.admin])
        threshold = privacy.threshold(current_app.config.get("ANALYTICS_MIN_VESSELS"))
        return services.cooperative(db.session(), org_id, _window(query), threshold)


# --- maps: hexagons as GeoJSON ------------------------------------------------------------

def _this_month() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(ROLLUP_TZ)).date().replace(day=1)


def _hexagons(cells: list[dict[str, Any]]) -> Response:
    """A FeatureCollection of H3 hexagons (geo.hexgrid), the cells' figures as properties."""
    features = [{"type": "Feature", "id": c["cell"],
                 "geometry": orjson.Fragment(hexgrid.cell_geojson(c["cell"])), "properties": c}
                for c in cells]
    body = orjson.dumps({"type": "FeatureCollection", "features": features})
    resp = Response(body, mimetype="application/geo+json")
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


_GEOJSON_DOC = {"200": {"description": "A GeoJSON FeatureCollection of H3 hexagons "
                                       "(resolution 6, ~36 km²).",
                        "content": {"application/geo+json": {"schema": {"type": "object"}}}}}


@blp.route("/organizations/<uuid:org_id>/heatmap")
class CooperativeHeatmap(MethodView):
    @blp.doc(security=auth.SECURITY, responses=_GEOJSON_DOC)
    @auth.login_required
    @blp.arguments(MapQuery, location="query", unknown=RAISE)
    def get(self, query: dict[str, Any], org_id: uuid.UUID) -> Any:
        """The cooperative's catch per hexagon in a month (all species, or one), over its
        consenting members. Cells are suppressed exactly as the dashboard's figures (fewer
        than 3 vessels, and more with them); a suppressed cell is left out of the map."""
        auth.require_role(org_id, [Role.admin])
        threshold = privacy.threshold(current_app.config.get("ANALYTICS_MIN_VESSELS"))
        return _hexagons(services.heatmap(db.session(), org_id, query["month"] or _this_month(),
                                          query["species"], threshold))


@blp.route("/me/map")
class MyMap(MethodView):
    @blp.doc(security=auth.SECURITY, responses=_GEOJSON_DOC)
    @auth.login_required
    @blp.arguments(MyMapQuery, location="query", unknown=RAISE)
    def get(self, query: dict[str, Any]) -> Any:
        """Your own fishing spots in a month, as hexagons with your catch in each: all of
        them (they are yours). Never a position finer than the cell."""
        p = auth.current()
        orgs = _my_orgs(p, query["org_id"])
        return _hexagons(services.own_cells(db.session(), p.member_id, orgs,
                                            query["month"] or _this_month(), query["species"]))


MAX_ZOOM = 16  # a res-6 hexagon is ~600 px wide at 16: no use going closer


def _tile_coords(z: int, x: int, y: int) -> None:
    errors = []
    if not 0 <= z <= MAX_ZOOM:
        errors.append(FieldError("z", "tile_out_of_range", {"max": MAX_ZOOM}, location="path"))
    elif not (0 <= x < 2**z):
        errors.append(FieldError("x", "tile_out_of_range", {"max": 2**z - 1}, location="path"))
    elif not (0 <= y < 2**z):
        errors.append(FieldError("y", "tile_out_of_range", {"max": 2**z - 1}, location="path"))
    if errors:
        raise ApiError(422, "validation_error", errors=errors)


def _mvt(data: bytes) -> Response:
    resp = Response(data, mimetype="application/vnd.mapbox-vector-tile")
    resp.headers["Cache-Control"] = "private, max-age=60"
    return resp


_MVT_DOC = {"200": {"description": f"A Mapbox Vector Tile, layer `{services.MVT_LAYER}`: "
                                   "hexagons with landed_kg, catches (and vessels); empty where "
                                   "nothing is shown.",
                    "content": {"application/vnd.mapbox-vector-tile": {
                        "schema": {"type": "string", "format": "binary"}}}}}


@blp.route("/organizations/<uuid:org_id>/tiles/<int(signed=True):z>/<int(signed=True):x>/"
           "<int(signed=True):y>.mvt")
class CooperativeTiles(MethodView):
    @blp.doc(security=auth.SECURITY, responses=_MVT_DOC)
    @auth.login_required
    @blp.arguments(MapQuery, location="query", unknown=RAISE)
    def get(self, query: dict[str, Any], org_id: uuid.UUID, z: int, x: int, y: int) -> Any:
        """The heatmap as vector tiles (same cells, same suppression), for a mobile map."""
        auth.require_role(org_id, [Role.admin])
        _tile_coords(z, x, y)
        threshold = privacy.threshold(current_app.config.get("ANALYTICS_MIN_VESSELS"))
        sess = db.session()
        cells = services.heatmap(sess, org_id, query["month"] or _this_month(), query["species"],
                                 threshold)
        return _mvt(services.tile(sess, cells, z, x, y))


@blp.route("/me/tiles/<int(signed=True):z>/<int(signed=True):x>/<int(signed=True):y>.mvt")
class MyTiles(MethodView):
    @blp.doc(security=auth.SECURITY, responses=_MVT_DOC)
    @auth.login_required
    @blp.arguments(MyMapQuery, location="query", unknown=RAISE)
    def get(self, query: dict[str, Any], z: int, x: int, y: int) -> Any:
        """Your own spots as vector tiles."""
        _tile_coords(z, x, y)
        p = auth.current()
        orgs = _my_orgs(p, query["org_id"])
        sess = db.session()
        cells = services.own_cells(sess, p.member_id, orgs,
                                   query["month"] or _this_month(), query["species"])
        return _mvt(services.tile(sess, cells, z, x, y))


# --- a recipient's view of what a cooperative shares with it ----------------------------------

def _path_ids(**values: str) -> list[uuid.UUID]:
    """The path's ids, each checked (the routes take them as text so that a malformed one
    is a 422 naming it, not a 404 of no route)."""
    out, errors = [], []
    for name, value in values.items():
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            errors.append(FieldError(name, "not_a_uuid", location="path"))
    if errors:
        raise ApiError(422, "validation_error", errors=errors)
    return out


def _shared(org: str, recipient: str, purpose: str) -> tuple[uuid.UUID, uuid.UUID,
                                                             list[uuid.UUID]]:
    """(cooperative, recipient, members to pool) for a caller allowed to see what the
    cooperative shares with the recipient for this purpose.

    Who is asked first, then whether anything is shared: someone who is not in the
    recipient gets 404 and a member who is not its admin 403 whatever the cooperative
    decided, so neither learns that a sharing agreement exists. Only the recipient's
    admins (and platform admins, for support, as on the cooperative's own dashboard) hear
    ``sharing_not_enabled``, and they hear it alike for sharing voted off, never voted and
    a cooperative that does not exist."""
    org_id, recipient_id = _path_ids(org_id=org, recipient_id=recipient)
    auth.require_role(recipient_id, [Role.admin])
    sess = db.session()
    if not settings.sharing_enabled(sess, org_id, purpose, recipient_id):
        raise ApiError(403, "sharing_not_enabled")
    return org_id, recipient_id, services.shared_members(sess, org_id, Purpose(purpose),
                                                         recipient_id)


def _shared_path() -> list[dict[str, Any]]:
    """The path's ids, taken as text (see _path_ids) but documented as what they must be
    (a list of its own for each route: the spec builder updates them in place)."""
    return [{"in": "path", "name": "org_id", "description": "The cooperative that shares.",
             "schema": {"type": "string", "format": "uuid"}},
            {"in": "path", "name": "recipient_id",
             "description": "The organization it shares with (yours).",
             "schema": {"type": "string", "format": "uuid"}}]


@blp.route("/organizations/<org_id>/shared/<recipient_id>/dashboard", parameters=_shared_path())
class SharedDashboard(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, SharedDashboardSchema)
    @auth.login_required
    @blp.arguments(SharedQuery, location="query", unknown=RAISE)
    def get(self, query: dict[str, Any], org_id: str, recipient_id: str) -> Any:
        """For the admins of an organization a cooperative shares its figures with (its
        members voted for it, for this purpose): the cooperative's dashboard, over only
        its active members who consent to this purpose for this organization, suppressed
        as the cooperative's own (fewer than 3 vessels, and more with them)."""
        coop, recipient, members = _shared(org_id, recipient_id, query["purpose"])
        threshold = privacy.threshold(current_app.config.get("ANALYTICS_MIN_VESSELS"))
        out = services.cooperative(db.session(), coop, _window(query), threshold,
                                   members=members)
        return out | {"recipient_org_id": recipient, "purpose": query["purpose"]}


@blp.route("/organizations/<org_id>/shared/<recipient_id>/heatmap", parameters=_shared_path())
class SharedHeatmap(MethodView):
    @blp.doc(security=auth.SECURITY, responses=_GEOJSON_DOC)
    @auth.login_required
    @blp.arguments(SharedMapQuery, location="query", unknown=RAISE)
    def get(self, query: dict[str, Any], org_id: str, recipient_id: str) -> Any:
        """The cooperative's catch per hexagon in a month, for the organization it shares
        with: the same members and the same suppression as the shared dashboard."""
        coop, _, members = _shared(org_id, recipient_id, query["purpose"])
        threshold = privacy.threshold(current_app.config.get("ANALYTICS_MIN_VESSELS"))
        return _hexagons(services.heatmap(db.session(), coop, query["month"] or _this_month(),
                                          query["species"], threshold, members=members))


# --- signed catch-history statements -----------------------------------------------------

def _signing_key() -> Ed25519PrivateKey:
    configured = current_app.config.get("STATEMENT_KEY_FILE")
    path = Path(configured) if configured else localdb.state_dir() / "statement-key.pem"
    return statement.signing_key(path)


@blp.route("/me/statement")
class MyStatement(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, StatementSchema)
    @auth.login_required
    @blp.arguments(FisherQuery, location="query", unknown=RAISE)
    def get(self, query: dict[str, Any]) -> Any:
        """Your catch history for these months (trips, days at sea, landed kg by species,
        income), signed by the service: show it to a bank or a buyer, who can check it with
        ``POST /statements/verify`` or the public keys at ``/statements/keys``."""
        p = auth.current()
        orgs = _my_orgs(p, query["org_id"])
        doc = statement.build(db.session(), p.member_id, orgs, _window(query),
                              i18n.locale())
        return signed.sign(doc, _signing_key())


@blp.route("/statements/keys")
class StatementKeys(MethodView):
    @blp.response(200, KeySetSchema)
    def get(self) -> Any:
        """The public keys that sign statements (a JWK Set, Ed25519): public, so anyone can
        verify a statement without asking us."""
        return {"keys": [signed.jwk(_signing_key().public_key())]}


@blp.route("/statements/verify")
class VerifyStatement(MethodView):
    @blp.response(200, VerificationSchema)
    def post(self) -> Any:
        """Check a statement as it was handed to you (public): ``valid`` is false, with the
        reason, when any byte of it was changed or it was not signed by this service."""
        doc = request.get_json(silent=True)
        if not isinstance(doc, dict):
            raise ApiError(422, "validation_error",
                           errors=[FieldError("body", "statement_not_an_object")])
        public = _signing_key().public_key()
        try:
            kid = signed.verify(doc, {signed.key_id(public): public})
        except signed.StatementError as exc:
            return {"valid": False, "key_id": None, "reason": exc.code,
                    "message": i18n.t(exc.code, i18n.locale())}
        return {"valid": True, "key_id": kid, "reason": None, "message": None}
