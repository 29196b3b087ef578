"""The synthetic demo data: generation (pure, deterministic) and loading (COPY).

The test database is shared with the other tests, so the loaded data are
found by difference (demo organizations that were not there before) and the
load is rolled back at the end of the module: no other test ever sees it.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import phonenumbers
import pytest
from flask import Flask
from shapely import wkt
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from server.catches.models import Catch, Landing, Trip
from server.catches.services import content_hash
from server.demo import generator as gen
from server.demo import loader
from server.demo import reference as ref
from server.members import tokens
from server.members.models import Member, Membership, Organization

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
LOAD_SIZE = 600


def counter_ids() -> Iterator[uuid.UUID]:
    return (uuid.UUID(int=i) for i in itertools.count(1))


def make(catalog: gen.Catalog, size: int, seed: int = 42) -> gen.DemoGenerator:
    ids = counter_ids()
    return gen.DemoGenerator(catalog, size, now=NOW, seed=seed, new_id=lambda: next(ids))


@pytest.fixture(scope="module")
def catalog(app: Flask) -> gen.Catalog:
    maker: sessionmaker[Session] = app.extensions["cardumen.sessionmaker"]
    with maker() as sess:
        return loader.read_catalog(sess)


# --- pure generation ---------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("small", 20_000), ("medium", 200_000), ("large", 2_000_000), (" Large ", 2_000_000),
    ("600", 600), (600, 600), ("1", 1)])
def test_parse_size(raw: str | int, expected: int) -> None:
    assert loader.parse_size(raw) == expected


@pytest.mark.parametrize("raw", ["huge", "", "0", "-5", "1.5", 0, -1, True])
def test_parse_size_rejects(raw: str | int) -> None:
    with pytest.raises(ValueError):
        loader.parse_size(raw)


def test_cooperatives_scale_with_size() -> None:
    assert gen.coop_count(20_000) == 8
    assert 15 <= gen.coop_count(200_000) <= 30
    assert gen.coop_count(2_000_000) >= 60
    assert gen.coop_count(600) == 2
    assert gen.coop_count(1) == 1


def test_same_seed_same_records(catalog: gen.Catalog) -> None:
    a, b = make(catalog, 3000), make(catalog, 3000)
    assert (a.orgs, a.members, a.memberships, a.vessels, a.permits) == \
        (b.orgs, b.members, b.memberships, b.vessels, b.permits)
    first_a = list(itertools.islice(a.trips(), 300))
    first_b = list(itertools.islice(b.trips(), 300))
    assert first_a == first_b
    other = make(catalog, 3000, seed=43)
    assert [m.phone for m in other.members] != [m.phone for m in a.members]
    assert list(itertools.islice(other.trips(), 300)) != first_a


@pytest.mark.parametrize("size", [1, 7, 250, 1234])
def test_exact_number_of_catches(catalog: gen.Catalog, size: int) -> None:
    g = make(catalog, size)
    bundles = list(g.trips())
    assert sum(len(b.catches) for b in bundles) == size
    assert all(b.trip.zero_catch == (not b.catches) for b in bundles)


def test_generated_records_are_plausible(catalog: gen.Catalog) -> None:
    g = make(catalog, 20_000)
    assert len(g.orgs) == 8
    assert {o.state for o in g.orgs} and all(o.state for o in g.orgs)
    assert all(o.name.startswith("[DEMO] S.C.P.P. ") for o in g.orgs)
    assert len({o.rnpa for o in g.orgs}) == len(g.orgs)
    phones = [m.phone for m in g.members]
    assert len(set(phones)) == len(phones)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
    assert all(len(m.name.split()) >= 3 for m in g.members)
    assert all(Decimal(6) <= v.length_m <= Decimal(8) and 40 <= v.engine_hp <= 115
               for v in g.vessels)
    assert all(p.valid_from < p.valid_until for p in g.permits)
    ports = {p.id: p for p in catalog.ports}
    org_coast: dict[uuid.UUID, str] = {}
    trips = zero = catches = 0
    for b in g.trips():
        t = b.trip
        trips += 1
        zero += t.zero_catch
        hours = (t.returned_at - t.departed_at).total_seconds() / 3600
        assert 4 <= hours <= 14
        assert t.notes == gen.TRIP_NOTE
        assert b.landing.port_id == t.return_port_id == t.departure_port_id
        costs = json.loads(t.costs)
        fuel = [c["amount"] for c in costs if c["kind"] == "fuel"]
        assert len(fuel) == 1 and 300 <= fuel[0] <= 1500
        coast = ports[t.departure_port_id].coast
        org_coast.setdefault(t.org_id, coast)
        for c in b.catches:
            catches += 1
            assert t.departed_at <= c.caught_at <= t.returned_at
            assert c.live_kg >= c.landed_kg > 0
            assert catalog.species_coasts[c.species_code] in (coast, "both")
            assert (c.unit_price is None) == (c.disposition != "sold")
            if c.species_code in ("NUT", "NUU", "NUG"):  # Pacific lobster: closed mid-Feb..mid-Sep
                local = (t.departed_at + timedelta(hours=-7)).date()
                assert not ((2, 16) <= (local.month, local.day) <= (9, 15)), c
            assert NOW - timedelta(days=3 * 365 + 3) <= c.caught_at <= NOW
    assert catches == 20_000
    assert 0.01 <= zero / trips <= 0.06
    assert set(org_coast.values()) == {"pacific", "atlantic"}


def test_hashes_match_the_sync_endpoint(catalog: gen.Catalog) -> None:
    """The cheap canonical hash equals content_hash of the body the sync endpoint parses."""
    g = make(catalog, 200)
    for b in itertools.islice(g.trips(), 20):
        t = b.trip
        costs = [{k: Decimal(str(v)) if isinstance(v, float) else v for k, v in c.items()}
                 for c in json.loads(t.costs)]
        body = {"vessel_id": t.vessel_id, "gear_code": t.gear_code, "departed_at": t.departed_at,
                "returned_at": t.returned_at, "departure_port_id": t.departure_port_id,
                "return_port_id": t.return_port_id, "zero_catch": t.zero_catch,
                "costs": costs, "track": wkt.loads(t.track.split(";", 1)[1]), "notes": t.notes}
        assert content_hash({"org_id": t.org_id, **body}) == t.content_hash
        for c in b.catches:
            body = {"trip_id": c.trip_id, "species_code": c.species_code,
                    "gear_code": c.gear_code, "landed_kg": c.landed_kg, "live_kg": c.live_kg,
                    "count": c.count_, "presentation": c.presentation,
                    "disposition": c.disposition, "unit_price": c.unit_price,
                    "currency": c.currency, "position": wkt.loads(c.position.split(";", 1)[1]),
                    "caught_at": c.caught_at, "notes": c.notes}
            assert content_hash(body) == c.content_hash


def test_gear_and_species_of_the_fisheries_exist(catalog: gen.Catalog) -> None:
    for m in ref.METIERS.values():
        assert m.gear in catalog.gear, m.key
        for code, _ in m.species:
            assert code in catalog.species_coasts, (m.key, code)
            assert code in ref.SPECIES, code
        assert 4 <= m.trip_hours[0] <= m.trip_hours[1] <= 14, m.key


# --- loading -----------------------------------------------------------------------------

@dataclass
class Loaded:
    sess: Session
    counts: dict[str, int]
    org_ids: list[uuid.UUID]
    catches_before: int


@pytest.fixture(scope="module")
def loaded(app: Flask) -> Iterator[Loaded]:
    """Load once for the module, in a transaction rolled back at the end."""
    maker: sessionmaker[Session] = app.extensions["cardumen.sessionmaker"]
    with maker() as sess:
        demo = select(Organization.id).where(Organization.name.startswith("[DEMO] "))
        before = set(sess.scalars(demo))
        catches_before = sess.scalar(select(func.count()).select_from(Catch)) or 0
        counts = loader.load(sess, LOAD_SIZE, seed=7)
        org_ids = [o for o in sess.scalars(demo) if o not in before]
        try:
            yield Loaded(sess, counts, org_ids, catches_before)
        finally:
            sess.rollback()


def test_load_counts(loaded: Loaded) -> None:
    s = loaded.sess
    assert loaded.counts["catch"] == LOAD_SIZE
    assert s.scalar(select(func.count()).select_from(Catch)) == loaded.catches_before + LOAD_SIZE
    assert len(loaded.org_ids) == loaded.counts["organization"] == gen.coop_count(LOAD_SIZE)
    orgs = Catch.org_id.in_(loaded.org_ids)
    assert s.scalar(select(func.count()).select_from(Catch).where(orgs)) == LOAD_SIZE
    n_trips = s.scalar(select(func.count()).select_from(Trip).where(
        Trip.org_id.in_(loaded.org_ids)))
    assert n_trips == loaded.counts["trip"] == loaded.counts["landing"]
    assert s.scalar(select(func.count()).select_from(Landing).where(
        Landing.org_id.in_(loaded.org_ids))) == n_trips
    members = s.scalar(select(func.count()).select_from(Membership).where(
        Membership.org_id.in_(loaded.org_ids)))
    assert members == loaded.counts["member"] == loaded.counts["membership"]
    # Most demo fishers consent to their cooperative's statistics, not all of them.
    assert 0.7 * members < loaded.counts["consent"] < members


def test_already_loaded(loaded: Loaded) -> None:
    assert loader.already_loaded(loaded.sess)
    for org in loaded.sess.scalars(select(Organization).where(
            Organization.id.in_(loaded.org_ids))):
        assert org.name.startswith("[DEMO] ") and org.state


def test_positions_at_sea_in_fao_areas(loaded: Loaded) -> None:
    rows = loaded.sess.execute(select(Catch.fao_area, Catch.quality_flags).where(
        Catch.org_id.in_(loaded.org_ids))).all()
    assert len(rows) == LOAD_SIZE
    assert all(r.fao_area in ("77", "31") for r in rows)
    on_land = sum("on_land" in r.quality_flags for r in rows)
    assert on_land <= 0.01 * len(rows)
    assert not any("outside_fao_areas" in r.quality_flags for r in rows)


def test_weights_and_times(loaded: Loaded) -> None:
    s = loaded.sess
    params = {"orgs": loaded.org_ids}
    assert s.scalar(text("""
        SELECT count(*) FROM catch WHERE org_id = ANY(:orgs) AND live_kg < landed_kg"""),
        params) == 0
    assert s.scalar(text("""
        SELECT count(*) FROM catch c JOIN trip t ON t.org_id = c.org_id AND t.id = c.trip_id
         WHERE c.org_id = ANY(:orgs)
           AND NOT (c.caught_at BETWEEN t.departed_at AND t.returned_at)"""), params) == 0
    assert s.scalar(text("""
        SELECT count(*) FROM trip t
         WHERE t.org_id = ANY(:orgs) AND t.zero_catch = EXISTS (
               SELECT 1 FROM catch c WHERE c.org_id = t.org_id AND c.trip_id = t.id)"""),
        params) == 0
    assert s.scalar(text("""
        SELECT count(*) FROM trip WHERE org_id = ANY(:orgs) AND notes <> :note"""),
        {**params, "note": gen.TRIP_NOTE}) == 0


def test_species_match_the_port_coast(loaded: Loaded) -> None:
    rows = loaded.sess.execute(text("""
        SELECT p.coast, s.coasts, count(*) AS n
          FROM catch c
          JOIN landing l ON l.org_id = c.org_id AND l.trip_id = c.trip_id
          JOIN port p ON p.id = l.port_id
          JOIN species s ON s.code = c.species_code
         WHERE c.org_id = ANY(:orgs)
         GROUP BY 1, 2"""), {"orgs": loaded.org_ids}).all()
    assert sum(r.n for r in rows) == LOAD_SIZE
    assert {r.coast for r in rows} == {"pacific", "atlantic"}
    assert all(r.coasts in (r.coast, "both") for r in rows), rows


def test_members_can_log_in(loaded: Loaded) -> None:
    member = loaded.sess.scalars(select(Member).join(
        Membership, Membership.member_id == Member.id).where(
        Membership.org_id == loaded.org_ids[0], Membership.role == "fisher").limit(1)).one()
    assert member.locale == "es"
    assert phonenumbers.is_valid_number(phonenumbers.parse(member.phone))
    assert tokens.verify_password(member.password_hash, loader.DEMO_PASSWORD)


def test_the_demo_market(loaded: Loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.demo import market

    # `cardumen demo load` in test_cli may have committed a demo market already: this
    # one is the loaded fixture's own.
    monkeypatch.setattr(market, "BUYER_ORG", market.BUYER_ORG + " " + uuid.uuid4().hex[:6])

    counts = market.load(loaded.sess, loaded.sess.scalars(select(Member.password_hash)).first()
                         or "", progress=False)
    n = counts["listing"]
    assert n > 0 and counts["market_order"] == min(8, n)
    s = loaded.sess
    # Fish listings draw on kept catches only, never beyond what they landed.
    assert s.scalar(text("""
        SELECT count(*) FROM listing_catch lc
        JOIN catch c ON c.org_id = lc.org_id AND c.id = lc.catch_id AND c.superseded_at IS NULL
        WHERE lc.org_id = ANY(:orgs) AND (c.disposition <> 'kept' OR lc.quantity > c.landed_kg)"""),
        {"orgs": loaded.org_ids}) == 0
    states = dict(s.execute(text("SELECT status, count(*) FROM market_order o JOIN organization b "
                                 "ON b.id = o.buyer_org_id WHERE b.name = :n GROUP BY 1"),
                            {"n": market.BUYER_ORG}).all())
    expected = {"completed": min(n, 5), "accepted": min(max(n - 5, 0), 2),
                "placed": min(max(n - 7, 0), 1)}
    assert states == {k: v for k, v in expected.items() if v}
    stars = s.scalar(text("SELECT count(*) FROM coop_rating WHERE org_id = ANY(:orgs)"),
                     {"orgs": loaded.org_ids})
    assert stars == min(n, 5)
    assert market.load(s, "", progress=False) == {"listing": 0, "market_order": 0}


def test_the_demo_forum(loaded: Loaded) -> None:
    from server.demo import forum

    org = loaded.org_ids[0]
    counts = forum.load(loaded.sess, org)
    assert counts == {"forum_thread": len(forum.THREADS) + 1,
                      "forum_post": len(forum.THREADS) + 1 + sum(len(t[6]) for t in forum.THREADS),
                      "forum_flag": 1}
    s = loaded.sess
    solved = s.scalar(text("""
        SELECT count(*) FROM forum_thread t JOIN membership m ON m.member_id = t.author_id
        WHERE m.org_id = :o AND t.solution_post_id IS NOT NULL"""), {"o": org})
    assert solved == sum(1 for t in forum.THREADS if t[7] is not None)
    # Found by the forum's search as a member would (the vectors and vocabulary are made).
    assert s.scalar(text("""
        SELECT count(*) FROM forum_thread t JOIN membership m ON m.member_id = t.author_id
        WHERE m.org_id = :o AND t.match @@ to_tsquery('spanish', 'hielo')"""), {"o": org}) == 1
    assert forum.load(s, org) == {}  # once


# --- command line ------------------------------------------------------------------------

def test_cli_refuses_when_already_loaded(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.demo.cli import demo

    calls: list[dict[str, object]] = []

    def fake_load(*args: object, **kw: object) -> dict[str, int]:
        calls.append(kw)
        return {"catch": 5}

    monkeypatch.setattr(loader, "already_loaded", lambda sess: True)
    monkeypatch.setattr(loader, "load", fake_load)
    # The office goes over the demo cooperatives, which the fake load does not make.
    monkeypatch.setattr("server.demo.cli.load_office", lambda sess: {"authority": 1})
    monkeypatch.setattr("server.demo.cli.load_market", lambda sess: {"listing": 1})
    monkeypatch.setattr("server.demo.cli.load_forum", lambda sess: {"forum_thread": 1})
    result = app.test_cli_runner().invoke(demo, ["load"])
    assert result.exit_code == 0, result.output
    assert "already loaded" in result.output and not calls
    result = app.test_cli_runner().invoke(demo, ["load", "--force", "--size", "5", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "catch 5" in result.output and "demo1234" in result.output
    assert calls == [{"progress": True, "seed": 3}]


def test_cli_rejects_a_bad_size(app: Flask) -> None:
    from server.demo.cli import demo

    result = app.test_cli_runner().invoke(demo, ["load", "--size", "huge"])
    assert result.exit_code == 2 and "--size" in result.output
