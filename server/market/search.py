"""Finding listings, and telling saved searches about new ones, with one predicate.

Each criterion is one SQL condition on the listing ``l`` (the words of a text query
one condition each, all required). A search fills it with
its query parameters (only the criteria it has, so the planner sees plain
conditions and uses the spatial and text indexes); a saved search fills it with
its own columns, each condition true when the column is NULL. So a saved search
is told of exactly the new listings the same search would find.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.catalog.models import Species
from server.errors import ApiError, FieldError
from server.market import ratings
from server.market.models import Listing, ListingStatus, SavedSearch
from server.members.models import Organization
from server.notifications import services as notifications
from server.pages import keyset_encode, keyset_typed, split_page

NEAR = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography"
MAX_WORDS = 12
# Trigram matches below this strict word similarity are too far ("cámara" is 0.5 from
# "camarón"; "guachinango" is 0.6 from "huachinango").
MIN_SIMILARITY = 0.6
# One word of the query is in the listing when its Spanish stem is (plurals, accents as
# written) or when it is nearly one of its words without accents (what a phone types,
# typos, English names). A Spanish stop word ("de") asks for nothing.
WORD = ("(numnode(plainto_tsquery('spanish', {w})) = 0 "
        "OR l.search @@ plainto_tsquery('spanish', {w}) "
        "OR (l.plain %>> lower(cardumen_unaccent({w})) "
        f"AND strict_word_similarity(lower(cardumen_unaccent({{w}})), l.plain) >= {MIN_SIMILARITY}))")
# (criterion, condition); {v} is the criterion's value, {currency} and {near} the others'.
# "q" is expanded word by word (every word must be in the listing), see _conditions.
CRITERIA: list[tuple[str, str]] = [
    ("q_words", "NOT EXISTS (SELECT 1 FROM unnest({v}) AS qw(w) WHERE NOT "
                + WORD.format(w="qw.w") + ")"),
    ("kind", "l.kind = {v}"),
    ("category", "l.category = {v}"),
    ("species_code", "l.species_code = {v}"),
    ("presentation", "l.presentation = {v}"),
    ("preservation", "l.preservation = {v}"),
    ("min_price", "l.currency = {currency} AND l.unit_price >= {v}"),
    ("max_price", "l.currency = {currency} AND l.unit_price <= {v}"),
    ("radius_m", "ST_DWithin(l.location, {near}, {v}, false)"),
    ("bbox", "ST_Intersects(l.location::geometry, {v})"),
    ("seller_org_id", "l.org_id = {v}"),
]


def words(q: str | None) -> list[str] | None:
    """The query's distinct words, lower case, in order (at most MAX_WORDS)."""
    if q is None:
        return None
    out = list(dict.fromkeys(re.findall(r"[^\W_]+", q.lower())))[:MAX_WORDS]
    return out or None


LIVE = ("l.status = 'active' AND l.available_until > now() "
        "AND l.quantity > l.reserved + l.sold")

CARD = """
    l.org_id, l.id, l.short_code, l.kind, l.category, l.title, l.description, l.species_code,
    sp.name_es AS species_es, sp.name_en AS species_en, sp.scientific_name,
    l.presentation, l.preservation, l.unit, l.quantity - l.reserved - l.sold AS available,
    l.quantity, l.sold, l.unit_price, l.currency, l.port_id, pt.name AS port_name,
    ST_X(l.location::geometry) AS lon, ST_Y(l.location::geometry) AS lat,
    l.delivery_area IS NOT NULL AS delivers, l.available_from, l.available_until, l.fresh_at,
    l.status, l.seller_id, o.name AS org_name, l.created_at, l.updated_at,
    EXISTS (SELECT 1 FROM listing_catch lc
            WHERE lc.org_id = l.org_id AND lc.listing_id = l.id AND lc.quantity > 0) AS traced,
    ARRAY(SELECT ph.id FROM listing_photo ph WHERE ph.org_id = l.org_id AND ph.listing_id = l.id
          ORDER BY ph.created_at, ph.id) AS photos"""
CARD_FROM = """
    FROM listing l JOIN organization o ON o.id = l.org_id
    LEFT JOIN species sp ON sp.code = l.species_code
    LEFT JOIN port pt ON pt.id = l.port_id"""

# Sort: (ORDER BY, keyset comparison with the last row's key, key parsers).
SORTS: dict[str, tuple[str, str, tuple[Any, ...]]] = {
    "distance": (f"l.location <-> {NEAR}, l.id", f"(l.location <-> {NEAR}, l.id) > (:k0, :k1)",
                 (float, uuid.UUID)),
    "price": ("l.unit_price, l.id", "(l.unit_price, l.id) > (:k0, :k1)", (Decimal, uuid.UUID)),
    "-price": ("l.unit_price DESC, l.id DESC", "(l.unit_price, l.id) < (:k0, :k1)",
               (Decimal, uuid.UUID)),
    "freshness": ("l.fresh_at DESC, l.id DESC", "(l.fresh_at, l.id) < (:k0, :k1)",
                  (datetime.fromisoformat, uuid.UUID)),
}


def _values(c: Mapping[str, Any]) -> dict[str, Any]:
    """Criteria as the columns of a saved search (radius in metres, bbox a polygon)."""
    v = {k: c.get(k) for k in ("kind", "category", "species_code", "presentation",
                               "preservation", "min_price", "max_price")}
    v["q_words"] = words(c.get("q"))
    v["currency"] = c.get("currency") or "MXN"
    v["seller_org_id"] = c.get("org_id")
    v["radius_m"] = c["radius_km"] * 1000.0 if c.get("radius_km") is not None else None
    v["bbox"] = c.get("bbox")
    v["lon"], v["lat"] = c.get("lon"), c.get("lat")
    return v


def where_params(c: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The conditions and bind parameters of a search's criteria."""
    v = _values(c)
    conds, params = [], {"currency": v["currency"], "lon": v["lon"], "lat": v["lat"]}
    for name, cond in CRITERIA:
        if v[name] is None:
            continue
        if name == "q_words":
            # Word by word with bind parameters: each word's condition can use the GIN
            # indexes (the saved-search form, over an array, cannot).
            for i, w in enumerate(v[name]):
                params[f"w{i}"] = w
                conds.append(WORD.format(w=f":w{i}"))
            continue
        if name == "bbox":
            ref = "ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, 4326)"
            params.update(zip(("bx0", "by0", "bx1", "by1"), v["bbox"], strict=True))
        else:
            ref = f":{name}"
            params[name] = v[name]
        conds.append(cond.format(v=ref, currency=":currency", near=NEAR))
    return conds, params


def saved_predicate() -> str:
    """The same criteria against a saved search ``s``."""
    conds = []
    for name, cond in CRITERIA:
        col = f"s.{name}"
        conds.append(f"({col} IS NULL OR ({cond.format(v=col, currency='s.currency', near='s.near')}))")
    return " AND ".join(conds)


def search(sess: Session, c: Mapping[str, Any]) -> dict[str, Any]:
    conds, params = where_params(c)
    sort = c.get("sort") or ("distance" if c.get("lon") is not None else "freshness")
    if sort in ("price", "-price"):
        conds.append("l.currency = :currency")  # prices compare within one currency
    order, after, parsers = SORTS[sort]
    if c.get("after"):
        k = keyset_typed(c["after"], *parsers)
        params["k0"], params["k1"] = k
        conds.append(after)
    point = c.get("lon") is not None
    extra = ""
    if point:
        extra = (f", l.location <-> {NEAR} AS distance_m, "
                 f"coalesce(ST_Intersects(l.delivery_area, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)),"
                 " false) AS delivers_here")
    params["limit"] = c["limit"] + 1
    # The page is chosen on listing alone and only its rows are joined and made cards:
    # joining before the LIMIT built a card for every candidate in the radius.
    page = (f"SELECT l.org_id, l.id FROM listing l WHERE {LIVE} "
            + "".join(f" AND {x}" for x in conds) + f" ORDER BY {order} LIMIT :limit")
    # The sellers' pooled ratings in the same statement: a round trip less per search.
    params["min_ratings"] = ratings.minimum(c.get("min_ratings", ratings.MIN_RATINGS_FLOOR))
    sql = (f"SELECT {CARD}{extra}, {ratings.summary_sql('l.org_id')} AS rating {CARD_FROM} "
           f"JOIN ({page}) page ON page.org_id = l.org_id AND page.id = l.id ORDER BY {order}")
    rows, more = split_page(sess.execute(text(sql), params).mappings().all(), c["limit"])
    items = [dict(r) for r in rows]
    nxt = None
    if more and items:
        last = items[-1]
        key = {"distance": last.get("distance_m"), "price": last["unit_price"],
               "-price": last["unit_price"], "freshness": last["fresh_at"]}[sort]
        nxt = keyset_encode(key if not isinstance(key, datetime) else key.isoformat(), last["id"])
    return {"items": items, "sort": sort, "next_cursor": nxt}


def cards(sess: Session, listing_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """The cards of these listings, in the order given, in one query."""
    rows = {r["id"]: dict(r) for r in sess.execute(
        text(f"SELECT {CARD} {CARD_FROM} WHERE l.id = ANY(:ids)"),
        {"ids": listing_ids}).mappings()}
    return [rows[i] for i in listing_ids if i in rows]


def card(sess: Session, listing_id: uuid.UUID) -> dict[str, Any] | None:
    found = cards(sess, [listing_id])
    return found[0] if found else None


def notify_matches(sess: Session, listing: Listing) -> int:
    """Tell every saved search (but the seller's own) that matches this new listing."""
    if listing.status != ListingStatus.active:
        return 0
    rows = sess.execute(text(f"""
        SELECT s.id, s.member_id, s.name FROM saved_search s, listing l
        WHERE l.org_id = :org AND l.id = :id AND s.member_id <> l.seller_id
          AND {saved_predicate()}"""), {"org": listing.org_id, "id": listing.id}).all()
    for sid, member, name in rows:
        notifications.notify(sess, member, "market.listing_matched", saved_search_id=sid,
                             saved_search=name, listing_id=listing.id, title=listing.title,
                             unit_price=float(listing.unit_price), currency=listing.currency,
                             unit=listing.unit, short_code=listing.short_code)
    return len(rows)


MAX_SAVED = 20


def save(sess: Session, member_id: uuid.UUID, c: Mapping[str, Any]) -> SavedSearch:
    v = _values(c)
    errs = []
    if v["species_code"] and sess.get(Species, v["species_code"]) is None:
        errs.append(FieldError("species_code", "species_unknown", {"species": v["species_code"]}))
    if v["seller_org_id"] and sess.get(Organization, v["seller_org_id"]) is None:
        errs.append(FieldError("org_id", "org_unknown", {"id": str(v["seller_org_id"])}))
    if errs:
        raise ApiError(422, "validation_error", errors=errs)
    near = None
    if v["lon"] is not None:
        near = f"SRID=4326;POINT({v['lon']!r} {v['lat']!r})"
    bbox = None
    if v["bbox"] is not None:
        x0, y0, x1, y1 = v["bbox"]
        bbox = f"SRID=4326;POLYGON(({x0!r} {y0!r},{x1!r} {y0!r},{x1!r} {y1!r},{x0!r} {y1!r},{x0!r} {y0!r}))"
    s = SavedSearch(member_id=member_id, name=c["name"], q=c.get("q"), q_words=v["q_words"],
                    kind=v["kind"],
                    category=v["category"], species_code=v["species_code"],
                    presentation=v["presentation"], preservation=v["preservation"],
                    min_price=v["min_price"], max_price=v["max_price"], currency=v["currency"],
                    near=near, radius_m=v["radius_m"], bbox=bbox, seller_org_id=v["seller_org_id"])
    sess.add(s)
    sess.flush()
    return s
