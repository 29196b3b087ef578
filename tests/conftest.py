"""Test harness: a real PostGIS, one fresh database per test session.

The database lives on the embedded cluster (started if needed) or, with
CARDUMEN_TEST_DATABASE_URL / DATABASE_URL set, on that server: a database
``cardumen_test_<random>`` is created there, migrated and seeded once, and
dropped at the end.

Tests commit for real (the change feed and the concurrency tests depend on
real commits); each test makes its own organizations and members with the
factories below, so tests never see each other's data.
"""

from __future__ import annotations

import itertools
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from server import create_app, localdb
from server import migrate as mig
from server.catalog import services as catalog
from server.db import make_engine, new_id
from server.members import tokens
from server.members.models import Member, Membership, MembershipStatus, Organization, Role

PASSWORD = "correct horse battery"
PROBLEM = "application/problem+json"


def problem(r: Any, status: int, code: str) -> dict[str, Any]:
    """Assert an RFC 9457 answer with this status and code; return its body."""
    assert r.status_code == status, r.get_data(as_text=True)[:2000]
    assert r.mimetype == PROBLEM
    body: dict[str, Any] = r.get_json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == "https://cardumen.org/problems/" + code.replace("_", "-")
    assert body["instance"] == r.request.path
    return body


def errors_of(body: dict[str, Any]) -> dict[str, str]:
    """{field: code} of a validation problem."""
    return {e["field"]: e["code"] for e in body["errors"]}


def _server_admin() -> tuple[str, str]:
    """(libpq conninfo to create databases with, SQLAlchemy URL template)."""
    url = os.environ.get("CARDUMEN_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        u = make_url(url.replace("postgres://", "postgresql://", 1)).set(
            drivername="postgresql+psycopg")
        conninfo = psycopg.conninfo.make_conninfo(
            host=u.host or "", port=str(u.port or 5432), user=u.username or "",
            password=u.password or "", dbname=u.database or "postgres")
        return conninfo, u.render_as_string(hide_password=False)
    cluster = localdb.ensure_cluster()
    return cluster.conninfo(), cluster.url("postgres")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    admin, template = _server_admin()
    name = f"cardumen_test_{secrets.token_hex(4)}"
    localdb.ensure_database(admin, name)
    url = make_url(template).set(database=name).render_as_string(hide_password=False)
    mig.upgrade(url)
    engine = make_engine(url, 2)
    with Session(engine) as sess:
        catalog.load_seed(sess)
        sess.commit()
    engine.dispose()
    yield url
    if not os.environ.get("CARDUMEN_KEEP_TEST_DB"):
        localdb.drop_database(admin, name)


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Where report runs of this test session store their files."""
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="session")
def app(database_url: str, artifacts_dir: Any) -> Flask:
    return create_app({
        "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-" + secrets.token_hex(16),
        "ENV": "test", "ARTIFACTS": str(artifacts_dir),
        "STATEMENT_KEY_FILE": str(artifacts_dir / "statement-key.pem"),
    })


@pytest.fixture(scope="session")
def db_versions(database_url: str) -> tuple[str, str]:
    engine = make_engine(database_url, 1)
    with engine.connect() as conn:
        from sqlalchemy import text

        num = int(conn.execute(text("SELECT current_setting('server_version_num')")).scalar_one())
        postgis = str(conn.execute(text("SELECT postgis_lib_version()")).scalar_one())
    engine.dispose()
    return str(num // 10000), ".".join(postgis.split(".")[:2])


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session of its own for setting up data and checking what the API stored."""
    maker: sessionmaker[Session] = app.extensions["cardumen.sessionmaker"]
    with maker() as sess:
        yield sess


class Api:
    """A test client that speaks JSON and carries a bearer token."""

    def __init__(self, client: FlaskClient, token: str | None = None) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers: dict[str, str] | None, lang: str | None) -> dict[str, str]:
        h = dict(headers or {})
        if self.token:
            h.setdefault("Authorization", f"Bearer {self.token}")
        if lang:
            h["Accept-Language"] = lang
        return h

    def request(self, method: str, path: str, json: Any = None, *, lang: str | None = None,
                headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.open(path, method=method, json=json,
                                headers=self._headers(headers, lang), **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("PATCH", path, json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("PUT", path, json, **kw)

    def delete(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("DELETE", path, json, **kw)


def _client(app: Flask) -> FlaskClient:
    # A client address of its own, so per-address rate limits of one test do
    # not spill into another.
    addr = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = addr
    return client


@pytest.fixture
def anon(app: Flask) -> Api:
    return Api(_client(app))


_HASH: dict[str, str] = {}


# Numbers in a row from a random start: 8 random digits each repeated one of a few
# thousand test members about once a run in ten (uq_member_phone, a flaky test).
_PHONES = itertools.count(secrets.randbelow(10**8))


def random_phone() -> str:
    # +52 55 (Mexico City) numbers are valid for phonenumbers.
    return f"+5255{next(_PHONES) % 10**8:08d}"


@dataclass
class Person:
    member: Member
    phone: str
    api: Api


@dataclass
class Coop:
    org: Organization
    admin: Person
    fisher: Person
    vessel_id: uuid.UUID


class Factory:
    def __init__(self, app: Flask, sess: Session) -> None:
        self.app = app
        self.sess = sess

    def member(self, name: str = "Pescador de prueba", platform_admin: bool = False) -> Member:
        if "h" not in _HASH:
            _HASH["h"] = tokens.hash_password(PASSWORD)
        m = Member(id=new_id(), phone=random_phone(), name=name, password_hash=_HASH["h"],
                   is_platform_admin=platform_admin)
        self.sess.add(m)
        self.sess.commit()
        return m

    def org(self, name: str | None = None, kind: str = "cooperative") -> Organization:
        o = Organization(id=new_id(), kind=kind, name=name or f"Cooperativa {uuid.uuid4().hex[:6]}",
                         rnpa=f"{secrets.randbelow(10**10):010d}")
        self.sess.add(o)
        self.sess.commit()
        return o

    def join(self, org: Organization, member: Member, role: str = Role.fisher) -> None:
        self.sess.add(Membership(org_id=org.id, member_id=member.id, role=role,
                                 status=MembershipStatus.active))
        self.sess.commit()

    def login(self, member: Member, device: str = "test-device") -> Api:
        api = Api(_client(self.app))
        r = api.post("/api/v1/auth/login",
                     {"phone": member.phone, "password": PASSWORD, "device_id": device})
        assert r.status_code == 200, r.get_json()
        api.token = r.get_json()["access_token"]
        return api

    def person(self, org: Organization | None = None, role: str = Role.fisher,
               platform_admin: bool = False) -> Person:
        m = self.member(platform_admin=platform_admin)
        if org is not None:
            self.join(org, m, role)
        return Person(m, m.phone, self.login(m))

    def vessel(self, org: Organization) -> uuid.UUID:
        from server.fleet.models import Vessel

        v = Vessel(org_id=org.id, id=new_id(), name="La Esperanza",
                   registration=f"MAT-{secrets.token_hex(3)}")
        self.sess.add(v)
        self.sess.commit()
        return v.id

    def coop(self) -> Coop:
        org = self.org()
        return Coop(org, self.person(org, Role.admin), self.person(org, Role.fisher),
                    self.vessel(org))


@pytest.fixture
def factory(app: Flask, db: Session) -> Factory:
    return Factory(app, db)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def trip_item(vessel_id: uuid.UUID | None = None, **over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    item: dict[str, Any] = {
        "type": "trip", "id": str(uuid.uuid4()), "version": 1,
        "departed_at": iso(now - timedelta(hours=10)), "returned_at": iso(now - timedelta(hours=1)),
        "gear_code": "GNS", "zero_catch": False,
        "costs": [{"kind": "fuel", "amount": 850.0}, {"kind": "ice", "amount": 120}],
    }
    if vessel_id:
        item["vessel_id"] = str(vessel_id)
    item.update(over)
    return item


def catch_item(trip_id: str, **over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    item: dict[str, Any] = {
        "type": "catch", "id": str(uuid.uuid4()), "version": 1, "trip_id": trip_id,
        "species_code": "LJS", "landed_kg": 42.5, "live_kg": 45.0,
        "presentation": "whole", "disposition": "sold", "unit_price": 95.0,
        "position": {"type": "Point", "coordinates": [-106.55, 23.05]},
        "caught_at": iso(now - timedelta(hours=5)),
    }
    item.update(over)
    return item
