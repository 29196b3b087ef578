"""HTTP API of the logbook: mobile sync, and reading and correcting records."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import Select, or_, select, tuple_

from server import db, feed
from server.catalog.schemas import ChangePageSchema, FeedQuery
from server.catches import services as svc
from server.catches import sync
from server.catches.models import Catch, RecordStatus, Trip
from server.catches.schemas import (
    CancelSchema,
    CatchOutSchema,
    CorrectionSchema,
    ListQuery,
    PushResultSchema,
    PushSchema,
    TripOutSchema,
)
from server.db import utcnow
from server.errors import ApiError, FieldError
from server.i18n import locale
from server.members import auth
from server.members.models import Role
from server.pages import conditional_json, dumps, keyset_encode, keyset_typed, split_page

blp = Blueprint("logbook", __name__, url_prefix="/api/v1",
                description="Trips and catches: mobile sync, reading and corrections.")


def _limits() -> sync.Limits:
    cfg = current_app.config
    return sync.Limits(cfg["MAX_CATCH_KG"], cfg["MAX_CATCH_COUNT"],
                       timedelta(seconds=cfg["CLOCK_SKEW_SECONDS"]), cfg["MAX_TRIP_DAYS"])


@blp.route("/sync/push")
class Push(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.arguments(PushSchema)
    @blp.response(200, PushResultSchema)
    @blp.alt_response(413, description="More items or bytes than a batch may hold.")
    @auth.login_required
    def post(self, data: dict[str, Any]) -> Any:
        """Push a batch of trips and catches recorded offline.

        Items: ``{"type": "trip"|"catch", "id": <uuid from the phone>, "version": 1, ...}``.
        A correction is the same id with the next version and the full new content;
        ``"cancelled": true`` with the next version cancels (a tombstone).
        Each item is answered in input order: created, duplicate, conflict (with the
        server's copy) or rejected (with field errors). Retrying a batch is safe."""
        cfg = current_app.config
        items = data["items"]
        if len(items) > cfg["SYNC_MAX_ITEMS"]:
            raise ApiError(413, "too_many_items", limit=cfg["SYNC_MAX_ITEMS"])
        if (request.content_length or 0) > cfg["SYNC_MAX_BYTES"]:
            raise ApiError(413, "payload_too_large", limit=cfg["SYNC_MAX_BYTES"])
        sess = db.session()
        now = utcnow()
        results = sync.push(sess, auth.current(), items, device_id=data.get("device_id"),
                            now=now, limits=_limits())
        sess.commit()
        lang_results = []
        lang = locale()
        for it in results:
            out = it.result()
            if "errors" in out:
                out["errors"] = [e.render(lang) for e in out["errors"]]
            lang_results.append(out)
        return current_app.response_class(
            dumps({"received_at": now, "results": lang_results}), mimetype="application/json")


@blp.route("/sync/changes")
class Changes(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.arguments(FeedQuery, location="query")
    @blp.response(200, ChangePageSchema)
    @blp.alt_response(304, description="Nothing new since this cursor (If-None-Match).")
    @auth.login_required
    def get(self, query: dict[str, Any]) -> Any:
        """Your trips and catches changed since ``cursor`` (all of them without one).

        Cancelled records come as ``deleted: true``; corrected catches as their new
        version. Keep the returned ``cursor``; pull again while ``has_more``."""
        me = auth.current().member_id
        limit = query.get("limit") or current_app.config["FEED_PAGE_SIZE"]
        sources = [
            feed.Source("trip", select(Trip).where(Trip.member_id == me), Trip, svc.render_trip),
            feed.Source("catch", select(Catch).where(
                Catch.member_id == me, Catch.superseded_at.is_(None)), Catch, svc.render_catch),
        ]
        page = feed.read(db.session(), sources, query.get("cursor"), limit)
        return conditional_json(
            {"changes": page.changes, "cursor": page.cursor, "has_more": page.has_more},
            etag=page.etag)


def _scope(model: Any, org_id: uuid.UUID | None) -> Any:
    """Own records, or a whole organization's for its administrators (404 otherwise)."""
    p = auth.current()
    if org_id is None:
        return model.member_id == p.member_id
    auth.require_role(org_id, [Role.admin])
    return model.org_id == org_id


def _visible(model: Any) -> Any:
    """Rows the caller may read by id: their own, or in organizations they administer."""
    p = auth.current()
    if p.is_platform_admin:
        return True
    admin_of = p.orgs_with(Role.admin)
    return or_(model.member_id == p.member_id, model.org_id.in_(admin_of))


def _page(q: Select[Any], order: tuple[Any, Any], limit: int, after: str | None,
          render: Any) -> dict[str, Any]:
    col_time, col_id = order
    if after:
        t, i = keyset_typed(after, datetime.fromisoformat, uuid.UUID)
        q = q.where(tuple_(col_time, col_id) < tuple_(t, i))
    rows, more = split_page(
        db.session().scalars(q.order_by(col_time.desc(), col_id.desc()).limit(limit + 1)).all(), limit)
    nxt = keyset_encode(getattr(rows[-1], col_time.key), rows[-1].id) if more and rows else None
    return {"items": [render(r) for r in rows], "next_cursor": nxt}


def _filtered(q: Select[Any], model: Any, when: Any, query: dict[str, Any]) -> Select[Any]:
    """The filters trips and catches share: cancelled records and a time window."""
    if not query["include_cancelled"]:
        q = q.where(model.status == RecordStatus.active)
    if query["since"]:
        q = q.where(when >= query["since"])
    if query["until"]:
        q = q.where(when < query["until"])
    return q


@blp.route("/trips")
class Trips(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.arguments(ListQuery, location="query")
    @blp.response(200)
    @auth.login_required
    def get(self, query: dict[str, Any]) -> Any:
        """Your trips, newest first; ``org_id`` for a cooperative you administer."""
        q = _filtered(select(Trip).where(_scope(Trip, query["org_id"])), Trip,
                      Trip.departed_at, query)
        return conditional_json(_page(q, (Trip.departed_at, Trip.id), query["limit"],
                                      query["after"], svc.render_trip))


@blp.route("/trips/<uuid:trip_id>")
class TripItem(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, TripOutSchema)
    @auth.login_required
    def get(self, trip_id: uuid.UUID) -> Any:
        """One trip, with its current catches."""
        sess = db.session()
        trip = sess.scalar(select(Trip).where(Trip.id == trip_id, _visible(Trip)).limit(1))
        if trip is None:
            raise ApiError(404, "not_found")
        catches = sess.scalars(select(Catch).where(
            Catch.org_id == trip.org_id, Catch.trip_id == trip.id,
            Catch.superseded_at.is_(None)).order_by(Catch.caught_at)).all()
        return conditional_json({**svc.render_trip(trip),
                                 "catches": [svc.render_catch(c) for c in catches]})


@blp.route("/catches")
class Catches(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.arguments(ListQuery, location="query")
    @blp.response(200)
    @auth.login_required
    def get(self, query: dict[str, Any]) -> Any:
        """Your catches (current versions), newest first; ``org_id`` for a cooperative
        you administer."""
        q = select(Catch).where(_scope(Catch, query["org_id"]), Catch.superseded_at.is_(None))
        q = _filtered(q, Catch, Catch.caught_at, query)
        for key, col in (("trip_id", Catch.trip_id), ("species_code", Catch.species_code)):
            if query[key]:
                q = q.where(col == query[key])
        return conditional_json(_page(q, (Catch.caught_at, Catch.id), query["limit"],
                                      query["after"], svc.render_catch))


def _current_visible(catch_id: uuid.UUID) -> Catch:
    cur = db.session().scalar(select(Catch).where(
        Catch.id == catch_id, Catch.superseded_at.is_(None), _visible(Catch)).limit(1))
    if cur is None:
        raise ApiError(404, "not_found")
    return cur


def _base_version(data: dict[str, Any]) -> int:
    """From ``If-Match: "v<n>"`` (the ETag of GET) or the body's ``base_version``."""
    match = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if match.startswith("v") and match[1:].isdigit():
        return int(match[1:])
    if data.get("base_version") is None:
        raise ApiError(422, "validation_error", errors=[FieldError("base_version", "required")])
    return int(data["base_version"])


def _correctable(catch_id: uuid.UUID, data: dict[str, Any]) -> tuple[Catch, int]:
    """The current version, if the caller based their change on it and it is not cancelled."""
    cur = _current_visible(catch_id)
    base = _base_version(data)
    if base != cur.version:
        raise ApiError(412, "precondition_failed", current=cur.version)
    if cur.status == RecordStatus.cancelled:
        raise ApiError(409, "already_cancelled")
    return cur, base


def _write_version(cur: Catch, version: int, body: dict[str, Any], cancelled: bool) -> Any:
    p = auth.current()
    owner = None if p.is_admin_of(cur.org_id) else p.member_id
    item = sync.Item(0, "catch", cur.id, version, cancelled, body, cur.org_id)
    sess = db.session()
    new = sync.correct(sess, p.member_id, item, request.headers.get("X-Device-Id"), utcnow(),
                       owner=owner)
    if item.status == "rejected":
        raise ApiError(404, "not_found")
    if item.status == "conflict" or new is None:
        # The server's copy is the current version (another writer's), not ``cur``.
        server = orjson.loads(dumps(item.server or svc.render_catch(cur)))
        sess.rollback()
        raise ApiError(412, "precondition_failed", current=server["version"],
                       extra={"server": server})
    sess.commit()
    resp = conditional_json(svc.render_catch(new), status=201 if not cancelled else 200)
    resp.headers["ETag"] = f'"v{new.version}"'
    return resp


@blp.route("/catches/<uuid:catch_id>")
class CatchItem(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, CatchOutSchema)
    @auth.login_required
    def get(self, catch_id: uuid.UUID) -> Any:
        """A catch's current version (ETag "v<version>", for If-Match on corrections)."""
        cur = _current_visible(catch_id)
        resp = conditional_json(svc.render_catch(cur), etag=f'"v{cur.version}"')
        return resp

    @blp.doc(security=auth.SECURITY)
    @blp.arguments(CorrectionSchema(partial=True))
    @blp.response(201, CatchOutSchema)
    @blp.alt_response(412, description="base_version is not the current version.")
    @auth.login_required
    def patch(self, data: dict[str, Any], catch_id: uuid.UUID) -> Any:
        """Correct a catch: a new version supersedes the current one (both kept).

        Give the version you corrected as ``base_version`` (or ``If-Match: "v<n>"``)."""
        cur, base = _correctable(catch_id, data)
        body = {k: v for k, v in data.items() if k != "base_version"}
        merged = {**svc.body_of(cur), **body}
        # The whole new version follows the rules a pushed one does, on the trip
        # it hangs on: one of the catch's owner, in the catch's organization.
        trip = db.session().get(Trip, (cur.org_id, merged["trip_id"]))
        if trip is None or trip.member_id != cur.member_id:
            raise ApiError(422, "validation_error", errors=[
                FieldError("trip_id", "unknown_trip", {"value": str(merged["trip_id"])})])
        errors = sync.check_catch(db.session(), merged, trip, utcnow(), _limits())
        if errors:
            raise ApiError(422, "validation_error", errors=errors)
        return _write_version(cur, base + 1, body, cancelled=False)

    @blp.doc(security=auth.SECURITY)
    @blp.arguments(CancelSchema)
    @blp.response(200, CatchOutSchema)
    @auth.login_required
    def delete(self, data: dict[str, Any], catch_id: uuid.UUID) -> Any:
        """Cancel a catch: a tombstone version; the history stays."""
        cur, base = _correctable(catch_id, data)
        return _write_version(cur, base + 1, {}, cancelled=True)


@blp.route("/catches/<uuid:catch_id>/versions")
class CatchVersions(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, CatchOutSchema(many=True))
    @auth.login_required
    def get(self, catch_id: uuid.UUID) -> Any:
        """Every version of a catch, oldest first."""
        cur = _current_visible(catch_id)
        rows = db.session().scalars(select(Catch).where(
            Catch.org_id == cur.org_id, Catch.id == cur.id).order_by(Catch.version)).all()
        return conditional_json([svc.render_catch(r) for r in rows])

