"""Dashboards: a fisher's own figures exactly; a cooperative's pooled, consented, suppressed."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from pyogrio.raw import read as ogr_read
from sqlalchemy.orm import Session

from server.rollup import run as rollup
from tests.analytics.conftest import SPOT, World, consent
from tests.conftest import Api, Factory, errors_of, problem
from tests.reports.helpers import make_authority

ME = "/api/v1/me/dashboard"


def coop_url(w: World) -> str:
    return f"/api/v1/organizations/{w.org}/dashboard"


def window(w: World) -> dict[str, str]:
    return {"from": f"{w.m2:%Y-%m}", "to": f"{w.m1:%Y-%m}"}


def get(api: Api, url: str, **query: Any) -> dict[str, Any]:
    r = api.get(url, query_string=query)
    assert r.status_code == 200, r.get_json()
    body: dict[str, Any] = r.get_json()
    return body


# --- a fisher's own ---------------------------------------------------------------------------

def test_a_fisher_sees_all_of_their_own(world: World) -> None:
    d = get(world.fishers[0].api, ME, **window(world))
    m1, m2 = f"{world.m1:%Y-%m}", f"{world.m2:%Y-%m}"
    assert d["from"] == m2 and d["to"] == m1
    by = {(r["month"], r["species_code"]): r for r in d["by_species_month"]}
    assert set(by) == {(m1, "LJS"), (m1, "SIE"), (m2, "LJS")}
    assert by[(m1, "LJS")] == {"month": m1, "species_code": "LJS", "landed_kg": 10.0,
                                    "live_kg": 10.0, "catches": 1, "income_mxn": 950.0,
                                    "price_mxn_per_kg": 95.0}
    assert by[(m1, "SIE")]["price_mxn_per_kg"] is None and by[(m1, "SIE")]["income_mxn"] == 0
    months = {r["month"]: r for r in d["by_month"]}
    assert months[m1] == {"month": m1, "landed_kg": 12.0, "trips": 1, "zero_catch_trips": 0,
                          "sea_hours": 9.0, "sea_days": 1, "first_sale_mxn": 950.0,
                          "market_sales_mxn": 0.0, "income_mxn": 950.0,
                          "costs_mxn": 970.0, "net_mxn": -20.0, "kg_per_trip": 12.0}
    assert months[m2]["landed_kg"] == 1.0 and months[m2]["income_mxn"] == 95.0
    (gns,) = d["by_gear"]
    assert gns == {"gear_code": "GNS", "landed_kg": 13.0, "trips": 2, "sea_hours": 18.0,
                   "kg_per_trip": 6.5, "kg_per_hour": 0.72}
    assert d["best_months"] == [m1, m2] and d["best_species"] == ["LJS", "SIE"]
    assert d["totals"] == {"landed_kg": 13.0, "trips": 2, "first_sale_mxn": 1045.0,
                           "market_sales_mxn": 0.0, "income_mxn": 1045.0,
                           "costs_mxn": 1940.0, "net_mxn": -895.0}
    # Beside the median of the five consenting members' kg per trip (f6 left out):
    # f1 6.5, f2 12.5, f3 18.5, f4 45, f5 50 -> 18.5.
    (cmp,) = d["compared"]
    assert cmp == {"org_id": world.org, "kg_per_trip": 6.5, "median_kg_per_trip": 18.5,
                   "withheld": None}


def test_each_fisher_sees_only_their_own(world: World) -> None:
    mine = get(world.fishers[5].api, ME, **window(world))
    assert {r["landed_kg"] for r in mine["by_species_month"]} == {600.0}
    assert mine["totals"]["landed_kg"] == 600.0
    # f6 does not consent: their own figures are all theirs; the median leaves them out.
    assert mine["compared"][0]["median_kg_per_trip"] == 18.5
    # A member of another cooperative sees nothing of this one.
    assert get(world.other.fisher.api, ME, **window(world))["by_species_month"] == []
    problem(world.other.fisher.api.get(ME, query_string={"org_id": world.org}), 404, "not_found")


def test_the_median_is_withheld_for_a_small_group(factory: Factory, db: Session) -> None:
    coop = factory.coop()
    from tests.analytics.conftest import log
    from tests.ogc.conftest import months

    m1, _ = months()
    log(coop.fisher, coop.vessel_id, m1, [{"species_code": "LJS", "landed_kg": 7}])
    consent(coop.fisher, str(coop.org.id))
    rollup.refresh(db, org_ids=[coop.org.id])
    (cmp,) = get(coop.fisher.api, ME, **{"from": f"{m1:%Y-%m}", "to": f"{m1:%Y-%m}"})["compared"]
    assert cmp["kg_per_trip"] == 7.0
    assert cmp["median_kg_per_trip"] is None and cmp["withheld"] == "too_few_members"


# --- a cooperative's pooled -------------------------------------------------------------------

def by(rows: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(r[k] for k in keys): r for r in rows}


def test_the_cooperative_sees_pooled_consented_suppressed_figures(world: World) -> None:
    d = get(world.coop.admin.api, coop_url(world), **window(world))
    m1, m2 = f"{world.m1:%Y-%m}", f"{world.m2:%Y-%m}"
    assert d["members_included"] == 5 and d["min_vessels"] == 3
    cells = by(d["landings"]["by_species_month"], "month", "species_code")
    # f6's 600 kg are not there: f6 did not consent.
    assert cells[(m1, "LJS")] == {"month": m1, "species_code": "LJS", "landed_kg": 150.0,
                                  "live_kg": 150.0, "catches": 5, "value_mxn": 950.0,
                                  "vessels": 5, "suppressed": False}
    # OCZ has one vessel; SIE goes with it, or M1's total minus LJS would be OCZ alone.
    assert cells[(m1, "OCZ")] == {"month": m1, "species_code": "OCZ", "suppressed": True}
    assert cells[(m1, "SIE")] == {"month": m1, "species_code": "SIE", "suppressed": True}
    assert cells[(m2, "LJS")]["landed_kg"] == 6.0 and cells[(m2, "LJS")]["vessels"] == 3
    months = by(d["landings"]["by_month"], "month")
    assert months[(m1,)]["landed_kg"] == 164.0 and months[(m1,)]["vessels"] == 5
    # Totals over the window add up the shown monthly figures only, and say so: a total
    # over hidden ones would give them away (SIE over the window is SIE of M1 alone).
    species = by(d["landings"]["by_species"], "species_code")
    assert species[("LJS",)] == {"species_code": "LJS", "landed_kg": 156.0, "catches": 8,
                                 "complete": True}
    assert species[("SIE",)] == {"species_code": "SIE", "landed_kg": 0.0, "catches": 0,
                                 "complete": False}
    assert species[("OCZ",)]["complete"] is False
    assert d["landings"]["total"]["landed_kg"] == 170.0 and d["landings"]["total"]["complete"]
    # By zone: the world fishes inside one fishing zone, so each month's zone is its total.
    zones = by(d["landings"]["by_zone_month"], "month", "zone_id")
    assert zones[(m1, world.zone_id)] == {
        "month": m1, "zone_id": world.zone_id, "zone_name": "Zona de pesca El Mogote",
        "landed_kg": 164.0, "catches": 9, "vessels": 5, "suppressed": False}
    assert zones[(m2, world.zone_id)]["landed_kg"] == 6.0
    assert by(d["landings"]["by_zone"], "zone_id")[(world.zone_id,)]["landed_kg"] == 170.0
    assert by(d["effort"]["by_gear"], "gear_code")[("GNS",)]["trips"] == 8
    effort = by(d["effort"]["by_month"], "month")
    assert effort[(m1,)]["trips"] == 5 and effort[(m1,)]["sea_hours"] == 45.0
    assert effort[(m2,)]["trips"] == 3 and effort[(m2,)]["costs_mxn"] == 2910.0
    cpue = by(d["cpue_by_month"], "month")
    assert cpue[(m1,)]["kg_per_trip"] == 32.8 and cpue[(m2,)]["kg_per_trip"] == 2.0
    prices = by(d["prices"], "month", "species_code")
    assert prices[(m2, "LJS")]["price_mxn_per_kg"] == 95.0 and (m1, "OCZ") not in prices


def test_a_revocation_leaves_the_member_out_of_every_later_output(world: World) -> None:
    m1 = f"{world.m1:%Y-%m}"
    f6 = world.fishers[5]
    try:
        consent(f6, world.org)
        d = get(world.coop.admin.api, coop_url(world), **window(world))
        assert d["members_included"] == 6
        assert by(d["landings"]["by_species_month"], "month", "species_code")[
            (m1, "LJS")]["landed_kg"] == 750.0
        consent(world.fishers[4], world.org, granted=False)  # f5 revokes
        d = get(world.coop.admin.api, coop_url(world), **window(world))
        assert d["members_included"] == 5
        assert by(d["landings"]["by_species_month"], "month", "species_code")[
            (m1, "LJS")]["landed_kg"] == 700.0
    finally:
        consent(f6, world.org, granted=False)
        consent(world.fishers[4], world.org, granted=True)
    assert get(world.coop.admin.api, coop_url(world), **window(world))["members_included"] == 5


def test_no_hidden_cell_falls_out_of_several_answers_together(world: World) -> None:
    """The attacker asks every window (each month alone, both together) and every heatmap
    (all species, each species), and sets up every figure shown as an equation over the
    true (month, species) atoms: every catch of this world is in one cell, with one gear.
    No hidden figure of any answer may be a combination of them."""
    api = world.coop.admin.api
    m1, m2 = f"{world.m1:%Y-%m}", f"{world.m2:%Y-%m}"
    answers = [get(api, coop_url(world), **{"from": a, "to": b})
               for a, b in ((m2, m1), (m1, m1), (m2, m2))]
    atoms = sorted({(r["month"], r["species_code"]) for d in answers
                    for r in d["landings"]["by_species_month"]})
    index = {a: i for i, a in enumerate(atoms)}

    def vector(match: Any) -> np.ndarray:
        v = np.zeros(len(atoms))
        for a, i in index.items():
            if match(a):
                v[i] = 1
        return v

    shown, secret = [], []
    for d in answers:
        shown_cells = {(r["month"], r["species_code"]) for r in d["landings"]["by_species_month"]
                       if not r["suppressed"]}
        shown_months = {r["month"] for r in d["landings"]["by_month"] if not r["suppressed"]}
        figs = [
            *((r, lambda a, r=r: a == (r["month"], r["species_code"]))
              for r in d["landings"]["by_species_month"]),
            # one gear: a gear-month is its month
            *((r, lambda a, r=r: a[0] == r["month"]) for r in d["landings"]["by_gear_month"]),
            *((r, lambda a, r=r: a[0] == r["month"]) for r in d["landings"]["by_month"]),
        ]
        for r, match in figs:
            (secret if r["suppressed"] else shown).append((r, vector(match)))
        # Window totals: what they add up, exactly as the API says it adds them up.
        for r in d["landings"]["by_species"]:
            shown.append((r, vector(lambda a, r=r, s=shown_cells: a[1] == r["species_code"]
                                    and a in s)))
        shown.append((d["landings"]["total"], vector(lambda a, m=shown_months: a[0] in m)))
    for month in (m1, m2):
        cells = get(api, f"/api/v1/organizations/{world.org}/heatmap", month=month)["features"]
        for f in cells:  # one cell holds the month
            shown.append((f["properties"], vector(lambda a, m=month: a[0] == m)))
        for sp in ("LJS", "SIE", "OCZ"):
            for f in get(api, f"/api/v1/organizations/{world.org}/heatmap", month=month,
                         species=sp)["features"]:
                shown.append((f["properties"], vector(lambda a, m=month, sp=sp: a == (m, sp))))
    a = np.array([v for _, v in shown])
    rank = np.linalg.matrix_rank(a)
    assert secret, "the world must have hidden figures for this test to mean anything"
    for r, v in secret:
        if not v.any():
            continue
        assert np.linalg.matrix_rank(np.vstack([a, v])) > rank, f"{r} can be worked out"


# --- who may ask --------------------------------------------------------------------------------

def test_only_the_cooperatives_admins_see_its_pooled_figures(world: World, factory: Factory,
                                                             app: Flask) -> None:
    url = coop_url(world)
    problem(world.fishers[0].api.get(url), 403, "forbidden")
    problem(world.other.admin.api.get(url), 404, "not_found")
    problem(factory.person().api.get(url), 404, "not_found")
    _, staff, _ = make_authority(factory, [world.coop])
    problem(staff.api.get(url), 404, "not_found")  # an authority gets its reports, not this
    problem(Api(world.coop.admin.api.client).get(url), 401, "token_missing")
    admin = factory.person(platform_admin=True)
    assert admin.api.get(url, query_string=window(world)).status_code == 200


@pytest.mark.parametrize(("query", "field", "code"), [
    ({"from": "2026-13"}, "from", "invalid_month"),
    ({"to": "26-01"}, "to", "invalid_month"),
    ({"from": "1999-12"}, "from", "invalid_month"),
    ({"from": "2026-05", "to": "2026-04"}, "to", "period_inverted"),
    ({"from": "2020-01", "to": "2025-12"}, "from", "window_too_long"),
    ({"from": "2099-01"}, "to", "period_inverted"),  # after this month, the default end
    ({"bogus": "1"}, "bogus", "unknown_field"),
])
def test_bad_windows_are_refused_in_both_languages(world: World, query: dict[str, str],
                                                   field: str, code: str) -> None:
    for url, api in ((ME, world.fishers[0].api), (coop_url(world), world.coop.admin.api),
                     ("/api/v1/me/statement", world.fishers[0].api)):
        r = api.get(url, query_string=query, lang="es")
        body = problem(r, 422, "validation_error")
        assert errors_of(body) == {field: code}, body
        es = body["errors"][0]["message"]
        en = api.get(url, query_string=query, lang="en").get_json()["errors"][0]["message"]
        assert es and en and (es != en or code == "unknown_field")


def test_the_heatmap_hides_what_the_dashboard_hides(world: World) -> None:
    api = world.coop.admin.api
    url = f"/api/v1/organizations/{world.org}/heatmap"
    m1 = f"{world.m1:%Y-%m}"
    r = api.get(url, query_string={"month": m1})
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    (cell,) = r.get_json()["features"]
    assert cell["geometry"]["type"] == "Polygon"
    # Everything of M1 was caught in one cell: the cell is the month, f6 left out.
    assert cell["properties"] == {"cell": cell["id"], "month": m1, "species_code": None,
                                  "landed_kg": 164.0, "catches": 9, "vessels": 5}
    (lj,) = api.get(url, query_string={"month": m1, "species": "LJS"}).get_json()["features"]
    assert lj["properties"]["landed_kg"] == 150.0
    # OCZ (one vessel) and SIE (hidden with it in the dashboard) are not on the map at all.
    for sp in ("OCZ", "SIE"):
        assert api.get(url, query_string={"month": m1, "species": sp}).get_json()[
            "features"] == []
    problem(world.fishers[0].api.get(url), 403, "forbidden")
    problem(world.other.admin.api.get(url), 404, "not_found")
    body = problem(api.get(url, query_string={"species": "pargo"}), 422, "validation_error")
    assert errors_of(body) == {"species": "invalid_code"}
    body = problem(api.get(url, query_string={"month": "2026-1"}), 422, "validation_error")
    assert errors_of(body) == {"month": "invalid_month"}


def test_a_fisher_sees_their_own_spots_all_of_them(world: World) -> None:
    m1 = f"{world.m1:%Y-%m}"
    r = world.fishers[3].api.get("/api/v1/me/map", query_string={"month": m1})
    assert r.status_code == 200 and r.mimetype == "application/geo+json"
    (cell,) = r.get_json()["features"]
    # f4's own cell shows all of f4's catch, OCZ included: it is theirs.
    assert cell["properties"]["landed_kg"] == 45.0 and cell["properties"]["catches"] == 2
    (ocz,) = world.fishers[3].api.get("/api/v1/me/map", query_string={
        "month": m1, "species": "OCZ"}).get_json()["features"]
    assert ocz["properties"]["landed_kg"] == 5.0
    # Nobody else's spots: another member's map has only their own catch.
    (other,) = world.fishers[0].api.get("/api/v1/me/map", query_string={
        "month": m1}).get_json()["features"]
    assert other["properties"]["landed_kg"] == 12.0
    problem(world.other.fisher.api.get("/api/v1/me/map", query_string={"org_id": world.org}),
            404, "not_found")


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_vector_tiles_show_the_heatmap_cells_and_nothing_more(world: World,
                                                              tmp_path: Path) -> None:
    api = world.coop.admin.api
    m1 = f"{world.m1:%Y-%m}"
    z = 8
    x, y = _tile_of(*SPOT["coordinates"], z)
    base = f"/api/v1/organizations/{world.org}/tiles"
    r = api.get(f"{base}/{z}/{x}/{y}.mvt", query_string={"month": m1})
    assert r.status_code == 200 and r.mimetype == "application/vnd.mapbox-vector-tile"
    # A real MVT reader (GDAL's) finds the one hexagon, with the heatmap's figures.
    path = tmp_path / str(z) / str(x) / f"{y}.mvt"
    path.parent.mkdir(parents=True)
    path.write_bytes(r.get_data())
    meta, _, geometry, fields = ogr_read(path, layer="catch")
    assert len(geometry) == 1
    props = dict(zip(meta["fields"], (f[0] for f in fields), strict=True))
    assert props["landed_kg"] == 164.0 and props["vessels"] == 5
    # A species hidden on the heatmap is not in the tiles either; nor is a tile far away.
    r = api.get(f"{base}/{z}/{x}/{y}.mvt", query_string={"month": m1, "species": "OCZ"})
    assert r.status_code == 200 and r.get_data() == b""
    fx, fy = _tile_of(-90.0, 20.0, z)
    assert api.get(f"{base}/{z}/{fx}/{fy}.mvt", query_string={"month": m1}).get_data() == b""
    # A fisher's own tiles carry their own catch, OCZ included.
    r = world.fishers[3].api.get(f"/api/v1/me/tiles/{z}/{x}/{y}.mvt",
                                 query_string={"month": m1, "species": "OCZ"})
    assert r.status_code == 200 and r.get_data() != b""
    problem(world.fishers[0].api.get(f"{base}/{z}/{x}/{y}.mvt"), 403, "forbidden")
    problem(world.other.admin.api.get(f"{base}/{z}/{x}/{y}.mvt"), 404, "not_found")
    for bad, field in (("17/0/0", "z"), ("2/4/0", "x"), ("2/0/-1", "y")):
        body = problem(api.get(f"{base}/{bad}.mvt"), 422, "validation_error")
        assert errors_of(body) == {field: "tile_out_of_range"}
