"""Marketplace sales feed the fisher's income figures (and only completed ones)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.market.conftest import create, fish, order, step

ME = "/api/v1/me/dashboard"


def _month() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("America/Mexico_City")).strftime("%Y-%m")


def _this_month(api):
    m = _month()
    r = api.get(ME, query_string={"from": m, "to": m})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_completed_sales_are_income_and_open_orders_are_not(market):
    listing = create(market.fisher.api, fish(market, quantity=60, unit_price=110.0))
    done = order(market.buyer.api, listing["id"], 12.5).get_json()
    pending = order(market.buyer.api, listing["id"], 10).get_json()
    cancelled = order(market.buyer.api, listing["id"], 5).get_json()
    for s in ("accepted", "ready", "completed"):
        assert step(market.fisher.api, done["id"], s).status_code == 200
    assert step(market.fisher.api, pending["id"], "accepted").status_code == 200
    assert step(market.buyer.api, cancelled["id"], "cancelled").status_code == 200

    d = _this_month(market.fisher.api)
    (month,) = [r for r in d["by_month"] if r["month"] == _month()]
    assert month["market_sales_mxn"] == 1375.0  # 12.5 kg x 110
    assert month["income_mxn"] == round(month["first_sale_mxn"] + 1375.0, 2)
    assert month["net_mxn"] == round(month["income_mxn"] - month["costs_mxn"], 2)
    assert d["totals"]["market_sales_mxn"] == 1375.0
    # The buyer sold nothing: their dashboard has no sales of the fisher's.
    assert _this_month(market.buyer.api)["totals"]["market_sales_mxn"] == 0.0
