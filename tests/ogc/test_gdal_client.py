"""A real client: GDAL's OGC API - Features driver (through pyogrio) reads catch-cells over HTTP.

The app runs under werkzeug's threaded server on loopback, in a thread of
this process; GDAL runs in a child process (see gdal_reader.py for why).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
import shapely
from flask import Flask
from werkzeug.serving import make_server

from geo import hexgrid
from tests.ogc import gdal_reader
from tests.ogc.conftest import World


@pytest.fixture(scope="module")
def base_url(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def gdal() -> Iterator[ProcessPoolExecutor]:
    # spawn: a fork would copy this process's database connections and threads.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def _read(gdal: ProcessPoolExecutor, world: World, base_url: str, query: str = "",
          **kw: Any) -> dict[str, Any]:
    token = world.auth_a.staff.api.token
    assert token
    out: dict[str, Any] = gdal.submit(gdal_reader.read, f"OAPIF:{base_url}/ogc/{query}", token,
                                      "catch-cells", **kw).result(timeout=120)
    return out


def test_gdal_lists_and_reads_catch_cells(world: World, base_url: str,
                                          gdal: ProcessPoolExecutor) -> None:
    got = _read(gdal, world, base_url)
    assert got["layers"] == ["catch-cells", "catch-cells-species"]
    assert got["features"] == 6
    assert {"cell", "month", "landed_kg", "live_kg", "catches", "trips", "vessels"} <= \
        set(got["fields"])
    rows = got["rows"]
    by_cell_month = {(r["cell"], r["month"]): i for i, r in enumerate(rows)}
    assert len(by_cell_month) == len(rows) == 6
    i = by_cell_month[(world.cells["X"], f"{world.m1:%Y-%m}")]
    assert rows[i]["landed_kg"] == 64.0 and rows[i]["vessels"] == 3
    assert (world.cells["Y"], f"{world.m1:%Y-%m}") not in by_cell_month  # suppressed
    polygon = shapely.from_wkb(got["wkb"][i])
    assert polygon.equals_exact(hexgrid.cell_polygon(world.cells["X"]), 1e-6)


def test_gdal_follows_next_links_and_sends_bbox(world: World, base_url: str,
                                                gdal: ProcessPoolExecutor) -> None:
    # PAGE_SIZE=2: GDAL pages through the 6 features by the next links.
    got = _read(gdal, world, base_url, dataset_kwargs={"PAGE_SIZE": "2"})
    keys = [(r["cell"], r["month"]) for r in got["rows"]]
    assert len(set(keys)) == len(keys) == 6
    lon, lat = hexgrid.cell_center(world.cells["X"])
    got = _read(gdal, world, base_url, bbox=(lon - 0.005, lat - 0.005, lon + 0.005, lat + 0.005))
    assert {r["cell"] for r in got["rows"]} == {world.cells["X"]}


def test_gdal_carries_the_authority_choice(world: World, base_url: str,
                                           gdal: ProcessPoolExecutor) -> None:
    # GDAL repeats the dataset URL's query on every request it makes.
    got = _read(gdal, world, base_url, f"?authority={world.auth_ab.id}")
    keys = {(r["cell"], r["month"]) for r in got["rows"]}
    assert (world.cells["Y"], f"{world.m1:%Y-%m}") in keys  # 2 vessels of A + 1 of B
    assert (world.cells["W"], f"{world.m1:%Y-%m}") in keys
    assert got["features"] == len(keys) == 8
