"""Engine, declarative base and the per-request session."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from enum import StrEnum

from flask import Flask, Response, current_app, g, request
from sqlalchemy import BigInteger, CheckConstraint, MetaData, create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# The change feed orders rows by the transaction that wrote them, then by a
# global sequence; see server/catches/feed.py for why that never skips a row.
CHANGE_XID_DEFAULT = text("(pg_current_xact_id()::text::bigint)")
CHANGE_SEQ_DEFAULT = text("nextval('change_seq')")


class ChangeTracked:
    """Columns every synced table carries; a trigger refreshes them on UPDATE."""

    change_xid: Mapped[int] = mapped_column(BigInteger, server_default=CHANGE_XID_DEFAULT)
    change_seq: Mapped[int] = mapped_column(BigInteger, server_default=CHANGE_SEQ_DEFAULT)


def new_id() -> uuid.UUID:
    """Time-ordered UUIDs (v7) keep B-tree inserts local (1.65x faster COPY here)."""
    return uuid7()


def uuid7() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def enum_check(column: str, enum: type[StrEnum]) -> CheckConstraint:
    values = ", ".join(f"'{e.value}'" for e in enum)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")


def make_engine(url: str, pool_size: int = 10, parallel_workers: int | None = None) -> Engine:
    """``parallel_workers`` caps PostgreSQL's parallel workers per query on these
    connections (None: the server's setting)."""
    connect_args = {}
    if parallel_workers is not None:
        connect_args["options"] = f"-c max_parallel_workers_per_gather={int(parallel_workers)}"
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
        pool_recycle=1800, connect_args=connect_args,
    )


def init_app(app: Flask, url: str) -> None:
    # No parallel query for requests: a page of 20 rows gains nothing from workers, and
    # on a small machine their start-up and the Gather cost more than the scan (a search
    # of 100k listings went from 48 to 22 ms at p50 without them, bench/market.py).
    engine = make_engine(url, app.config["DB_POOL_SIZE"], app.config["DB_PARALLEL_WORKERS"])
    app.extensions["cardumen.engine"] = engine
    app.extensions["cardumen.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)

    @app.after_request
    def _end_read(resp: Response) -> Response:
        # A read that succeeded ends in COMMIT, not in the ROLLBACK of closing: psycopg
        # forgets every statement it prepared at a ROLLBACK (a PREPARE inside the
        # transaction is undone), so a connection that only ever rolled back planned the
        # same search afresh on every request (1 to 2 ms of a 15 ms search,
        # bench/market.py). A GET writes nothing, so nothing else changes; streamed
        # bodies still read from the open transaction and are left alone.
        sess: Session | None = g.get("db_session")
        if (sess is not None and request.method in ("GET", "HEAD") and resp.status_code < 400
                and not resp.is_streamed and sess.in_transaction()):
            sess.commit()
        return resp

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        sess: Session | None = g.pop("db_session", None)
        if sess is not None:
            sess.close()  # rolls back anything not committed


def engine() -> Engine:
    eng: Engine = current_app.extensions["cardumen.engine"]
    return eng


def session() -> Session:
    """The request's session; the view commits, services only flush."""
    sess: Session | None = g.get("db_session")
    if sess is None:
        sess = current_app.extensions["cardumen.sessionmaker"]()
        g.db_session = sess
    return sess


def utcnow() -> datetime:
    return datetime.now(UTC)
