"""Shared plumbing of the benchmarks: a throwaway database, the production server
as a subprocess, and a few /proc readings (peak RSS, CPU seconds).

Nothing here is timed; the benchmarks time their own phases.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

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


def checkpoint(conninfo: str) -> None:
    """Flush dirty buffers before a timed phase so no phase pays for another's
    checkpoint (needs superuser or pg_checkpoint; skipped quietly otherwise)."""
    with contextlib.suppress(psycopg.Error), psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


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
