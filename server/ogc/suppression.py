"""Which of the map's features each audience may see: primary and secondary suppression,
decided jointly for every audience.

Every feature is a cell-month (catch-cells) or a cell-month-species
(catch-cells-species) summed over an audience's organizations. Two things could
give a hidden contribution away:

- within one view, a cell's total minus its shown species is the hidden species;
- across views, one authority's cell minus another's (an office of cooperatives A
  and B, another of A alone, and staff who hold both) is B's share.

So each cell-month is one problem for ``geo.privacy.suppress``: each
organization's share of the cell and of each species (never shown; vessel sets
from ``stat_cell``), each audience's cell and species as sums of those shares, and
each cell as the sum of its species. Cells do not constrain one another (no
feature spans two), so the problems stay small. Where every audience that sees a
cell sees the same organizations, the shares cannot be told apart and only the
view's own species-versus-total problem remains; where nothing is under the
threshold, nothing is solved at all.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Hashable, Iterable
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.privacy import Relation, suppress
from server.analytics.models import NO_VESSEL

Key = tuple[str, date, str]  # (cell, month, species or '' for the cell's total)


def _region_cells(sess: Session, authority_id: uuid.UUID) -> set[str]:
    return set(sess.scalars(text("""
        SELECT h.cell FROM h3_cell h JOIN authority a ON ST_Covers(a.region, h.center)
        WHERE a.id = :id"""), {"id": authority_id}))


def hidden(sess: Session, audiences: dict[uuid.UUID, Any], min_vessels: int,
           months: Iterable[date] | None = None) -> dict[uuid.UUID, set[Key]]:
    """For each audience (id -> its ``publish.Scope``), the features to leave out.

    Primary suppression is the publication's own (``HAVING``); what comes back here is
    everything, primary included, so the two agree by construction."""
    region = {a: _region_cells(sess, s.region_of) for a, s in audiences.items()
              if s.region_of is not None}
    p: dict[str, Any] = {"none": NO_VESSEL}
    where = "true"
    if months is not None:
        p["months"] = sorted(set(months))
        where = "month = ANY(CAST(:months AS date[]))"
    # (month, cell) -> org -> species -> vessels
    shares: dict[tuple[date, str], dict[uuid.UUID, dict[str, frozenset[uuid.UUID]]]] = \
        defaultdict(dict)
    for org, month, cell, sp, vessels in sess.execute(text(f"""
            SELECT org_id, month, cell, species_code,
                   array_remove(array_agg(DISTINCT vessel_id), CAST(:none AS uuid))
            FROM stat_cell WHERE {where} GROUP BY 1, 2, 3, 4"""), p):
        shares[(month, cell)].setdefault(org, {})[sp] = frozenset(vessels)
    out: dict[uuid.UUID, set[Key]] = {a: set() for a in audiences}
    for (month, cell), by_org in shares.items():
        views: dict[uuid.UUID, tuple[uuid.UUID, ...]] = {}
        for a, scope in audiences.items():
            orgs = tuple(sorted((o for o in by_org if scope.org_ids is None or o in scope.org_ids
                                 or cell in region.get(a, ())), key=str))
            if orgs:
                views[a] = orgs
        for a, keys in _solve(by_org, views, min_vessels).items():
            out[a].update((cell, month, sp) for sp in keys)
    return out


def _solve(by_org: dict[uuid.UUID, dict[str, frozenset[uuid.UUID]]],
           views: dict[uuid.UUID, tuple[uuid.UUID, ...]],
           min_vessels: int) -> dict[uuid.UUID, set[str]]:
    """One cell-month: for each audience, the species ('' for the total) to hide."""
    species = sorted({sp for shares in by_org.values() for sp in shares})

    def vessels(orgs: Iterable[uuid.UUID], sp: str | None) -> frozenset[uuid.UUID]:
        out: set[uuid.UUID] = set()
        for o in orgs:
            for s, v in by_org[o].items():
                if sp is None or s == sp:
                    out |= v
        return frozenset(out)

    distinct = set(views.values())
    small_share = any(len(vessels([o], sp)) < min_vessels
                      for o in by_org for sp in [None, *by_org[o]])
    small_view = any(len(vessels(orgs, sp)) < min_vessels
                     for orgs in distinct for sp in [None, *species])
    if not small_view and not (small_share and len(distinct) > 1):
        return {}
    who: dict[Hashable, frozenset[uuid.UUID]] = {}
    rels: list[Relation] = []
    internal: list[Hashable] = []
    if len(distinct) > 1:  # views that differ: their difference is some organizations' share
        for o in by_org:
            parts = [("o", o, sp) for sp in by_org[o]]
            for _, o2, sp in parts:
                who[("o", o2, sp)] = by_org[o2][sp]
            who[("o", o)] = vessels([o], None)
            rels.append(Relation(("o", o), tuple(parts)))
            internal += [("o", o), *parts]
    for orgs in distinct:
        sps = [sp for sp in species if any(sp in by_org[o] for o in orgs)]
        who[("v", orgs)] = vessels(orgs, None)
        rels.append(Relation(("v", orgs), tuple(("v", orgs, sp) for sp in sps)))
        for sp in sps:
            who[("v", orgs, sp)] = vessels(orgs, sp)
            if len(distinct) > 1:
                rels.append(Relation(("v", orgs, sp),
                                     tuple(("o", o, sp) for o in orgs if sp in by_org[o])))
        if len(distinct) > 1:
            rels.append(Relation(("v", orgs), tuple(("o", o) for o in orgs)))
    gone = suppress(who, rels, min_vessels, always_hidden=internal)
    out: dict[uuid.UUID, set[str]] = {}
    for a, orgs in views.items():
        keys = {"" if len(k) == 2 else str(k[2]) for k in gone
                if isinstance(k, tuple) and k[0] == "v" and k[1] == orgs}
        if keys:
            out[a] = keys
    return out
