"""OGC API - Features: the project's /ogc against pygeoapi serving the same aggregated table.

    .venv/bin/python bench/ogc.py --catches 1000000
    .venv/bin/python bench/ogc.py --catches 200000 --seconds 10      # quick run

One throwaway database: ``--catches`` demo catches (``server.demo.loader``), the cell
rollup built (``server.rollup.run.refresh``), the demo fisheries office
(``server.demo.authority``) over every demo cooperative, and its staff member logged
in. Two servers on loopback, each gunicorn with the same workers and threads:

  O   the project: ``cardumen serve``; /ogc/collections/catch-cells as the office's
      staff see it: the office's published features (summed over its cooperatives and
      suppressed below 3 vessels when the rollup changes, server/ogc/publish.py), read
      per request after the bearer token and the office's look-up;
  P   pygeoapi (bench-only extra) with its PostgreSQL provider on
      ``bench_ogc_catch_cells``: exactly the features O returns (same ids, properties
      and hexagons; suppressed cells absent) copied into a plain table with a primary
      key and a GiST index. pygeoapi does no authentication.

Timed phases, each after an idle-machine wait, ``--clients`` threads of this process,
one keep-alive HTTP connection each:

  items   GET .../items?limit=1000 walking ``next`` links through the whole collection,
          again and again (threads start at different pages): features/s;
  item    GET .../items/{id} for random ids (the same sequence for both): requests/s,
          p50/p95 latency.

Target (the issue): features/s of O >= 10 x features/s of P. The script exits 0
either way: it is a measurement. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import orjson
import psycopg

if __package__ or TYPE_CHECKING:
    from bench import _common as common
else:  # run as a script: bench/ is sys.path[0]
    import _common as common

    # The repository first: bench/exports.py would shadow the ``exports`` package
    # (server.demo.authority imports it).
    sys.path.insert(0, str(common.ROOT))

TARGET = 10.0
COLLECTION = "catch-cells"
TABLE = "bench_ogc_catch_cells"
DEVICE = "bench-ogc"
ACCEPT = "application/geo+json, application/json;q=0.9"
SOURCES = ("server/ogc",)  # what ``code_state`` digests


# --- setup ---------------------------------------------------------------------------

def load_world(db: common.BenchDB, catches: int, seed: int) -> dict[str, Any]:
    """Demo catches, the demo office over every demo cooperative, the rollup. Not timed."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from server.db import make_engine
    from server.demo import authority, loader
    from server.members import tokens
    from server.ogc import publish
    from server.ogc.models import CellMonth
    from server.reports.models import Authority, AuthorityCooperative
    from server.rollup import run as rollup

    out: dict[str, Any] = {}
    engine = make_engine(db.url, 2)
    with Session(engine) as sess:
        t = time.perf_counter()
        out["counts"] = loader.load(sess, catches, seed=seed, progress=sys.stderr.isatty())
        authority.load(sess, tokens.hash_password(loader.DEMO_PASSWORD))
        sess.commit()
        out["load_s"] = time.perf_counter() - t
        t = time.perf_counter()
        stats = rollup.refresh(sess)
        out["rollup_s"] = time.perf_counter() - t
        out["rollup"] = stats
        # The office's view published once (the API would on its first read).
        t = time.perf_counter()
        office = sess.scalars(select(Authority.id).order_by(Authority.id).limit(1)).one()
        publish.ensure(sess, office, 3)
        out["publish_s"] = time.perf_counter() - t
        out["coops"] = sess.scalar(select(func.count()).select_from(AuthorityCooperative))
        out["ogc_cell_rows"] = sess.scalar(select(func.count()).select_from(CellMonth))
    engine.dispose()
    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return out


def describe_world(db: common.BenchDB) -> dict[str, Any]:
    """What ``load_world`` would have reported, read from a database it loaded."""
    with psycopg.connect(db.conninfo) as conn:
        def one(sql: str) -> Any:
            row = conn.execute(sql).fetchone()
            assert row is not None
            return row[0]

        return {"counts": {"catch": one("SELECT count(*) FROM catch")}, "load_s": 0.0,
                "rollup_s": 0.0, "publish_s": 0.0, "rollup": SimpleNamespace(
                    slices=one("SELECT count(DISTINCT (org_id, month)) FROM ogc_cell")),
                "coops": one("SELECT count(*) FROM authority_cooperative"),
                "ogc_cell_rows": one("SELECT count(*) FROM ogc_cell")}


def login_staff(base: str) -> str:
    """The demo office's staff member's access token (15 min: one per phase)."""
    from server.demo import authority

    return common.demo_login(base, authority.STAFF_PHONE, DEVICE)


def suppressed(db: common.BenchDB) -> tuple[int, int]:
    """(cell-months in the office's scope, of which below 3 vessels): the rollup read
    directly, to show what the API leaves out."""
    with psycopg.connect(db.conninfo) as conn:
        row = conn.execute("""
            SELECT count(*), count(*) FILTER (WHERE v < 3) FROM (
                SELECT sum(r.vessels) AS v FROM ogc_cell r
                WHERE r.org_id IN (SELECT org_id FROM authority_cooperative)
                GROUP BY r.cell, r.month) g""").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def materialize(db: common.BenchDB, features: list[dict[str, Any]]) -> None:
    """The features the project served, as a plain table for pygeoapi: id (the
    project's feature id, C collation so that its order is the project's key order),
    the same properties, the same hexagon (the GeoJSON the project wrote)."""
    with psycopg.connect(db.conninfo) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(f"""
            CREATE TABLE {TABLE} (
                id text COLLATE "C" PRIMARY KEY, cell varchar(15) NOT NULL, month text NOT NULL,
                landed_kg double precision, live_kg double precision, catches integer,
                trips integer, vessels integer, geom geometry(Polygon, 4326) NOT NULL)""")
        conn.execute("CREATE TEMP TABLE bench_stage (id text, cell text, month text, "
                     "landed_kg float8, live_kg float8, catches int, trips int, vessels int, "
                     "geom text)")
        cols = ("id", "cell", "month", "landed_kg", "live_kg", "catches", "trips", "vessels")
        with conn.cursor() as cur, cur.copy(
                f"COPY bench_stage ({', '.join(cols)}, geom) FROM STDIN") as copy:
            for f in features:
                p = f["properties"]
                copy.write_row((f["id"], p["cell"], p["month"], p["landed_kg"], p["live_kg"],
                                p["catches"], p["trips"], p["vessels"],
                                orjson.dumps(f["geometry"]).decode()))
        conn.execute(f"INSERT INTO {TABLE} SELECT {', '.join(cols)}, "
                     "ST_SetSRID(ST_GeomFromGeoJSON(geom), 4326) FROM bench_stage")
        conn.execute(f"CREATE INDEX {TABLE}_geom ON {TABLE} USING gist (geom)")
        conn.commit()
    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {TABLE}")


# --- HTTP ----------------------------------------------------------------------------

def path_of(href: str) -> str:
    u = urlsplit(href)
    return u.path + (f"?{u.query}" if u.query else "")


@dataclass
class Target:
    """One server as the client sees it: where its items are, how to ask."""

    name: str
    base: str
    items: str  # path of the collection's items
    first_query: str  # query of the first page
    item_query: str  # query added to a single item's path
    headers: dict[str, str]

    def first_page(self) -> str:
        return f"{self.items}?{self.first_query}"

    def next_path(self, href: str | None) -> str | None:
        if href is None:
            return None
        path = path_of(href)
        # pygeoapi's next link drops f=json; ask for JSON again (Accept says so as well)
        if self.item_query and "f=" not in urlsplit(path).query:
            path += "&" + self.item_query
        return path

    def item_path(self, fid: str) -> str:
        p = f"{self.items}/{quote(fid, safe=':')}"
        return f"{p}?{self.item_query}" if self.item_query else p


def walk(t: Target, start: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Every feature in order, following next links from ``start`` (default the first
    page), and the path of every page."""
    conn = common.Http(t.base)
    feats: list[dict[str, Any]] = []
    pages: list[str] = []
    path: str | None = start or t.first_page()
    try:
        while path is not None:
            status, body = conn.get(path, t.headers)
            if status != 200:
                raise RuntimeError(f"{t.name}: GET {path}: HTTP {status}: {body[:300]!r}")
            doc = orjson.loads(body)
            pages.append(path)
            feats.extend(doc["features"])
            href = next((x["href"] for x in doc.get("links", ()) if x.get("rel") == "next"),
                        None)
            if scan(body) != (len(doc["features"]), href) or \
                    doc.get("numberReturned") != len(doc["features"]):
                raise RuntimeError(f"{t.name}: GET {path}: the client's quick scan is wrong "
                                   f"here: {scan(body)} vs {len(doc['features'])}, {href}")
            path = t.next_path(href)
            if not doc["features"]:
                break
    finally:
        conn.close()
    return feats, pages


# --- measuring -----------------------------------------------------------------------

@dataclass
class Phase:
    name: str
    server: str
    count: int  # features (items) or requests (item)
    requests: int
    elapsed: float
    latencies: list[float]
    cpu: dict[str, float] = field(default_factory=dict)
    per_worker: list[float] = field(default_factory=list)
    walks: int = 0
    reconnects: int = 0
    spread: str = ""

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0


def scan(body: bytes) -> tuple[int, str | None]:
    """(features, next href) of a page without parsing it all: the client's CPU is
    taken from the same two cores as the servers'. Checked against a full parse on
    every page of the untimed walks (``walk``)."""
    n = body.count(b'"type":"Feature"')
    at = body.rfind(b'"rel":"next"')
    if at < 0:
        return n, None
    link = orjson.loads(body[body.rfind(b"{", 0, at):body.find(b"}", at) + 1])
    return n, str(link["href"])


def items_client(t: Target, conn: common.Http, start: str, seconds: float) -> common.Client:
    def go(tally: common.Tally) -> None:
        path = start
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            status, body = conn.get(path, t.headers)
            tally.latencies.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"{t.name}: GET {path}: HTTP {status}: {body[:300]!r}")
            n, href = scan(body)
            tally.count += n
            tally.requests += 1
            nxt = t.next_path(href) if href and n else None
            if nxt is None:
                tally.walks += 1
                nxt = t.first_page()
            path = nxt
    return go


def item_client(t: Target, conn: common.Http, ids: list[str], seconds: float) -> common.Client:
    def go(tally: common.Tally) -> None:
        deadline = time.perf_counter() + seconds
        k = 0
        while time.perf_counter() < deadline:
            fid = ids[k % len(ids)]
            k += 1
            t0 = time.perf_counter()
            status, body = conn.get(t.item_path(fid), t.headers)
            tally.latencies.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"{t.name}: GET item {fid}: HTTP {status}: {body[:300]!r}")
            if orjson.loads(body)["id"] != fid:
                raise RuntimeError(f"{t.name}: GET item {fid}: another feature came back")
            tally.count += 1
            tally.requests += 1
    return go


Work = Callable[[list[common.Http], float], list[common.Client]]  # (connections, seconds)


def connect(tgt: Target, server: common.Server, n: int, probe: str,
            balance: bool) -> tuple[list[common.Http], str]:
    """``common.connect`` with the target's headers (the project's probe needs the
    token), its failures named after the target: there are two servers here."""
    return common.connect(server, n, probe, balance, tgt.headers, tgt.name)


def phase(name: str, tgt: Target, server: common.Server, servers: dict[str, common.Server],
          db: common.BenchDB, work: Work, probe: str, args: argparse.Namespace,
          notes: list[str]) -> Phase:
    common.settle(name, db, args.quiet_wait, args.others_wait, notes)
    # After the wait: gunicorn closes a keep-alive connection idle for 2 s.
    conns, spread = connect(tgt, server, args.clients, probe, not args.no_balance)
    elapsed, tally, cpu = common.measure(conns, lambda seconds: work(conns, seconds),
                                         args.seconds, 0, servers, db.name)
    ph = Phase(name, tgt.name, tally.count, tally.requests, elapsed, tally.latencies, cpu.used,
               cpu.per_worker.get(tgt.name, []), tally.walks,
               sum(c.reconnects for c in conns), spread)
    print(f"  {name:34} {ph.rate:12,.0f} /s  ({ph.count:,} in {ph.elapsed:.1f} s, "
          f"connections per worker {spread})", file=sys.stderr)
    return ph


# --- pygeoapi ------------------------------------------------------------------------

def pygeoapi_config(db: common.BenchDB, port: int, bbox: list[float]) -> dict[str, Any]:
    u = psycopg.conninfo.conninfo_to_dict(db.conninfo)
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": f"http://127.0.0.1:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "gzip": False,
            "languages": ["en-US"],
            "pretty_print": False,
            "limits": {"default_items": 100, "max_items": 10000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "attribution": "OpenStreetMap"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "Cardumen bench: pygeoapi", "description": "The same aggregated table",
                "keywords": ["bench"], "keywords_type": "theme", "terms_of_service": "none",
                "url": "http://127.0.0.1"},
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "Cardumen bench", "url": "http://127.0.0.1"},
            "contact": {"name": "bench", "position": "bench", "address": "none", "city": "none",
                        "stateorprovince": "none", "postalcode": "0", "country": "MX",
                        "phone": "+52", "fax": "+52", "email": "bench@example.org",
                        "url": "http://127.0.0.1", "hours": "always", "instructions": "none",
                        "role": "pointOfContact"},
        },
        "resources": {
            COLLECTION: {
                "type": "collection",
                "title": "Catch per cell and month (materialized)",
                "description": "The project's catch-cells features for the demo office",
                "keywords": ["catch"],
                "links": [],
                "extents": {"spatial": {"bbox": bbox,
                                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
                "providers": [{
                    "type": "feature", "name": "PostgreSQL",
                    "data": {"host": u.get("host", "127.0.0.1"), "port": int(u.get("port") or 5432),
                             "dbname": u["dbname"], "user": u.get("user", ""),
                             "password": u.get("password", ""), "search_path": ["public"]},
                    "id_field": "id", "table": TABLE, "geom_field": "geom",
                }],
            },
        },
    }


@contextlib.contextmanager
def serve_pygeoapi(db: common.BenchDB, workers: int, threads: int, bbox: list[float],
                   ready_timeout: float = 90.0) -> Iterator[common.Server]:
    """pygeoapi's Flask app under gunicorn with the same settings as ``cardumen serve``
    (gthread workers, --reuse-port, access log), config and OpenAPI doc in a temp dir."""
    import yaml

    port = common.free_port()
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="cardumen-bench-pygeoapi-") as tmp:
        cfg, oas = Path(tmp) / "pygeoapi-config.yml", Path(tmp) / "pygeoapi-openapi.yml"
        cfg.write_text(yaml.safe_dump(pygeoapi_config(db, port, bbox), sort_keys=False))
        env = dict(os.environ, PYGEOAPI_CONFIG=str(cfg), PYGEOAPI_OPENAPI=str(oas))
        gen = subprocess.run([str(bindir / "pygeoapi"), "openapi", "generate", str(cfg),
                              "--output-file", str(oas)], env=env, cwd=tmp,
                             capture_output=True, text=True)
        if gen.returncode != 0:
            raise RuntimeError(f"pygeoapi openapi generate failed:\n{gen.stdout}\n{gen.stderr}")
        log_path = Path(tmp) / "pygeoapi.log"
        cmd = [sys.executable, "-m", "gunicorn", "pygeoapi.flask_app:APP",
               "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--threads", str(threads), "--worker-class", "gthread", "--reuse-port",
               "--access-logfile", "-"]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = common.Server(f"http://127.0.0.1:{port}", proc, log_path)
        try:
            deadline = time.monotonic() + ready_timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"pygeoapi exited ({proc.returncode}):\n{server.log_tail()}")
                try:
                    c = common.Http(server.url)
                    status, _ = c.get(f"/collections/{COLLECTION}?f=json", {})
                    c.close()
                    if status == 200 and server.workers():
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"pygeoapi not ready:\n{server.log_tail()}")
                time.sleep(0.3)
            yield server
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def pygeoapi_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pygeoapi")
    except PackageNotFoundError:
        return "?"


# --- comparing -----------------------------------------------------------------------

def compare(ours: list[dict[str, Any]], theirs: list[dict[str, Any]],
            limit: int) -> tuple[bool, list[str]]:
    """Same number of features, same ids in the same order (first pages shown), same
    properties and geometry for every feature."""
    lines = []
    ok = True
    lines.append(f"features: project {len(ours):,}, pygeoapi {len(theirs):,}")
    ok &= len(ours) == len(theirs)
    for page in range(min(2, (len(ours) + limit - 1) // limit)):
        a = [f["id"] for f in ours[page * limit:(page + 1) * limit]]
        b = [f["id"] for f in theirs[page * limit:(page + 1) * limit]]
        same = a == b
        ok &= same
        lines.append(f"page {page + 1}: {len(a)} / {len(b)} ids, "
                     f"{'the same ids in the same order' if same else 'DIFFERENT'}"
                     f" (first {a[0] if a else '-'}, last {a[-1] if a else '-'})")
    by_id = {f["id"]: f for f in theirs}
    diff = 0
    example = ""
    for f in ours:
        g = by_id.get(f["id"])
        if g is None or g["properties"] != f["properties"] or g["geometry"] != f["geometry"]:
            diff += 1
            if not example:
                example = f"e.g. {f['id']}: {f['properties']} vs {g and g['properties']}"
    ok &= diff == 0
    lines.append("every feature: same properties and hexagon" if diff == 0 else
                 f"{diff} features DIFFER; {example}")
    return ok, lines


# --- profiling -----------------------------------------------------------------------

def profile_in_process(db: common.BenchDB, pages: list[str], ids: list[str], top: int) -> None:
    """cProfile of the project's items pages and single items in this process (Flask
    test client, no gunicorn), then EXPLAIN ANALYZE of a middle page's query."""
    from server import create_app
    from server.demo import authority, loader

    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": secrets.token_urlsafe(32),
                      "ENV": "production"})
    client = app.test_client()
    r = client.post("/api/v1/auth/login", json={"phone": authority.STAFF_PHONE,
                                                "password": loader.DEMO_PASSWORD,
                                                "device_id": DEVICE})
    headers = {"Authorization": f"Bearer {r.get_json()['access_token']}", "Accept": ACCEPT}
    for label, paths in (("items pages", pages), ("single items", ids)):
        client.get(paths[0], headers=headers)  # warm-up, not profiled
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        for p in paths:
            resp = client.get(p, headers=headers)
            assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        prof.disable()
        took = time.perf_counter() - t0
        print(f"\n== cProfile, {label}: {len(paths)} requests in-process, {took:.2f} s "
              f"({took / len(paths) * 1000:.2f} ms each under the profiler)")
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
        text = out.getvalue()
        print(text[text.find("   ncalls"):])
    explain(db, pages[len(pages) // 2])


def explain(db: common.BenchDB, page: str) -> None:
    """EXPLAIN ANALYZE of the statement the project runs for one page, in the office's
    scope (captured from the driver, so it is the server's own SQL and parameters)."""
    from urllib.parse import parse_qs

    from sqlalchemy import event, select
    from sqlalchemy.orm import Session
    from werkzeug.datastructures import MultiDict

    from server.db import make_engine
    from server.ogc import params, publish, queries
    from server.ogc.collections import CATCH_CELLS
    from server.reports.models import Authority

    query = MultiDict([(k, v) for k, vs in parse_qs(urlsplit(page).query).items() for v in vs])
    q = params.items_query(COLLECTION, query, with_species=False)
    engine = make_engine(db.url, 1)
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    with Session(engine) as sess:
        office = sess.scalars(select(Authority.id).order_by(Authority.id).limit(1)).one()
        pub = publish.ensure(sess, office, 3)
        assert pub is not None
        event.listen(engine, "before_cursor_execute", capture)
        queries.items(sess, CATCH_CELLS, pub, q)
        event.remove(engine, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        plan = sess.connection().exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).scalars().all()
    engine.dispose()
    print(f"\n== EXPLAIN ANALYZE of the project's query for {page[:100]}")
    print("\n".join(plan))


# --- main ----------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--catches", type=int, default=1_000_000,
                   help="demo catches to load (default 1000000)")
    p.add_argument("--limit", type=int, default=1000, help="features per page (default 1000)")
    p.add_argument("--clients", type=int, default=4,
                   help="client threads in this process, one keep-alive connection each")
    p.add_argument("--seconds", type=float, default=30.0, help="duration of each timed phase")
    p.add_argument("--warmup", type=float, default=3.0,
                   help="untimed load on each server before its phases (seconds)")
    common.add_phase_options(p, "gunicorn workers of each server")
    p.add_argument("--profile", type=int, default=0, metavar="PAGES",
                   help="afterwards, cProfile PAGES items pages and 10 x PAGES single items "
                        "of the project in-process, and EXPLAIN ANALYZE a page's query")
    p.add_argument("--profile-top", type=int, default=25)
    common.add_database_options(p, "(no load; the bench table is made again; the database "
                                   "is kept)")
    args = p.parse_args(argv)
    if args.catches < 1 or args.clients < 1 or not 1 <= args.limit <= 10_000:
        p.error("need --catches >= 1, --clients >= 1, 1 <= --limit <= 10000")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    t_setup = time.perf_counter()
    notes: list[str] = []
    code = common.code_state(*SOURCES)
    with common.database(args.keep_db, args.reuse_db) as db:
        if args.reuse_db:
            world = describe_world(db)
        else:
            # The load is not timed, but it takes both cores for minutes: not in the
            # middle of somebody else's test run or benchmark either.
            common.quiet("load", 0, args.others_wait)
            print(f"loading {args.catches:,} demo catches, building the rollup ...",
                  file=sys.stderr)
            world = load_world(db, args.catches, args.seed)
        scope_cells, below = suppressed(db)
        version = common.server_version(db.conninfo)
        with common.serve(db.url, args.workers, args.threads) as ours_srv:
            token = login_staff(ours_srv.url)
            ours = Target("project", ours_srv.url, f"/ogc/collections/{COLLECTION}/items",
                          f"limit={args.limit}", "",
                          {"Accept": ACCEPT, "Authorization": f"Bearer {token}"})
            # What the office's staff see, in pages as large as the API gives (not timed).
            t = time.perf_counter()
            served, _ = walk(Target(ours.name, ours.base, ours.items, "limit=10000", "",
                                    ours.headers))
            if not served:
                raise RuntimeError("the project served no features: nothing to compare")
            materialize(db, served)
            mat_s = time.perf_counter() - t
            bbox = [min(x for f in served for x, _ in f["geometry"]["coordinates"][0]),
                    min(y for f in served for _, y in f["geometry"]["coordinates"][0]),
                    max(x for f in served for x, _ in f["geometry"]["coordinates"][0]),
                    max(y for f in served for _, y in f["geometry"]["coordinates"][0])]
            with serve_pygeoapi(db, args.workers, args.threads, bbox) as py_srv:
                theirs = Target("pygeoapi", py_srv.url, f"/collections/{COLLECTION}/items",
                                f"f=json&limit={args.limit}", "f=json", {"Accept": ACCEPT})
                servers = {"project": ours_srv, "pygeoapi": py_srv}
                # Full walks of both at --limit (not timed): the check, and the page list.
                ours_feats, ours_pages = walk(ours)
                py_feats, py_pages = walk(theirs)
                same, check = compare(ours_feats, py_feats, args.limit)
                ids = [f["id"] for f in ours_feats]
                rng = random.Random(args.seed)
                order = ids[:]
                rng.shuffle(order)
                setup_s = time.perf_counter() - t_setup
                print("setup done; timed phases:", file=sys.stderr)

                phases: list[Phase] = []
                for tgt, srv, pages, probe in (
                        (ours, ours_srv, ours_pages, "/ogc/conformance"),
                        (theirs, py_srv, py_pages, "/conformance?f=json")):
                    if tgt is ours:  # a fresh token (15 min) for the phases
                        tgt.headers["Authorization"] = f"Bearer {login_staff(ours_srv.url)}"
                    starts = [pages[i * len(pages) // args.clients] for i in range(args.clients)]

                    def walks(conns: list[common.Http], seconds: float, tgt: Target = tgt,
                              starts: list[str] = starts) -> list[common.Client]:
                        return [items_client(tgt, c, s, seconds)
                                for c, s in zip(conns, starts, strict=True)]

                    def singles(conns: list[common.Http], seconds: float,
                                tgt: Target = tgt) -> list[common.Client]:
                        return [item_client(tgt, c, order[i::args.clients], seconds)
                                for i, c in enumerate(conns)]

                    if args.warmup > 0:  # every worker: pygeoapi reflects the table per process
                        conns, _ = connect(tgt, srv, args.clients, probe, not args.no_balance)
                        common.run_clients(walks(conns, args.warmup / 2))
                        common.run_clients(singles(conns, args.warmup / 2))
                        for c in conns:
                            c.close()
                    phases.append(phase(f"items?limit={args.limit} {tgt.name}", tgt, srv,
                                        servers, db, walks, probe, args, notes))
                    phases.append(phase(f"items/{{id}} {tgt.name}", tgt, srv, servers, db,
                                        singles, probe, args, notes))
                rss = {name: [common.vm_hwm_mb(p) for p in sorted(s.workers_seen)]
                       for name, s in servers.items()}

        now = common.code_state(*SOURCES)
        if now != code:
            notes.append(f"server/ogc changed during the run (now {now})")
        report(args, version, code, db, world, setup_s, mat_s, scope_cells, below, len(ours_pages),
               len(py_pages), same, check, phases, rss, notes)
        if args.profile:
            profile_in_process(db, ours_pages[:args.profile] or ours_pages,
                               [ours.item_path(f) for f in order[:10 * args.profile]],
                               args.profile_top)
    return 0


def report(args: argparse.Namespace, version: str, code: str, db: common.BenchDB,
           world: dict[str, Any], setup_s: float, mat_s: float, scope_cells: int, below: int, n_pages: int,
           n_py_pages: int, same: bool, check: list[str], phases: list[Phase],
           rss: dict[str, list[float | None]], notes: list[str]) -> None:
    c = world["counts"]
    print(f"\nCardumen OGC API - Features against pygeoapi {pygeoapi_version()}: "
          f"{c['catch']:,} demo catches")
    print(f"code: {code}")
    print(f"{version} ({db.where}); {os.cpu_count()} CPUs; load avg {os.getloadavg()[0]:.2f}; "
          f"each server gunicorn {args.workers} workers x {args.threads} threads (gthread, "
          f"--reuse-port, access log), loopback")
    print(f"client: {args.clients} threads in this process, one keep-alive http.client "
          f"connection each, {args.seconds:.0f} s per phase after {args.warmup:.0f} s of warm-up")
    print(f"setup {setup_s:.0f} s: demo load {world['load_s']:.0f} s, rollup "
          f"{world['rollup_s']:.0f} s ({world['rollup'].slices:,} slices, "
          f"office published in {world['publish_s']:.1f} s, "
          f"{world['ogc_cell_rows']:,} ogc_cell rows), materialize {mat_s:.1f} s")
    print(f"the demo office: {world['coops']} cooperatives; {scope_cells:,} cell-months in its "
          f"scope, {below:,} of them below 3 vessels (suppressed)")
    print(f"\nWhat is compared: the project checks the bearer token and the office on every "
          f"request and reads the office's published features (summed over its "
          f"{world['coops']} cooperatives and suppressed under 3 vessels when the rollup "
          f"changed; keyset paging). pygeoapi reads {TABLE}, a copy of those answers "
          f"(primary key, GiST index), with no auth. It does count(*) the table for "
          f"numberMatched and page with OFFSET, as its provider always does.")
    print("check (" + ("OK" if same else "MISMATCH") + "): " + "; ".join(check))
    print(f"pages of {args.limit}: project {n_pages}, pygeoapi {n_py_pages}\n")
    head = (f"{'phase':30} {'rate':>10} {'unit':10} {'reqs':>7} {'p50 ms':>7} {'p95 ms':>7}  "
            f"CPU s: {'client':>6} {'server (per worker)':>20} {'postgres':>8} {'other':>6}")
    print(head)
    print("-" * len(head))
    for ph in phases:
        unit = "features/s" if ph.name.startswith("items?") else "requests/s"
        workers = "+".join(f"{w:.1f}" for w in ph.per_worker if w >= 0.05) or "0"
        srv = f"{ph.cpu[ph.server]:.1f} ({workers})"
        print(f"{ph.name:30} {ph.rate:10,.0f} {unit:10} {ph.requests:7,} "
              f"{common.percentile(ph.latencies, 50) * 1000:7.1f} "
              f"{common.percentile(ph.latencies, 95) * 1000:7.1f}         "
              f"{ph.cpu['client']:6.1f} {srv:>20} {ph.cpu['postgres']:8.1f} "
              f"{ph.cpu['other']:6.1f}")
    print("-" * len(head))
    by = {(ph.server, ph.name.startswith("items?")): ph for ph in phases}
    feat = by[("project", True)].rate / max(by[("pygeoapi", True)].rate, 1e-9)
    single = by[("project", False)].rate / max(by[("pygeoapi", False)].rate, 1e-9)
    verdict = "TARGET MET" if feat >= TARGET else "TARGET MISSED"
    print(f"features/s ratio project/pygeoapi = {feat:.1f}x (target >= {TARGET:.0f}x)  {verdict}")
    print(f"single-item requests/s ratio project/pygeoapi = {single:.1f}x")
    print("connections per worker: " + ", ".join(f"{ph.name.strip()} {ph.spread}"
                                                 for ph in phases))
    walks = {ph.server: ph.walks for ph in phases if ph.name.startswith("items?")}
    print(f"complete walks of the collection: project {walks.get('project', 0)}, pygeoapi "
          f"{walks.get('pygeoapi', 0)}; reconnects: "
          f"{sum(ph.reconnects for ph in phases)}")
    mem = "; ".join(f"{k} " + ", ".join(f"{v:.0f}" for v in vs if v is not None)
                    for k, vs in rss.items())
    print(f"worker peak RSS (VmHWM, MiB): {mem}")
    for n in notes:
        print(f"warning: {n}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
