"""Listing trips and catches: keyset pages, filters, and bad page tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Coop, Factory, catch_item, errors_of, iso, problem, trip_item


def _log(factory: Factory) -> tuple[Coop, dict[str, Any], list[dict[str, Any]]]:
    c = factory.coop()
    trip = trip_item(c.vessel_id)
    now = datetime.now(UTC)
    catches = [catch_item(trip["id"], caught_at=iso(now - timedelta(hours=2, minutes=10 * i)),
                          species_code="LJS" if i % 2 else "HUS") for i in range(5)]
    r = c.fisher.api.post("/api/v1/sync/push", {"items": [trip, *catches]})
    assert {x["status"] for x in r.get_json()["results"]} == {"created"}
    return c, trip, catches


def test_pages_cover_every_catch_once_newest_first(factory: Factory) -> None:
    c, _, catches = _log(factory)
    api = c.fisher.api
    seen: list[str] = []
    after = None
    for _ in range(5):
        query = {"limit": 2} | ({"after": after} if after else {})
        page = api.get("/api/v1/catches", query_string=query).get_json()
        seen += [item["id"] for item in page["items"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert seen == [k["id"] for k in catches]  # catch i is 10*i minutes older
    assert after is None


def test_filters_by_species_trip_and_time(factory: Factory) -> None:
    c, trip, catches = _log(factory)
    api = c.fisher.api
    ljs = api.get("/api/v1/catches", query_string={"species_code": "LJS"}).get_json()["items"]
    assert [k["id"] for k in ljs] == [catches[1]["id"], catches[3]["id"]]
    by_trip = api.get("/api/v1/catches", query_string={"trip_id": trip["id"]}).get_json()
    assert len(by_trip["items"]) == 5
    since = catches[2]["caught_at"]
    recent = api.get("/api/v1/catches", query_string={"since": since}).get_json()["items"]
    assert [k["id"] for k in recent] == [k["id"] for k in catches[:3]]
    trips = api.get("/api/v1/trips", query_string={"until": trip["departed_at"]}).get_json()
    assert trips["items"] == []  # departed exactly then: "until" is exclusive


def test_a_tampered_page_token_is_a_400(factory: Factory) -> None:
    c, _, _ = _log(factory)
    api = c.fisher.api
    for token in ("not-base64!", "WyJ4Il0", "WyJ4IiwieSJd"):  # garbage, 1 value, 2 bad values
        body = problem(api.get("/api/v1/catches", query_string={"after": token}), 400,
                       "invalid_cursor")
        assert errors_of(body) == {"after": "invalid_cursor"}
