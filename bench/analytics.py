"""Dashboards and a heatmap tile at scale: the project over HTTP against the raw catch table.

    .venv/bin/python bench/analytics.py                                # the issue's run: 10M catches
    .venv/bin/python bench/analytics.py --catches 50000 --seconds 5    # smoke run

One throwaway database: ``--catches`` demo catches (``server.demo.loader``, which also
records the cooperative-statistics consent of ~85 % of the demo fishers and admins), the
rollup built (``server.rollup.run.refresh``: ``stat_species``, ``stat_trip``,
``stat_cell`` and the OGC map tables; timed apart from the load), ``VACUUM ANALYZE``.
The project is served by ``cardumen serve`` (gunicorn, gthread workers) on loopback.

Chosen (not timed): the demo cooperative with the most catches, one of its active admins,
and its active fisher with the most catches; both log in through /api/v1/auth/login. The
window is the 12 months ending at the cooperative's latest month with catches (months in
America/Mexico_City). The tile is at zoom ``--zoom`` (8), the one holding the centre of the
cooperative's busiest H3 cell (most ``stat_cell`` rows) in its busiest month of the window.

Timed, each endpoint twice in a row, after a ``CHECKPOINT`` and an idle-machine wait:
``--warmup`` seconds untimed, then ``--seconds`` with ``--clients`` threads in this process,
each with one keep-alive ``http.client`` connection (project) or one autocommit psycopg
connection (raw), requests back to back:

  fisher       project: GET /api/v1/me/dashboard?from=&to= as the fisher;
               raw: the member's current catches summed per month and species, and their
               active trips counted per departure month, from ``catch`` and ``trip``;
  cooperative  project: GET /api/v1/organizations/{org}/dashboard?from=&to= as the admin;
               raw: the consenting members' current catches of the cooperative, joined to
               their trips, summed with GROUPING SETS ((month, species), (month, gear),
               (month)) and count(DISTINCT vessel);
  tile         project: GET /api/v1/organizations/{org}/tiles/{z}/{x}/{y}.mvt?month= as the
               admin; raw: the month's current catches of consenting members in and near
               the tile, each binned into its hexagon of an ST_HexagonGrid (EPSG:3857, the
               edge of a res-6 H3 cell), summed per hexagon (kg, catches, vessels) and
               encoded with ST_AsMVT / ST_AsMVTGeom (extent 4096, buffer 64, clipped).

Target (the issue): both dashboards p95 < 100 ms at 10M catches; the ratio project/raw of
the p95s is printed for all three. The script exits 0 either way: it is a measurement.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import orjson
import psycopg

if __package__ or TYPE_CHECKING:
    from bench import _common as common
else:  # run as a script: bench/ is sys.path[0]
    import _common as common

    # The repository first: bench/exports.py would shadow the ``exports`` package.
    sys.path.insert(0, str(common.ROOT))

TARGET_MS = 100.0  # dashboards' p95 (the issue)
TZ = "America/Mexico_City"  # server.ogc.models.ROLLUP_TZ
DEVICE = "bench"
MVT_EXTENT = 4096
MVT_BUFFER = 64
PROBE = "/healthz"  # no database: only to see which worker holds a connection
ENDPOINTS = ("fisher", "cooperative", "tile")
SOURCES = ("server/analytics", "server/rollup")  # what ``code_state`` digests


# --- setup ---------------------------------------------------------------------------

def load_world(db: common.BenchDB, catches: int, seed: int) -> dict[str, Any]:
    """Demo catches, the rollup, VACUUM ANALYZE: each timed on its own (not a phase)."""
    from sqlalchemy.orm import Session

    from server.db import make_engine
    from server.demo import loader
    from server.rollup import run as rollup

    out: dict[str, Any] = {}
    engine = make_engine(db.url, 2)
    with Session(engine) as sess:
        t = time.perf_counter()
        loader.load(sess, catches, seed=seed, progress=sys.stderr.isatty())
        sess.commit()
        out["load_s"] = time.perf_counter() - t
        print(f"  loaded in {out['load_s']:.1f} s; rollup ...", file=sys.stderr)
        t = time.perf_counter()
        stats = rollup.refresh(sess)
        out["rollup_s"] = time.perf_counter() - t
        out["slices"], out["rollup_rows"] = stats.slices, stats.rows
    engine.dispose()
    t = time.perf_counter()
    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    out["vacuum_s"] = time.perf_counter() - t
    return out


def row_counts(db: common.BenchDB) -> dict[str, int]:
    with psycopg.connect(db.conninfo) as conn:
        out = {}
        for table in ("catch", "stat_species", "stat_trip", "stat_cell"):
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert row is not None
            out[table] = int(row[0])
        return out


def add_months(d: date, n: int) -> date:
    k = d.year * 12 + d.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The slippy-map (XYZ, Web Mercator) tile holding a point."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_center_lat(z: int, y: int) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 0.5) / 2**z))))


@dataclass(frozen=True)
class Scenario:
    org_id: uuid.UUID
    org_name: str
    org_catches: int
    members: int  # active fishers and admins of the cooperative
    consenting: int
    admin_phone: str
    fisher_id: uuid.UUID
    fisher_phone: str
    fisher_orgs: list[uuid.UUID]
    fisher_catches: int  # in the window
    first: date  # window, first month
    last: date  # window, last month (included)
    tile_month: date
    cell: str
    z: int
    x: int
    y: int
    hex_ground_m: float  # average edge of a res-6 H3 cell
    hex_size: float  # the same in EPSG:3857 units at the tile's latitude

    def window(self) -> str:
        return f"from={self.first:%Y-%m}&to={self.last:%Y-%m}"

    def paths(self) -> dict[str, str]:
        return {
            "fisher": f"/api/v1/me/dashboard?{self.window()}",
            "cooperative": f"/api/v1/organizations/{self.org_id}/dashboard?{self.window()}",
            "tile": f"/api/v1/organizations/{self.org_id}/tiles/{self.z}/{self.x}/{self.y}.mvt"
                    f"?month={self.tile_month:%Y-%m}",
        }

    def params(self) -> dict[str, Any]:
        """The raw queries' parameters."""
        return {"tz": TZ, "m0": self.first, "m1": add_months(self.last, 1),
                "t0": self.tile_month, "t1": add_months(self.tile_month, 1),
                "member": self.fisher_id, "orgs": self.fisher_orgs, "org": self.org_id,
                "z": self.z, "x": self.x, "y": self.y, "size": self.hex_size,
                "pad": 2 * self.hex_size, "extent": MVT_EXTENT, "buffer": MVT_BUFFER}


def choose(db: common.BenchDB, zoom: int) -> Scenario:
    """Who and what is measured (read from the rollup where that is quicker: its
    ``catches`` are exactly the current active catches)."""
    import h3

    from geo import hexgrid

    with psycopg.connect(db.conninfo) as conn:
        def one(sql: str, *params: Any) -> tuple[Any, ...]:
            row = conn.execute(sql, params).fetchone()
            if row is None:
                raise RuntimeError(f"nothing found for the bench: {' '.join(sql.split())[:200]}")
            return tuple(row)

        org_id, org_name, org_catches = one("""
            SELECT o.id, o.name, sum(s.catches) FROM stat_species s
            JOIN organization o ON o.id = s.org_id
            WHERE o.kind = 'cooperative' AND starts_with(o.name, '[DEMO]')
            GROUP BY o.id, o.name ORDER BY 3 DESC, o.id LIMIT 1""")
        members, consenting = one("""
            SELECT count(*), count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM consent c WHERE c.member_id = ms.member_id
                         AND c.purpose = 'cooperative_statistics'
                         AND c.recipient_org_id = ms.org_id AND c.granted))
            FROM membership ms WHERE ms.org_id = %s AND ms.status = 'active'
              AND ms.role IN ('fisher', 'admin')""", org_id)
        (admin_phone,) = one("""
            SELECT m.phone FROM membership ms JOIN member m ON m.id = ms.member_id
            WHERE ms.org_id = %s AND ms.role = 'admin' AND ms.status = 'active'
              AND m.disabled_at IS NULL ORDER BY m.phone LIMIT 1""", org_id)
        fisher_id, fisher_phone = one("""
            SELECT m.id, m.phone FROM membership ms JOIN member m ON m.id = ms.member_id
            JOIN stat_species s ON s.org_id = ms.org_id AND s.member_id = ms.member_id
            WHERE ms.org_id = %s AND ms.role = 'fisher' AND ms.status = 'active'
              AND m.disabled_at IS NULL
            GROUP BY m.id, m.phone ORDER BY sum(s.catches) DESC, m.phone LIMIT 1""", org_id)
        # The organizations /me/dashboard covers when no org_id is given.
        fisher_orgs = [r[0] for r in conn.execute("""
            SELECT org_id FROM membership WHERE member_id = %s AND status = 'active'
              AND role IN ('fisher', 'admin') ORDER BY org_id::text""", (fisher_id,))]
        (last,) = one("""
            SELECT date_trunc('month', max(caught_at) AT TIME ZONE %s)::date FROM catch
            WHERE org_id = %s AND superseded_at IS NULL AND status = 'active'""", TZ, org_id)
        first = add_months(last, -11)
        (fisher_catches,) = one("""
            SELECT coalesce(sum(catches), 0) FROM stat_species
            WHERE member_id = %s AND org_id = ANY(%s) AND month BETWEEN %s AND %s""",
                                fisher_id, fisher_orgs, first, last)
        tile_month, _ = one("""
            SELECT month, sum(catches) FROM stat_species
            WHERE org_id = %s AND month BETWEEN %s AND %s
            GROUP BY month ORDER BY 2 DESC, 1 DESC LIMIT 1""", org_id, first, last)
        cell, _ = one("""
            SELECT cell, count(*) FROM stat_cell WHERE org_id = %s AND month = %s
            GROUP BY cell ORDER BY 2 DESC, 1 LIMIT 1""", org_id, tile_month)
    x, y = tile_of(*hexgrid.cell_center(cell), zoom)
    ground = float(h3.average_hexagon_edge_length(hexgrid.RESOLUTION, "m"))
    size = ground / math.cos(math.radians(tile_center_lat(zoom, y)))  # Mercator's scale
    return Scenario(org_id, org_name, int(org_catches), int(members), int(consenting), admin_phone,
                    fisher_id, fisher_phone, fisher_orgs, int(fisher_catches), first, last,
                    tile_month, cell, zoom, x, y, ground, size)


# --- the raw baselines ---------------------------------------------------------------

_IN = """{col} >= (CAST(%({a})s AS timestamp) AT TIME ZONE %(tz)s)
          AND {col} < (CAST(%({b})s AS timestamp) AT TIME ZONE %(tz)s)"""
_CURRENT = "c.superseded_at IS NULL AND c.status = 'active'"
_CONSENTING = """c.member_id IN (SELECT member_id FROM consent
                                 WHERE purpose = 'cooperative_statistics'
                                   AND recipient_org_id = %(org)s AND granted)"""

FISHER_CATCHES = f"""
    SELECT date_trunc('month', c.caught_at AT TIME ZONE %(tz)s)::date AS month, c.species_code,
           sum(c.landed_kg), sum(coalesce(c.live_kg, c.landed_kg)), count(*),
           coalesce(sum(c.landed_kg * c.unit_price)
                    FILTER (WHERE c.unit_price IS NOT NULL AND c.currency = 'MXN'), 0)
    FROM catch c
    WHERE c.member_id = %(member)s AND c.org_id = ANY(%(orgs)s) AND {_CURRENT}
      AND {_IN.format(col="c.caught_at", a="m0", b="m1")}
    GROUP BY 1, 2 ORDER BY 1, 2"""

FISHER_TRIPS = f"""
    SELECT date_trunc('month', t.departed_at AT TIME ZONE %(tz)s)::date AS month, count(*),
           count(*) FILTER (WHERE t.zero_catch),
           coalesce(sum(extract(epoch FROM t.returned_at - t.departed_at) / 3600)
                    FILTER (WHERE t.returned_at > t.departed_at), 0)
    FROM trip t
    WHERE t.member_id = %(member)s AND t.org_id = ANY(%(orgs)s) AND t.status = 'active'
      AND {_IN.format(col="t.departed_at", a="m0", b="m1")}
    GROUP BY 1 ORDER BY 1"""

COOPERATIVE = f"""
    SELECT month, species_code, gear, GROUPING(species_code, gear) AS g, sum(landed_kg),
           sum(live_kg), count(*), sum(value_mxn), count(DISTINCT who)
    FROM (
        SELECT date_trunc('month', c.caught_at AT TIME ZONE %(tz)s)::date AS month,
               c.species_code, coalesce(c.gear_code, t.gear_code, '') AS gear, c.landed_kg,
               coalesce(c.live_kg, c.landed_kg) AS live_kg,
               CASE WHEN c.unit_price IS NOT NULL AND c.currency = 'MXN'
                    THEN c.landed_kg * c.unit_price ELSE 0 END AS value_mxn,
               coalesce(t.vessel_id, c.member_id) AS who  -- no vessel: the member counts
        FROM catch c JOIN trip t ON t.org_id = c.org_id AND t.id = c.trip_id
        WHERE c.org_id = %(org)s AND {_CURRENT}
          AND {_IN.format(col="c.caught_at", a="m0", b="m1")}
          AND {_CONSENTING}
    ) x
    GROUP BY GROUPING SETS ((month, species_code), (month, gear), (month))
    ORDER BY month, g, species_code, gear"""

TILE = f"""
    WITH env AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS e),
    pts AS (
        SELECT ST_Transform(c.position, 3857) AS p, c.landed_kg,
               coalesce(t.vessel_id, c.member_id) AS who
        FROM env, catch c JOIN trip t ON t.org_id = c.org_id AND t.id = c.trip_id
        WHERE c.org_id = %(org)s AND {_CURRENT} AND c.position IS NOT NULL
          AND {_IN.format(col="c.caught_at", a="t0", b="t1")}
          AND {_CONSENTING}
          AND c.position && ST_Transform(ST_Expand(env.e, %(pad)s), 4326)),
    hex AS (  -- each point's hexagon of the grid (anchored at the origin, as a whole grid is)
        SELECT h.i, h.j, sum(p.landed_kg)::float8 AS landed_kg, count(*) AS catches,
               count(DISTINCT p.who) AS vessels
        FROM pts p CROSS JOIN LATERAL ST_HexagonGrid(%(size)s, p.p) AS h
        WHERE ST_Intersects(p.p, h.geom)
        GROUP BY h.i, h.j)
    SELECT ST_AsMVT(q, 'catch', %(extent)s, 'geom') FROM (
        SELECT hex.landed_kg, hex.catches, hex.vessels,
               ST_AsMVTGeom(ST_Hexagon(%(size)s, hex.i, hex.j), env.e, %(extent)s, %(buffer)s,
                            true) AS geom
        FROM hex, env) q
    WHERE q.geom IS NOT NULL"""


def raw_fisher(conn: psycopg.Connection[Any], p: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    return (conn.execute(FISHER_CATCHES, p).fetchall(), conn.execute(FISHER_TRIPS, p).fetchall())


def raw_cooperative(conn: psycopg.Connection[Any], p: dict[str, Any]) -> list[Any]:
    return conn.execute(COOPERATIVE, p).fetchall()


def raw_tile(conn: psycopg.Connection[Any], p: dict[str, Any]) -> bytes:
    row = conn.execute(TILE, p).fetchone()
    return bytes(row[0] or b"") if row else b""


RAW: dict[str, Callable[[psycopg.Connection[Any], dict[str, Any]], Any]] = {
    "fisher": raw_fisher, "cooperative": raw_cooperative, "tile": raw_tile}


# --- HTTP ----------------------------------------------------------------------------

def login(base: str, phone: str) -> dict[str, str]:
    """Headers with a fresh access token (15 min) of a demo member."""
    return {"Authorization": f"Bearer {common.demo_login(base, phone, DEVICE)}"}


def get(base: str, path: str, headers: dict[str, str]) -> tuple[str, bytes]:
    conn = common.Http(base)
    try:
        status, ctype, body = conn.request("GET", path, None, headers)
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError(f"GET {path}: HTTP {status}: {body[:300]!r}")
    return ctype, body


# --- checking that both sides compute the same thing (untimed) -----------------------

def _kg(v: Any) -> float:
    return round(float(v or 0), 3)


def _diff(name: str, ours: dict[Any, Any], raw: dict[Any, Any]) -> str:
    if ours == raw:
        return f"{name}: {len(ours)} equal"
    bad = sorted((k for k in ours.keys() | raw.keys() if ours.get(k) != raw.get(k)), key=str)
    k = bad[0]
    return f"{name}: {len(bad)} of {len(ours | raw)} DIFFER, e.g. {k}: {ours.get(k)} vs {raw.get(k)}"


def check_fisher(doc: dict[str, Any], raw: tuple[list[Any], list[Any]]) -> tuple[bool, str]:
    catches, trips = raw
    ours = {(r["month"], r["species_code"]): (r["landed_kg"], r["catches"])
            for r in doc["by_species_month"]}
    theirs = {(f"{m:%Y-%m}", sp): (_kg(kg), int(n)) for m, sp, kg, _live, n, _v in catches}
    ours_t = {r["month"]: r["trips"] for r in doc["by_month"] if r["trips"]}
    theirs_t = {f"{m:%Y-%m}": int(n) for m, n, _z, _h in trips}
    ok = ours == theirs and ours_t == theirs_t
    return ok, (f"{_diff('kg and catches per month and species', ours, theirs)}; "
                f"{_diff('trips per month', ours_t, theirs_t)}")


def check_cooperative(doc: dict[str, Any], raw: list[Any]) -> tuple[bool, str]:
    """Every figure the project shows equals the raw aggregate's; suppressed ones are
    counted, not compared."""
    theirs: dict[tuple[str, ...], tuple[float, int, int]] = {}
    for month, sp, gear, g, kg, _live, n, _value, who in raw:
        key = {1: ("ms", f"{month:%Y-%m}", sp), 2: ("mg", f"{month:%Y-%m}", gear or ""),
               3: ("m", f"{month:%Y-%m}")}[g]
        theirs[key] = (_kg(kg), int(n), int(who))
    ours: dict[tuple[str, ...], tuple[float, int, int]] = {}
    hidden = 0
    land = doc["landings"]
    for kind, rows, label in (("ms", land["by_species_month"], "species_code"),
                              ("mg", land["by_gear_month"], "gear_code"), ("m", land["by_month"], "")):
        for r in rows:
            key = (kind, r["month"], r[label] or "") if label else (kind, r["month"])
            if r["suppressed"]:
                hidden += 1
                continue
            ours[key] = (r["landed_kg"], r["catches"], r["vessels"])
    shown = {k: theirs.get(k) for k in ours}
    ok = ours == shown and ours.keys() <= theirs.keys()
    return ok, (f"{_diff('shown figures (kg, catches, vessels)', ours, shown)}, {hidden} suppressed "
                f"by the project, {len(theirs)} raw groups; {doc['members_included']} members "
                f"included")


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def mvt_features(tile: bytes) -> int:
    """Features in a Mapbox Vector Tile (protobuf: Tile.layers = 3, Layer.features = 2)."""
    def fields(buf: bytes) -> Iterator[tuple[int, bytes | None]]:
        i = 0
        while i < len(buf):
            key, i = _varint(buf, i)
            wire = key & 7
            if wire == 0:
                _, i = _varint(buf, i)
                yield key >> 3, None
            elif wire == 2:
                n, i = _varint(buf, i)
                yield key >> 3, buf[i:i + n]
                i += n
            elif wire in (1, 5):
                i += 8 if wire == 1 else 4
                yield key >> 3, None
            else:
                raise ValueError(f"not a vector tile (wire type {wire})")

    return sum(1 for num, layer in fields(tile) if num == 3 and layer is not None
               for n, _ in fields(layer) if n == 2)


# --- measuring -----------------------------------------------------------------------

def http_client(conn: common.Http, path: str, headers: dict[str, str],
                seconds: float) -> common.Client:
    def go(tally: common.Tally) -> None:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            status, _, body = conn.request("GET", path, None, headers)
            tally.latencies.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"GET {path}: HTTP {status}: {body[:300]!r}")
            tally.requests += 1
    return go


def raw_client(conn: psycopg.Connection[Any], fn: Callable[[psycopg.Connection[Any],
                                                            dict[str, Any]], Any],
               params: dict[str, Any], seconds: float) -> common.Client:
    def go(tally: common.Tally) -> None:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            fn(conn, params)
            tally.latencies.append(time.perf_counter() - t0)
            tally.requests += 1
    return go


def contended(ph: Phase, notes: list[str]) -> None:
    """A warning when the machine did much else during the phase (another test run)."""
    share = ph.cpu["other"] / max(1e-9, ph.elapsed * (os.cpu_count() or 1))
    if share > 0.1:
        notes.append(f"{ph.name}: {ph.cpu['other']:.1f} s of 'other' CPU in {ph.elapsed:.1f} s "
                     f"({share:.0%} of the machine; PostgreSQL's parallel workers count there "
                     f"too): if another job ran, repeat the run")


@dataclass
class Phase:
    endpoint: str
    side: str  # "project" or "raw"
    requests: int
    elapsed: float
    latencies: list[float]
    cpu: dict[str, float]
    spread: str = ""
    reconnects: int = 0

    @property
    def name(self) -> str:
        return f"{self.endpoint} {self.side}"

    def ms(self, q: float) -> float:
        return common.percentile(self.latencies, q) * 1000


def project_phase(endpoint: str, path: str, phone: str, server: common.Server,
                  db: common.BenchDB, args: argparse.Namespace, notes: list[str]) -> Phase:
    name = f"{endpoint} project"
    common.settle(name, db, args.quiet_wait, args.others_wait, notes)
    headers = login(server.url, phone)  # after the wait: a token lasts 15 minutes
    # After the wait as well: gunicorn closes a keep-alive connection idle for 2 s.
    conns, spread = common.connect(server, args.clients, PROBE, not args.no_balance)
    elapsed, tally, cpu = common.measure(
        conns, lambda seconds: [http_client(c, path, headers, seconds) for c in conns],
        args.seconds, args.warmup, {"server": server}, db.name)
    ph = Phase(endpoint, "project", tally.requests, elapsed, tally.latencies, cpu.used, spread,
               sum(c.reconnects for c in conns))
    contended(ph, notes)
    print(f"  {name:22} {ph.requests:7,} requests, p95 {ph.ms(95):8.1f} ms "
          f"(connections per worker {spread})", file=sys.stderr)
    return ph


def raw_phase(endpoint: str, params: dict[str, Any], server: common.Server, db: common.BenchDB,
              args: argparse.Namespace, notes: list[str]) -> Phase:
    name = f"{endpoint} raw"
    fn = RAW[endpoint]
    common.settle(name, db, args.quiet_wait, args.others_wait, notes)
    conns = [psycopg.connect(db.conninfo, autocommit=True) for _ in range(args.clients)]
    # The warm-up matters here too: psycopg prepares a statement on its 5th run.
    elapsed, tally, cpu = common.measure(
        conns, lambda seconds: [raw_client(c, fn, params, seconds) for c in conns],
        args.seconds, args.warmup, {"server": server}, db.name)
    ph = Phase(endpoint, "raw", tally.requests, elapsed, tally.latencies, cpu.used)
    contended(ph, notes)
    print(f"  {name:22} {ph.requests:7,} runs,     p95 {ph.ms(95):8.1f} ms", file=sys.stderr)
    return ph


# --- main ----------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--catches", type=int, default=10_000_000,
                   help="demo catches to load (default 10000000)")
    p.add_argument("--seconds", type=float, default=20.0, help="duration of each timed phase")
    p.add_argument("--clients", type=int, default=2,
                   help="client threads, one keep-alive HTTP or psycopg connection each")
    p.add_argument("--warmup", type=float, default=3.0,
                   help="untimed requests before each phase, on its connections (seconds)")
    p.add_argument("--zoom", type=int, default=8, help="zoom of the heatmap tile (default 8)")
    common.add_phase_options(p)
    common.add_database_options(p, "(no load and no rollup; the database is kept)")
    args = p.parse_args(argv)
    if args.catches < 1 or args.clients < 1 or args.seconds <= 0 or not 0 <= args.zoom <= 16:
        p.error("need --catches >= 1, --clients >= 1, --seconds > 0, 0 <= --zoom <= 16")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    notes: list[str] = []
    code = common.code_state(*SOURCES)
    with common.database(args.keep_db, args.reuse_db) as db:
        world: dict[str, Any] = {}
        if not args.reuse_db:
            # Not a phase, but it takes both cores for a long time: not in the middle of
            # somebody else's test run or benchmark either.
            common.quiet("load", 0, args.others_wait)
            print(f"loading {args.catches:,} demo catches into {db.name} ...", file=sys.stderr)
            world = load_world(db, args.catches, args.seed)
        counts = row_counts(db)
        sc = choose(db, args.zoom)
        params = sc.params()
        version = common.server_version(db.conninfo)
        paths = sc.paths()
        phones = {"fisher": sc.fisher_phone, "cooperative": sc.admin_phone,
                  "tile": sc.admin_phone}
        with common.serve(db.url, args.workers, args.threads) as server:
            # What each side answers, compared (not timed).
            answers = {e: get(server.url, paths[e], login(server.url, phones[e]))
                       for e in ENDPOINTS}
            with psycopg.connect(db.conninfo, autocommit=True) as conn:
                raw = {e: RAW[e](conn, params) for e in ENDPOINTS}
            checks = {"fisher": check_fisher(orjson.loads(answers["fisher"][1]), raw["fisher"]),
                      "cooperative": check_cooperative(orjson.loads(answers["cooperative"][1]),
                                                       raw["cooperative"])}
            ctype, tile = answers["tile"]
            if tile and "vector-tile" not in ctype:
                notes.append(f"the project's tile came as {ctype!r}")
            if not tile:
                notes.append("the project's tile is empty (every cell suppressed or none there): "
                             "its latency is that of an empty answer")
            checks["tile"] = (True, f"project {len(tile):,} bytes, {mvt_features(tile)} "
                                    f"hexagons; raw {len(raw['tile']):,} bytes, "
                                    f"{mvt_features(raw['tile'])} hexagons")
            print("checked; timed phases:", file=sys.stderr)
            phases: dict[tuple[str, str], Phase] = {}
            for e in ENDPOINTS:
                phases[(e, "project")] = project_phase(e, paths[e], phones[e], server, db, args,
                                                       notes)
                phases[(e, "raw")] = raw_phase(e, params, server, db, args, notes)
            rss = [common.vm_hwm_mb(p) for p in sorted(server.workers_seen)]
        now = common.code_state(*SOURCES)
        if now.rsplit(" ", 1)[1] != code.rsplit(" ", 1)[1]:  # the digest
            notes.append(f"server/analytics or server/rollup changed during the run (now {now})")
        report(args, db, version, code, world, counts, sc, paths, checks, phases, rss, notes)
    return 0


def report(args: argparse.Namespace, db: common.BenchDB, version: str, code: str,
           world: dict[str, Any], counts: dict[str, int], sc: Scenario, paths: dict[str, str],
           checks: dict[str, tuple[bool, str]], phases: dict[tuple[str, str], Phase],
           rss: list[float | None], notes: list[str]) -> None:
    print(f"\nCardumen dashboards and heatmap tile over HTTP against the raw catch table: "
          f"{counts['catch']:,} catches")
    print(f"code: {code}")
    print(f"{version} ({db.where}); {os.cpu_count()} CPUs; load avg {os.getloadavg()[0]:.2f}; "
          f"gunicorn {args.workers} workers x {args.threads} threads (gthread, --reuse-port, "
          f"access log), loopback")
    print(f"client: {args.clients} threads in this process, one keep-alive http.client "
          f"(project) or autocommit psycopg (raw) connection each, requests back to back; "
          f"{args.seconds:g} s per phase after {args.warmup:g} s of warm-up")
    if world:
        print(f"setup: demo load {world['load_s']:.1f} s, rollup {world['rollup_s']:.1f} s "
              f"({world['slices']:,} slices, {world['rollup_rows']:,} rows), VACUUM ANALYZE "
              f"{world['vacuum_s']:.1f} s")
    else:
        print(f"setup: database {db.name} reused (no load, no rollup)")
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    print(f"cooperative: {sc.org_name} ({sc.org_catches:,} current catches; {sc.consenting} of "
          f"its {sc.members} active fishers and admins consent to its statistics); admin "
          f"{sc.admin_phone}")
    print(f"fisher: {sc.fisher_phone} ({sc.fisher_catches:,} catches in the window, "
          f"{len(sc.fisher_orgs)} organization{'s' if len(sc.fisher_orgs) != 1 else ''})")
    print(f"window: {sc.first:%Y-%m} .. {sc.last:%Y-%m}; tile: month {sc.tile_month:%Y-%m}, "
          f"z/x/y {sc.z}/{sc.x}/{sc.y} (holds cell {sc.cell}); raw hexagons "
          f"{sc.hex_size:,.0f} m in EPSG:3857 ({sc.hex_ground_m:,.0f} m on the ground)")
    for e in ENDPOINTS:
        print(f"  {paths[e]}")
    for e, (ok, text) in checks.items():
        print(f"check {e} ({'OK' if ok else 'MISMATCH'}): {text}")
    head = (f"\n{'phase':22} {'reqs':>7} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8}  CPU s: "
            f"{'client':>6} {'server':>6} {'postgres':>8} {'other':>6}  connections")
    print(head)
    print("-" * len(head.strip()))
    for ph in phases.values():
        rate = ph.requests / ph.elapsed if ph.elapsed else 0.0
        print(f"{ph.name:22} {ph.requests:7,} {rate:7,.1f} {ph.ms(50):8.1f} {ph.ms(95):8.1f}         "
              f"{ph.cpu['client']:6.1f} {ph.cpu['server']:6.1f} {ph.cpu['postgres']:8.1f} "
              f"{ph.cpu['other']:6.1f}  {ph.spread or '-'}")
    head = (f"\n{'endpoint':12} {'project p50 / p95 ms':>21} {'raw p50 / p95 ms':>19} "
            f"{'p95 project/raw':>16}  target (p95 < {TARGET_MS:.0f} ms)")
    print(head)
    print("-" * len(head.strip()))
    for e in ENDPOINTS:
        ours, raw = phases[(e, "project")], phases[(e, "raw")]
        ratio = ours.ms(95) / raw.ms(95) if raw.ms(95) > 0 else float("nan")
        verdict = "-" if e == "tile" else ("TARGET MET" if ours.ms(95) < TARGET_MS
                                           else "TARGET MISSED")
        print(f"{e:12} {ours.ms(50):10.1f} / {ours.ms(95):7.1f} {raw.ms(50):9.1f} / "
              f"{raw.ms(95):7.1f} {ratio:15.2f}x  {verdict}")
    print("-" * len(head.strip()))
    reconnects = sum(ph.reconnects for ph in phases.values())
    mem = ", ".join(f"{v:.0f}" for v in rss if v is not None)
    print(f"reconnects: {reconnects}; gunicorn peak RSS (VmHWM, MiB): {mem}")
    for n in notes:
        print(f"warning: {n}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
