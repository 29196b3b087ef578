"""Citus readiness (docs: tenant tables are distributed by org_id).

On a distributed table every primary key and every unique constraint or index
must contain the distribution column, and a foreign key between two
distributed tables must include it on both sides. The rules are read from the
real database's catalog (pg_constraint, pg_index, information_schema), not
from the models, so a hand-written migration cannot slip past them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

TENANT_KEY = "org_id"
# The large, per-organization tables: listed by hand so that one losing org_id
# (and so dropping out of any discovered list) fails here.
LARGE_TABLES = ("trip", "catch", "landing", "vessel", "permit", "trip_revision", "listing",
                "market_order")
# Shared by every organization (Citus reference tables): no org_id.
REFERENCE_TABLES = ("member", "species", "gear", "port", "zone")


@dataclass(frozen=True)
class Constraint:
    table: str
    name: str
    kind: str  # p, u, f, x
    columns: tuple[str, ...]
    ref_table: str | None
    ref_columns: tuple[str, ...]


@pytest.fixture
def conn(app: Flask) -> Iterator[Connection]:
    with app.extensions["cardumen.engine"].connect() as c:
        yield c


def _columns(conn: Connection, table: str) -> set[str]:
    rows = conn.execute(text(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = :t"), {"t": table}).scalars()
    return set(rows)


def _tenant_tables(conn: Connection) -> set[str]:
    rows = conn.execute(text(
        "SELECT c.table_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = 'public' AND c.column_name = :k "
        "AND t.table_type = 'BASE TABLE'"), {"k": TENANT_KEY}).scalars()
    return set(rows)


def _constraints(conn: Connection, table: str) -> list[Constraint]:
    rows = conn.execute(text("""
        SELECT con.conname, con.contype, rel.relname AS ref_table,
               ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                     ORDER BY k.i) AS cols,
               ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
                     ORDER BY k.i) AS ref_cols
        FROM pg_constraint con
        LEFT JOIN pg_class rel ON rel.oid = con.confrelid
        WHERE con.conrelid = ('public.' || quote_ident(:t))::regclass
          AND con.contype IN ('p', 'u', 'f', 'x')
        ORDER BY con.conname
    """), {"t": table}).all()
    return [Constraint(table, r.conname, r.contype, tuple(r.cols), r.ref_table,
                       tuple(r.ref_cols or ())) for r in rows]


def _unique_indexes(conn: Connection, table: str) -> dict[str, tuple[str | None, ...]]:
    """Every unique index (constraint-backed or not, partial or not), its key
    columns in order; ``None`` for an expression."""
    rows = conn.execute(text("""
        SELECT ic.relname AS name,
               ARRAY(SELECT a.attname FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(n, i)
                     LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n
                     WHERE k.i <= ix.indnkeyatts ORDER BY k.i) AS cols
        FROM pg_index ix JOIN pg_class ic ON ic.oid = ix.indexrelid
        WHERE ix.indrelid = ('public.' || quote_ident(:t))::regclass AND ix.indisunique
        ORDER BY ic.relname
    """), {"t": table}).all()
    return {r.name: tuple(r.cols) for r in rows}


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize("table", LARGE_TABLES)
def test_large_table_has_org_id(conn: Connection, table: str) -> None:
    assert TENANT_KEY in _columns(conn, table), f"{table} lost its {TENANT_KEY}"
    nullable = conn.execute(text(
        "SELECT is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = :t AND column_name = :k"),
        {"t": table, "k": TENANT_KEY}).scalar_one()
    assert nullable == "NO", f"{table}.{TENANT_KEY} must be NOT NULL"


def test_large_tables_are_all_tenant_tables(conn: Connection) -> None:
    tenants = _tenant_tables(conn)
    assert set(LARGE_TABLES) <= tenants
    assert not set(REFERENCE_TABLES) & tenants


def _checked_tables(conn: Connection) -> list[str]:
    # The listed large tables, plus any other table that carries org_id.
    return sorted(set(LARGE_TABLES) | _tenant_tables(conn))


def test_primary_keys_include_org_id(conn: Connection) -> None:
    problems = []
    for table in _checked_tables(conn):
        pks = [c for c in _constraints(conn, table) if c.kind == "p"]
        if len(pks) != 1:
            problems.append(f"{table}: {len(pks)} primary keys")
        elif TENANT_KEY not in pks[0].columns:
            problems.append(f"{table}: primary key {pks[0].columns}")
    assert problems == []


def test_unique_constraints_and_indexes_include_org_id(conn: Connection) -> None:
    problems = []
    for table in _checked_tables(conn):
        for c in _constraints(conn, table):
            if c.kind in ("u", "x") and TENANT_KEY not in c.columns:
                problems.append(f"{table}.{c.name} {c.columns}")
        for name, cols in _unique_indexes(conn, table).items():
            if TENANT_KEY not in cols:
                problems.append(f"{table}.{name} {cols}")
    assert problems == []


def test_foreign_keys_between_tenant_tables_include_org_id(conn: Connection) -> None:
    tenants = _tenant_tables(conn) | {"organization"}
    problems = []
    for table in _checked_tables(conn):
        for c in _constraints(conn, table):
            if c.kind != "f" or c.ref_table not in tenants:
                continue
            if c.ref_table == "organization":
                ok = c.columns == (TENANT_KEY,) and c.ref_columns == ("id",)
            else:
                # org_id on both sides, at the same position.
                ok = TENANT_KEY in c.columns and \
                    c.ref_columns[c.columns.index(TENANT_KEY)] == TENANT_KEY
            if not ok:
                problems.append(f"{table}.{c.name} {c.columns} -> {c.ref_table}{c.ref_columns}")
    assert problems == []


def test_reference_tables_do_not_point_at_tenant_tables(conn: Connection) -> None:
    """Citus cannot keep a foreign key from a reference table to a distributed one."""
    tenants = _tenant_tables(conn)
    problems = [f"{t}.{c.name} -> {c.ref_table}"
                for t in REFERENCE_TABLES for c in _constraints(conn, t)
                if c.kind == "f" and c.ref_table in tenants]
    assert problems == []


# --------------------------------------------------------------------------- the catalog read is right


def test_catalog_queries_see_the_known_keys(conn: Connection) -> None:
    """Guards the queries above: if they returned nothing, every rule would pass."""
    catch = {c.name: c for c in _constraints(conn, "catch")}
    assert catch["pk_catch"].columns == ("org_id", "id", "version")
    assert catch["fk_catch_org_id_trip"].columns == ("org_id", "trip_id")
    assert catch["fk_catch_org_id_trip"].ref_table == "trip"
    assert catch["fk_catch_org_id_trip"].ref_columns == ("org_id", "id")
    assert catch["fk_catch_species_code_species"].ref_table == "species"
    # A partial unique index, not a constraint: only pg_index shows it.
    assert _unique_indexes(conn, "catch")["uq_catch_current"] == ("org_id", "id")
    assert _unique_indexes(conn, "vessel")["uq_vessel_org_id"] == ("org_id", "registration")
    assert [c.columns for c in _constraints(conn, "trip_revision") if c.kind == "p"] == \
        [("org_id", "trip_id", "version")]
    # A reference table's unique key without org_id is seen (and allowed there).
    assert _unique_indexes(conn, "member")["uq_member_phone"] == ("phone",)


def test_rules_catch_a_violation(db: Session) -> None:
    """The same checks flag a table that breaks the rule (built and rolled back)."""
    conn = db.connection()
    conn.execute(text("CREATE TABLE zz_bad (org_id uuid NOT NULL, id uuid PRIMARY KEY, "
                      "trip_id uuid, code text UNIQUE, "
                      "FOREIGN KEY (org_id, trip_id) REFERENCES trip (org_id, id))"))
    conn.execute(text("ALTER TABLE zz_bad ADD CONSTRAINT zz_bad_trip "
                      "FOREIGN KEY (trip_id, org_id) REFERENCES trip (org_id, id)"))
    try:
        cons = _constraints(conn, "zz_bad")
        pk = next(c for c in cons if c.kind == "p")
        assert TENANT_KEY not in pk.columns
        assert ("code",) in _unique_indexes(conn, "zz_bad").values()
        swapped = next(c for c in cons if c.name == "zz_bad_trip")
        assert swapped.ref_columns[swapped.columns.index(TENANT_KEY)] != TENANT_KEY
        assert "zz_bad" in _tenant_tables(conn)
    finally:
        db.rollback()
