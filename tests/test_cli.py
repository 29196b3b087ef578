"""The ``cardumen`` command, and the production server started the way users start it."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.catalog.models import Species, Zone
from server.cli import main
from server.members.models import Member
from tests.conftest import Api

ROOT = Path(__file__).resolve().parent.parent


def _run(database_url: str, *args: str, input: str | None = None) -> str:
    runner = CliRunner()
    result = runner.invoke(main, list(args), env={"DATABASE_URL": database_url}, input=input,
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_migrate_is_idempotent(database_url: str) -> None:
    assert "database at head" in _run(database_url, "migrate")


def test_seed_twice_adds_nothing(database_url: str, db: Session) -> None:
    before = (db.scalar(select(func.count()).select_from(Species)),
              db.scalar(select(func.count()).select_from(Zone)))
    out = _run(database_url, "seed")
    assert "species 101" in out
    db.expire_all()
    after = (db.scalar(select(func.count()).select_from(Species)),
             db.scalar(select(func.count()).select_from(Zone)))
    assert before == after
    assert after[0] >= 60


def test_db_url_prints_the_database_in_use(database_url: str) -> None:
    assert _run(database_url, "db", "url").strip().endswith(database_url.rsplit("/", 1)[1])


def test_create_platform_admin_then_log_in(database_url: str, db: Session, anon: Api) -> None:
    phone = f"+5255{int(time.time() * 1000) % 10**8:08d}"
    _run(database_url, "admin", "create-platform-admin", "--phone", phone, "--name", "Ana",
         input="una clave segura\nuna clave segura\n")
    member = db.scalar(select(Member).where(Member.phone == phone))
    assert member is not None and member.is_platform_admin
    r = anon.post("/api/v1/auth/login", {"phone": phone, "password": "una clave segura",
                                         "device_id": "cli-test"})
    assert r.status_code == 200
    assert r.get_json()["member"]["is_platform_admin"] is True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[str]:
    """``cardumen serve``: gunicorn with threaded workers, on loopback."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=database_url, CARDUMEN_SECRET_KEY="s" * 40,
               CARDUMEN_WORKERS="2", CARDUMEN_THREADS="4")
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not listening yet, or a worker still importing: try again
            if proc.poll() is not None or time.time() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"server did not become ready:\n{out[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_production_server_answers_health_docs_and_problems(served: str) -> None:
    with urllib.request.urlopen(served + "/healthz") as r:
        assert json.load(r) == {"status": "ok"}
    with urllib.request.urlopen(served + "/api/openapi.json") as r:
        assert json.load(r)["openapi"].startswith("3.1")
    req = urllib.request.Request(served + "/api/v1/nowhere", headers={"Accept-Language": "en"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 404
    assert err.value.headers["Content-Type"] == "application/problem+json"
    assert json.load(err.value)["title"] == "Not found."


def test_production_server_takes_gzip_bodies(served: str) -> None:
    body = gzip.compress(json.dumps({"phone": "+525512345678", "password": "x" * 4,
                                     "device_id": "d"}).encode())
    req = urllib.request.Request(served + "/api/v1/auth/login", data=body, method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Content-Encoding": "gzip"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    # Decoded and parsed: an unknown phone is a 401, not a 400 about the body.
    assert err.value.code == 401
    assert json.load(err.value)["code"] == "bad_credentials"


def test_demo_load_then_accounts_log_in(database_url: str, anon: Api) -> None:
    out = _run(database_url, "demo", "load", "--size", "300", "--force")
    assert "catch 300" in out and "demo1234" in out
    lines = _run(database_url, "demo", "accounts", "--limit", "1").splitlines()
    assert lines[-1] == "password for all: demo1234"
    phone, role = lines[0].split()[:2]
    assert role == "admin"
    r = anon.post("/api/v1/auth/login", {"phone": phone, "password": "demo1234",
                                         "device_id": "demo"})
    assert r.status_code == 200
    me = anon.get("/api/v1/me",
                  headers={"Authorization": f"Bearer {r.get_json()['access_token']}"}).get_json()
    assert [m["role"] for m in me["memberships"]] == ["admin"]
    assert me["memberships"][0]["org_name"].startswith("[DEMO] ")
