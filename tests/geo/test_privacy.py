"""Primary and secondary suppression: nothing hidden can be worked out from what is shown."""

from __future__ import annotations

import random
from collections.abc import Hashable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.privacy import Relation, exposed, suppress

K = 3


def table(cells: dict[tuple[int, int], frozenset[str]]) -> tuple[
        dict[Hashable, frozenset[str]], list[Relation]]:
    """A rows x columns table with row, column and grand totals (contributors of a total:
    the union of its parts'), as its figures and relations."""
    rows = sorted({r for r, _ in cells})
    cols = sorted({c for _, c in cells})
    who: dict[Hashable, frozenset[str]] = dict(cells)
    rels = []
    for r in rows:
        parts = tuple(k for k in cells if k[0] == r)
        who[("row", r)] = frozenset().union(*(cells[p] for p in parts))
        rels.append(Relation(("row", r), parts))
    for c in cols:
        parts = tuple(k for k in cells if k[1] == c)
        who[("col", c)] = frozenset().union(*(cells[p] for p in parts))
        rels.append(Relation(("col", c), parts))
    who["all"] = frozenset().union(*cells.values())
    rels.append(Relation("all", tuple(("row", r) for r in rows)))
    rels.append(Relation("all", tuple(("col", c) for c in cols)))
    return who, rels


def attacker_recovers(rels: list[Relation], hidden: frozenset[Hashable]) -> set[Hashable]:
    """An attacker independent of geo.privacy: every relation as an equation over all
    figures, the shown ones substituted; a hidden figure is recovered when adding its
    unit row does not raise the rank of the hidden figures' system."""
    hid = sorted(hidden, key=repr)
    if not hid:
        return set()
    col = {k: i for i, k in enumerate(hid)}
    rows = []
    for r in rels:
        row = np.zeros(len(hid))
        if r.total in col:
            row[col[r.total]] += 1
        for p in r.parts:
            if p in col:
                row[col[p]] -= 1
        rows.append(row)
    a = np.array(rows)
    base = np.linalg.matrix_rank(a)
    out = set()
    for k, i in col.items():
        e = np.zeros(len(hid))
        e[i] = 1
        if np.linalg.matrix_rank(np.vstack([a, e])) == base:
            out.add(k)
    return out


def check(who: dict[Hashable, frozenset[str]], rels: list[Relation], hidden: frozenset[Hashable],
          k: int = K) -> None:
    for key, contributors in who.items():
        if key not in hidden:
            assert len(contributors) >= k, f"{key} shown with {len(contributors)} contributors"
    for r in rels:
        if r.total in hidden:
            continue
        gone = [p for p in r.parts if p in hidden]
        if gone:
            residual = frozenset().union(*(who[p] for p in gone))
            assert len(residual) >= k, f"{r.total} minus its shown parts is {len(residual)} boats"
    assert not attacker_recovers(rels, hidden)


boats = st.sampled_from([f"v{i}" for i in range(9)])
cell_contributors = st.frozensets(boats, min_size=0, max_size=6)


@st.composite
def tables(draw: st.DrawFn) -> dict[tuple[int, int], frozenset[str]]:
    n_rows = draw(st.integers(1, 5))
    n_cols = draw(st.integers(1, 6))
    return {(r, c): draw(cell_contributors) for r in range(n_rows) for c in range(n_cols)}


@settings(max_examples=300, deadline=None)
@given(tables())
def test_no_hidden_figure_of_a_table_can_be_worked_out(cells: dict[tuple[int, int], frozenset[str]]) -> None:
    who, rels = table(cells)
    hidden = suppress(who, rels, K)
    check(who, rels, hidden)
    # Every primary-sensitive figure is hidden.
    assert all(key in hidden for key, c in who.items() if len(c) < K)


@settings(max_examples=100, deadline=None)
@given(tables(), st.randoms(use_true_random=False))
def test_the_choice_does_not_depend_on_input_order(cells: dict[tuple[int, int], frozenset[str]],
                                                   rnd: random.Random) -> None:
    who, rels = table(cells)
    items = list(who.items())
    rnd.shuffle(items)
    shuffled_rels = [Relation(r.total, tuple(rnd.sample(r.parts, len(r.parts)))) for r in rels]
    rnd.shuffle(shuffled_rels)
    assert suppress(dict(items), shuffled_rels, K) == suppress(who, rels, K)


@st.composite
def cells_with_species(draw: st.DrawFn) -> tuple[dict[Hashable, frozenset[str]], list[Relation]]:
    """Three levels, as the map has them: species within a cell-month, the cell-month
    total, species totals over the cells, and a grand total."""
    n_cells = draw(st.integers(1, 4))
    species = ["LJS", "SIE", "PUL"][:draw(st.integers(1, 3))]
    who: dict[Hashable, frozenset[str]] = {}
    rels = []
    for c in range(n_cells):
        parts = []
        for sp in species:
            who[(c, sp)] = draw(cell_contributors)
            parts.append((c, sp))
        who[("cell", c)] = frozenset().union(*(who[p] for p in parts))
        rels.append(Relation(("cell", c), tuple(parts)))
    for sp in species:
        parts = [(c, sp) for c in range(n_cells)]
        who[("species", sp)] = frozenset().union(*(who[p] for p in parts))
        rels.append(Relation(("species", sp), tuple(parts)))
    who["all"] = frozenset().union(*(who[("cell", c)] for c in range(n_cells)))
    rels.append(Relation("all", tuple(("cell", c) for c in range(n_cells))))
    rels.append(Relation("all", tuple(("species", sp) for sp in species)))
    return who, rels


@settings(max_examples=300, deadline=None)
@given(cells_with_species())
def test_no_hidden_species_can_be_taken_from_its_cell(
        world: tuple[dict[Hashable, frozenset[str]], list[Relation]]) -> None:
    who, rels = world
    check(who, rels, suppress(who, rels, K))


def test_a_lone_hidden_cell_takes_a_second_one_with_it() -> None:
    who = {"a": frozenset("xyz"), "b": frozenset("uvw"), "c": frozenset("q"),
           "t": frozenset("xyzuvwq")}
    hidden = suppress(who, [Relation("t", ("a", "b", "c"))], K)
    # c alone would be t - a - b; a second part goes, and a, b, c's residual is >= 3 boats.
    assert "c" in hidden and len(hidden & {"a", "b"}) == 1 and "t" not in hidden


def test_two_small_hidden_cells_are_not_enough_together() -> None:
    who = {"a": frozenset("xyz"), "b": frozenset("x"), "c": frozenset("y"),
           "t": frozenset("xyz")}
    hidden = suppress(who, [Relation("t", ("a", "b", "c"))], K)
    # b + c is two boats: t - a would tell their joint catch, so a goes too.
    assert hidden == {"a", "b", "c"}


def test_a_chain_of_rectangles_is_broken() -> None:
    """Rule 2 holds in every row and column, yet the row and column totals pin the
    bridge cell down: the linear check finds it."""
    hid = {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)}
    cells = {(r, c): frozenset(f"v{i}" for i in range(4)) for r in range(4) for c in range(4)}
    who, rels = table(cells)
    bridge_only = exposed(rels, hid)
    assert (1, 2) in bridge_only  # the oracle agrees: the bridge is computable
    assert (1, 2) in attacker_recovers(rels, frozenset(hid))
    hidden = suppress(who | {k: frozenset("a") for k in hid}, rels, K)
    check(who | {k: frozenset("a") for k in hid}, rels, hidden)


def test_bad_threshold() -> None:
    with pytest.raises(ValueError):
        suppress({}, [], 0)


@st.composite
def shared_views(draw: st.DrawFn) -> tuple[dict[Hashable, frozenset[str]], list[Relation],
                                           set[Hashable]]:
    """The authorities' map: each organization's share of a cell (never shown) and views
    that add up some organizations (A alone, B alone, A and B together, ...), each view
    with its species too. One person may hold several views and subtract them. As in the
    rollup, a figure nobody contributed to does not exist."""
    orgs = ["A", "B", "C"][:draw(st.integers(2, 3))]
    species = ["LJS", "SIE"]
    boats = {o: [f"{o}{i}" for i in range(4)] for o in orgs}
    who: dict[Hashable, frozenset[str]] = {}
    rels = []
    for o in orgs:
        parts = []
        for sp in species:
            got = draw(st.frozensets(st.sampled_from(boats[o]), max_size=4))
            if got:
                who[("org", o, sp)] = got
                parts.append(("org", o, sp))
        if parts:
            who[("org", o)] = frozenset().union(*(who[p] for p in parts))
            rels.append(Relation(("org", o), tuple(parts)))
    views = draw(st.lists(st.frozensets(st.sampled_from(orgs), min_size=1), min_size=1,
                          max_size=4, unique=True))
    for i, view in enumerate(views):
        members = [o for o in sorted(view) if ("org", o) in who]
        if not members:
            continue
        sp_parts = []
        for sp in species:
            parts = tuple(("org", o, sp) for o in members if ("org", o, sp) in who)
            if parts:
                who[("view", i, sp)] = frozenset().union(*(who[p] for p in parts))
                rels.append(Relation(("view", i, sp), parts))
                sp_parts.append(("view", i, sp))
        who[("view", i)] = frozenset().union(*(who[("org", o)] for o in members))
        rels.append(Relation(("view", i), tuple(("org", o) for o in members)))
        rels.append(Relation(("view", i), tuple(sp_parts)))
    internal = {k for k in who if k[0] == "org"}
    return who, rels, internal


@settings(max_examples=300, deadline=None)
@given(shared_views())
def test_overlapping_views_never_give_away_a_small_share(
        world: tuple[dict[Hashable, frozenset[str]], list[Relation], set[Hashable]]) -> None:
    who, rels, internal = world
    hidden = suppress(who, rels, K, always_hidden=internal)
    assert internal <= hidden
    for key, contributors in who.items():
        if key not in hidden:
            assert len(contributors) >= K
    recovered = attacker_recovers(rels, hidden)
    # What may be worked out: only organizations' shares of enough vessels.
    assert all(k in internal and len(who[k]) >= K for k in recovered), recovered


def test_one_organizations_view_beside_a_shared_one() -> None:
    """A's own view of a cell and A+B's view: shown together, their difference is B's
    share. With B's share of two boats, one of them goes."""
    who = {("org", "A"): frozenset({"a1", "a2", "a3"}), ("org", "B"): frozenset({"b1", "b2"})}
    who[("view", "A")] = who[("org", "A")]
    who[("view", "AB")] = who[("org", "A")] | who[("org", "B")]
    rels = [Relation(("view", "A"), (("org", "A"),)),
            Relation(("view", "AB"), (("org", "A"), ("org", "B")))]
    hidden = suppress(who, rels, K, always_hidden=[("org", "A"), ("org", "B")])
    assert len(hidden & {("view", "A"), ("view", "AB")}) == 1
    # Alone, A's view shows: A's share is three boats.
    alone = suppress(who, rels[:1], K, always_hidden=[("org", "A")])
    assert ("view", "A") not in alone
