"""Report runs from the logbook: originals, amendments, reconciliation, immutability."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import timedelta

import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import Factory
from tests.reports.helpers import (
    items_of,
    local_today,
    log_trip,
    run_now,
    setup,
    subscribe,
)


def _by_day(runs: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in runs:
        out.setdefault(r["period_start"], []).append(r)
    return out


def _csv_rows(api, run: dict, name: str = "avisos_arribo.csv") -> list[dict[str, str]]:
    r = api.get(f"/api/v1/reports/runs/{run['id']}/files/{name}")
    assert r.status_code == 200
    data = r.get_data()
    assert hashlib.sha256(data).hexdigest() == r.headers["X-Content-SHA256"]
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_originals_for_every_closed_period_including_empty_ones(factory: Factory) -> None:
    s = setup(factory)
    day = local_today() - timedelta(days=3)
    log_trip(s.coop, day, [{"species_code": "LJS", "landed_kg": 40},
                           {"species_code": "SIE", "landed_kg": 12.5}])
    sub = subscribe(s, days_back=5)
    runs = run_now(s, sub["id"])
    by_day = _by_day(runs)
    # Five closed days (5 days back .. yesterday): one original each, nil reports included.
    assert sorted(by_day) == [(local_today() - timedelta(days=d)).isoformat() for d in range(5, 0, -1)]
    assert all(len(v) == 1 and v[0]["purpose"] == "original" for v in by_day.values())
    run = by_day[day.isoformat()][0]
    assert run["record_count"] == 2 and run["counts"] == {"original": 2}
    assert run["delivery"]["method"] == "pull" and run["delivery"]["status"] == "pending"
    assert {f["name"] for f in run["files"]} == {"avisos_arribo.csv", "manifest.json"}
    assert {i["action"] for i in items_of(s.staff.api, run["id"])} == {"original"}
    empty = by_day[(day - timedelta(days=1)).isoformat()][0]
    assert empty["record_count"] == 0

    # The authority's download marks the pull delivered.
    rows = _csv_rows(s.staff.api, run)
    assert len(rows) == 2
    r = s.staff.api.get(f"/api/v1/reports/runs/{run['id']}")
    assert r.get_json()["delivery"]["status"] == "delivered"

    # Nothing changed: running again makes nothing.
    assert run_now(s, sub["id"]) == []


def test_correction_cancellation_and_late_addition_become_amendments(factory: Factory) -> None:
    s = setup(factory)
    day = local_today() - timedelta(days=2)
    _, (k1, k2) = log_trip(s.coop, day, [{"landed_kg": 40}, {"species_code": "SIE"}])
    sub = subscribe(s, days_back=2)
    original = _by_day(run_now(s, sub["id"]))[day.isoformat()][0]

    r = s.coop.fisher.api.patch(f"/api/v1/catches/{k1['id']}", {"base_version": 1, "landed_kg": 38})
    assert r.status_code == 201
    (amend,) = run_now(s, sub["id"])
    assert amend["purpose"] == "amendment" and amend["sequence"] == 2
    assert amend["amends"] == [original["id"]]
    items = {i["catch_id"]: i for i in items_of(s.staff.api, amend["id"])}
    assert items[k1["id"]]["action"] == "correction" and items[k1["id"]]["version"] == 2
    assert items[k1["id"]]["refers_to_run_id"] == original["id"]
    # A landing notice is re-issued whole: the unchanged catch is restated.
    assert items[k2["id"]]["action"] == "restated"

    r = s.coop.fisher.api.delete(f"/api/v1/catches/{k2['id']}", {"base_version": 1})
    assert r.status_code == 200
    (cancel,) = run_now(s, sub["id"])
    items = {i["catch_id"]: i for i in items_of(s.staff.api, cancel["id"])}
    assert items[k2["id"]]["action"] == "cancellation"
    assert cancel["sequence"] == 3

    log_trip(s.coop, day, [{"species_code": "LJS", "landed_kg": 7}])
    (late,) = run_now(s, sub["id"])
    assert late["counts"] == {"late_addition": 1}
    assert run_now(s, sub["id"]) == []


def test_reconciliation_shows_pending_until_reported(factory: Factory) -> None:
    s = setup(factory)
    day = local_today() - timedelta(days=2)
    _, (k1,) = log_trip(s.coop, day)
    sub = subscribe(s, days_back=2)
    url = (f"/api/v1/authorities/{s.authority_id}/reconciliation?subscription_id={sub['id']}"
           f"&period_from={day.isoformat()}&period_to={(day + timedelta(days=1)).isoformat()}")
    before = s.staff.api.get(url).get_json()
    assert before["reconciled"] is False
    assert before["pending"][0]["catch_id"] == k1["id"] and before["pending"][0]["kind"] == "new"

    run_now(s, sub["id"])
    after = s.staff.api.get(url).get_json()
    assert after["reconciled"] is True and after["duplicates"] == 0
    (cell,) = after["periods"]
    assert cell["records"] == 1 and cell["reported"] == 1

    s.coop.fisher.api.patch(f"/api/v1/catches/{k1['id']}", {"base_version": 1, "landed_kg": 11})
    changed = s.staff.api.get(url).get_json()
    assert changed["reconciled"] is False
    assert changed["pending"][0]["kind"] == "correction"
    run_now(s, sub["id"])
    assert s.staff.api.get(url).get_json()["reconciled"] is True


def test_run_rows_are_immutable(factory: Factory, db: Session) -> None:
    s = setup(factory)
    day = local_today() - timedelta(days=1)
    log_trip(s.coop, day)
    sub = subscribe(s, days_back=1)
    (run,) = run_now(s, sub["id"])
    for sql in ("UPDATE report_run SET record_count = 0 WHERE id = :id",
                "DELETE FROM report_artifact WHERE run_id = :id",
                "UPDATE report_run_item SET action = 'original' WHERE run_id = :id"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="immutable"):
            db.execute(text(sql), {"id": run["id"]})
        db.rollback()


def test_a_run_is_reproduced_byte_for_byte(factory: Factory, app) -> None:
    from click.testing import CliRunner

    from server.cli import main

    s = setup(factory)
    day = local_today() - timedelta(days=1)
    log_trip(s.coop, day, [{"landed_kg": 3}, {"species_code": "SIE", "landed_kg": 4}])
    sub = subscribe(s, days_back=1)
    (run,) = run_now(s, sub["id"])
    result = CliRunner().invoke(main, ["reports", "verify", run["id"]],
                                env={"DATABASE_URL": app.config["DATABASE_URL"],
                                     "CARDUMEN_ARTIFACTS": app.config["ARTIFACTS"]})
    assert result.exit_code == 0, result.output
    assert "reproduced byte for byte" in result.output


def test_cli_runs_one_period_by_hand(factory: Factory, app) -> None:
    from click.testing import CliRunner

    from server.cli import main

    env = {"DATABASE_URL": app.config["DATABASE_URL"], "CARDUMEN_ARTIFACTS": app.config["ARTIFACTS"]}
    s = setup(factory)
    day = local_today() - timedelta(days=2)
    log_trip(s.coop, day, [{"landed_kg": 7}])
    sub = subscribe(s, days_back=4)

    def run(*extra: str):
        return CliRunner().invoke(main, ["reports", "run", sub["id"], *extra], env=env)

    result = run("--period-start", day.isoformat())
    assert result.exit_code == 0, result.output
    assert "1 run(s) made" in result.output
    (run_id,) = [line for line in result.output.splitlines() if len(line) == 36]
    detail = s.staff.api.get(f"/api/v1/reports/runs/{run_id}").get_json()
    assert detail["period_start"] == day.isoformat() and detail["record_count"] == 1
    assert detail["purpose"] == "original"
    # Once made, a period's run is not made again: nothing changed.
    again = run("--period-start", day.isoformat())
    assert again.exit_code == 0 and "0 run(s) made" in again.output
    # The rest of what is due (the other closed days), without --period-start.
    rest = run()
    assert rest.exit_code == 0 and "3 run(s) made" in rest.output, rest.output


def test_cli_refuses_a_period_start_that_is_not_one(factory: Factory, app) -> None:
    from click.testing import CliRunner

    from server.cli import main

    env = {"DATABASE_URL": app.config["DATABASE_URL"], "CARDUMEN_ARTIFACTS": app.config["ARTIFACTS"]}
    s = setup(factory)
    sub = subscribe(s, fmt="fao_cwp_monthly", period="month", days_back=40)
    mid = local_today().replace(day=1) - timedelta(days=10)
    result = CliRunner().invoke(main, ["reports", "run", sub["id"], "--period-start",
                                       mid.isoformat()], env=env)
    assert result.exit_code != 0
    assert f"a month period starts on {mid.replace(day=1)}" in result.output
    missing = CliRunner().invoke(main, ["reports", "run", "00000000-0000-0000-0000-000000000001"],
                                 env=env)
    assert missing.exit_code != 0 and "no subscription" in missing.output


@pytest.mark.parametrize("fmt", ["conapesca_aviso_csv", "conapesca_aviso_pdf", "fao_cwp_monthly",
                                 "dataset_csv", "dataset_geojson", "dataset_geojsonseq",
                                 "dataset_gpkg"])
def test_every_format_runs_from_the_logbook_with_a_true_manifest(factory: Factory, fmt: str,
                                                                 tmp_path) -> None:
    import orjson

    s = setup(factory)
    day = local_today() - timedelta(days=1)
    log_trip(s.coop, day, [{"landed_kg": 3}, {"species_code": "SIE", "landed_kg": 4}])
    sub = subscribe(s, fmt=fmt, days_back=1)
    (run,) = run_now(s, sub["id"], period_start=day.isoformat())
    assert run["record_count"] == 2
    files = {f["name"]: f for f in run["files"]}
    manifest = orjson.loads(s.staff.api.get(files["manifest.json"]["href"]).get_data())
    assert manifest["run_id"] == run["id"] and manifest["record_count"] == 2
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json"}
    for name, f in listed.items():
        data = s.staff.api.get(files[name]["href"]).get_data()
        assert hashlib.sha256(data).hexdigest() == f["sha256"] == files[name]["sha256"]
        assert len(data) == f["size"]
        (tmp_path / name).write_bytes(data)
    if fmt == "dataset_gpkg":
        import pyogrio

        layers = {name for name, _ in pyogrio.list_layers(tmp_path / "dataset.gpkg")}
        assert {"catches", "trips"} <= layers
        info = pyogrio.read_info(tmp_path / "dataset.gpkg", layer="catches")
        assert info["features"] == 2 and info["crs"] == "EPSG:4326"


def test_a_range_of_whole_periods_can_be_run_by_hand(factory: Factory) -> None:
    from tests.conftest import errors_of, problem

    s = setup(factory)
    sub = subscribe(s, days_back=6)
    first = local_today() - timedelta(days=6)
    url = f"/api/v1/reports/subscriptions/{sub['id']}/runs"
    runs = run_now(s, sub["id"], period_start=first.isoformat(),
                   period_end=(first + timedelta(days=3)).isoformat())
    assert [r["period_start"] for r in runs] == [(first + timedelta(days=d)).isoformat()
                                                 for d in range(3)]
    assert all(r["authority_name"] for r in runs)
    for body, code in (({"period_start": first.isoformat(), "period_end": first.isoformat()},
                        "period_empty"),
                       ({"period_start": first.isoformat(),
                         "period_end": (first - timedelta(days=2)).isoformat()}, "period_inverted"),
                       ({"period_start": first.isoformat(),
                         "period_end": (local_today() + timedelta(days=2)).isoformat()},
                        "period_not_closed")):
        body_json = problem(s.admin.api.post(url, body), 422, "validation_error")
        assert errors_of(body_json) == {"period_end": code}
    body_json = problem(s.admin.api.post(url, {"period_end": first.isoformat()}), 422,
                        "validation_error")
    assert errors_of(body_json) == {"period_start": "required"}


def test_statistics_amendment_restates_the_cell_with_its_new_total(factory: Factory) -> None:
    s = setup(factory)
    day = local_today() - timedelta(days=40)
    _, (k1, k2) = log_trip(s.coop, day, [{"landed_kg": 100, "live_kg": 110},
                                         {"landed_kg": 50, "live_kg": 55}])
    _, (other,) = log_trip(s.coop, day, [{"species_code": "SIE", "landed_kg": 9, "live_kg": 9}])
    sub = subscribe(s, fmt="fao_cwp_monthly", period="month", days_back=40)
    month = day.replace(day=1).isoformat()
    original = _by_day(run_now(s, sub["id"]))[month][0]
    rows = _csv_rows(s.staff.api, original, "cwp_monthly.csv")
    assert len(rows) == 2  # two species, one cell each

    s.coop.fisher.api.patch(f"/api/v1/catches/{k1['id']}", {"base_version": 1, "live_kg": 120,
                                                             "landed_kg": 100})
    (amend,) = run_now(s, sub["id"])
    items = {i["catch_id"]: i["action"] for i in items_of(s.staff.api, amend["id"])}
    # The corrected catch, and its cell-mate restated; the other species' cell untouched.
    assert items == {k1["id"]: "correction", k2["id"]: "restated"}
    (row,) = _csv_rows(s.staff.api, amend, "cwp_monthly.csv")
    assert other["id"] not in items
    assert float(row["live_weight_t"]) == pytest.approx(0.175)  # 120 + 55 kg
    assert row["status"] == "revised" and row["trips"] == "1"
