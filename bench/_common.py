"""Shared plumbing of the benchmarks: a throwaway database, the production server
as a subprocess, a few /proc readings (peak RSS, CPU seconds), and the client side of
the HTTP benchmarks (keep-alive connections spread over the workers, client threads,
CPU accounting, waiting for a quiet machine).

The benchmarks decide what a phase is and what it measures; this runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import math
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson
import psycopg
import requests
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
_TICK = os.sysconf("SC_CLK_TCK")


# --- database ------------------------------------------------------------------------

@dataclass(frozen=True)
class BenchDB:
    name: str
    url: str  # SQLAlchemy URL (postgresql+psycopg://...)
    conninfo: str  # libpq conninfo of the same database
    admin_conninfo: str
    where: str  # "embedded cluster" or "DATABASE_URL"


def _admin() -> tuple[str, str, str]:
    """(admin conninfo, SQLAlchemy URL template, description): DATABASE_URL's server
    if set, else the embedded cluster (started if needed)."""
    from server import localdb

    url = os.environ.get("DATABASE_URL")
    if url:
        u = make_url(url.replace("postgres://", "postgresql://", 1)).set(
            drivername="postgresql+psycopg")
        conninfo = psycopg.conninfo.make_conninfo(
            host=u.host or "", port=str(u.port or 5432), user=u.username or "",
            password=u.password or "", dbname=u.database or "postgres")
        return conninfo, u.render_as_string(hide_password=False), "DATABASE_URL"
    cluster = localdb.ensure_cluster()
    return cluster.conninfo(), cluster.url("postgres"), "embedded cluster"


def conninfo_of(url: str) -> str:
    u = make_url(url)
    return psycopg.conninfo.make_conninfo(
        host=u.host or "", port=str(u.port or 5432), user=u.username or "",
        password=u.password or "", dbname=u.database or "")


@contextlib.contextmanager
def throwaway_database(prefix: str = "cardumen_bench", keep: bool = False) -> Iterator[BenchDB]:
    """A fresh database with PostGIS, migrated to head and seeded with the catalog;
    dropped on exit (unless ``keep``)."""
    from server import localdb
    from server import migrate as mig
    from server.catalog import services as catalog
    from server.db import make_engine

    admin, template, where = _admin()
    name = f"{prefix}_{secrets.token_hex(4)}"
    localdb.ensure_database(admin, name)
    url = make_url(template).set(database=name).render_as_string(hide_password=False)
    try:
        mig.upgrade(url)
        engine = make_engine(url, 2)
        with Session(engine) as sess:
            catalog.load_seed(sess)
            sess.commit()
        engine.dispose()
        yield BenchDB(name, url, conninfo_of(url), admin, where)
    finally:
        if keep:
            print(f"kept database {name}", file=sys.stderr)
        else:
            localdb.drop_database(admin, name)


def add_database_options(p: argparse.ArgumentParser, reuse_help: str) -> None:
    """``--seed``, ``--keep-db`` and ``--reuse-db``, spelt the same in every benchmark that
    loads the demo data; ``reuse_help`` says what a reused database skips."""
    p.add_argument("--seed", type=int, default=42, help="demo data seed")
    p.add_argument("--keep-db", action="store_true", help="do not drop the database")
    p.add_argument("--reuse-db", metavar="NAME",
                   help="measure in the database an earlier --keep-db run left " + reuse_help)


@contextlib.contextmanager
def database(keep: bool = False, reuse: str | None = None) -> Iterator[BenchDB]:
    """A throwaway database, or (``reuse``) one that an earlier ``keep`` run left, as it
    is and kept: the demo load is the slow part of a large run, and working on a
    benchmark wants to measure the same data again without it."""
    if not reuse:
        with throwaway_database(keep=keep) as db:
            yield db
        return
    admin, template, where = _admin()
    url = make_url(template).set(database=reuse).render_as_string(hide_password=False)
    yield BenchDB(reuse, url, conninfo_of(url), admin, where)


def checkpoint(conninfo: str) -> None:
    """Flush dirty buffers before a timed phase so no phase pays for another's
    checkpoint (needs superuser or pg_checkpoint; skipped quietly otherwise)."""
    with contextlib.suppress(psycopg.Error), psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def code_state(*dirs: str) -> str:
    """HEAD, and a digest of the sources in ``dirs`` (they may hold uncommitted work),
    so that a figure can be tied to the code it measured."""
    files = sorted(f for d in dirs for f in ROOT.glob(f"{d}/*.py"))
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]
    label = " + ".join(dirs)
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *dirs], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{label} sha256 {digest}"
    return f"HEAD {head}{' + uncommitted ' + ', '.join(dirs) if dirty else ''}; {label} sha256 {digest}"


def server_version(conninfo: str) -> str:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT current_setting('server_version'), "
                           "postgis_lib_version()").fetchone()
    assert row is not None
    return f"PostgreSQL {row[0].split()[0]} + PostGIS {row[1]}"


# --- the production server -----------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cardumen_cmd() -> list[str]:
    script = Path(sys.executable).parent / "cardumen"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from server.cli import main; main()"]


@dataclass
class Server:
    """``cardumen serve`` (gunicorn, threaded workers) on a free loopback port."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    workers_seen: set[int] = field(default_factory=set)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def workers(self) -> list[int]:
        pids = children(self.pid)
        self.workers_seen.update(pids)
        return pids

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def serve(database_url: str, workers: int = 2, threads: int = 4,
          ready_timeout: float = 60.0, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url,
               CARDUMEN_SECRET_KEY=secrets.token_urlsafe(32), CARDUMEN_ENV="production",
               **(extra_env or {}))
    cmd = [*_cardumen_cmd(), "serve", "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--threads", str(threads)]
    with tempfile.TemporaryDirectory(prefix="cardumen-bench-") as tmp:
        log_path = Path(tmp) / "server.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}", proc, log_path)
        try:
            _wait_ready(server, ready_timeout)
            server.workers()
            yield server
        finally:
            _stop(proc)


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited ({server.proc.returncode}):\n{server.log_tail()}")
        try:
            r = requests.get(server.url + "/readyz", timeout=2)
            if r.status_code == 200 and server.workers():
                return
            last = f"{r.status_code} {r.text[:200]}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout:.0f} s ({last}):\n{server.log_tail()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # gunicorn master: stops its workers
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --- /proc readings ------------------------------------------------------------------

def children(pid: int) -> list[int]:
    try:
        raw = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in raw.split()]


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident set size of a process (VmHWM), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores) since boot, from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return 0.0
    ticks = [int(x) for x in first[1:9]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / _TICK


def wait_quiet(max_wait: float, busy_cores: float = 0.2, sample: float = 1.0) -> bool:
    """Wait (up to ``max_wait`` s) for a second in which the machine is nearly idle, so
    a phase does not start while another job (a test run) is hogging the CPUs.
    True if it got one."""
    deadline = time.monotonic() + max_wait
    while True:
        before = machine_busy_seconds()
        time.sleep(sample)
        if (machine_busy_seconds() - before) / sample < busy_cores:
            return True
        if time.monotonic() >= deadline:
            return False


def others_running() -> list[str]:
    """Other test runs and benchmarks on the machine (not this process nor its parents):
    an idle second between two of their bursts is no proof that the machine is free."""
    mine = set()
    pid = os.getpid()
    while pid > 1:
        mine.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if any(os.path.basename(w).startswith("pytest") or
               ("bench/" in w and w.endswith(".py")) for w in words[:4]):
            found.append(f"{entry.name} {' '.join(words)[:80]}")
    return found


def quiet(name: str, wait: float, others_wait: float) -> str:
    """Before a phase (or the demo load, which takes every core for minutes): wait (up to
    ``others_wait`` s) until no other pytest or bench/*.py runs, then (up to ``wait`` s)
    for an idle second. Returns a warning or ''; the phase starts either way, so that a
    busy machine delays a run but does not lose it."""
    name = name.strip()
    note = ""
    if others_wait > 0:
        deadline = time.monotonic() + others_wait
        found = others_running()
        if found:
            print(f"[{name}] waiting for other runs to end: {found}", file=sys.stderr)
        while found and time.monotonic() < deadline:
            time.sleep(10)
            found = others_running()
        if found:
            note = f"other runs still going: {'; '.join(found)}"
    if wait > 0 and not wait_quiet(wait):
        note = (note + "; " if note else "") + f"machine still busy after {wait:.0f} s"
    if note:
        print(f"warning: {note}; starting {name} anyway (see the 'other' CPU column)",
              file=sys.stderr)
    return note


def pg_backends(dbname: str) -> list[int]:
    """PIDs of the PostgreSQL backends connected to ``dbname`` (read from /proc, so only
    when the server runs on this machine; empty otherwise)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if cmd.startswith(b"postgres: ") and f" {dbname} ".encode() in cmd:
            pids.append(int(entry.name))
    return pids


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


# --- the client side of a phase ------------------------------------------------------

class Http:
    """One keep-alive connection. http.client rather than requests: the client threads
    share the cores with the servers they measure, and requests costs more CPU a call."""

    def __init__(self, base: str) -> None:
        u = urlsplit(base)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
        self.reconnects = 0

    def _exchange(self, method: str, path: str, body: bytes | None,
                  headers: dict[str, str] | None) -> tuple[http.client.HTTPResponse, bytes]:
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body, headers or {})
                r = self.conn.getresponse()
                return r, r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # the server closed an idle keep-alive connection: once more on a new one
                self.conn.close()
                self.reconnects += 1
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
        """(status, Content-Type, body)."""
        r, data = self._exchange(method, path, body, headers)
        return r.status, r.getheader("Content-Type", ""), data

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """(status, body): the hot loops' call, which has no use for the headers."""
        r, data = self._exchange("GET", path, None, headers)
        return r.status, data

    def close(self) -> None:
        self.conn.close()


def demo_login(base: str, phone: str, device: str) -> str:
    """An access token of a demo member, through the API as a phone gets one. It lasts
    15 minutes: take one per phase, after the phase's wait."""
    from server.demo import loader

    conn = Http(base)
    body = orjson.dumps({"phone": phone, "password": loader.DEMO_PASSWORD, "device_id": device})
    status, _, data = conn.request("POST", "/api/v1/auth/login", body,
                                   {"Content-Type": "application/json"})
    conn.close()
    if status != 200:
        raise RuntimeError(f"login {phone}: HTTP {status}: {data[:300]!r}")
    token: str = orjson.loads(data)["access_token"]
    return token


@dataclass
class Tally:
    """What one client thread did in a phase: its own, so that the hot loop takes no lock.
    ``count`` and ``walks`` are for benchmarks that count more than requests (features,
    complete walks of a collection)."""

    count: int = 0
    requests: int = 0
    walks: int = 0
    latencies: list[float] = field(default_factory=list)

    @classmethod
    def total(cls, tallies: Sequence[Tally]) -> Tally:
        return cls(sum(t.count for t in tallies), sum(t.requests for t in tallies),
                   sum(t.walks for t in tallies), [x for t in tallies for x in t.latencies])


Client = Callable[[Tally], None]


def run_clients(work: list[Client]) -> tuple[float, list[Tally]]:
    """One callable per client thread, all released at once so that the wall clock
    covers only the work; (wall seconds, tallies). A failing client fails the phase."""
    barrier = threading.Barrier(len(work) + 1)
    tallies = [Tally() for _ in work]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            work[i](tallies[i])
        except BaseException as exc:
            errors.append(exc)
            traceback.print_exc()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(work))]
    for th in threads:
        th.start()
    barrier.wait()
    t0 = time.perf_counter()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed: {errors[0]!r}")
    return elapsed, tallies


class CpuMeter:
    """CPU seconds used during a phase by this client process, each server's gunicorn
    workers (in ``used`` under the server's name, and one by one in ``per_worker``), the
    PostgreSQL backends of the bench database, and everything else (``other``): when
    that is large somebody else used the CPUs, and the figures are not to be trusted."""

    def __init__(self, servers: dict[str, Server], dbname: str) -> None:
        self.servers, self.dbname = servers, dbname

    def _snap(self) -> dict[str, Any]:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        snap: dict[str, Any] = {
            "machine": machine_busy_seconds(), "client": ru.ru_utime + ru.ru_stime,
            "postgres": {p: cpu_seconds(p) for p in pg_backends(self.dbname)}}
        for name, s in self.servers.items():
            snap[name] = {p: cpu_seconds(p) for p in s.workers()}
        return snap

    def __enter__(self) -> CpuMeter:
        self.start = self._snap()
        return self

    def __exit__(self, *_: object) -> None:
        end = self._snap()
        self.used: dict[str, float] = {"client": end["client"] - self.start["client"]}
        self.per_worker: dict[str, list[float]] = {}
        for k in ("postgres", *self.servers):
            self.used[k] = sum(v - self.start[k].get(p, 0.0) for p, v in end[k].items())
            if k in self.servers:
                self.per_worker[k] = sorted((v - self.start[k].get(p, 0.0)
                                             for p, v in end[k].items()), reverse=True)
        busy = end["machine"] - self.start["machine"]
        self.used["other"] = max(0.0, busy - sum(self.used.values()))


def settle(name: str, db: BenchDB, quiet_wait: float, others_wait: float,
           notes: list[str]) -> None:
    """Before a timed phase: a checkpoint, so that no phase pays for another's writes,
    then ``quiet``; its warning goes to ``notes``, for the report."""
    checkpoint(db.conninfo)
    note = quiet(name, quiet_wait, others_wait)
    if note:
        notes.append(f"{name.strip()}: {note}")


class _Closes(Protocol):
    def close(self) -> None: ...


def measure(conns: Sequence[_Closes], work: Callable[[float], list[Client]], seconds: float,
            warmup: float, servers: dict[str, Server],
            dbname: str) -> tuple[float, Tally, CpuMeter]:
    """A phase on connections made for it: ``work(warmup)`` untimed if ``warmup`` > 0
    (on the same connections: a warm-up on others could warm another worker), then
    ``work(seconds)`` timed under a ``CpuMeter``; the connections closed in any case.
    (wall seconds, the clients' tallies added up, the meter)."""
    try:
        if warmup > 0:
            run_clients(work(warmup))
        with CpuMeter(servers, dbname) as cpu:
            elapsed, tallies = run_clients(work(seconds))
    finally:
        for c in conns:
            c.close()
    return elapsed, Tally.total(tallies), cpu


def add_phase_options(p: argparse.ArgumentParser, workers_help: str = "gunicorn workers") -> None:
    """The server's size and the knobs of ``quiet`` and ``connect``, spelt the same in
    every benchmark that runs phases through them."""
    p.add_argument("--workers", type=int, default=2, help=workers_help)
    p.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    p.add_argument("--no-balance", action="store_true",
                   help="leave the connections on the worker the kernel gives them "
                        "(see bench/README.md)")
    p.add_argument("--quiet-wait", type=float, default=60.0, metavar="SECS",
                   help="before each phase, wait up to SECS for an idle machine (0: don't)")
    p.add_argument("--others-wait", type=float, default=1200.0, metavar="SECS",
                   help="before the load and each phase, wait up to SECS while another pytest "
                        "or bench/*.py runs (0: don't)")


# --- spreading connections over the workers ------------------------------------------

def _server_socket_inode(server_port: int, client_port: int) -> str | None:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if (int(parts[1].rsplit(":", 1)[1], 16) == server_port
                    and int(parts[2].rsplit(":", 1)[1], 16) == client_port):
                return parts[9]
    return None


def worker_of(server: Server, conn: Http) -> int | None:
    """The gunicorn worker holding this keep-alive connection (read from /proc)."""
    sock = conn.conn.sock
    if sock is None:
        return None
    inode = _server_socket_inode(conn.port, sock.getsockname()[1])
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in server.workers():
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == target:
                        return pid
    return None


def connect(server: Server, n: int, probe: str, balance: bool,
            headers: dict[str, str] | None = None, name: str = "") -> tuple[list[Http], str]:
    """``n`` keep-alive connections, each having answered ``probe`` (a cheap GET, sent
    with ``headers``), spread evenly over the server's workers when ``balance``: with
    --reuse-port the kernel hashes each connection to a worker, so two connections on
    two workers share one (one GIL) half of the time, and four all land on one about 1
    time in 8. Connections the kernel put on a full worker are closed and made again.
    Returns the connections and how many each worker got ("2+2")."""
    workers = server.workers()
    quota = -(-n // max(1, len(workers)))
    per: dict[int | None, int] = {}
    conns: list[Http] = []
    tries = 0
    while len(conns) < n:
        c = Http(server.url)
        status, body = c.get(probe, headers or {})  # accepted by now: its worker holds it
        if status != 200:
            raise RuntimeError(f"{name + ': ' if name else ''}GET {probe}: HTTP {status}: "
                               f"{body[:200]!r}")
        w = worker_of(server, c) if balance else None
        tries += 1
        if balance and w is not None and per.get(w, 0) >= quota and tries < 20 * n:
            c.close()
            continue
        per[w] = per.get(w, 0) + 1
        conns.append(c)
    spread = "+".join(str(v) for _, v in sorted(per.items(), key=lambda kv: -kv[1]))
    return conns, spread if balance else "not balanced"
