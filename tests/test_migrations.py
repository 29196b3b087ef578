"""Migrations on a fresh database: up to head, equal to the models, down to
nothing, and up again."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool, text
from sqlalchemy.engine import make_url

import server.models
from server import localdb
from server import migrate as mig
from server.db import Base

assert server.models  # every table on Base.metadata

# What PostGIS itself owns; everything else belongs to the migrations.
POSTGIS_TABLES = {"spatial_ref_sys"}
# Tables of this schema that must exist at head (a model dropped by mistake
# would otherwise leave compare_metadata happy).
EXPECTED_TABLES = {
    "member", "organization", "membership", "refresh_token", "rate_limit", "species", "gear",
    "port", "zone", "zone_piece", "vessel", "permit", "trip", "trip_revision", "catch", "landing",
    "authority", "authority_cooperative", "report_subscription", "report_run", "report_artifact",
    "report_run_item", "report_delivery", "report_delivery_attempt",
    "h3_cell", "ogc_cell", "ogc_cell_species", "ogc_watermark",
    "ogc_audience", "ogc_feature", "ogc_publish_queue", "consent", "consent_event",
    "stat_species", "stat_trip", "stat_cell", "stat_slice", "stat_zone",
    "listing", "listing_catch", "listing_price", "listing_photo", "market_order",
    "market_order_event", "coop_rating", "saved_search", "notification",
    "forum_category", "forum_thread", "forum_post", "forum_lexeme", "forum_vote", "forum_follow",
    "forum_flag", "forum_moderator", "forum_moderation_action",
    "proposal", "proposal_option", "proposal_voter", "proposal_ballot", "proposal_result",
    "proposal_tally", "proposal_receipt", "coop_setting", "coop_sharing", "coop_setting_change",
    # procrastinate's, applied by migration 0002
    "procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers",
    "procrastinate_workers",
}


def admin_conninfo(database_url: str) -> str:
    """libpq conninfo for the ``postgres`` database of the server holding ``database_url``
    (``dbname`` last: localdb.ensure_database swaps it)."""
    u = make_url(database_url)
    return psycopg.conninfo.make_conninfo(
        host=u.host or "", port=str(u.port or 5432), user=u.username or "",
        password=u.password or "", dbname="postgres")


@contextlib.contextmanager
def throwaway_database(database_url: str) -> Iterator[str]:
    """A new empty database (PostGIS installed) on the test server; dropped after."""
    if make_url(database_url).host is None:  # pragma: no cover - unix-socket setups
        cluster = localdb.ensure_cluster()
        admin, template = cluster.conninfo(), cluster.url("postgres")
    else:
        admin, template = admin_conninfo(database_url), database_url
    name = f"cardumen_scratch_{secrets.token_hex(4)}"
    localdb.ensure_database(admin, name)
    try:
        yield make_url(template).set(database=name).render_as_string(hide_password=False)
    finally:
        localdb.drop_database(admin, name)


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names(schema="public"))
    finally:
        engine.dispose()


def _diffs(url: str) -> list[Any]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={
                "include_object": mig.include_object,
                "compare_type": True,
                "target_metadata": Base.metadata,
            })
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


def _scalar(url: str, sql: str) -> Any:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    with throwaway_database(database_url) as url:
        assert _tables(url) == POSTGIS_TABLES

        mig.upgrade(url)
        tables = _tables(url)
        assert tables >= EXPECTED_TABLES
        assert tables == EXPECTED_TABLES | POSTGIS_TABLES | {"alembic_version"}
        assert _scalar(url, "SELECT version_num FROM alembic_version") == \
            sorted(mig.head_revisions())[0]
        # The schema the migrations built is the one the models describe.
        assert _diffs(url) == []
        # Objects the models do not describe but the app relies on.
        assert _scalar(url, "SELECT count(*) FROM pg_trigger WHERE tgname = 'zone_pieces'") == 1
        assert _scalar(url, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%_touch_change'") == 9
        assert _scalar(url, "SELECT to_regclass('change_seq')::text") == "change_seq"
        assert _scalar(url, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%_immutable'") == 12
        # The forum's facets in every search vector of a thread (0015, 0016).
        assert _scalar(url, "SELECT count(*) FROM pg_trigger "
                            "WHERE tgname = 'forum_thread_facets'") == 1
        # Spanish without accents: what the marketplace's (and the forum's) search uses.
        assert _scalar(url, "SELECT cardumen_unaccent('Camarón Róbalo')") == "Camaron Robalo"
        # The forum's: Spanish stemming after unaccent, word families.
        assert _scalar(url, "SELECT to_tsvector('cardumen_es', 'Camarón')::text") == "'cam':1"
        assert _scalar(url, "SELECT cardumen_family('pescador')") == "pesc"


        mig.downgrade(url, "base")
        assert _tables(url) == POSTGIS_TABLES | {"alembic_version"}
        assert _scalar(url, "SELECT count(*) FROM alembic_version") == 0
        assert _scalar(url, "SELECT to_regclass('change_seq')") is None
        assert _scalar(url, "SELECT count(*) FROM pg_proc WHERE proname LIKE 'cardumen_%'") == 0
        assert _scalar(url, "SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%'") == 0
        assert _scalar(url, "SELECT count(*) FROM pg_type WHERE typname LIKE 'procrastinate%'") == 0
        assert _scalar(url, "SELECT count(*) FROM pg_statistic_ext "
                            "WHERE stxname = 'catch_month_species'") == 0

        mig.upgrade(url)
        assert _tables(url) == EXPECTED_TABLES | POSTGIS_TABLES | {"alembic_version"}
        assert _diffs(url) == []


def test_session_database_matches_the_models(database_url: str) -> None:
    """The database the other tests use is at head and equal to the models too."""
    assert _diffs(database_url) == []
    assert _scalar(database_url, "SELECT version_num FROM alembic_version") == \
        sorted(mig.head_revisions())[0]


def test_throwaway_database_is_dropped(database_url: str) -> None:
    with throwaway_database(database_url) as url:
        name = make_url(url).database
        assert _scalar(url, "SELECT current_database()") == name
    with psycopg.connect(admin_conninfo(database_url)) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert row is None
