"""The rollup follows the logbook: corrections, cancellations, trips, slow writers, CLI, job."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import h3
import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import hexgrid
from server import jobs
from server.ogc import tasks
from server.ogc.cli import ogc
from server.rollup import run as rollup
from tests.conftest import Coop, Factory
from tests.ogc.conftest import at, c, log, months
from tests.test_sync import push, statuses

WAIT = 15.0
Q_CENTER = (-114.2, 28.1)  # off Bahía de los Ángeles: no other test fishes here


def cell_row(db: Session, org: uuid.UUID, cell: str, month: date,
             table: str = "ogc_cell") -> dict[str, Any] | None:
    db.rollback()  # a fresh snapshot
    row = db.execute(text(f"SELECT landed_kg, live_kg, catches, trips, vessels FROM {table} "
                          "WHERE org_id = :o AND cell = :c AND month = :m"),
                     {"o": org, "c": cell, "m": month.replace(day=1)}).mappings().first()
    return {k: float(v) if k.endswith("kg") else v for k, v in row.items()} if row else None


def catch_up(db: Session, done: Callable[[], bool],
             step: Callable[[], object] | None = None) -> None:
    """Run ``step`` (default: refresh_changed) until ``done``.

    The horizon is the cluster's: an open transaction in another database
    (a benchmark, another test session) holds every refresh back, and then
    the test is skipped, as the change feed's tests do."""
    deadline = time.monotonic() + WAIT
    while True:
        if step is None:
            rollup.refresh_changed(db)
        else:
            step()
        if done():
            return
        if time.monotonic() > deadline:
            db.rollback()
            blockers = db.execute(text(
                "SELECT datname, pid, backend_xid::text FROM pg_stat_activity "
                "WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()")).all()
            ours = [b for b in blockers if b[0] == db.get_bind().url.database]
            assert not ours, f"transactions of this database hold the rollup back: {ours}"
            if blockers:
                pytest.skip(f"transactions of other databases hold the horizon: {blockers}")
            pytest.fail("the rollup never caught up, and nothing holds it back")
        time.sleep(0.1)


@dataclass
class Fleet:
    coop: Coop
    vessels: list[uuid.UUID]
    q: str  # its cell
    q2: str  # a neighbour
    month: date


def _fleet(factory: Factory) -> Fleet:
    coop = factory.coop()
    vessels = [coop.vessel_id, factory.vessel(coop.org), factory.vessel(coop.org)]
    q = hexgrid.cell_of(*Q_CENTER)
    q2 = sorted(h3.grid_ring(q, 1))[0]
    return Fleet(coop, vessels, q, q2, months()[0])


@pytest.fixture
def fleet(factory: Factory) -> Fleet:
    return _fleet(factory)


def test_correction_moves_kilograms_and_cells(fleet: Fleet, db: Session) -> None:
    org, q, q2, m = fleet.coop.org.id, fleet.q, fleet.q2, fleet.month
    logged = [log(fleet.coop.fisher, v, m, [c(q, 10, 11)]) for v in fleet.vessels]
    catch_up(db, lambda: (cell_row(db, org, q, m) or {}).get("catches") == 3)
    assert cell_row(db, org, q, m) == {"landed_kg": 30.0, "live_kg": 33.0, "catches": 3,
                                       "trips": 3, "vessels": 3}
    # Every cell the rollup used is the one geo.hexgrid gives for the position.
    assert q == hexgrid.cell_of(*logged[0][1][0]["position"]["coordinates"])

    first = logged[0][1][0]
    api = fleet.coop.fisher.api
    r = api.patch(f"/api/v1/catches/{first['id']}", {"base_version": 1, "landed_kg": 4.5,
                                                      "live_kg": 5})
    assert r.status_code == 201, r.get_json()
    catch_up(db, lambda: (cell_row(db, org, q, m) or {}).get("landed_kg") == 24.5)
    assert cell_row(db, org, q, m) == {"landed_kg": 24.5, "live_kg": 27.0, "catches": 3,
                                       "trips": 3, "vessels": 3}
    # One species only: its row carries the same sums.
    assert cell_row(db, org, q, m, "ogc_cell_species") == cell_row(db, org, q, m)
    # Version 3 moves the catch to the neighbouring cell: one fewer vessel in Q.
    r = api.patch(f"/api/v1/catches/{first['id']}", {"base_version": 2, "position": c(q2, 1)[
        "position"]})
    assert r.status_code == 201, r.get_json()
    catch_up(db, lambda: cell_row(db, org, q2, m) is not None)
    assert cell_row(db, org, q, m) == {"landed_kg": 20.0, "live_kg": 22.0, "catches": 2,
                                       "trips": 2, "vessels": 2}
    assert cell_row(db, org, q2, m) == {"landed_kg": 4.5, "live_kg": 5.0, "catches": 1,
                                        "trips": 1, "vessels": 1}


def test_cancellation_removes_the_catch(fleet: Fleet, db: Session) -> None:
    org, q, m = fleet.coop.org.id, fleet.q, fleet.month
    logged = [log(fleet.coop.fisher, v, m, [c(q, 7, species="SIE")]) for v in fleet.vessels]
    catch_up(db, lambda: (cell_row(db, org, q, m) or {}).get("vessels") == 3)
    for n, (_, (k,)) in enumerate(logged, 1):
        r = fleet.coop.fisher.api.delete(f"/api/v1/catches/{k['id']}", {"base_version": 1})
        assert r.status_code in (200, 201), r.get_json()
        left = 3 - n
        catch_up(db, lambda left=left: (cell_row(db, org, q, m) or {"vessels": 0})["vessels"]
                 == left)
    assert cell_row(db, org, q, m) is None  # the last one gone: the row is gone too


def test_moving_a_trip_to_another_vessel_recounts_vessels(fleet: Fleet, db: Session) -> None:
    org, q, m = fleet.coop.org.id, fleet.q, fleet.month
    v1, v2, _ = fleet.vessels
    t1, _ = log(fleet.coop.fisher, v1, m, [c(q, 1)])
    log(fleet.coop.fisher, v2, m, [c(q, 1)])
    catch_up(db, lambda: (cell_row(db, org, q, m) or {}).get("vessels") == 2)
    assert statuses(push(fleet.coop.fisher.api, [dict(t1, version=2, vessel_id=str(v2))])) == \
        ["created"]
    catch_up(db, lambda: (cell_row(db, org, q, m) or {}).get("vessels") == 1)
    assert cell_row(db, org, q, m)["trips"] == 2  # type: ignore[index]


def test_a_slow_writer_is_not_skipped(app: Flask, fleet: Fleet, db: Session) -> None:
    """A change committed after a later one is still rolled up (the xmin guard).

    T1 writes a catch and stays open; T2 (a sync push) commits after it. A
    watermark on change_seq alone would move past T1's change while T1 is
    open and never see it; below the snapshot's xmin it waits for T1."""
    org, q, m = fleet.coop.org.id, fleet.q, fleet.month
    _, (k1,) = log(fleet.coop.fisher, fleet.vessels[0], m, [c(q, 10)])
    catch_up(db, lambda: (cell_row(db, org, q, m) or {}).get("catches") == 1)

    engine = app.extensions["cardumen.engine"]
    with engine.connect() as slow:
        # A direct UPDATE stands in for a slow transaction of the app: it gets
        # its xid and change position now and commits last.
        slow.execute(text("UPDATE catch SET landed_kg = landed_kg + 100 WHERE org_id = :o "
                          "AND id = :id AND superseded_at IS NULL"),
                     {"o": org, "id": uuid.UUID(k1["id"])})
        log(fleet.coop.fisher, fleet.vessels[1], m, [c(q, 5)])  # T2, committed
        stats = rollup.refresh_changed(db)
        assert cell_row(db, org, q, m) == {"landed_kg": 10.0, "live_kg": 10.0, "catches": 1,
                                           "trips": 1, "vessels": 1}
        assert stats.position is not None
        t2_seq = db.execute(text("SELECT max(change_seq) FROM catch WHERE org_id = :o"),
                            {"o": org}).scalar_one()
        assert stats.position.seq < t2_seq  # the watermark waits below T1
        slow.commit()
    catch_up(db, lambda: (cell_row(db, org, q, m) or {}).get("catches") == 2)
    assert cell_row(db, org, q, m) == {"landed_kg": 115.0, "live_kg": 115.0, "catches": 2,
                                       "trips": 2, "vessels": 2}


def test_refresh_of_a_slice_drops_rows_with_no_catches_left(fleet: Fleet, db: Session) -> None:
    org, q, m = fleet.coop.org.id, fleet.q, fleet.month
    stale = date(2001, 1, 1)
    log(fleet.coop.fisher, fleet.vessels[0], m, [c(q, 2)])
    rollup.refresh(db, org_ids=[org])
    db.execute(text("INSERT INTO ogc_cell (org_id, cell, month, landed_kg, live_kg, catches, "
                    "trips, vessels) VALUES (:o, :c, :m, 1, 1, 1, 1, 1)"),
               {"o": org, "c": q, "m": stale})
    db.commit()
    stats = rollup.refresh(db, org_ids=[org])
    assert stats.slices == 2 and stats.position is None  # a partial refresh keeps the watermark
    assert cell_row(db, org, q, stale) is None
    assert cell_row(db, org, q, m) == {"landed_kg": 2.0, "live_kg": 2.0, "catches": 1,
                                       "trips": 1, "vessels": 1}
    assert rollup.refresh(db, months=[m], org_ids=[org]).slices == 1


def test_cli_refresh(app: Flask, fleet: Fleet, db: Session) -> None:
    org, q, m = fleet.coop.org.id, fleet.q, fleet.month
    log(fleet.coop.fisher, fleet.vessels[0], m, [c(q, 3)])
    runner = app.test_cli_runner()
    r = runner.invoke(ogc, ["refresh", "--org", str(org), "--month", f"{m:%Y-%m}"])
    assert r.exit_code == 0, r.output
    assert "1 slice(s), 1 catch(es), 5 row(s)" in r.output  # 2 map cells, 3 statistics
    assert cell_row(db, org, q, m) is not None
    r = runner.invoke(ogc, ["refresh"])
    assert r.exit_code == 0 and "slice(s)" in r.output and "watermark" in r.output
    r = runner.invoke(ogc, ["refresh", "--all", "--org", str(org)])
    assert r.exit_code != 0 and "--all" in r.output
    r = runner.invoke(ogc, ["refresh", "--all"])
    assert r.exit_code == 0, r.output
    assert "watermark" in r.output  # a full refresh moves it (to where the horizon allows)


def test_job_refreshes_changed_cells(app: Flask, fleet: Fleet, db: Session) -> None:
    org, q, m = fleet.coop.org.id, fleet.q, fleet.month
    jobs.configure(dict(app.config))
    log(fleet.coop.fisher, fleet.vessels[0], m, [c(q, 8), {**c(q, 1), "caught_at": at(m, 11)}])
    outs: list[dict[str, int]] = []
    catch_up(db, lambda: cell_row(db, org, q, m) is not None,
             step=lambda: outs.append(tasks.refresh_cells(timestamp=0)))
    assert set(outs[-1]) == {"slices", "catches", "rows", "audiences"}
    assert cell_row(db, org, q, m) == {"landed_kg": 9.0, "live_kg": 9.0, "catches": 2,
                                       "trips": 1, "vessels": 1}
