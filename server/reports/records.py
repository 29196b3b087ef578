"""Plain ``CatchRecord``s for exporters, streamed from a server-side cursor.

The run's selection (catch id, version, action) sits in a temporary table; one
query joins it with the logbook and the catalog and yields records ordered by
``(trip_id, catch_id)``, so exporters group notices in one pass, in constant
memory, whatever the number of rows.

The dataset exporters are measured against PostgreSQL's COPY of the same text
(bench/exports.py), so ``stream`` keeps the Python side lean: it reads the
cursor with psycopg itself (no SQLAlchemy row objects), fetches the next batch
in a thread while the exporter works on the current one (so the database keeps
computing, where plain FETCHes would leave it idle half the time), builds each
record positionally, and reads the rows with the session's TimeZone set to UTC,
so times arrive with ``datetime.UTC`` and need no conversion to be written.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from exports.records import Action, CatchRecord

SELECTION_TABLE = "_report_selection"

CREATE_SELECTION = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {SELECTION_TABLE} (
    catch_id uuid NOT NULL,
    version int NOT NULL,        -- the version the item names
    data_version int NOT NULL,   -- the version whose content the file shows
    action text NOT NULL,
    refers_to uuid,
    PRIMARY KEY (catch_id)
) ON COMMIT DROP
"""


def fill_selection(sess: Session, rows: Sequence[tuple[uuid.UUID, int, int, str, uuid.UUID | None]]
                   ) -> None:
    sess.execute(text(CREATE_SELECTION))
    sess.execute(text(f"TRUNCATE {SELECTION_TABLE}"))
    if not rows:
        return
    ids, versions, data_versions, actions, refers = (list(col) for col in zip(*rows, strict=True))
    sess.execute(text(f"""
        INSERT INTO {SELECTION_TABLE}
        SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:v AS int[]), CAST(:dv AS int[]),
                             CAST(:a AS text[]), CAST(:r AS uuid[]))
    """), {"ids": ids, "v": versions, "dv": data_versions, "a": actions, "r": refers})
    sess.execute(text(f"ANALYZE {SELECTION_TABLE}"))


RECORDS_SQL = f"""
WITH rev AS (
    -- How many earlier runs of this subscription carried each trip: a landing
    -- notice re-issued for the n-th time gets folio suffix -Rn.
    SELECT c2.trip_id, count(DISTINCT i.run_id)::int AS n
    FROM report_run_item i
    JOIN report_run r2 ON r2.id = i.run_id
    JOIN catch c2 ON c2.org_id = i.org_id AND c2.id = i.catch_id AND c2.version = i.catch_version
    WHERE i.subscription_id = :sub AND i.org_id = :org AND :amendment AND r2.created_at < :as_of
      AND c2.trip_id IN (SELECT c3.trip_id FROM {SELECTION_TABLE} s3
                         JOIN catch c3 ON c3.org_id = :org AND c3.id = s3.catch_id
                                      AND c3.version = s3.data_version)
    GROUP BY c2.trip_id
)
SELECT c.id::text, sel.version, sel.action, sel.refers_to::text,
       c.org_id::text, o.name, o.rnpa, o.state, o.office_key,
       t.vessel_id::text, v.name, v.registration, v.rnp, pm.number,
       c.trip_id::text, t.departed_at, t.returned_at,
       coalesce(pt.conapesca_key, pt.code), pt.name, l.landed_at,
       c.species_code, sp.conapesca_key, sp.name_es, sp.name_en, sp.scientific_name,
       g.code, g.isscfg_code,
       c.landed_kg, c.live_kg, c.count, c.presentation, c.disposition, c.unit_price, c.currency,
       c.caught_at, ST_X(c.position), ST_Y(c.position), c.fao_area, zn.code, zn.name,
       c.quality_flags, sel.action = 'cancellation', coalesce(rev.n, 0)
FROM {SELECTION_TABLE} sel
JOIN catch c ON c.org_id = :org AND c.id = sel.catch_id AND c.version = sel.data_version
JOIN trip t ON t.org_id = c.org_id AND t.id = c.trip_id
JOIN organization o ON o.id = c.org_id
JOIN species sp ON sp.code = c.species_code
LEFT JOIN landing l ON l.org_id = t.org_id AND l.trip_id = t.id
LEFT JOIN port pt ON pt.id = coalesce(l.port_id, t.return_port_id)
LEFT JOIN vessel v ON v.org_id = t.org_id AND v.id = t.vessel_id
LEFT JOIN gear g ON g.code = coalesce(c.gear_code, t.gear_code)
LEFT JOIN rev ON rev.trip_id = c.trip_id
LEFT JOIN LATERAL (
    -- The permit that covers this catch: the vessel's before a cooperative-wide
    -- one, for this species (or any), valid on the day.
    SELECT p.number FROM permit p
    WHERE p.org_id = c.org_id AND (p.vessel_id IS NULL OR p.vessel_id = t.vessel_id)
      AND (cardinality(p.species_codes) = 0 OR c.species_code = ANY(p.species_codes))
      AND (c.caught_at AT TIME ZONE :tz)::date BETWEEN p.valid_from AND p.valid_until
    ORDER BY p.vessel_id NULLS LAST, p.number LIMIT 1) pm ON true
LEFT JOIN LATERAL (
    -- The catch place: the fishing zone (else concession) holding the position.
    SELECT z.code, z.name FROM zone z
    WHERE z.id = ANY(c.zone_ids) AND z.kind IN ('fishing_zone', 'concession')
    ORDER BY z.kind DESC, z.code LIMIT 1) zn ON true
ORDER BY c.trip_id, c.id
"""


# RECORDS_SQL's select list, in order: CatchRecord's fields, which _record fills by position.
_COLUMNS = (
    "catch_id", "version", "action", "refers_to_run", "org_id", "org_name", "rnpa", "state",
    "office_key", "vessel_id", "vessel_name", "vessel_registration", "vessel_rnp",
    "permit_number", "trip_id", "departed_at", "returned_at", "landing_port_key",
    "landing_port_name", "landed_at", "species_code", "species_key", "species_name_es",
    "species_name_en", "scientific_name", "gear_code", "isscfg_code", "landed_kg", "live_kg",
    "count", "presentation", "disposition", "unit_price", "currency", "caught_at", "lon", "lat",
    "fao_area", "catch_place_key", "catch_place_name", "quality_flags", "cancelled",
    "notice_revision",
)
if tuple(f.name for f in fields(CatchRecord)) != _COLUMNS:  # pragma: no cover - a wrong edit
    raise RuntimeError("CatchRecord's fields no longer follow RECORDS_SQL's select list")

# The same query with psycopg's placeholders (stream runs it on the psycopg connection).
_PARAMS = {"sub", "org", "tz", "amendment", "as_of"}
_PLACEHOLDER = re.compile(r"(?<![:\w]):(\w+)")
assert "%" not in RECORDS_SQL and set(_PLACEHOLDER.findall(RECORDS_SQL)) == _PARAMS
_RECORDS_PG = _PLACEHOLDER.sub(r"%(\1)s", RECORDS_SQL)

# A dict look-up, not Action(value): calling an enum class goes through Python-level code.
_ACTIONS = {a.value: a for a in Action}


def _record(r: Sequence[Any]) -> CatchRecord:
    # Positional: 43 keyword arguments cost more to bind than the row costs to write.
    return CatchRecord(
        r[0], r[1], _ACTIONS[r[2]], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
        r[13], r[14], r[15], r[16], r[17], r[18], r[19], r[20], r[21], r[22], r[23], r[24], r[25],
        r[26], r[27], r[28], r[29], r[30], r[31], r[32], r[33], r[34], r[35], r[36], r[37], r[38],
        r[39], tuple(r[40] or ()), r[41], r[42])


def stream(sess: Session, *, subscription_id: uuid.UUID, org_id: uuid.UUID, timezone: str,
           amendment: bool, as_of: datetime, batch: int = 5000) -> Iterator[CatchRecord]:
    """``as_of``: the run's creation time; earlier runs count for notice revisions.

    Runs in the session's transaction, which must stay open (and unused) until
    the iterator is exhausted. Read to the end, the stream closes its cursor and
    puts the session's TimeZone back; abandoned, it leaves both to the end of the
    transaction (a rollback or commit closes the cursor and undoes the SET LOCAL),
    and never touches the connection again after the batch in flight."""
    conn = sess.connection().connection.driver_connection
    if not isinstance(conn, psycopg.Connection):  # pragma: no cover - the engine is psycopg's
        raise TypeError(f"records.stream needs a psycopg connection, not {type(conn)!r}")
    zone = conn.info.parameter_status("TimeZone") or "UTC"
    # psycopg gives times the connection's zone; with UTC that is datetime.UTC itself.
    conn.execute("SET LOCAL TIME ZONE 'UTC'")
    cur = conn.cursor(name=f"records_{uuid.uuid4().hex}")
    cur.execute(_RECORDS_PG, {"sub": subscription_id, "org": org_id, "tz": timezone,
                              "amendment": amendment, "as_of": as_of})
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="records-fetch") as pool:
        # psycopg's connection lock serializes this thread's FETCH with anything else
        # on the connection, and the next FETCH is only asked for once a batch is taken.
        pending = pool.submit(cur.fetchmany, batch)
        while rows := pending.result():
            pending = pool.submit(cur.fetchmany, batch)
            for row in rows:
                yield _record(row)
    cur.close()
    conn.execute("SELECT set_config('TimeZone', %s, true)", [zone])


def selection_of_run(sess: Session, run_id: uuid.UUID) -> list[tuple[uuid.UUID, int, int, str,
                                                                      uuid.UUID | None]]:
    """A stored run's selection, to make its files again: a cancellation shows the
    version its referred run carried."""
    rows = sess.execute(text("""
        SELECT i.catch_id, i.catch_version,
               CASE WHEN i.action = 'cancellation' THEN coalesce((
                   SELECT p.catch_version FROM report_run_item p
                   WHERE p.run_id = i.refers_to_run_id AND p.org_id = i.org_id
                     AND p.catch_id = i.catch_id AND p.action <> 'cancellation'
                   ORDER BY p.catch_version DESC LIMIT 1), i.catch_version)
               ELSE i.catch_version END,
               i.action, i.refers_to_run_id
        FROM report_run_item i WHERE i.run_id = :run
    """), {"run": run_id}).all()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
