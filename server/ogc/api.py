"""OGC API - Features (Part 1: Core, GeoJSON) at /ogc: aggregated catch for authorities.

A plain Flask blueprint, not flask-smorest: the standard fixes its own
documents (landing page, conformance, collections, FeatureCollection), which
are written here as they are; the paths are added to the API's OpenAPI
document by hand when the blueprint is registered.

Who sees what:
- the landing page and conformance classes are public: they describe the
  service, not its data;
- collections and features: an authority's staff (role ``authority``) see
  their authority's jurisdiction; a platform admin sees every organization
  (or one authority's view with ``?authority=``); everyone else gets 404,
  and a request without a token 401.

The jurisdiction: the authority's listed cooperatives, plus, when it has a
region, every organization's cells whose centre lies in the region. The
reports place a record where it landed; a map of cells places catch where it
was caught, and the rollup keeps no landing port, so a region here means the
region's waters. Staff of several authorities choose with ``?authority=<id>``;
without it they see the first (lowest id: the oldest authority).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import orjson
from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from sqlalchemy import select

from geo import privacy
from server import db, i18n
from server.errors import ApiError
from server.members import auth
from server.members.models import Role
from server.ogc import documents, messages, params, publish, queries
from server.ogc.collections import COLLECTIONS, Collection
from server.ogc.models import PLATFORM_AUDIENCE, Audience
from server.ogc.publish import Published
from server.reports.models import Authority

PREFIX = "/ogc"

bp = Blueprint("ogc", __name__, url_prefix=PREFIX)


def min_vessels() -> int:
    return privacy.threshold(current_app.config.get("OGC_MIN_VESSELS"))


def _audience() -> Published:
    """The caller's view of the map, published with today's threshold."""
    p = auth.current()
    wanted = params.authority(request.args)
    threshold = min_vessels()
    sess = db.session()
    authority_id: uuid.UUID | None = None
    row: tuple[int, int] | None
    if p.is_platform_admin and wanted is None:
        got = sess.execute(select(Audience.min_vessels, Audience.version)
                           .where(Audience.id == PLATFORM_AUDIENCE)).first()
        row = None if got is None else (got[0], got[1])
    else:
        candidates = p.orgs_with(Role.authority)
        if wanted is not None:
            if not (p.is_platform_admin or wanted in candidates):
                raise ApiError(404, "not_found")
            candidates = [wanted]
        # One statement (every page of a walk asks): the authority and its publication.
        found = sess.execute(
            select(Authority.id, Audience.min_vessels, Audience.version)
            .outerjoin(Audience, Audience.authority_id == Authority.id)
            .where(Authority.id.in_(candidates)).order_by(Authority.id).limit(1)).first()
        if found is None:
            raise ApiError(404, "not_found")
        authority_id = found[0]
        row = None if found[1] is None else (found[1], found[2])
    if row is not None and row[0] == threshold:
        return Published(publish.audience_of(authority_id), int(row[1]))
    pub = publish.ensure(sess, authority_id, threshold)
    if pub is None:
        raise ApiError(404, "not_found")
    return pub


def _collection(collection_id: str) -> Collection:
    coll = COLLECTIONS.get(collection_id)
    if coll is None:
        raise ApiError(404, "not_found")
    return coll


def _urls() -> tuple[str, str]:
    host = request.url_root.rstrip("/")
    return host, host + PREFIX


def _respond(body: Any, mimetype: str = documents.JSON) -> Response:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    resp = Response(data, mimetype=mimetype)
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp


@bp.get("/")
def landing() -> Response:
    params.check_known(request.args, params.COMMON)
    host, base = _urls()
    return _respond(documents.landing(base, host, i18n.locale(), min_vessels()))


@bp.get("/conformance")
def conformance() -> Response:
    params.check_known(request.args, params.COMMON)
    return _respond(documents.conformance())


@bp.get("/collections")
def collections() -> Response:
    pub = _audience()
    params.check_known(request.args, params.COMMON)
    _, base = _urls()
    return _respond(documents.collections(base, i18n.locale(),
                                          queries.extent(db.session(), pub)))


# Path variables are named as in the standard ({collectionId}, {featureId}): the OpenAPI
# document then shows the paths clients look for.
@bp.get("/collections/<collectionId>")
def collection(collectionId: str) -> Response:
    pub = _audience()
    coll = _collection(collectionId)
    params.check_known(request.args, params.COMMON)
    _, base = _urls()
    return _respond(documents.collection(base, coll, i18n.locale(),
                                         queries.extent(db.session(), pub)))


@bp.get("/collections/<collectionId>/items")
def items(collectionId: str) -> Response:
    pub = _audience()
    coll = _collection(collectionId)
    q = params.items_query(coll.id, request.args, with_species=coll.with_species)
    page = queries.items(db.session(), coll, pub, q)
    _, base = _urls()
    url = f"{base}/collections/{coll.id}/items"
    links = [documents.link(request.url, "self", documents.GEOJSON, "This page"),
             documents.link(f"{base}/collections/{coll.id}", "collection", documents.JSON)]
    if page.more and page.last is not None:
        kept = [(k, v) for k, v in request.args.items(multi=True) if k != "next"]
        token = params.encode_key(coll.id, page.last)
        links.append(documents.link(f"{url}?{urlencode([*kept, ('next', token)])}", "next",
                                    documents.GEOJSON, "Next page"))
    return _respond(documents.feature_collection(page, links), documents.GEOJSON)


@bp.get("/collections/<collectionId>/items/<featureId>")
def item(collectionId: str, featureId: str) -> Response:
    pub = _audience()
    coll = _collection(collectionId)
    params.check_known(request.args, params.COMMON)
    key = params.feature_id(featureId, with_species=coll.with_species)
    found = queries.one(db.session(), coll, pub, key) if key is not None else None
    if found is None:
        raise ApiError(404, "not_found")
    _, base = _urls()
    return _respond(documents.feature(found, [
        documents.link(request.url, "self", documents.GEOJSON),
        documents.link(f"{base}/collections/{coll.id}", "collection", documents.JSON)]),
        documents.GEOJSON)


# Recorded after the routes, so it runs once their rules are in the app's map.
@bp.record_once
def _on_register(state: BlueprintSetupState) -> None:
    i18n.register(messages.MESSAGES)
    api = state.app.extensions.get("cardumen.api")
    if api is None:
        return
    api.spec.tag({"name": documents.TAG, "description": documents.TAG_DESCRIPTION})
    operations = documents.openapi_operations()
    for rule in state.app.url_map.iter_rules():
        name = rule.endpoint.removeprefix(f"{bp.name}.")
        if rule.endpoint.startswith(f"{bp.name}.") and name in operations:
            api.spec.path(rule=rule, operations=operations[name])
