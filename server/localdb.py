"""The embedded PostgreSQL + PostGIS cluster used when no DATABASE_URL is given.

The cluster lives under ``.cardumen/pg`` in the project (git-ignored), listens on
127.0.0.1 only, requires a password (kept in a 0600 file beside it) and, when
the caller is root, runs as an unprivileged system user because PostgreSQL
refuses to run as root. Tests, the CLI and the benchmarks share it; each test
session works in a database of its own, so parallel runs do not collide.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUPERUSER = "cardumen"
DEFAULT_PORT = 54329
PREFERRED_MAJORS = ("15", "17", "16", "14")


class LocalDBError(RuntimeError):
    """The embedded cluster cannot be set up; the message says what to do."""


@dataclass(frozen=True)
class Cluster:
    home: Path  # where password/port/log live, owned by the caller
    data_dir: Path  # PGDATA, owned by the cluster's OS user
    bin_dir: Path
    os_user: str | None  # None: run as the current user
    port: int
    password: str

    def url(self, dbname: str = "cardumen") -> str:
        return (
            f"postgresql+psycopg://{SUPERUSER}:{quote(self.password, safe='')}"
            f"@127.0.0.1:{self.port}/{dbname}"
        )

    def conninfo(self, dbname: str = "postgres") -> str:
        return (
            f"host=127.0.0.1 port={self.port} user={SUPERUSER} "
            f"password={self.password} dbname={dbname}"
        )


def find_bin_dir() -> Path:
    """The bin directory of an installed PostgreSQL that also has PostGIS."""
    override = os.environ.get("CARDUMEN_PG_BINDIR")
    if override:
        return Path(override)
    for major in PREFERRED_MAJORS:
        bin_dir = Path(f"/usr/lib/postgresql/{major}/bin")
        control = Path(f"/usr/share/postgresql/{major}/extension/postgis.control")
        if (bin_dir / "initdb").exists() and control.exists():
            return bin_dir
    raise LocalDBError(
        "No PostgreSQL with PostGIS found. Run scripts/up (it installs "
        "postgresql-15-postgis-3), or set DATABASE_URL to an existing PostGIS database."
    )


def _os_user() -> str | None:
    if os.geteuid() != 0:
        return None
    name = os.environ.get("CARDUMEN_PG_OS_USER", "postgres")
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
        )
    return name


def _run(cmd: list[str], os_user: str | None, **kw: object) -> subprocess.CompletedProcess[str]:
    if os_user is not None:
        cmd = ["runuser", "-u", os_user, "--", *cmd]
    return subprocess.run(cmd, text=True, capture_output=True, check=False, **kw)  # type: ignore[call-overload]


def _readable_by(path: Path, os_user: str | None) -> bool:
    if os_user is None:
        return True
    return _run(["test", "-x", str(path)], os_user).returncode == 0


def _home() -> Path:
    return Path(os.environ.get("CARDUMEN_HOME", PROJECT_ROOT / ".cardumen"))


def state_dir() -> Path:
    """The project-local state directory (``CARDUMEN_HOME``, default ``.cardumen``)."""
    return _home()


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise LocalDBError("no free TCP port on 127.0.0.1")


@contextlib.contextmanager
def _lock(home: Path) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "pg.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _data_dir(home: Path, os_user: str | None) -> Path:
    """Inside the project when the cluster's user can reach it, else under /var/lib."""
    inside = home / "pg" / "data"
    if os_user is None or _readable_by(home, os_user):
        return inside
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:12]
    return Path("/var/lib/cardumen") / digest / "data"


def _write_conf(data_dir: Path, port: int) -> None:
    # Loopback only; durability kept (fsync on), but commits do not wait for the
    # WAL flush: a crash loses at most the last few hundred ms, never consistency.
    conf = f"""
# --- cardumen embedded cluster ---
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
synchronous_commit = off
shared_buffers = '256MB'
work_mem = '16MB'
maintenance_work_mem = '256MB'
max_connections = 200
jit = off
# The change feed reads below the oldest open transaction of the whole cluster;
# a session left idle inside a transaction would hold every feed back.
idle_in_transaction_session_timeout = '5min'
"""
    with open(data_dir / "postgresql.conf", "a") as fh:
        fh.write(conf)


def _init(home: Path, bin_dir: Path, os_user: str | None) -> None:
    data_dir = _data_dir(home, os_user)
    password = secrets.token_urlsafe(24)
    port = int(os.environ.get("CARDUMEN_PG_PORT") or _free_port(DEFAULT_PORT))
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    pwfile = data_dir.parent / "initpw"
    pwfile.write_text(password + "\n")
    if os_user is not None:
        info = pwd.getpwnam(os_user)
        for p in (data_dir.parent, data_dir, pwfile):
            os.chown(p, info.pw_uid, info.pw_gid)
    os.chmod(data_dir, 0o700)
    try:
        res = _run(
            [
                str(bin_dir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER,
                f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8",
                "--locale=C.UTF-8", "--no-instructions",
            ],
            os_user,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    if res.returncode != 0:
        raise LocalDBError(f"initdb failed:\n{res.stdout}\n{res.stderr}")
    _write_conf(data_dir, port)
    (home / "pg").mkdir(parents=True, exist_ok=True)
    secret = home / "pg" / "password"
    secret.write_text(password)
    os.chmod(secret, 0o600)
    (home / "pg" / "port").write_text(str(port))
    (home / "pg" / "datadir").write_text(str(data_dir))


def _load(home: Path, bin_dir: Path, os_user: str | None) -> Cluster | None:
    base = home / "pg"
    try:
        data_dir = Path((base / "datadir").read_text().strip())
        port = int((base / "port").read_text())
        password = (base / "password").read_text().strip()
    except (FileNotFoundError, ValueError):
        return None
    if not (data_dir / "PG_VERSION").exists():
        return None
    return Cluster(home, data_dir, bin_dir, os_user, port, password)


def _is_running(c: Cluster) -> bool:
    try:
        with psycopg.connect(c.conninfo(), connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _start(c: Cluster) -> None:
    log = c.data_dir.parent / "server.log"
    res = _run(
        [str(c.bin_dir / "pg_ctl"), "-D", str(c.data_dir), "-l", str(log), "-w", "-t", "60", "start"],
        c.os_user,
    )
    if res.returncode != 0 and not _is_running(c):
        tail = ""
        with contextlib.suppress(OSError):
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise LocalDBError(f"could not start PostgreSQL:\n{res.stdout}{res.stderr}\n{tail}")


def ensure_cluster() -> Cluster:
    """Create (once) and start (if stopped) the embedded cluster; return it."""
    home = _home()
    bin_dir = find_bin_dir()
    os_user = _os_user()
    with _lock(home):
        cluster = _load(home, bin_dir, os_user)
        if cluster is None:
            _init(home, bin_dir, os_user)
            cluster = _load(home, bin_dir, os_user)
            assert cluster is not None
        if not _is_running(cluster):
            _start(cluster)
    return cluster


def stop_cluster() -> bool:
    home = _home()
    cluster = _load(home, find_bin_dir(), _os_user())
    if cluster is None or not _is_running(cluster):
        return False
    _run([str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.data_dir), "-m", "fast", "stop"],
         cluster.os_user)
    return True


def ensure_database(admin_conninfo: str, dbname: str) -> None:
    """Create ``dbname`` with PostGIS if it does not exist (idempotent)."""
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    db_conninfo = admin_conninfo.rsplit("dbname=", 1)[0] + f"dbname={dbname}"
    with psycopg.connect(db_conninfo, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def drop_database(admin_conninfo: str, dbname: str) -> None:
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
