"""HTTP API of the marketplace: listings, search, lots' provenance, orders, ratings,
saved searches, and a cooperative's sales."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, redirect, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import delete, func, select, text

from server import db, pages
from server.errors import ApiError, FieldError
from server.market import listings, orders, photos, provenance, ratings, render, search
from server.market.models import Listing, ListingPrice, Order, OrderStatus, SavedSearch
from server.market.schemas import (
    CoopRatingSchema,
    ListingInSchema,
    ListingOutSchema,
    ListingPageSchema,
    ListingPatchSchema,
    LotSchema,
    MyListingsQuery,
    OrderInSchema,
    OrderListQuery,
    OrderOutSchema,
    OrderPageSchema,
    OrgOrderQuery,
    PricesSchema,
    RatingInSchema,
    SalesSchema,
    SavedSearchesSchema,
    SavedSearchInSchema,
    SavedSearchOutSchema,
    SearchQuery,
    TransitionInSchema,
)
from server.members import auth
from server.members.models import Organization, Role
from server.pages import keyset_encode, keyset_typed, split_page

blp = Blueprint("market", __name__, url_prefix="/api/v1",
                description="The marketplace: members' listings at their own prices, traced to "
                            "the logbook; orders that never oversell; pooled ratings.")
short = FlaskBlueprint("lots", __name__)  # /p/<code>: the short URL printed as a QR code

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _cfg(name: str) -> Any:
    return current_app.config[name]


def _cards(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if rows and "rating" in rows[0]:  # a search page brings its sellers' ratings along
        rated = {r["org_id"]: r["rating"] for r in rows}
    else:
        rated = ratings.summaries(db.session(), [r["org_id"] for r in rows],
                                  _cfg("MARKET_MIN_RATINGS"))
    base = render.base_url()
    return [render.listing(r, rated, base) for r in rows]


def json_page(page: dict[str, Any]) -> Response:
    """A page of search results as ListingPageSchema would dump it, written by orjson:
    the cards are already plain values, and marshmallow took a quarter of a search's
    Python to copy them (tests/market/test_search.py holds the two equal)."""
    body = {"items": _cards(page["items"]), "sort": page["sort"],
            "next_cursor": page["next_cursor"]}
    return Response(pages.dumps(body), mimetype="application/json")


def _card(listing_id: uuid.UUID) -> dict[str, Any]:
    row = search.card(db.session(), listing_id)
    if row is None:
        raise ApiError(404, "not_found")
    return _cards([row])[0]


@blp.route("/market/listings")
class Listings(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, ListingPageSchema)
    @auth.login_required
    @blp.arguments(SearchQuery, location="query")
    def get(self, query: dict[str, Any]) -> Any:
        """Search the listings that take orders now: words (Spanish, accents ignored),
        species, kind, category, presentation, price range, distance from a point
        (``lon``, ``lat``, ``radius_km``) or a ``bbox``; sorted by distance, price or
        freshness; keyset pages (``after`` = ``next_cursor``)."""
        page = search.search(db.session(), query | {"min_ratings": _cfg("MARKET_MIN_RATINGS")})
        return json_page(page)

    @blp.doc(security=auth.SECURITY)
    @blp.response(201, ListingOutSchema)
    @auth.login_required
    @blp.arguments(ListingInSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """List fish (optionally drawn from your logged catches kept for sale: the
        quantity cannot exceed what they landed minus what other listings took), goods
        or a service, at the price you set. Buyers whose saved searches match are told."""
        sess = db.session()
        listing = listings.create(sess, auth.current(), data)
        sess.commit()
        return _card(listing.id)


@blp.route("/market/listings/<uuid:listing_id>")
class OneListing(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, ListingOutSchema)
    @auth.login_required
    def get(self, listing_id: uuid.UUID) -> Any:
        return _card(listing_id)

    @blp.doc(security=auth.SECURITY)
    @blp.response(200, ListingOutSchema)
    @auth.login_required
    @blp.arguments(ListingPatchSchema)
    def patch(self, data: dict[str, Any], listing_id: uuid.UUID) -> Any:
        """Change your listing: price (kept in its history), quantity (not below what is
        ordered or sold, nor above what its catches have left), texts, end date, or
        status (paused, active again, or closed for good). Only the seller may."""
        sess = db.session()
        listings.update(sess, auth.current(), listing_id, data)
        sess.commit()
        return _card(listing_id)


@blp.route("/market/listings/<uuid:listing_id>/prices")
class Prices(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, PricesSchema)
    @auth.login_required
    def get(self, listing_id: uuid.UUID) -> Any:
        """Every price the seller set for this listing, oldest first."""
        rows = list(db.session().scalars(select(ListingPrice).where(
            ListingPrice.listing_id == listing_id).order_by(ListingPrice.seq)))
        if not rows:
            raise ApiError(404, "not_found")
        return {"prices": rows}


@blp.route("/market/listings/<uuid:listing_id>/photos")
class Photos(MethodView):
    @blp.doc(security=auth.SECURITY, requestBody={"required": True, "content": {
        t: {"schema": {"type": "string", "format": "binary"}} for t in photos.TYPES}})
    @blp.response(201, ListingOutSchema)
    @auth.login_required
    def post(self, listing_id: uuid.UUID) -> Any:
        """Add a photo to your listing: the raw JPEG, PNG or WebP as the body."""
        sess = db.session()
        listing = listings.own(sess, auth.current(), listing_id, lock=True)
        photos.add(sess, listing, request.content_type or "", request.get_data(),
                   max_bytes=_cfg("MARKET_PHOTO_MAX_BYTES"), max_photos=_cfg("MARKET_MAX_PHOTOS"))
        sess.commit()
        return _card(listing_id)


@blp.route("/market/listings/<uuid:listing_id>/photos/<uuid:photo_id>")
class OnePhoto(MethodView):
    @blp.response(200, content_type="image/jpeg")
    def get(self, listing_id: uuid.UUID, photo_id: uuid.UUID) -> Any:
        """A listing's photo (public, like the lot's page it appears on)."""
        photo = photos.get(db.session(), listing_id, photo_id)
        if photo is None:
            raise ApiError(404, "not_found")
        resp = Response(photo.data, mimetype=photo.content_type)
        resp.headers["Cache-Control"] = "public, max-age=86400, immutable"
        resp.set_etag(photo.sha256.hex())
        return resp.make_conditional(request)

    @blp.doc(security=auth.SECURITY)
    @blp.response(204)
    @auth.login_required
    def delete(self, listing_id: uuid.UUID, photo_id: uuid.UUID) -> None:
        sess = db.session()
        listing = listings.own(sess, auth.current(), listing_id, lock=True)
        photo = photos.get(sess, listing.id, photo_id)
        if photo is None:
            raise ApiError(404, "not_found")
        sess.delete(photo)
        sess.commit()


def _created_page(q: Any, model: Any, after: str | None, limit: int) -> tuple[list[Any], str | None]:
    """Newest first by (time, id), keyset pages."""
    col = model.created_at if model is Listing else model.placed_at
    if after:
        t, i = keyset_typed(after, datetime.fromisoformat, uuid.UUID)
        q = q.where(text(f"({col.table.name}.{col.name}, {col.table.name}.id) < (:t, :i)")
                    .bindparams(t=t, i=i))
    rows, more = split_page(list(db.session().scalars(
        q.order_by(col.desc(), model.id.desc()).limit(limit + 1))), limit)
    last = rows[-1] if rows else None
    nxt = keyset_encode(getattr(last, col.name).isoformat(), last.id) if more and last else None
    return rows, nxt


@blp.route("/me/listings")
class MyListings(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, ListingPageSchema)
    @auth.login_required
    @blp.arguments(MyListingsQuery, location="query")
    def get(self, query: dict[str, Any]) -> Any:
        """Your listings, any status, newest first."""
        q = select(Listing).where(Listing.seller_id == auth.current().member_id)
        if query["status"]:
            q = q.where(Listing.status == query["status"])
        rows, nxt = _created_page(q, Listing, query["after"], query["limit"])
        return {"items": _cards(search.cards(db.session(), [r.id for r in rows])),
                "sort": "created", "next_cursor": nxt}


def _lot(code: str) -> dict[str, Any]:
    found = provenance.lot(db.session(), code) if len(code) <= 12 else None
    if found is None:
        raise ApiError(404, "not_found")
    card, catches = found["card"], found["catches"]
    out_catches = []
    for c in catches:
        out_catches.append({
            "quantity": c["quantity"],
            "species": {"code": c["species_code"], "name_es": c["name_es"],
                        "name_en": c["name_en"], "scientific_name": c["scientific_name"]},
            "caught_on": c["caught_on"], "fao_area": c["fao_area"], "zones": c["zones"],
            "presentation": c["presentation"],
            "gear": {"code": c["gear_code"], "name_es": c["gear_es"], "name_en": c["gear_en"]}
            if c["gear_code"] else None,
            "vessel": {"name": c["vessel_name"], "registration": c["vessel_registration"]}
            if c["vessel_name"] else None,
            "landing": {"port": c["landing_port"], "landed_on": c["landed_on"]}
            if c["landed_on"] else None})
    listing = _cards([card])[0]
    return {"code": card["short_code"], "listing": listing,
            "cooperative": {"id": card["org_id"], "name": card["org_name"],
                            "rnpa": card["rnpa"], "state": card["state"]},
            "catches": out_catches, "statement": _statement(listing, out_catches)}


def _statement(listing: dict[str, Any], catches: list[dict[str, Any]]) -> str:
    from server import i18n

    es = i18n.locale() == "es"
    name = (listing["species"] or {}).get("name_es" if es else "name_en") or listing["title"]
    coop = listing["seller"]["name"]
    if not catches:
        return (f"{name}, ofrecido por {coop}." if es else f"{name}, offered by {coop}.")
    days = sorted({str(c["caught_on"]) for c in catches})
    areas = sorted({c["fao_area"] for c in catches if c["fao_area"]})
    zones = sorted({z for c in catches for z in c["zones"]})
    where = ", ".join(zones) or (f"FAO {', '.join(areas)}" if areas else "")
    when = days[0] if len(days) == 1 else f"{days[0]} – {days[-1]}"
    if es:
        return f"{name} capturado el {when}{' en ' + where if where else ''} por socios de {coop}."
    return f"{name} caught on {when}{' in ' + where if where else ''} by members of {coop}."


@blp.route("/market/lots/<string:code>")
class Lot(MethodView):
    @blp.response(200, LotSchema)
    def get(self, code: str) -> Any:
        """A lot's public provenance (no login: for the QR code on a restaurant's menu):
        species, catch dates, FAO area and zone names, gear, vessel, landing and
        cooperative. Never a fishing position."""
        return _lot(code.upper())


@short.get("/p/<string:code>")
def short_url(code: str) -> Any:
    if not re.fullmatch(r"[0-9A-Za-z]{1,12}", code):
        raise ApiError(404, "not_found")
    return redirect(f"/api/v1/market/lots/{code.upper()}", code=302)


def _dl() -> orders.Deadlines:
    return orders.deadlines(current_app.config)


@blp.route("/market/orders")
class Orders(MethodView):
    @blp.doc(security=auth.SECURITY, parameters=[{
        "in": "header", "name": "Idempotency-Key", "required": True, "schema": {"type": "string"},
        "description": "A new random value per order; send the same one when retrying."}])
    @blp.response(201, OrderOutSchema)
    @blp.alt_response(200, schema=OrderOutSchema, description="A retry: the order made before.")
    @auth.login_required
    @blp.arguments(OrderInSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Order a quantity of a listing: it is reserved at once (or refused with 409 if
        less is left), then the seller accepts or rejects it."""
        key = request.headers.get("Idempotency-Key")
        if key is None:
            raise ApiError(400, "idempotency_key_missing", errors=[
                FieldError("Idempotency-Key", "required", location="headers")])
        if not _KEY.match(key):
            raise ApiError(400, "idempotency_key_invalid", errors=[
                FieldError("Idempotency-Key", "idempotency_key_invalid", location="headers")])
        sess = db.session()
        order, replay, events = orders.place(sess, auth.current(), data, key, _dl())
        sess.commit()
        body = render.order(order, events)
        return body, (200 if replay else 201), ({"Idempotent-Replayed": "true"} if replay else {})

    @blp.doc(security=auth.SECURITY)
    @blp.response(200, OrderPageSchema)
    @auth.login_required
    @blp.arguments(OrderListQuery, location="query")
    def get(self, query: dict[str, Any]) -> Any:
        """Your orders, newest first: as buyer (default) or as seller."""
        me = auth.current().member_id
        col = Order.buyer_id if query["role"] == "buyer" else Order.seller_id
        q = select(Order).where(col == me)
        if query["status"]:
            q = q.where(Order.status == query["status"])
        rows, nxt = _created_page(q, Order, query["after"], query["limit"])
        return {"orders": [render.order(o) for o in rows], "next_cursor": nxt}


@blp.route("/market/orders/<uuid:order_id>")
class OneOrder(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, OrderOutSchema)
    @auth.login_required
    def get(self, order_id: uuid.UUID) -> Any:
        """An order with its history (its buyer, its seller, the selling cooperative's
        admins)."""
        sess = db.session()
        order = orders.visible(sess, auth.current(), order_id)
        return render.order(order, orders.history(sess, order))


@blp.route("/market/orders/<uuid:order_id>/status")
class OrderStatusStep(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, OrderOutSchema)
    @auth.login_required
    @blp.arguments(TransitionInSchema)
    def post(self, data: dict[str, Any], order_id: uuid.UUID) -> Any:
        """Move an order on: placed → accepted | rejected (seller) | cancelled (buyer);
        accepted → ready (seller) | cancelled (either); ready → completed (either) |
        cancelled (seller). Rejected, cancelled and expired orders return their stock."""
        sess = db.session()
        order = orders.transition(sess, auth.current(), order_id, OrderStatus(data["status"]),
                                  data["reason"], _dl())
        sess.commit()
        return render.order(order, orders.history(sess, order))


@blp.route("/market/orders/<uuid:order_id>/rating")
class RateOrder(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(201, CoopRatingSchema)
    @auth.login_required
    @blp.arguments(RatingInSchema)
    def post(self, data: dict[str, Any], order_id: uuid.UUID) -> Any:
        """Rate the cooperative that sold you a completed order (1 to 5 stars, once)."""
        sess = db.session()
        r = ratings.rate(sess, auth.current(), order_id, data["stars"])
        sess.commit()
        return _coop_rating(r.org_id)


def _coop_rating(org_id: uuid.UUID) -> dict[str, Any]:
    org = db.session().get(Organization, org_id)
    if org is None:
        raise ApiError(404, "not_found")
    minimum = ratings.minimum(_cfg("MARKET_MIN_RATINGS"))
    return {"org_id": org.id, "name": org.name, "min_ratings": minimum,
            "rating": ratings.summaries(db.session(), [org.id], minimum)[org.id]}


@blp.route("/market/cooperatives/<uuid:org_id>/rating")
class CoopRating(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, CoopRatingSchema)
    @auth.login_required
    def get(self, org_id: uuid.UUID) -> Any:
        """A cooperative's pooled stars; null until it has at least ``min_ratings``."""
        return _coop_rating(org_id)


@blp.route("/organizations/<uuid:org_id>/market/sales")
class Sales(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, SalesSchema)
    @auth.login_required
    @blp.arguments(OrgOrderQuery, location="query")
    def get(self, query: dict[str, Any], org_id: uuid.UUID) -> Any:
        """The cooperative's orders (its admins): every member's sales, newest first,
        with completed sales summed per month and currency."""
        auth.require_role(org_id, [Role.admin])
        q = select(Order).where(Order.org_id == org_id)
        if query["status"]:
            q = q.where(Order.status == query["status"])
        rows, nxt = _created_page(q, Order, query["after"], query["limit"])
        months = db.session().execute(text("""
            SELECT to_char(date_trunc('month', completed_at AT TIME ZONE 'America/Mexico_City'),
                           'YYYY-MM') AS month, currency, count(*) AS orders, sum(total) AS total
            FROM market_order WHERE org_id = :org AND status = 'completed'
            GROUP BY 1, 2 ORDER BY 1 DESC, 2 LIMIT 36"""), {"org": org_id}).mappings().all()
        return {"orders": [render.order(o) for o in rows], "next_cursor": nxt,
                "by_month": [dict(m) for m in months]}


# A saved search's point and box as numbers, read with the row (not one query per search).
_SAVED_GEO = (func.ST_X(func.geometry(SavedSearch.near)), func.ST_Y(func.geometry(SavedSearch.near)),
              func.ST_XMin(SavedSearch.bbox), func.ST_YMin(SavedSearch.bbox),
              func.ST_XMax(SavedSearch.bbox), func.ST_YMax(SavedSearch.bbox))


def _saved(s: SavedSearch, geo: Any) -> dict[str, Any]:
    crit: dict[str, Any] = {k: getattr(s, k) for k in (
        "q", "kind", "category", "species_code", "presentation", "preservation", "currency")}
    for k in ("min_price", "max_price"):
        crit[k] = float(getattr(s, k)) if getattr(s, k) is not None else None
    crit["org_id"] = s.seller_org_id
    crit["radius_km"] = s.radius_m / 1000.0 if s.radius_m is not None else None
    crit["lon"], crit["lat"] = geo[0], geo[1]
    crit["bbox"] = list(geo[2:]) if geo[2] is not None else None
    return {"id": s.id, "name": s.name, "criteria": {k: v for k, v in crit.items() if v is not None},
            "created_at": s.created_at}


def _saved_rows(*where: Any) -> list[dict[str, Any]]:
    rows = db.session().execute(select(SavedSearch, *_SAVED_GEO).where(*where)
                                .order_by(SavedSearch.created_at))
    return [_saved(r[0], r[1:]) for r in rows]


@blp.route("/me/saved-searches")
class SavedSearches(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, SavedSearchesSchema)
    @auth.login_required
    def get(self) -> Any:
        return {"saved_searches": _saved_rows(SavedSearch.member_id == auth.current().member_id)}

    @blp.doc(security=auth.SECURITY)
    @blp.response(201, SavedSearchOutSchema)
    @auth.login_required
    @blp.arguments(SavedSearchInSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Keep a search: your notification feed tells you when a new listing matches."""
        sess = db.session()
        me = auth.current().member_id
        sess.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 7))"),
                     {"k": f"saved:{me}"})
        n = sess.scalar(select(text("count(*)")).select_from(SavedSearch).where(
            SavedSearch.member_id == me))
        if int(n or 0) >= search.MAX_SAVED:
            raise ApiError(409, "too_many_saved_searches", max=search.MAX_SAVED)
        s = search.save(sess, me, data)
        sess.commit()
        return _saved_rows(SavedSearch.id == s.id)[0]


@blp.route("/me/saved-searches/<uuid:search_id>")
class OneSavedSearch(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(204)
    @auth.login_required
    def delete(self, search_id: uuid.UUID) -> None:
        sess = db.session()
        done = sess.execute(delete(SavedSearch).where(
            SavedSearch.id == search_id, SavedSearch.member_id == auth.current().member_id))
        if not done.rowcount:  # type: ignore[attr-defined]
            raise ApiError(404, "not_found")
        sess.commit()
