"""Which pooled figures may be shown: minimum group size, with secondary suppression.

A pooled figure (kilograms of a species in a month, catch in a hexagon cell…)
is *sensitive* when fewer than ``min_group`` distinct contributors (vessels)
make it up: shown, it would tell one or two boats' catch, and where they fish.
Hiding those (primary suppression) is not enough when totals are shown too:
a total minus its visible parts gives the hidden part back. So the published
figures are described as *relations* (``total = part + part + …``; a row of a
table and its total, a cell-month and its species, a zone and its cells) and
more figures are hidden (secondary suppression) until:

1. every shown figure has at least ``min_group`` contributors;
2. in every relation whose total is shown, the hidden parts together have at
   least ``min_group`` distinct contributors (or there are none): the
   residual ``total - shown parts`` is itself a safe pooled figure;
3. no hidden figure can be computed exactly from the shown ones through any
   chain of relations (a linear-algebra check: a hidden figure is exposed
   when its unit vector lies in the row space of the relations restricted to
   the hidden figures). Rule 2 alone misses chains, e.g. two suppression
   rectangles in a table joined by one cell, which the row and column totals
   then pin down.

A figure that is never shown at all (an internal total, or one organization's
share of an authority's cell) can still take part in relations: mark it in
``always_hidden``. Such a figure is protected from exact recovery only when it
is itself sensitive (fewer than ``min_group`` contributors): a share of enough
vessels may be worked out, which is what publishing its parts means anyway.

Pure functions on plain values (keys are any hashable, contributors any
hashable ids): no database, no Flask. ``server`` builds the relations of each
output and applies the result. Choices are deterministic: the same inputs
give the same hidden set, whatever the order they come in.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

DEFAULT_MIN_GROUP = 3  # as in ICES practice; configurable upwards only
_TOL = 1e-9


def threshold(configured: object) -> int:
    """The minimum group size from a configured value: it may be raised, never lowered
    below DEFAULT_MIN_GROUP (a value that is not a number counts as the default)."""
    try:
        value = int(configured)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        value = DEFAULT_MIN_GROUP
    return max(DEFAULT_MIN_GROUP, value)


@dataclass(frozen=True)
class Relation:
    """A published total and the parts that add up to it."""

    total: Hashable
    parts: tuple[Hashable, ...]


def _order(key: Hashable, contributors: Mapping[Hashable, Collection[Hashable]]) -> tuple[int, str]:
    # Hide the figure that carries least first (fewest contributors), then by key.
    return (len(contributors.get(key, ())), repr(key))


def primary(contributors: Mapping[Hashable, Collection[Hashable]], min_group: int) -> set[Hashable]:
    """Figures with fewer than ``min_group`` distinct contributors."""
    return {k for k, who in contributors.items() if len(set(who)) < min_group}


def suppress(contributors: Mapping[Hashable, Collection[Hashable]],
             relations: Iterable[Relation], min_group: int = DEFAULT_MIN_GROUP,
             always_hidden: Iterable[Hashable] = ()) -> frozenset[Hashable]:
    """The figures to hide (primary and secondary) so that none can be worked out.

    ``contributors``: for every figure, who makes it up (distinct vessels). A
    figure missing from it counts as having no contributors (hidden)."""
    if min_group < 1:
        raise ValueError("min_group must be at least 1")
    rels = [Relation(r.total, tuple(dict.fromkeys(r.parts))) for r in relations]
    keys = set(contributors)
    for r in rels:
        keys.add(r.total)
        keys.update(r.parts)
    internal = set(always_hidden)
    hidden = primary(contributors, min_group) | (keys - set(contributors)) | internal
    safe = {k for k in internal if len(set(contributors.get(k, ()))) >= min_group}
    while True:
        grew = _residual_rule(contributors, rels, hidden, min_group)
        if grew is None:
            grew = _exact_rule(contributors, rels, hidden, safe)
        if grew is None:
            return frozenset(hidden)
        hidden.add(grew)


def _residual_rule(contributors: Mapping[Hashable, Collection[Hashable]], rels: list[Relation],
                   hidden: set[Hashable], min_group: int) -> Hashable | None:
    """A figure to hide so that some relation's residual covers enough contributors."""
    for r in sorted(rels, key=lambda r: repr(r.total)):
        if r.total in hidden:
            continue
        gone = [p for p in r.parts if p in hidden]
        if not gone:
            continue
        who: set[Hashable] = set()
        for p in gone:
            who.update(contributors.get(p, ()))
        if len(who) >= min_group:
            continue
        shown = [p for p in r.parts if p not in hidden]
        if not shown:  # all parts hidden yet too few: the total itself is too small
            return r.total
        return min(shown, key=lambda k: _order(k, contributors))
    return None


def exposed(rels: Iterable[Relation], hidden: Collection[Hashable]) -> set[Hashable]:
    """Hidden figures that the shown ones determine exactly through the relations."""
    rels = list(rels)
    hidden_set = set(hidden)
    # Relations touching hidden figures, split into independent groups (connected
    # through shared hidden figures), so each linear system stays small.
    touching = [r for r in rels if r.total in hidden_set or any(p in hidden_set for p in r.parts)]
    parent: dict[Hashable, Hashable] = {}

    def find(x: Hashable) -> Hashable:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in touching:
        members = [k for k in (r.total, *r.parts) if k in hidden_set]
        for m in members[1:]:
            parent[find(m)] = find(members[0])
    groups: dict[Hashable, list[Relation]] = {}
    for r in touching:
        first = next(k for k in (r.total, *r.parts) if k in hidden_set)
        groups.setdefault(find(first), []).append(r)
    out: set[Hashable] = set()
    for group in groups.values():
        variables = sorted({k for r in group for k in (r.total, *r.parts) if k in hidden_set},
                           key=repr)
        index = {k: i for i, k in enumerate(variables)}
        a = np.zeros((len(group), len(variables)))
        for row, r in enumerate(group):
            if r.total in index:
                a[row, index[r.total]] += 1.0
            for p in r.parts:
                if p in index:
                    a[row, index[p]] -= 1.0
        # x_i is determined iff every vector of the null space is zero at i.
        _, s, vt = np.linalg.svd(a)
        rank = int((s > _TOL * max(1.0, float(s[0]) if s.size else 1.0)).sum())
        null = vt[rank:]
        for k, i in index.items():
            if null.shape[0] == 0 or np.all(np.abs(null[:, i]) < 1e-7):
                out.add(k)
    return out


def _exact_rule(contributors: Mapping[Hashable, Collection[Hashable]], rels: list[Relation],
                hidden: set[Hashable], safe: set[Hashable]) -> Hashable | None:
    """A figure to hide so that a hidden figure stops being computable: one more shown
    member of a relation in the exposed figure's group (the relations reached from it
    through hidden figures), which adds an unknown to the equations that pin it down.
    ``safe``: internal figures that may be worked out."""
    for target in sorted(exposed(rels, hidden) - safe, key=repr):
        seen, todo, touched = {target}, [target], []
        while todo:
            k = todo.pop()
            for r in rels:
                members = (r.total, *r.parts)
                if k in members and r not in touched:
                    touched.append(r)
                    for m in members:
                        if m in hidden and m not in seen:
                            seen.add(m)
                            todo.append(m)
        candidates = {m for r in touched for m in (r.total, *r.parts) if m not in hidden}
        if candidates:
            return min(candidates, key=lambda k: _order(k, contributors))
    return None
