"""Dashboards from the analytics rollup: a fisher's own figures and a cooperative's pooled ones.

Nothing here reads the logbook: every figure comes from ``stat_species`` and
``stat_trip`` (server/analytics/stats.py), and a fisher's marketplace sales from
their completed orders.

A fisher's own dashboard is exact: it is their data. A cooperative's pooled
figures count only members who consent to the cooperative's statistics
(server/consent); the same figures for a recipient the cooperative voted to share
with (server/governance/settings.py) count only its active members who consent to
that purpose for that recipient (``shared_members``). Both go through
``geo.privacy.suppress``: every figure with
fewer than ``min_vessels`` distinct vessels is hidden, and then more, so that no
hidden figure can be worked out from the shown ones and their totals. The
contributors of a figure are its vessels (a member fishing without a vessel
counts as one contributor of their own).
"""

from __future__ import annotations

import hashlib
import statistics
import threading
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo.privacy import Relation, suppress
from server.analytics.models import NO_VESSEL
from server.consent import services as consent
from server.consent.models import Purpose
from server.members.models import Membership, MembershipStatus

MEDIAN_MIN_MEMBERS = 5  # a median of fewer members is too close to one of them
TOP = 3  # best months and species


@dataclass(frozen=True)
class Window:
    first: date  # first month (day 1)
    last: date  # last month (day 1), inclusive


def _kg(v: Decimal | None) -> float:
    return round(float(v or 0), 3)


def _money(v: Decimal | None) -> float:
    return round(float(v or 0), 2)


def _ratio(a: float, b: float, places: int = 2) -> float | None:
    return round(a / b, places) if b else None


def _month(d: date) -> str:
    return f"{d:%Y-%m}"


# --- a fisher's own ---------------------------------------------------------------------------

def fisher(sess: Session, member_id: uuid.UUID, org_ids: list[uuid.UUID], w: Window,
           consenting_orgs: Iterable[uuid.UUID] = ()) -> dict[str, Any]:
    """Everything of the member's own, in these organizations and months."""
    p = {"m": member_id, "orgs": org_ids, "m0": w.first, "m1": w.last}
    own = "member_id = :m AND org_id = ANY(CAST(:orgs AS uuid[])) AND month BETWEEN :m0 AND :m1"
    species = sess.execute(text(f"""
        SELECT month, species_code, sum(landed_kg), sum(live_kg), sum(catches), sum(value_mxn),
               sum(priced_kg)
        FROM stat_species WHERE {own} GROUP BY 1, 2 ORDER BY 1, 2"""), p).all()
    trips = {r[0]: r for r in sess.execute(text(f"""
        SELECT month, sum(trips), sum(zero_catch_trips), sum(sea_hours), sum(sea_days),
               sum(costs_mxn)
        FROM stat_trip WHERE {own} GROUP BY 1 ORDER BY 1"""), p)}
    gear_kg = {r[0]: float(r[1]) for r in sess.execute(text(f"""
        SELECT gear_code, sum(landed_kg) FROM stat_species WHERE {own} GROUP BY 1"""), p)}
    gear_effort = {r[0]: r for r in sess.execute(text(f"""
        SELECT gear_code, sum(trips), sum(sea_hours) FROM stat_trip WHERE {own} GROUP BY 1"""), p)}

    sales = market_sales(sess, member_id, org_ids, w)
    months: dict[date, dict[str, Any]] = {}
    by_species: dict[str, dict[str, float]] = {}
    for month, sp, landed, _live, _catches, value, _priced in species:
        m = months.setdefault(month, {"landed_kg": 0.0, "income_mxn": 0.0})
        m["landed_kg"] += float(landed)
        m["income_mxn"] += float(value)
        s = by_species.setdefault(sp, {"landed_kg": 0.0, "income_mxn": 0.0})
        s["landed_kg"] += float(landed)
        s["income_mxn"] += float(value)
    month_rows = []
    for month in sorted(set(months) | set(trips) | set(sales)):
        m = months.get(month, {"landed_kg": 0.0, "income_mxn": 0.0})
        t = trips.get(month)
        n_trips = int(t[1]) if t else 0
        costs = float(t[5]) if t else 0.0
        sold = sales.get(month, 0.0)
        income = m["income_mxn"] + sold
        month_rows.append({
            "month": _month(month), "landed_kg": round(m["landed_kg"], 3), "trips": n_trips,
            "zero_catch_trips": int(t[2]) if t else 0,
            "sea_hours": _money(t[3]) if t else 0.0, "sea_days": int(t[4]) if t else 0,
            "first_sale_mxn": round(m["income_mxn"], 2), "market_sales_mxn": round(sold, 2),
            "income_mxn": round(income, 2), "costs_mxn": round(costs, 2),
            "net_mxn": round(income - costs, 2),
            "kg_per_trip": _ratio(m["landed_kg"], n_trips)})
    gears = []
    for gear in sorted(set(gear_kg) | set(gear_effort)):
        kg = gear_kg.get(gear, 0.0)
        e = gear_effort.get(gear)
        n_trips, hours = (int(e[1]), float(e[2])) if e else (0, 0.0)
        gears.append({"gear_code": gear or None, "landed_kg": round(kg, 3), "trips": n_trips,
                      "sea_hours": round(hours, 2), "kg_per_trip": _ratio(kg, n_trips),
                      "kg_per_hour": _ratio(kg, hours)})
    return {
        "from": _month(w.first), "to": _month(w.last),
        "by_species_month": [
            {"month": _month(month), "species_code": sp, "landed_kg": _kg(landed),
             "live_kg": _kg(live), "catches": int(catches), "income_mxn": _money(value),
             "price_mxn_per_kg": _ratio(float(value), float(priced))}
            for month, sp, landed, live, catches, value, priced in species],
        "by_month": month_rows,
        "by_gear": gears,
        "best_months": [r["month"] for r in sorted(month_rows, key=lambda r: (-r["landed_kg"],
                                                                              r["month"]))[:TOP]
                        if r["landed_kg"] > 0],
        "best_species": [sp for sp, _ in sorted(by_species.items(),
                                                key=lambda kv: (-kv[1]["landed_kg"], kv[0]))[:TOP]],
        "totals": {"landed_kg": round(sum(r["landed_kg"] for r in month_rows), 3),
                   "trips": sum(r["trips"] for r in month_rows),
                   "first_sale_mxn": round(sum(r["first_sale_mxn"] for r in month_rows), 2),
                   "market_sales_mxn": round(sum(r["market_sales_mxn"] for r in month_rows), 2),
                   "income_mxn": round(sum(r["income_mxn"] for r in month_rows), 2),
                   "costs_mxn": round(sum(r["costs_mxn"] for r in month_rows), 2),
                   "net_mxn": round(sum(r["net_mxn"] for r in month_rows), 2)},
        "compared": [compare(sess, member_id, org, w) for org in org_ids],
    }


def market_sales(sess: Session, member_id: uuid.UUID, org_ids: list[uuid.UUID],
                 w: Window) -> dict[date, float]:
    """The member's completed marketplace sales in MXN per month (Mexico City months),
    from the orders table (its index on seller and completion time), not the logbook.
    Catches offered there were logged as kept, not sold at first sale, so no sale is
    counted twice (server/market/listings.py)."""
    rows = sess.execute(text("""
        SELECT date_trunc('month', completed_at AT TIME ZONE 'America/Mexico_City')::date,
               sum(total)
        FROM market_order
        WHERE seller_id = :m AND org_id = ANY(CAST(:orgs AS uuid[])) AND status = 'completed'
          AND currency = 'MXN'
          AND completed_at >= (CAST(:m0 AS date)::timestamp AT TIME ZONE 'America/Mexico_City')
          AND completed_at < ((CAST(:m1 AS date) + interval '1 month')::timestamp
                              AT TIME ZONE 'America/Mexico_City')
        GROUP BY 1"""), {"m": member_id, "orgs": org_ids, "m0": w.first, "m1": w.last}).all()
    return {r[0]: float(r[1]) for r in rows}


def compare(sess: Session, member_id: uuid.UUID, org_id: uuid.UUID, w: Window) -> dict[str, Any]:
    """The member's kilograms per trip beside the cooperative's median member, over the
    members who consent to the cooperative's statistics (the member among them only if
    they do). Withheld below MEDIAN_MIN_MEMBERS members: no one else is revealed."""
    p = {"org": org_id, "m0": w.first, "m1": w.last}
    where = "org_id = :org AND month BETWEEN :m0 AND :m1"
    kg = {r[0]: float(r[1]) for r in sess.execute(text(
        f"SELECT member_id, sum(landed_kg) FROM stat_species WHERE {where} GROUP BY 1"), p)}
    trips = {r[0]: int(r[1]) for r in sess.execute(text(
        f"SELECT member_id, sum(trips) FROM stat_trip WHERE {where} GROUP BY 1"), p)}
    mine = _ratio(kg.get(member_id, 0.0), trips.get(member_id, 0))
    pooled = consent.consenting(sess, Purpose.cooperative_statistics, org_id, among=trips)
    values = [kg.get(m, 0.0) / trips[m] for m in pooled if trips.get(m)]
    out: dict[str, Any] = {"org_id": org_id, "kg_per_trip": mine}
    if len(values) < MEDIAN_MIN_MEMBERS:
        return out | {"median_kg_per_trip": None, "withheld": "too_few_members"}
    return out | {"median_kg_per_trip": round(statistics.median(values), 2), "withheld": None}


# --- a cooperative's pooled -------------------------------------------------------------------
#
# Suppression is decided per month, over every figure any output shows of that month: the
# month's landings by species and by gear and its total (the dashboard), its cells and
# cells by species (the heatmap), and what was caught without a position (never shown, but
# part of the totals). So the dashboard and the heatmap hide the same things, and a window
# of months changes nothing: figures across months are only ever sums of shown ones.

Figure = tuple[str, ...]  # ("m",), ("ms", species), ("mg", gear), ("mc", cell), ...
_UNPOSITIONED_KG = Decimal("0.0005")


@dataclass
class _Fig:
    landed: Decimal = Decimal(0)
    live: Decimal = Decimal(0)
    catches: int = 0
    value: Decimal = Decimal(0)
    priced: Decimal = Decimal(0)
    who: set[Hashable] = field(default_factory=set)


@dataclass
class Month:
    """One month's pooled figures and which of them are hidden."""

    figures: dict[Figure, _Fig]
    hidden: frozenset[Hashable]

    def shown(self, key: Figure) -> bool:
        return key in self.figures and key not in self.hidden


def _contributor(member: uuid.UUID, vessel: uuid.UUID) -> uuid.UUID:
    # A member fishing without a vessel counts as a contributor of their own.
    return member if vessel == NO_VESSEL else vessel


# Decided months, per process: a month's decision is a function of its slice's version,
# the members pooled and the threshold, so it is kept until one of them changes. The
# members are part of the key (as a hash of the exact list, which ``_members`` makes
# canonical), so the cooperative's own view and a recipient's view over other members
# never share a decision, and equal sets do.
_DECIDED: OrderedDict[tuple[Any, ...], Month] = OrderedDict()
_DECIDED_MAX = 20_000
_decided_lock = threading.Lock()


def _months(sess: Session, org_id: uuid.UUID, members: list[uuid.UUID], w: Window,
            min_vessels: int) -> dict[date, Month]:
    """Each month of the window with its figures and its decision: from the cache when
    the month's slice has not changed since, else read from the rollup and decided."""
    versions: dict[date, int] = dict(sess.execute(text("""
        SELECT month, version FROM stat_slice
        WHERE org_id = :org AND month BETWEEN :m0 AND :m1"""),
        {"org": org_id, "m0": w.first, "m1": w.last}).all())
    who = hashlib.sha256(b"".join(m.bytes for m in members)).hexdigest()
    keys = {m: (org_id, m, v, who, min_vessels) for m, v in versions.items()}
    out: dict[date, Month] = {}
    with _decided_lock:
        for month, key in keys.items():
            hit = _DECIDED.get(key)
            if hit is not None:
                _DECIDED.move_to_end(key)
                out[month] = hit
    todo = sorted(set(keys) - set(out))
    if todo:
        fresh = _decide(sess, org_id, members, todo, min_vessels)
        with _decided_lock:
            for month in todo:
                if month in fresh:
                    _DECIDED[keys[month]] = fresh[month]
            while len(_DECIDED) > _DECIDED_MAX:
                _DECIDED.popitem(last=False)
        out |= fresh
    return out


def _decide(sess: Session, org_id: uuid.UUID, members: list[uuid.UUID], months: list[date],
            min_vessels: int) -> dict[date, Month]:
    p = {"org": org_id, "months": months, "members": members}
    scope = ("org_id = :org AND month = ANY(CAST(:months AS date[])) "
             "AND member_id = ANY(CAST(:members AS uuid[]))")
    figs: dict[date, dict[Figure, _Fig]] = {}
    species_kg: dict[tuple[date, uuid.UUID, uuid.UUID, str], Decimal] = {}
    member_kg: dict[tuple[date, uuid.UUID, uuid.UUID], Decimal] = defaultdict(Decimal)
    for month, member, vessel, sp, gear, landed, live, n, value, priced in sess.execute(text(f"""
            SELECT month, member_id, vessel_id, species_code, gear_code, landed_kg, live_kg,
                   catches, value_mxn, priced_kg FROM stat_species WHERE {scope}"""), p):
        who = _contributor(member, vessel)
        keys: tuple[Figure, ...] = (("m",), ("ms", sp), ("mg", gear))
        for key in keys:
            f = figs.setdefault(month, {}).setdefault(key, _Fig())
            f.landed += landed
            f.live += live
            f.catches += n
            f.value += value
            f.priced += priced
            f.who.add(who)
        k = (month, member, vessel, sp)
        species_kg[k] = species_kg.get(k, Decimal(0)) + landed
        member_kg[(month, member, vessel)] += landed
    for month, member, vessel, cell, sp, landed, n in sess.execute(text(f"""
            SELECT month, member_id, vessel_id, cell, species_code, landed_kg, catches
            FROM stat_cell WHERE {scope}"""), p):
        who = _contributor(member, vessel)
        cell_keys: tuple[Figure, ...] = (("mc", cell), ("mcs", cell, sp))
        for key in cell_keys:
            f = figs.setdefault(month, {}).setdefault(key, _Fig())
            f.landed += landed
            f.catches += n
            f.who.add(who)
        k = (month, member, vessel, sp)
        species_kg[k] = species_kg.get(k, Decimal(0)) - landed
    for (month, member, vessel, sp), rest in species_kg.items():  # caught without a position
        if rest > _UNPOSITIONED_KG:
            for key in (("u",), ("us", sp)):
                f = figs[month].setdefault(key, _Fig())
                f.landed += rest
                f.who.add(_contributor(member, vessel))
    _zones(sess, scope, p, member_kg, figs)
    out = {}
    for month, month_figs in figs.items():
        out[month] = Month(month_figs, suppress(
            {k: v.who for k, v in month_figs.items()}, _relations(month_figs), min_vessels,
            always_hidden=[k for k in month_figs if k[0] in ("u", "us", "nz")]))
    return out


def _zones(sess: Session, scope: str, p: dict[str, Any],
           member_kg: dict[tuple[date, uuid.UUID, uuid.UUID], Decimal],
           figs: dict[date, dict[Figure, _Fig]]) -> None:
    """Add each month's zones (``mz``) and what was caught outside each zone (``nz``,
    never shown: it makes the month's total minus the zone a figure of its own, which
    must not be a small group's). Zones overlap, so they add up to nothing else."""
    in_zone: dict[tuple[date, uuid.UUID, uuid.UUID, uuid.UUID], Decimal] = {}
    zones_of_month: dict[date, set[uuid.UUID]] = defaultdict(set)
    for month, member, vessel, zone, landed, n in sess.execute(text(f"""
            SELECT month, member_id, vessel_id, zone_id, landed_kg, catches
            FROM stat_zone WHERE {scope}"""), p):
        f = figs.setdefault(month, {}).setdefault(("mz", str(zone)), _Fig())
        f.landed += landed
        f.catches += n
        f.who.add(_contributor(member, vessel))
        in_zone[(month, member, vessel, zone)] = landed
        zones_of_month[month].add(zone)
    for (month, member, vessel), kg in member_kg.items():
        for zone in zones_of_month.get(month, ()):
            rest = kg - in_zone.get((month, member, vessel, zone), Decimal(0))
            if rest > _UNPOSITIONED_KG:
                f = figs[month].setdefault(("nz", str(zone)), _Fig())
                f.landed += rest
                f.who.add(_contributor(member, vessel))


def _relations(figs: dict[Figure, _Fig]) -> list[Relation]:
    """A month's figures as totals of their parts."""
    kinds: dict[str, list[Figure]] = defaultdict(list)
    cells_of_species: dict[str, list[Figure]] = defaultdict(list)
    species_of_cell: dict[str, list[Figure]] = defaultdict(list)
    unplaced_of_species: dict[str, list[Figure]] = defaultdict(list)
    for k in sorted(figs, key=lambda k: tuple(map(str, k))):
        kinds[k[0]].append(k)
        if k[0] == "mcs":
            cells_of_species[k[2]].append(k)
            species_of_cell[k[1]].append(k)
        elif k[0] == "us":
            unplaced_of_species[k[1]].append(k)
    rels = [Relation(("m",), tuple(kinds["ms"])), Relation(("m",), tuple(kinds["mg"])),
            Relation(("m",), tuple(kinds["mc"] + kinds["u"]))]
    rels += [Relation(ms, tuple(cells_of_species[ms[1]] + unplaced_of_species[ms[1]]))
             for ms in kinds["ms"]]
    rels += [Relation(mc, tuple(species_of_cell[mc[1]])) for mc in kinds["mc"]]
    if kinds["u"]:
        rels.append(Relation(("u",), tuple(kinds["us"])))
    # A zone and what lies outside it make the month (zones overlap: no other sum).
    outside = {k[1]: k for k in kinds["nz"]}
    rels += [Relation(("m",), (mz, *([outside[mz[1]]] if mz[1] in outside else [])))
             for mz in kinds["mz"]]
    return [r for r in rels if r.parts]


def _effort_months(sess: Session, org_id: uuid.UUID, members: list[uuid.UUID], w: Window,
                   min_vessels: int) -> dict[date, tuple[dict[Figure, dict[str, Any]],
                                                     frozenset[Hashable]]]:
    p = {"org": org_id, "m0": w.first, "m1": w.last, "members": members}
    figs: dict[date, dict[Figure, dict[str, Any]]] = {}
    for month, member, vessel, gear, n, hours, days, costs in sess.execute(text("""
            SELECT month, member_id, vessel_id, gear_code, trips, sea_hours, sea_days, costs_mxn
            FROM stat_trip WHERE org_id = :org AND month BETWEEN :m0 AND :m1
              AND member_id = ANY(CAST(:members AS uuid[]))"""), p):
        for key in (("m",), ("mg", gear)):
            f = figs.setdefault(month, {}).setdefault(key, {
                "trips": 0, "sea_hours": Decimal(0), "sea_days": 0, "costs": Decimal(0),
                "who": set()})
            f["trips"] += n
            f["sea_hours"] += hours
            f["sea_days"] += days
            f["costs"] += costs
            f["who"].add(_contributor(member, vessel))
    out = {}
    for month, month_figs in figs.items():
        gears = tuple(sorted((k for k in month_figs if k[0] == "mg"), key=str))
        out[month] = (month_figs, suppress({k: v["who"] for k, v in month_figs.items()},
                                           [Relation(("m",), gears)], min_vessels))
    return out


def _landing(f: _Fig) -> dict[str, Any]:
    return {"landed_kg": _kg(f.landed), "live_kg": _kg(f.live), "catches": f.catches,
            "value_mxn": _money(f.value), "vessels": len(f.who), "suppressed": False}


def _effort(f: dict[str, Any]) -> dict[str, Any]:
    return {"trips": f["trips"], "sea_hours": _money(f["sea_hours"]), "sea_days": f["sea_days"],
            "costs_mxn": _money(f["costs"]), "vessels": len(f["who"]), "suppressed": False}


def _sums(rows: list[dict[str, Any]], label: str, value_keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Totals over the window of the shown monthly figures only, per ``label``; ``complete``
    is false where some month's figure was hidden (and so is not in the sum)."""
    out: dict[Any, dict[str, Any]] = {}
    for r in rows:
        t = out.setdefault(r[label], {label: r[label], **dict.fromkeys(value_keys, 0.0),
                                      "complete": True})
        if r["suppressed"]:
            t["complete"] = False
            continue
        for k in value_keys:
            t[k] = round(t[k] + r[k], 3)
    return sorted(out.values(), key=lambda t: str(t[label]))


def _members(sess: Session, org_id: uuid.UUID,
             members: Iterable[uuid.UUID] | None) -> list[uuid.UUID]:
    """The members to pool: those given, or by default those who consent to the
    cooperative's statistics. Sorted and without repeats, so that one set of members is
    always one key of the decision cache."""
    if members is None:
        members = consent.consenting(sess, Purpose.cooperative_statistics, org_id)
    return sorted(set(members), key=str)


def shared_members(sess: Session, org_id: uuid.UUID, purpose: Purpose,
                   recipient_id: uuid.UUID) -> list[uuid.UUID]:
    """Whose figures the cooperative may pool for a recipient it shares with: its
    active members who consent to this purpose for this recipient, now. Consent names
    a recipient, not a cooperative, so it is read among the cooperative's members; and
    the sharing is the cooperative's decision, which speaks for its members of today,
    so someone who left is out even if their consent stands."""
    active = sess.scalars(select(Membership.member_id).where(
        Membership.org_id == org_id, Membership.status == MembershipStatus.active))
    return _members(sess, org_id, consent.consenting(sess, purpose, recipient_id, among=active))


def cooperative(sess: Session, org_id: uuid.UUID, w: Window, min_vessels: int,
                members: Iterable[uuid.UUID] | None = None) -> dict[str, Any]:
    """The cooperative's pooled figures, suppressed: over ``members`` (a recipient's
    view, see ``shared_members``), by default over those who consent to its statistics."""
    members = _members(sess, org_id, members)
    months = _months(sess, org_id, members, w, min_vessels) if members else {}
    effort = _effort_months(sess, org_id, members, w, min_vessels) if members else {}
    by_species: list[dict[str, Any]] = []
    by_gear: list[dict[str, Any]] = []
    by_month: list[dict[str, Any]] = []
    e_month: list[dict[str, Any]] = []
    e_gear: list[dict[str, Any]] = []
    cpue: list[dict[str, Any]] = []
    prices: list[dict[str, Any]] = []
    by_zone: list[dict[str, Any]] = []
    zone_ids = sorted({k[1] for mo in months.values() for k in mo.figures if k[0] == "mz"})
    zone_names: dict[str, str] = dict(sess.execute(text(
        "SELECT id::text, name FROM zone WHERE id = ANY(CAST(:z AS uuid[]))"),
        {"z": zone_ids}).all()) if zone_ids else {}
    for month in sorted(months.keys() | effort.keys()):
        label = _month(month)
        mo = months.get(month)
        if mo is not None:
            for key in sorted((k for k in mo.figures if k[0] in ("ms", "mg")), key=str):
                row: dict[str, Any] = {"month": label}
                if key[0] == "ms":
                    row["species_code"] = key[1]
                else:
                    row["gear_code"] = key[1] or None
                row |= _landing(mo.figures[key]) if mo.shown(key) else {"suppressed": True}
                (by_species if key[0] == "ms" else by_gear).append(row)
                f = mo.figures[key]
                if key[0] == "ms" and mo.shown(key) and f.priced > 0:
                    prices.append({"month": label, "species_code": key[1],
                                   "price_mxn_per_kg": _ratio(float(f.value), float(f.priced))})
            by_month.append({"month": label} | (_landing(mo.figures[("m",)]) if mo.shown(("m",))
                                                else {"suppressed": True}))
            for key in sorted(k for k in mo.figures if k[0] == "mz"):
                by_zone.append({"month": label, "zone_id": key[1],
                                "zone_name": zone_names.get(key[1])}
                               | ({k: v for k, v in _landing(mo.figures[key]).items()
                                   if k not in ("live_kg", "value_mxn")}
                                  if mo.shown(key) else {"suppressed": True}))
        ef = effort.get(month)
        if ef is not None:
            figs, hidden = ef
            e_month.append({"month": label} | (_effort(figs[("m",)]) if ("m",) not in hidden
                                               else {"suppressed": True}))
            for key in sorted((k for k in figs if k[0] == "mg"), key=str):
                e_gear.append({"month": label, "gear_code": key[1] or None}
                              | (_effort(figs[key]) if key not in hidden else {"suppressed": True}))
        shown_l = mo is not None and mo.shown(("m",))
        shown_e = ef is not None and ("m",) not in ef[1]
        row = {"month": label, "kg_per_trip": None, "kg_per_hour": None,
               "suppressed": not (shown_l and shown_e)}
        if mo is not None and ef is not None and shown_l and shown_e:
            kg = float(mo.figures[("m",)].landed)
            row["kg_per_trip"] = _ratio(kg, ef[0][("m",)]["trips"])
            row["kg_per_hour"] = _ratio(kg, float(ef[0][("m",)]["sea_hours"]))
        cpue.append(row)
    totals = _sums([r | {"all": "all"} for r in by_month], "all", ("landed_kg", "live_kg",
                                                                    "catches", "value_mxn"))
    return {
        "org_id": org_id, "from": _month(w.first), "to": _month(w.last),
        "min_vessels": min_vessels, "members_included": len(members),
        "landings": {
            "by_species_month": by_species,
            "by_gear_month": by_gear,
            "by_month": by_month,
            "by_species": _sums(by_species, "species_code", ("landed_kg", "catches")),
            "by_gear": _sums(by_gear, "gear_code", ("landed_kg", "catches")),
            "by_zone_month": by_zone,
            "by_zone": _sums(by_zone, "zone_id", ("landed_kg", "catches")),
            "total": ({k: v for k, v in totals[0].items() if k != "all"} if totals else None),
        },
        "effort": {
            "by_gear_month": e_gear,
            "by_month": e_month,
            "by_gear": _sums(e_gear, "gear_code", ("trips", "sea_hours", "sea_days",
                                                   "costs_mxn")),
        },
        "cpue_by_month": cpue,
        "prices": prices,
    }


def heatmap(sess: Session, org_id: uuid.UUID, month: date, species: str | None,
            min_vessels: int, members: Iterable[uuid.UUID] | None = None) -> list[dict[str, Any]]:
    """The month's cells (of one species, or all) as the dashboard's suppression leaves
    them, over the same ``members`` as ``cooperative``: only shown cells, none hinted at."""
    members = _members(sess, org_id, members)
    mo = _months(sess, org_id, members, Window(month, month), min_vessels).get(month) \
        if members else None
    if mo is None:
        return []
    kind = "mcs" if species else "mc"
    out = []
    for key in sorted(k for k in mo.figures if k[0] == kind and (not species or k[2] == species)):
        if not mo.shown(key):
            continue
        f = mo.figures[key]
        out.append({"cell": key[1], "month": _month(month), "species_code": species,
                    "landed_kg": _kg(f.landed), "catches": f.catches, "vessels": len(f.who)})
    return out


def own_cells(sess: Session, member_id: uuid.UUID, org_ids: list[uuid.UUID], month: date,
              species: str | None) -> list[dict[str, Any]]:
    """The member's own catch per cell in a month: theirs, so nothing is hidden."""
    rows = sess.execute(text("""
        SELECT cell, sum(landed_kg), sum(catches) FROM stat_cell
        WHERE member_id = :m AND org_id = ANY(CAST(:orgs AS uuid[])) AND month = :month
          AND (CAST(:sp AS varchar) IS NULL OR species_code = :sp)
        GROUP BY cell ORDER BY cell"""), {"m": member_id, "orgs": org_ids, "month": month,
                                          "sp": species}).all()
    return [{"cell": c, "month": _month(month), "species_code": species, "landed_kg": _kg(kg),
             "catches": int(n)} for c, kg, n in rows]


MVT_EXTENT = 4096
MVT_LAYER = "catch"


def tile(sess: Session, cells: list[dict[str, Any]], z: int, x: int, y: int) -> bytes:
    """These cells as one Mapbox Vector Tile, made by PostGIS (ST_AsMVT): the hexagons
    from ``h3_cell`` clipped to the tile, with the cells' figures. Only cells already
    cleared for showing are passed in, so a tile edge cannot reveal anything a map of
    whole cells would not."""
    if not cells:
        return b""
    data = sess.execute(text("""
        SELECT ST_AsMVT(q, :layer, :extent, 'geom') FROM (
            SELECT u.cell, u.landed_kg, u.catches, u.vessels,
                   ST_AsMVTGeom(ST_Transform(h.geom, 3857), ST_TileEnvelope(:z, :x, :y),
                                :extent, 64, true) AS geom
            FROM unnest(CAST(:cells AS varchar[]), CAST(:kg AS float8[]), CAST(:n AS int[]),
                        CAST(:v AS int[])) AS u(cell, landed_kg, catches, vessels)
            JOIN h3_cell h ON h.cell = u.cell
            WHERE h.geom && ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => 0.02), 4326)
        ) q WHERE q.geom IS NOT NULL"""), {
        "layer": MVT_LAYER, "extent": MVT_EXTENT, "z": z, "x": x, "y": y,
        "cells": [c["cell"] for c in cells], "kg": [c["landed_kg"] for c in cells],
        "n": [c["catches"] for c in cells], "v": [c.get("vessels") for c in cells]}).scalar()
    return bytes(data or b"")
