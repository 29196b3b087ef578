"""Sync ingest over HTTP against the raw database writing the same rows.

    .venv/bin/python bench/sync_ingest.py --catches 100000 --batch 500 --clients 2

Phases, all in one throwaway database and one ``catch`` table:

  A   the project: catches pushed through POST /api/v1/sync/push of the production
      server (``cardumen serve``: gunicorn, threaded workers), gzip bodies, one
      client thread per fisher; every item must come back ``created``.
  B   the baseline: the same rows (new UUIDs, same shapes and values) written by
      psycopg ``executemany`` of ``INSERT ... ON CONFLICT DO NOTHING`` in batches
      of the same size, one commit per batch, same number of client threads.
  A'  replay of A's batches (every item ``duplicate``).
  B'  replay of B's batches (every row a conflict).

Target (docs/design section 9): rows/s of A >= 0.5 x rows/s of B. The script exits
0 either way: it is a measurement. See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gzip
import hashlib
import io
import math
import pstats
import random
import resource
import secrets
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import psycopg
import requests

if __package__:
    from bench import _common as common
else:  # run as a script: bench/ is sys.path[0]
    import _common as common

TARGET = 0.5
PASSWORD = "bench horse battery staple"
DEVICE = "bench-phone"
# Off Mazatlán, at sea (the coast runs from about -106.42, 23.2 to the south-east).
LON = (-106.90, -106.45)
LAT = (22.60, 23.20)
GEAR = ["GNS", "GND", "GTR", "LHP", "LLS", "LTL", "FPO", "FCN", "MDV"]
PRESENTATIONS = ["whole"] * 6 + ["gutted", "gutted_headed", "headed", "fillet"]
DISPOSITIONS = ["sold"] * 7 + ["kept", "own_use", "discarded"]
NOTES = ["", "", "", "", "", "", "", "", "marea alta", "cerca del faro", "lance nocturno"]

# The columns the API writes (server.catches.services.catch_row); the rest are defaults.
COLUMNS = ("org_id", "id", "version", "trip_id", "member_id", "species_code", "gear_code",
           "landed_kg", "live_kg", "count", "presentation", "disposition", "unit_price",
           "currency", "position", "caught_at", "fao_area", "zone_ids", "quality_flags",
           "notes", "status", "recorded_by", "device_id", "content_hash")
BASELINE_SQL = (
    f"INSERT INTO catch ({', '.join(COLUMNS)}) VALUES ("
    + ", ".join("ST_GeomFromEWKT(%s)" if c == "position" else "%s" for c in COLUMNS)
    + ") ON CONFLICT DO NOTHING"
)


# --- data ----------------------------------------------------------------------------

def pacific_species() -> list[str]:
    path = common.ROOT / "server" / "catalog" / "data" / "species.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        return [r["code"] for r in csv.DictReader(fh)
                if (r.get("coasts") or "").startswith(("pac", "both"))]


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


class Ids:
    """Client UUIDs as a phone makes them: v7 (time-ordered, the project's convention,
    server.db.new_id) or v4 (random)."""

    def __init__(self, kind: str, rng: random.Random) -> None:
        self.kind, self.rng = kind, rng

    def __call__(self) -> uuid.UUID:
        if self.kind == "v7":
            from server.db import uuid7

            return uuid7()
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)


@dataclass
class Fisher:
    index: int
    member_id: uuid.UUID
    phone: str
    trips: list[dict[str, Any]] = field(default_factory=list)
    catches: list[dict[str, Any]] = field(default_factory=list)
    token: str = ""


def make_trips(rng: random.Random, ids: Ids, count: int, vessel_id: uuid.UUID,
               port_id: uuid.UUID | None, now: datetime) -> list[dict[str, Any]]:
    trips = []
    for _ in range(count):
        hours = rng.uniform(5, 14)
        departed = now - timedelta(days=rng.uniform(1, 25), hours=hours)
        returned = departed + timedelta(hours=hours)
        trip: dict[str, Any] = {
            "type": "trip", "id": str(ids()), "version": 1, "vessel_id": str(vessel_id),
            "gear_code": rng.choice(GEAR), "departed_at": iso(departed),
            "returned_at": iso(returned), "zero_catch": False,
            "costs": [{"kind": "fuel", "amount": round(rng.uniform(300, 2500), 2)},
                      {"kind": "ice", "amount": round(rng.uniform(50, 300), 2)}],
        }
        if port_id is not None:
            trip["departure_port_id"] = trip["return_port_id"] = str(port_id)
        trips.append(trip)
    return trips


def make_catch(rng: random.Random, ids: Ids, trip: dict[str, Any],
               species: Sequence[str]) -> dict[str, Any]:
    start = datetime.fromisoformat(trip["departed_at"])
    end = datetime.fromisoformat(trip["returned_at"])
    span = (end - start).total_seconds()
    caught = start + timedelta(seconds=rng.uniform(0.1 * span, 0.9 * span))
    landed = round(rng.lognormvariate(2.5, 1.0) + 0.2, 1)
    live = round(landed * rng.uniform(1.0, 1.25), 1) if rng.random() < 0.6 else None
    item: dict[str, Any] = {
        "type": "catch", "id": str(ids()), "version": 1, "trip_id": trip["id"],
        "species_code": rng.choice(species),
        "gear_code": rng.choice(GEAR) if rng.random() < 0.1 else None,
        "landed_kg": landed, "live_kg": live,
        "count": rng.randint(1, 400) if rng.random() < 0.3 else None,
        "presentation": rng.choice(PRESENTATIONS), "disposition": rng.choice(DISPOSITIONS),
        "unit_price": round(rng.uniform(25, 450), 2) if rng.random() < 0.7 else None,
        "currency": "MXN",
        "position": {"type": "Point", "coordinates": [round(rng.uniform(*LON), 5),
                                                      round(rng.uniform(*LAT), 5)]},
        "caught_at": iso(caught),
        "notes": rng.choice(NOTES) or None,
    }
    return item


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def baseline_row(item: dict[str, Any], org_id: uuid.UUID, member_id: uuid.UUID,
                 new_id: uuid.UUID) -> tuple[Any, ...]:
    """The row the API would store for ``item``, under a new id. The server-computed
    columns are cheap stand-ins: content_hash = sha256(id), fao_area '77', no zones,
    no flags (what the API computes for these positions; the run prints A's actual
    distribution)."""
    lon, lat = item["position"]["coordinates"]
    return (org_id, new_id, 1, uuid.UUID(item["trip_id"]), member_id, item["species_code"],
            item["gear_code"], _dec(item["landed_kg"]), _dec(item["live_kg"]), item["count"],
            item["presentation"], item["disposition"], _dec(item["unit_price"]),
            item["currency"], f"SRID=4326;POINT ({lon} {lat})",
            datetime.fromisoformat(item["caught_at"]), "77", [], [], item["notes"], "active",
            member_id, DEVICE, hashlib.sha256(new_id.bytes).digest())


def chunks(seq: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def encode(items: Sequence[dict[str, Any]], gz: bool) -> bytes:
    body = orjson.dumps({"device_id": DEVICE, "items": list(items)})
    return gzip.compress(body, compresslevel=6) if gz else body


# --- setup ---------------------------------------------------------------------------

@dataclass
class World:
    org_id: uuid.UUID
    vessel_id: uuid.UUID
    port_id: uuid.UUID | None
    fishers: list[Fisher]


def create_world(url: str, clients: int) -> World:
    """One cooperative, one vessel, one fisher per client (directly with the models,
    as tests/conftest.py does)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from server.catalog.models import Port
    from server.db import make_engine, new_id
    from server.fleet.models import Vessel
    from server.members import tokens
    from server.members.models import Member, Membership, MembershipStatus, Organization, Role

    engine = make_engine(url, 2)
    pw = tokens.hash_password(PASSWORD)
    with Session(engine) as sess:
        org = Organization(id=new_id(), kind="cooperative", name="SCPP Bench del Pacífico",
                           rnpa=f"{secrets.randbelow(10**10):010d}", state="Sinaloa")
        sess.add(org)
        sess.flush()
        vessel = Vessel(org_id=org.id, id=new_id(), name="La Esperanza",
                        registration=f"MAZ-{secrets.token_hex(3)}")
        sess.add(vessel)
        fishers = []
        for i in range(clients):
            phone = f"+5255{secrets.randbelow(10**8):08d}"
            m = Member(id=new_id(), phone=phone, name=f"Pescador {i + 1}", password_hash=pw)
            sess.add(m)
            sess.flush()
            sess.add(Membership(org_id=org.id, member_id=m.id, role=Role.fisher,
                                status=MembershipStatus.active))
            fishers.append(Fisher(i, m.id, phone))
        port_id = sess.scalar(select(Port.id).where(Port.name == "Mazatlán"))
        sess.commit()
        world = World(org.id, vessel.id, port_id, fishers)
    engine.dispose()
    return world


def login(http: requests.Session, base: str, fisher: Fisher) -> None:
    r = http.post(base + "/api/v1/auth/login", json={
        "phone": fisher.phone, "password": PASSWORD, "device_id": DEVICE}, timeout=30)
    r.raise_for_status()
    fisher.token = r.json()["access_token"]


def push(http: requests.Session, base: str, token: str, body: bytes, gz: bool,
         keepalive: bool = True) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if gz:
        headers["Content-Encoding"] = "gzip"
    if not keepalive:
        headers["Connection"] = "close"
    return http.post(base + "/api/v1/sync/push", data=body, headers=headers, timeout=300)


def statuses(content: bytes) -> Counter[str]:
    return Counter(r["status"] for r in orjson.loads(content)["results"])


# --- measuring -----------------------------------------------------------------------

class CpuMeter:
    """CPU seconds used during a phase by this client process, the gunicorn workers and
    the PostgreSQL backends of the bench database (read from /proc)."""

    def __init__(self, server: common.Server, dbname: str) -> None:
        self.server, self.dbname = server, dbname
        self.start: dict[str, Any] = {}

    def _snap(self) -> dict[str, Any]:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return {"machine": common.machine_busy_seconds(),
                "client": ru.ru_utime + ru.ru_stime,
                "gunicorn": {p: common.cpu_seconds(p) for p in self.server.workers()},
                "postgres": {p: common.cpu_seconds(p) for p in common.pg_backends(self.dbname)}}

    def __enter__(self) -> CpuMeter:
        self.start = self._snap()
        return self

    def __exit__(self, *_: object) -> None:
        end = self._snap()
        self.used = {"client": end["client"] - self.start["client"]}
        for k in ("gunicorn", "postgres"):
            self.used[k] = sum(v - self.start[k].get(p, 0.0) for p, v in end[k].items())
        self.per_worker = sorted((v - self.start["gunicorn"].get(p, 0.0)
                                  for p, v in end["gunicorn"].items()), reverse=True)
        busy = end["machine"] - self.start["machine"]
        self.used["other"] = max(0.0, busy - sum(self.used.values()))


@dataclass
class Phase:
    name: str
    rows: int
    elapsed: float
    latencies: list[float]
    cpu: dict[str, float]
    per_worker: list[float]

    @property
    def rate(self) -> float:
        return self.rows / self.elapsed


def quiet(name: str, wait: float) -> None:
    if wait > 0 and not common.wait_quiet(wait):
        print(f"warning: machine still busy after {wait:.0f} s; starting {name.strip()} "
              "anyway (see the 'other' CPU column)", file=sys.stderr)


def run_clients(work: list[Callable[[], list[float]]]) -> tuple[float, list[float]]:
    """Run one callable per client thread, all released at once; (wall seconds,
    batch latencies)."""
    barrier = threading.Barrier(len(work) + 1)
    lat: list[list[float]] = [[] for _ in work]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            lat[i] = work[i]()
        except BaseException as exc:
            errors.append(exc)
            traceback.print_exc()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(work))]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed: {errors[0]!r}")
    return elapsed, [x for xs in lat for x in xs]


def http_phase(name: str, server: common.Server, db: common.BenchDB, world: World,
               bodies: list[list[bytes]], gz: bool, keepalive: bool, expect: str,
               rows: int, wait: float) -> Phase:
    sessions = [requests.Session() for _ in world.fishers]
    for http, f in zip(sessions, world.fishers, strict=True):
        login(http, server.url, f)  # fresh access token (15 min) per phase
    responses: list[list[requests.Response]] = [[] for _ in world.fishers]

    def client(i: int) -> Callable[[], list[float]]:
        def go() -> list[float]:
            out = []
            http, token = sessions[i], world.fishers[i].token
            for body in bodies[i]:
                t = time.perf_counter()
                r = push(http, server.url, token, body, gz, keepalive)
                _ = r.content
                out.append(time.perf_counter() - t)
                responses[i].append(r)
            return out
        return go

    common.checkpoint(db.conninfo)
    quiet(name, wait)
    with CpuMeter(server, db.name) as cpu:
        elapsed, lat = run_clients([client(i) for i in range(len(world.fishers))])
    seen: Counter[str] = Counter()
    for rs in responses:
        for r in rs:
            if r.status_code != 200:
                raise RuntimeError(f"{name}: HTTP {r.status_code}: {r.text[:500]}")
            seen += statuses(r.content)
    if seen != Counter({expect: rows}):
        bad = next((x for rs in responses for r in rs
                    for x in orjson.loads(r.content)["results"] if x["status"] != expect), None)
        raise RuntimeError(f"{name}: expected {rows} {expect}, got {dict(seen)}; e.g. {bad}")
    for http in sessions:
        http.close()
    return Phase(name, rows, elapsed, lat, cpu.used, cpu.per_worker)


def sql_phase(name: str, server: common.Server, db: common.BenchDB,
              batches: list[list[list[tuple[Any, ...]]]], rows: int, wait: float) -> Phase:
    conns = [psycopg.connect(db.conninfo) for _ in batches]

    def client(i: int) -> Callable[[], list[float]]:
        def go() -> list[float]:
            out = []
            conn = conns[i]
            with conn.cursor() as cur:
                for batch in batches[i]:
                    t = time.perf_counter()
                    cur.executemany(BASELINE_SQL, batch)
                    conn.commit()
                    out.append(time.perf_counter() - t)
            return out
        return go

    common.checkpoint(db.conninfo)
    quiet(name, wait)
    try:
        with CpuMeter(server, db.name) as cpu:
            elapsed, lat = run_clients([client(i) for i in range(len(batches))])
    finally:
        for c in conns:
            c.close()
    return Phase(name, rows, elapsed, lat, cpu.used, cpu.per_worker)


def count_catches(db: common.BenchDB) -> int:
    with psycopg.connect(db.conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM catch").fetchone()
    assert row is not None
    return int(row[0])


def enrichment_mix(db: common.BenchDB) -> list[tuple[Any, ...]]:
    """What the API computed for A's rows (B's rows have content_hash = sha256(id))."""
    with psycopg.connect(db.conninfo) as conn:
        return conn.execute(
            "SELECT fao_area, zone_ids::text, quality_flags::text, count(*) FROM catch "
            "WHERE content_hash <> sha256(uuid_send(id)) GROUP BY 1, 2, 3 ORDER BY 4 DESC"
        ).fetchall()


# --- profiling -----------------------------------------------------------------------

def profile_in_process(db: common.BenchDB, world: World, batches: list[list[dict[str, Any]]],
                       gz: bool, top: int) -> None:
    """cProfile of POST /sync/push in this process (Flask test client, no gunicorn)."""
    from server import create_app

    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": secrets.token_urlsafe(32),
                      "ENV": "production"})
    client = app.test_client()
    f = world.fishers[0]
    r = client.post("/api/v1/auth/login", json={"phone": f.phone, "password": PASSWORD,
                                                "device_id": DEVICE})
    headers = {"Authorization": f"Bearer {r.get_json()['access_token']}",
               "Content-Type": "application/json"}
    if gz:
        headers["Content-Encoding"] = "gzip"
    bodies = [encode(b, gz) for b in batches]
    client.post("/api/v1/sync/push", data=bodies[0], headers=headers)  # warm-up, not profiled
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for body in bodies[1:]:
        resp = client.post("/api/v1/sync/push", data=body, headers=headers)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    prof.disable()
    took = time.perf_counter() - t0
    n = sum(len(b) for b in batches[1:])
    print(f"\n== cProfile: {len(bodies) - 1} batches, {n} catches in-process: {took:.2f} s "
          f"({n / took:,.0f} rows/s under the profiler)")
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(key).print_stats(top)
        text = out.getvalue()
        print(text[text.find("   ncalls"):])


# --- main ----------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--catches", type=int, default=100_000, help="catches per phase (default 100000)")
    p.add_argument("--batch", type=int, default=500, help="items per push / rows per executemany")
    p.add_argument("--clients", type=int, default=2, help="concurrent clients (one fisher each)")
    p.add_argument("--per-trip", type=int, default=20, help="catches per trip (default 20)")
    p.add_argument("--no-gzip", action="store_true", help="send plain JSON bodies")
    p.add_argument("--no-keepalive", action="store_true",
                   help="a new connection per push (Connection: close) instead of keep-alive")
    p.add_argument("--uuid", choices=("v7", "v4"), default="v7",
                   help="client UUIDs: v7 time-ordered (default, the project's convention) or v4")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--baseline-first", action="store_true",
                   help="run B before A (A then writes into the larger table)")
    p.add_argument("--profile", type=int, default=0, metavar="BATCHES",
                   help="afterwards, cProfile this many extra batches in-process")
    p.add_argument("--profile-top", type=int, default=25)
    p.add_argument("--quiet-wait", type=float, default=60.0, metavar="SECS",
                   help="before each phase, wait up to SECS for an idle machine (0: don't)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = p.parse_args(argv)
    if args.catches < args.clients or args.batch < 1 or args.per_trip < 1:
        p.error("need --catches >= --clients, --batch >= 1, --per-trip >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    gz = not args.no_gzip
    rng = random.Random(args.seed)
    ids = Ids(args.uuid, rng)
    species = pacific_species()
    now = datetime.now(UTC)
    t_setup = time.perf_counter()
    with common.throwaway_database(keep=args.keep_db) as db:
        world = create_world(db.url, args.clients)
        per = [args.catches // args.clients + (i < args.catches % args.clients)
               for i in range(args.clients)]
        for f, n in zip(world.fishers, per, strict=True):
            f.trips = make_trips(rng, ids, math.ceil(n / args.per_trip), world.vessel_id,
                                 world.port_id, now)
            f.catches = [make_catch(rng, ids, f.trips[k // args.per_trip], species)
                         for k in range(n)]
        item_batches = [chunks(f.catches, args.batch) for f in world.fishers]
        bodies = [[encode(b, gz) for b in bs] for bs in item_batches]
        raw_bytes = sum(len(encode(b, False)) for bs in item_batches for b in bs)
        wire_bytes = sum(len(b) for bs in bodies for b in bs)
        rows_b = [[baseline_row(c, world.org_id, f.member_id, ids()) for c in f.catches]
                  for f in world.fishers]
        sql_batches = [[list(b) for b in chunks(rs, args.batch)] for rs in rows_b]
        version = common.server_version(db.conninfo)

        with common.serve(db.url, args.workers, args.threads) as server:
            # Trips first, through the API (not timed), so catches have trips to hang on.
            with requests.Session() as http:
                for f in world.fishers:
                    login(http, server.url, f)
                    for tb in chunks(f.trips, 500):
                        r = push(http, server.url, f.token, encode(tb, gz), gz)
                        r.raise_for_status()
                        seen = statuses(r.content)
                        if seen != Counter({"created": len(tb)}):
                            raise RuntimeError(f"trips: {dict(seen)}: {r.text[:500]}")
            setup_s = time.perf_counter() - t_setup

            def phase_a() -> Phase:
                before = count_catches(db)
                ph = http_phase("A  project: POST /sync/push", server, db, world, bodies, gz,
                                not args.no_keepalive, "created", args.catches,
                                args.quiet_wait)
                added = count_catches(db) - before
                if added != args.catches:
                    raise RuntimeError(f"phase A stored {added} rows, expected {args.catches}")
                return ph

            def phase_b() -> Phase:
                before = count_catches(db)
                ph = sql_phase("B  baseline: executemany", server, db, sql_batches, args.catches,
                               args.quiet_wait)
                added = count_catches(db) - before
                if added != args.catches:
                    raise RuntimeError(f"phase B stored {added} rows, expected {args.catches}")
                return ph

            if args.baseline_first:
                b = phase_b()
                a = phase_a()
            else:
                a = phase_a()
                b = phase_b()
            total = count_catches(db)
            a2 = http_phase("A' project replay (duplicates)", server, db, world, bodies, gz,
                            not args.no_keepalive, "duplicate", args.catches,
                            args.quiet_wait)
            b2 = sql_phase("B' baseline replay (conflicts)", server, db, sql_batches,
                           args.catches, args.quiet_wait)
            if count_catches(db) != total:
                raise RuntimeError("a replay stored rows")
            mix = enrichment_mix(db)
            workers = sorted(server.workers_seen)
            rss = {p: common.vm_hwm_mb(p) for p in [server.pid, *workers]}

        report(args, version, db, setup_s, [a, b, a2, b2], a.rate / b.rate, rss, server.pid,
               wire_bytes, raw_bytes, sum(len(bs) for bs in bodies), mix)

        if args.profile:
            f = world.fishers[0]
            extra = [make_catch(rng, ids, f.trips[rng.randrange(len(f.trips))], species)
                     for _ in range((args.profile + 1) * args.batch)]
            profile_in_process(db, world, [list(c) for c in chunks(extra, args.batch)], gz,
                               args.profile_top)
    return 0


def report(args: argparse.Namespace, version: str, db: common.BenchDB, setup_s: float,
           phases: list[Phase], ratio: float, rss: dict[int, float | None], master: int,
           wire: int, raw: int, n_batches: int, mix: list[tuple[Any, ...]]) -> None:
    import os

    gz = "gzip" if not args.no_gzip else "plain JSON"
    gz += ", no keep-alive" if args.no_keepalive else ", keep-alive"
    print(f"\nCardumen sync ingest: {args.catches} catches/phase, batches of {args.batch}, "
          f"{args.clients} clients, {gz}, UUID {args.uuid}, {args.per_trip} catches/trip")
    print(f"{version} ({db.where}); {os.cpu_count()} CPUs; gunicorn {args.workers} workers x "
          f"{args.threads} threads; load avg {os.getloadavg()[0]:.2f}; setup {setup_s:.1f} s")
    print(f"body per batch: {wire / n_batches / 1024:.0f} KiB on the wire "
          f"({raw / n_batches / 1024:.0f} KiB JSON)\n")
    head = (f"{'phase':32} {'rows/s':>8} {'secs':>6} {'p50 ms':>7} {'p95 ms':>7}  "
            f"CPU s: {'client':>6} {'gunicorn (per worker)':>22} {'postgres':>8} {'other':>6}")
    print(head)
    print("-" * len(head))
    for ph in phases:
        workers = "+".join(f"{w:.1f}" for w in ph.per_worker if w >= 0.05) or "0"
        gun = f"{ph.cpu['gunicorn']:.2f} ({workers})"
        print(f"{ph.name:32} {ph.rate:8,.0f} {ph.elapsed:6.2f} "
              f"{common.percentile(ph.latencies, 50) * 1000:7.1f} "
              f"{common.percentile(ph.latencies, 95) * 1000:7.1f}         "
              f"{ph.cpu['client']:6.2f} {gun:>22} {ph.cpu['postgres']:8.2f} {ph.cpu['other']:6.2f}")
    print("-" * len(head))
    verdict = "TARGET MET" if ratio >= TARGET else "TARGET MISSED"
    print(f"ratio A/B = {ratio:.2f} (target >= {TARGET})  {verdict}")
    mem = ", ".join(f"{'master' if p == master else 'worker'} {v:.0f}" for p, v in rss.items()
                    if v is not None)
    print(f"server peak RSS (VmHWM, MiB): {mem}")
    print("stored by A (fao_area, zone_ids, quality_flags: rows): "
          + "; ".join(f"{r[0]}, {r[1]}, {r[2]}: {r[3]}" for r in mix))
    print("B writes the same columns; content_hash = sha256(id), fao_area '77', zone_ids {}, "
          "quality_flags {} (constants)")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
