"""Ratings: only the buyer of a completed order rates, once; shown only pooled, from 3 on;
none taken or shown where the cooperative's members voted them off."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from server.members.models import Role
from tests.conftest import Api, Factory, errors_of, problem
from tests.governance.helpers import coop, ratings_vote
from tests.market.conftest import LISTINGS, ORDERS, Market, create, fish, order, step
from tests.test_sync_concurrency import run_together

Q = 5.0


def rating_url(org_id: Any) -> str:
    return f"/api/v1/market/cooperatives/{org_id}/rating"


def rate(api: Api, oid: str, stars: Any) -> Any:
    return api.post(f"{ORDERS}/{oid}/rating", {"stars": stars})


def rows(db: Session, org_id: Any) -> list[tuple[str, int]]:
    out = db.execute(text("SELECT order_id, stars FROM coop_rating WHERE org_id = :o "
                          "ORDER BY created_at"), {"o": org_id}).all()
    db.rollback()
    return [(str(r[0]), int(r[1])) for r in out]


def order_in(m: Market, listing_id: str, state: str, api: Api | None = None) -> str:
    r = order(api or m.buyer.api, listing_id, Q)
    assert r.status_code == 201, r.get_json()
    oid: str = r.get_json()["id"]
    path = {"placed": [], "accepted": ["accepted"], "ready": ["accepted", "ready"],
            "completed": ["accepted", "ready", "completed"], "rejected": ["rejected"]}.get(state)
    if state == "cancelled":
        assert step(api or m.buyer.api, oid, "cancelled").status_code == 200
    else:
        assert path is not None
        for s in path:
            assert step(m.fisher.api, oid, s).status_code == 200
    return oid


@pytest.fixture
def listing(market: Market) -> dict[str, Any]:
    return create(market.fisher.api, fish(market))


def test_only_the_buyer_of_a_completed_order_rates_once(market: Market, factory: Factory,
                                                       db: Session, listing: Any) -> None:
    m = market
    org = m.coop.org.id
    for state in ("placed", "accepted", "ready", "rejected", "cancelled"):
        oid = order_in(m, listing["id"], state)
        problem(rate(m.buyer.api, oid, 5), 409, "order_not_completed")
    oid = order_in(m, listing["id"], "completed")
    problem(rate(m.fisher.api, oid, 5), 403, "not_your_step")  # the seller
    problem(rate(m.coop.admin.api, oid, 5), 403, "not_your_step")  # the selling coop's admin
    stranger = factory.person(factory.org(kind="company"), Role.buyer)
    problem(rate(stranger.api, oid, 5), 404, "not_found")
    problem(rate(factory.coop().admin.api, oid, 5), 404, "not_found")
    problem(rate(m.buyer.api, str(uuid.uuid4()), 5), 404, "not_found")
    assert rows(db, org) == []

    r = rate(m.buyer.api, oid, 4)
    assert r.status_code == 201, r.get_json()
    assert r.get_json() == {"org_id": str(org), "name": m.coop.org.name, "min_ratings": 3,
                            "rating": None}
    assert rows(db, org) == [(oid, 4)]
    problem(rate(m.buyer.api, oid, 1), 409, "already_rated")
    problem(rate(m.buyer.api, oid, 4), 409, "already_rated")
    assert rows(db, org) == [(oid, 4)]


@pytest.mark.parametrize("stars", [0, 6, -1, 3.5, 4.0, "4", True, None, [4], {"n": 4}])
def test_invalid_stars(market: Market, db: Session, listing: Any, stars: Any) -> None:
    oid = order_in(market, listing["id"], "completed")
    body = problem(rate(market.buyer.api, oid, stars), 422, "validation_error")
    assert list(errors_of(body)) == ["stars"], body
    assert rows(db, market.coop.org.id) == []
    # Nothing was stored: a valid rating still goes in.
    assert rate(market.buyer.api, oid, 3).status_code == 201


def test_missing_stars(market: Market, listing: Any) -> None:
    oid = order_in(market, listing["id"], "completed")
    body = problem(market.buyer.api.post(f"{ORDERS}/{oid}/rating", {}), 422, "validation_error")
    assert errors_of(body) == {"stars": "required"}


def test_pooled_from_three_ratings(market: Market, factory: Factory, db: Session,
                                   listing: Any) -> None:
    m = market
    org = m.coop.org.id
    other = factory.coop()  # a cooperative without ratings
    buyers = [m.buyer.api] + [factory.person(factory.org(kind="company"), Role.buyer).api
                              for _ in range(2)]
    card_url = f"{LISTINGS}/{listing['id']}"

    def shown() -> tuple[Any, Any]:
        r = m.buyer.api.get(rating_url(org))
        assert r.status_code == 200, r.get_json()
        c = m.buyer.api.get(card_url)
        assert c.status_code == 200, c.get_json()
        return r.get_json()["rating"], c.get_json()["seller"]["rating"]

    assert shown() == (None, None)
    for api, stars in zip(buyers[:2], (5, 2), strict=True):
        oid = order_in(m, listing["id"], "completed", api=api)
        assert rate(api, oid, stars).status_code == 201
    body = m.buyer.api.get(rating_url(org)).get_json()
    assert body == {"org_id": str(org), "name": m.coop.org.name, "min_ratings": 3, "rating": None}
    assert shown() == (None, None)  # 2 ratings: nothing shown

    oid = order_in(m, listing["id"], "completed", api=buyers[2])
    r = rate(buyers[2], oid, 4)
    assert r.status_code == 201
    expected = {"count": 3, "average": 3.67, "stars": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}}
    assert r.get_json()["rating"] == expected
    assert shown() == (expected, expected)
    # The search cards say the same.
    found = m.buyer.api.get(LISTINGS, query_string={"org_id": str(org)}).get_json()["items"]
    assert [i["seller"]["rating"] for i in found if i["id"] == listing["id"]] == [expected]

    # A fourth buyer's stars move the pool.
    oid = order_in(m, listing["id"], "completed", api=buyers[0])
    assert rate(buyers[0], oid, 1).status_code == 201
    assert shown()[0] == {"count": 4, "average": 3.0,
                          "stars": {"1": 1, "2": 1, "3": 0, "4": 1, "5": 1}}

    # Another cooperative's rating is its own.
    assert m.buyer.api.get(rating_url(other.org.id)).get_json()["rating"] is None
    problem(m.buyer.api.get(rating_url(uuid.uuid4())), 404, "not_found")


def test_same_rating_at_once_is_stored_once(market: Market, app: Flask, db: Session,
                                            listing: Any) -> None:
    m = market
    oid = order_in(m, listing["id"], "completed")
    apis = []
    for i in range(4):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.252.{i}.{uuid.uuid4().int % 250 + 1}"
        apis.append(Api(client, m.buyer.api.token))

    def call(api: Api, stars: int) -> Callable[[], int]:
        def go() -> int:
            code: int = rate(api, oid, stars).status_code
            return code
        return go

    codes = run_together([call(a, s) for a, s in zip(apis, (5, 4, 3, 2), strict=True)])
    assert sorted(codes) == [201, 409, 409, 409], codes
    assert len(rows(db, m.coop.org.id)) == 1


def test_a_cooperative_that_voted_ratings_off_takes_and_shows_none(
        market: Market, factory: Factory, db: Session, listing: Any) -> None:
    m = market
    org = m.coop.org.id
    card_url = f"{LISTINGS}/{listing['id']}"
    buyers = [m.buyer.api] + [factory.person(factory.org(kind="company"), Role.buyer).api
                              for _ in range(2)]
    for api, stars in zip(buyers, (5, 4, 3), strict=True):
        oid = order_in(m, listing["id"], "completed", api=api)
        assert rate(api, oid, stars).status_code == 201
    shown = {"count": 3, "average": 4.0, "stars": {"1": 0, "2": 0, "3": 1, "4": 1, "5": 1}}
    assert m.buyer.api.get(rating_url(org)).get_json()["rating"] == shown
    waiting = order_in(m, listing["id"], "completed", api=buyers[1])

    members = [m.coop.admin.api, m.fisher.api]
    off = ratings_vote(db, m.coop.admin.api, members, org, enabled=False)
    assert m.buyer.api.get(rating_url(org)).get_json()["rating"] is None
    assert m.buyer.api.get(card_url).get_json()["seller"]["rating"] is None
    found = m.buyer.api.get(LISTINGS, query_string={"org_id": str(org)}).get_json()["items"]
    assert [i["seller"]["rating"] for i in found if i["id"] == listing["id"]] == [None]
    body = problem(rate(buyers[1], waiting, 5), 409, "gov_ratings_off")
    assert body["detail"] == "Los socios de esta cooperativa votaron por desactivar las calificaciones."
    problem(rate(buyers[1], waiting, 5), 409, "gov_ratings_off")  # still, however often
    assert len(rows(db, org)) == 3  # nothing written; the old stars are kept
    settings = m.fisher.api.get(f"/api/v1/organizations/{org}/settings").get_json()
    assert settings["ratings"]["enabled"] is False and settings["ratings"]["proposal_id"] == off["id"]

    # Turned on again by a later vote: the kept stars show again, and new ones count.
    ratings_vote(db, m.coop.admin.api, members, org, enabled=True)
    assert m.buyer.api.get(rating_url(org)).get_json()["rating"] == shown
    assert rate(buyers[1], waiting, 1).status_code == 201
    assert m.buyer.api.get(rating_url(org)).get_json()["rating"]["count"] == 4


def test_another_cooperatives_vote_does_not_turn_ratings_off(
        market: Market, factory: Factory, db: Session, listing: Any) -> None:
    other = coop(factory, 1)
    ratings_vote(db, other.admin.api, [other.admin.api], other.org.id, enabled=False)
    oid = order_in(market, listing["id"], "completed")
    assert rate(market.buyer.api, oid, 4).status_code == 201
