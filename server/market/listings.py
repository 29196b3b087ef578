"""Creating and changing listings: who may sell, what a lot comes from, its price history.

A fish listing may draw on the seller's own logged catches that were kept for sale.
Each link holds how much of the catch the listing offers; the links of one catch
never add up to more than it landed (by weight, or by piece count for listings by
the piece). The catches' current rows are locked while a listing draws on them,
so two listings made at once cannot both take the same kilograms.

While a listing is active its links add up to its quantity. Once it is closed or
expired they shrink to what was sold or is still reserved, which returns the rest
of each catch to the seller to offer again.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from server.catalog.models import Port, Species
from server.catches.models import Disposition, RecordStatus
from server.db import new_id
from server.errors import ApiError, FieldError
from server.market import messages as msg
from server.market import search
from server.market.models import (
    Listing,
    ListingCatch,
    ListingKind,
    ListingPrice,
    ListingStatus,
    Unit,
)
from server.members.auth import Principal
from server.members.models import Organization, OrgKind, Role
from server.notifications import services as notifications

UNITS = {ListingKind.fish: (Unit.kg, Unit.piece), ListingKind.goods: (Unit.kg, Unit.piece),
         ListingKind.service: (Unit.hour, Unit.job)}
WHOLE_UNITS = (Unit.piece, Unit.job)
DEFAULT_DAYS = {ListingKind.fish: 3, ListingKind.goods: 30, ListingKind.service: 30}
MAX_DAYS = 180
SELLER_ROLES = (Role.fisher, Role.admin)
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: read aloud, typed by hand

LABELS: dict[str, tuple[str, str]] = {  # (es, en): words a buyer may search with
    "gear": ("artes de pesca redes anzuelos", "fishing gear nets hooks"),
    "boat_parts": ("refacciones lancha embarcación", "boat parts"),
    "engines": ("motor fuera de borda", "outboard engine motor"),
    "electronics": ("electrónica GPS sonda radio", "electronics GPS sounder radio"),
    "safety": ("seguridad chaleco salvavidas", "safety life jacket"),
    "ice": ("hielo", "ice"), "fuel": ("combustible gasolina diésel", "fuel gasoline diesel"),
    "mechanics": ("mecánico reparación", "mechanic repair"),
    "transport": ("transporte flete", "transport freight"),
    "processing": ("procesamiento fileteado empaque", "processing filleting packing"),
    "other": ("", ""),
    "whole": ("entero", "whole"), "gutted": ("eviscerado", "gutted"),
    "headed": ("descabezado sin cabeza", "headed headless"),
    "gutted_headed": ("eviscerado descabezado", "gutted headed"),
    "fillet": ("filete", "fillet"), "tail": ("cola colas", "tail tails"),
    "shucked": ("sin concha", "shucked meat"), "alive": ("vivo", "alive live"),
    "fresh": ("fresco", "fresh"), "frozen": ("congelado", "frozen"), "live": ("vivo", "live"),
    "dried": ("seco", "dried"), "salted": ("salado", "salted"), "smoked": ("ahumado", "smoked"),
}


@dataclass(frozen=True)
class Draw:
    catch_id: uuid.UUID
    quantity: Decimal


def _now() -> datetime:
    return datetime.now(UTC)


def short_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


def seller_org(sess: Session, p: Principal, org_id: uuid.UUID | None) -> Organization:
    """The organization the member sells for: the one named, where they are a fisher or
    an admin (404 to outsiders, 403 to buyers), or their only one."""
    if org_id is None:
        orgs = p.orgs_with(*SELLER_ROLES)
        if len(orgs) != 1:
            raise ApiError(422, "validation_error", errors=[FieldError(
                "org_id", "org_required" if orgs else "required")])
        org_id = orgs[0]
    role = p.role_in(org_id)
    if role is None:
        raise ApiError(404, "not_found")
    if role not in SELLER_ROLES:
        raise ApiError(403, "forbidden")
    org = sess.get(Organization, org_id)
    assert org is not None  # an active membership's organization exists
    return org


def _check_kind(data: dict[str, Any], org: Organization) -> None:
    kind = ListingKind(data["kind"])
    errs: list[FieldError] = []
    if kind is ListingKind.fish:
        if org.kind != OrgKind.cooperative:
            errs.append(FieldError("org_id", "seller_org_kind", {"kind": org.kind}))
        for name in ("species_code", "presentation", "preservation"):
            if data.get(name) is None:
                errs.append(FieldError(name, "fish_needs", {"field": name}))
        if data.get("category") is not None:
            errs.append(FieldError("category", "not_for_fish"))
    else:
        if data.get("category") is None:
            errs.append(FieldError("category", "category_required"))
        if data.get("catch_ids"):
            errs.append(FieldError("catch_ids", "catches_only_fish"))
    if data["unit"] not in UNITS[kind]:
        errs.append(FieldError("unit", "unit_not_for_kind",
                               {"kind": kind.value, "units": ", ".join(UNITS[kind])}))
    else:
        errs += quantity_errors(data["quantity"], data["unit"])
    if errs:
        raise ApiError(422, "validation_error", errors=errs)


def quantity_errors(q: Decimal, unit: str) -> list[FieldError]:
    """A quantity in this unit: whole for pieces and jobs, to the gram (3 decimals) else.
    The schema keeps every digit sent, so 0.9999 pieces is refused, not rounded to 1."""
    if unit in WHOLE_UNITS and q != q.to_integral_value():
        return [FieldError("quantity", "whole_units", {"unit": msg.unit(unit)})]
    exponent = q.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3 and q != q.quantize(Decimal("0.001")):
        return [FieldError("quantity", "too_precise", {"places": 3})]
    return []


def _window(data: dict[str, Any], kind: ListingKind) -> tuple[datetime, datetime]:
    now = _now()
    start = data.get("available_from") or now
    end = data.get("available_until") or start + timedelta(days=DEFAULT_DAYS[kind])
    if end <= now:
        raise ApiError(422, "validation_error",
                       errors=[FieldError("available_until", "until_in_past")])
    if end - start > timedelta(days=MAX_DAYS):
        raise ApiError(422, "validation_error",
                       errors=[FieldError("available_until", "listing_window_too_long", {"days": MAX_DAYS})])
    return start, end


def _place(sess: Session, port_id: uuid.UUID | None,
           point: BaseGeometry | None) -> tuple[Port | None, str]:
    """The port (if any) and the pickup point as EWKT."""
    port = None
    if port_id is not None:
        port = sess.get(Port, port_id)
        if port is None or not port.active:
            raise ApiError(422, "validation_error",
                           errors=[FieldError("port_id", "port_unknown", {"id": str(port_id)})])
    if point is not None:
        return port, f"SRID=4326;{point.wkt}"
    if port is None:
        raise ApiError(422, "validation_error", errors=[FieldError("location", "location_required")])
    wkt = sess.scalar(select(func.ST_AsEWKT(Port.geom)).where(Port.id == port.id))
    return port, str(wkt)


def _keywords(sess: Session, data: dict[str, Any], port: Port | None) -> tuple[str, str]:
    """Words a buyer may search with: (Spanish ones, stemmed as Spanish; the others, the
    English and scientific names and the code, matched by trigrams only, so that an
    English "red" is not the Spanish "redes")."""
    es: list[str] = []
    other: list[str] = []
    if data.get("species_code"):
        sp = sess.get(Species, data["species_code"])
        if sp is None or not sp.active:
            raise ApiError(422, "validation_error", errors=[FieldError(
                "species_code", "species_unknown", {"species": data["species_code"]})])
        es.append(sp.name_es)
        other += [sp.name_en, sp.scientific_name, sp.code]
    for key in ("category", "presentation", "preservation"):
        if data.get(key):
            label_es, label_en = LABELS.get(data[key], ("", ""))
            es.append(label_es)
            other.append(label_en)
    if port is not None:
        es.append(port.name)
    return " ".join(w for w in es if w), " ".join(w for w in other if w)


def _lock_catches(sess: Session, org_id: uuid.UUID, seller: uuid.UUID,
                  ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    rows = sess.execute(text("""
        SELECT id, member_id, species_code, landed_kg, count, disposition, status, caught_at
        FROM catch WHERE org_id = :org AND id = ANY(:ids) AND superseded_at IS NULL
        ORDER BY id FOR UPDATE"""), {"org": org_id, "ids": ids}).all()
    return {r.id: r for r in rows if r.member_id == seller and r.status == RecordStatus.active}


def _allocated(sess: Session, org_id: uuid.UUID, ids: list[uuid.UUID],
               except_listing: uuid.UUID | None) -> dict[uuid.UUID, Decimal]:
    rows = sess.execute(text("""
        SELECT catch_id, sum(quantity) FROM listing_catch
        WHERE org_id = :org AND catch_id = ANY(:ids)
          AND (CAST(:skip AS uuid) IS NULL OR listing_id <> :skip)
        GROUP BY catch_id"""), {"org": org_id, "ids": ids, "skip": except_listing}).all()
    return {r[0]: Decimal(r[1]) for r in rows}


def draw(sess: Session, org_id: uuid.UUID, seller: uuid.UUID, catch_ids: list[uuid.UUID],
         species: str | None, unit: str, quantity: Decimal,
         except_listing: uuid.UUID | None = None) -> tuple[list[Draw], datetime | None]:
    """Take ``quantity`` from the catches in the given order; the draws and the latest
    catch time. Refuses catches that are not the seller's, not kept for sale, of
    another species, and a quantity above what they have left."""
    ids = list(dict.fromkeys(catch_ids))
    rows = _lock_catches(sess, org_id, seller, ids)
    errs: list[FieldError] = []
    for i, cid in enumerate(ids):
        r = rows.get(cid)
        path = f"catch_ids.{i}"
        if r is None:
            errs.append(FieldError(path, "catch_unknown", {"id": str(cid)}))
        elif r.disposition != Disposition.kept:
            errs.append(FieldError(path, "catch_not_for_sale",
                                   {"id": str(cid), "disposition": r.disposition}))
        elif r.species_code != species:
            errs.append(FieldError(path, "catch_species_mismatch",
                                   {"id": str(cid), "catch": r.species_code, "listing": species}))
        elif unit == Unit.piece and r.count is None:
            errs.append(FieldError(path, "catch_has_no_count", {"id": str(cid)}))
    if errs:
        raise ApiError(422, "validation_error", errors=errs)
    taken = _allocated(sess, org_id, ids, except_listing)
    draws: list[Draw] = []
    need = quantity
    for cid in ids:
        r = rows[cid]
        size = Decimal(r.count) if unit == Unit.piece else Decimal(r.landed_kg)
        left = max(size - taken.get(cid, Decimal(0)), Decimal(0))
        take = min(left, need)
        draws.append(Draw(cid, take))
        need -= take
    if need > 0:
        available = quantity - need
        raise ApiError(422, "validation_error", errors=[FieldError(
            "quantity", "quantity_exceeds_catches", {"available": f"{available.normalize():f}",
                                                     "unit": msg.unit(unit)})])
    latest = max((rows[c].caught_at for c in ids), default=None)
    return draws, latest


def _write_draws(sess: Session, listing: Listing, draws: list[Draw]) -> None:
    sess.execute(text("DELETE FROM listing_catch WHERE org_id = :o AND listing_id = :l"),
                 {"o": listing.org_id, "l": listing.id})
    for pos, d in enumerate(draws):
        sess.add(ListingCatch(org_id=listing.org_id, listing_id=listing.id, catch_id=d.catch_id,
                              position=pos, quantity=d.quantity))


def _record_price(sess: Session, listing: Listing, by: uuid.UUID) -> None:
    seq = sess.scalar(select(func.coalesce(func.max(ListingPrice.seq), 0)).where(
        ListingPrice.org_id == listing.org_id, ListingPrice.listing_id == listing.id))
    sess.add(ListingPrice(org_id=listing.org_id, listing_id=listing.id, seq=int(seq or 0) + 1,
                          unit_price=listing.unit_price, currency=listing.currency, set_by=by))


def create(sess: Session, p: Principal, data: dict[str, Any]) -> Listing:
    org = seller_org(sess, p, data["org_id"])
    _check_kind(data, org)
    kind = ListingKind(data["kind"])
    start, end = _window(data, kind)
    port, point = _place(sess, data["port_id"], data["location"])
    keywords, other_names = _keywords(sess, data, port)
    listing = Listing(
        org_id=org.id, id=new_id(), short_code=short_code(),
        seller_id=p.member_id, kind=kind.value, category=data["category"], title=data["title"],
        description=data["description"], species_code=data["species_code"],
        presentation=data["presentation"], preservation=data["preservation"], unit=data["unit"],
        quantity=data["quantity"], unit_price=data["unit_price"], currency=data["currency"],
        port_id=port.id if port else None, location=point,
        delivery_area=f"SRID=4326;{data['delivery_area'].wkt}" if data["delivery_area"] else None,
        available_from=start, available_until=end, fresh_at=start, keywords=keywords,
        other_names=other_names)
    draws: list[Draw] = []
    if data["catch_ids"]:
        draws, latest = draw(sess, org.id, p.member_id, data["catch_ids"], data["species_code"],
                             data["unit"], data["quantity"])
        listing.fresh_at = latest or start
    sess.add(listing)
    sess.flush()
    _write_draws(sess, listing, draws)
    _record_price(sess, listing, p.member_id)
    sess.flush()
    search.notify_matches(sess, listing)
    return listing


FINAL = (ListingStatus.closed, ListingStatus.expired)


def own(sess: Session, p: Principal, listing_id: uuid.UUID, *, lock: bool = False) -> Listing:
    """A listing its seller is about to change (404 if it does not exist, 403 to others)."""
    q = select(Listing).where(Listing.id == listing_id)
    if lock:
        q = q.with_for_update()
    listing = sess.scalars(q).first()
    if listing is None:
        raise ApiError(404, "not_found")
    if listing.seller_id != p.member_id:
        raise ApiError(403, "listing_not_yours")
    return listing


def linked(sess: Session, listing: Listing) -> list[uuid.UUID]:
    return list(sess.scalars(select(ListingCatch.catch_id).where(
        ListingCatch.org_id == listing.org_id, ListingCatch.listing_id == listing.id)
        .order_by(ListingCatch.position)))


def update(sess: Session, p: Principal, listing_id: uuid.UUID, data: dict[str, Any]) -> Listing:
    listing = own(sess, p, listing_id, lock=True)
    if listing.status in FINAL or listing.available_until <= _now():
        status = ListingStatus.expired if listing.status != ListingStatus.closed else listing.status
        raise ApiError(409, "listing_final", state=msg.state(str(status)))
    for key in ("title", "description"):
        if key in data:
            setattr(listing, key, data[key])
    if "available_until" in data:
        end = data["available_until"]
        if end <= _now():
            raise ApiError(422, "validation_error",
                           errors=[FieldError("available_until", "until_in_past")])
        if end <= listing.available_from:
            raise ApiError(422, "validation_error",
                           errors=[FieldError("available_until", "until_before_from")])
        if end - listing.available_from > timedelta(days=MAX_DAYS):
            raise ApiError(422, "validation_error", errors=[FieldError(
                "available_until", "listing_window_too_long", {"days": MAX_DAYS})])
        listing.available_until = end
    if "quantity" in data and data["quantity"] != listing.quantity:
        q = data["quantity"]
        if errs := quantity_errors(q, listing.unit):
            raise ApiError(422, "validation_error", errors=errs)
        committed = listing.reserved + listing.sold
        if q < committed:
            raise ApiError(422, "validation_error", errors=[FieldError(
                "quantity", "quantity_below_committed",
                {"committed": f"{committed.normalize():f}", "unit": msg.unit(listing.unit)})])
        catches = linked(sess, listing)
        if catches:
            draws, _ = draw(sess, listing.org_id, listing.seller_id, catches,
                            listing.species_code, listing.unit, q, except_listing=listing.id)
            _write_draws(sess, listing, draws)
        listing.quantity = q
    price = data.get("unit_price", listing.unit_price)
    cur = data.get("currency", listing.currency)
    if price != listing.unit_price or cur != listing.currency:
        listing.unit_price, listing.currency = price, cur
        _record_price(sess, listing, p.member_id)
    if "status" in data and data["status"] != listing.status:
        listing.status = data["status"]
        if listing.status == ListingStatus.closed:
            trim(sess, listing)
    listing.updated_at = _now()
    sess.flush()
    return listing


def trim(sess: Session, listing: Listing) -> None:
    """Shrink a closed or expired listing's links to what it sold or still holds, from
    the last catch back, returning the rest to the catches."""
    keep = Decimal(listing.reserved) + Decimal(listing.sold)
    links = list(sess.scalars(select(ListingCatch).where(
        ListingCatch.org_id == listing.org_id, ListingCatch.listing_id == listing.id)
        .order_by(ListingCatch.position)))
    for link in links:
        take = min(Decimal(link.quantity), keep)
        if take != link.quantity:
            link.quantity = take
        keep -= take


def expire_due(sess: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Mark listings whose availability ended as expired and free their catches' rest."""
    rows = list(sess.scalars(select(Listing).where(
        Listing.status.in_([ListingStatus.active, ListingStatus.paused]),
        Listing.available_until <= (now or _now())).limit(limit)
        .with_for_update(skip_locked=True)))
    for listing in rows:
        listing.status = ListingStatus.expired.value
        listing.updated_at = _now()
        trim(sess, listing)
    sess.flush()
    return len(rows)



def catch_corrected(sess: Session, org_id: uuid.UUID, catch_id: uuid.UUID) -> int:
    """After a new version of a catch (a correction or a cancellation): lots drawing on
    it give back what it no longer holds, newest lot first, as far as nothing ordered or
    sold stands in the way; a lot left with nothing is closed. The logbook is never held
    back by the market. Returns how many lots changed."""
    cur = sess.execute(text("""
        SELECT species_code, landed_kg, count AS pieces, disposition, status FROM catch
        WHERE org_id = :o AND id = :c AND superseded_at IS NULL"""),
        {"o": org_id, "c": catch_id}).first()
    links = sess.execute(text("""
        SELECT lc.listing_id, lc.quantity AS drawn, l.unit, l.species_code, l.status
        FROM listing_catch lc JOIN listing l ON l.org_id = lc.org_id AND l.id = lc.listing_id
        WHERE lc.org_id = :o AND lc.catch_id = :c AND lc.quantity > 0
        ORDER BY l.created_at DESC, l.id DESC"""), {"o": org_id, "c": catch_id}).all()
    if cur is None or not links:
        return 0
    changed = 0
    for unit in {link.unit for link in links}:
        mine = [link for link in links if link.unit == unit]
        usable = (cur.status == RecordStatus.active and cur.disposition == Disposition.kept
                  and cur.species_code == mine[0].species_code
                  and (cur.pieces is not None or unit != Unit.piece))
        size = (Decimal(cur.pieces or 0) if unit == Unit.piece else Decimal(cur.landed_kg)) \
            if usable else Decimal(0)
        excess = sum((Decimal(link.drawn) for link in mine), Decimal(0)) - size
        for link in mine:
            if excess <= 0:
                break
            if link.status in FINAL:
                continue  # already trimmed to what it sold or holds
            listing = sess.get(Listing, (org_id, link.listing_id), with_for_update=True)
            assert listing is not None
            free = Decimal(listing.quantity) - Decimal(listing.reserved) - Decimal(listing.sold)
            give = min(excess, Decimal(link.drawn), free)
            if give <= 0:
                continue
            sess.execute(text("UPDATE listing_catch SET quantity = quantity - :g WHERE org_id = :o "
                              "AND listing_id = :l AND catch_id = :c"),
                         {"g": give, "o": org_id, "l": listing.id, "c": catch_id})
            if give >= listing.quantity:
                listing.status = ListingStatus.closed.value  # nothing left to offer
            else:
                listing.quantity = Decimal(listing.quantity) - give
            listing.updated_at = _now()
            excess -= give
            changed += 1
            notifications.notify(sess, listing.seller_id, "market.listing_reduced",
                                 listing_id=listing.id, title=listing.title,
                                 catch_id=catch_id, quantity=float(give), unit=listing.unit)
    sess.flush()
    return changed
