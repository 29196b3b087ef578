"""Plain ``CatchRecord``s for exporters, streamed from a server-side cursor.

The run's selection (catch id, version, action) sits in a temporary table; one
query joins it with the logbook and the catalog and yields records ordered by
``(trip_id, catch_id)``, so exporters group notices in one pass, in constant
memory, whatever the number of rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

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


def _record(r: Sequence[Any]) -> CatchRecord:
    return CatchRecord(
        catch_id=r[0], version=r[1], action=Action(r[2]), refers_to_run=r[3],
        org_id=r[4], org_name=r[5], rnpa=r[6], state=r[7], office_key=r[8],
        vessel_id=r[9], vessel_name=r[10], vessel_registration=r[11], vessel_rnp=r[12],
        permit_number=r[13], trip_id=r[14], departed_at=r[15], returned_at=r[16],
        landing_port_key=r[17], landing_port_name=r[18], landed_at=r[19],
        species_code=r[20], species_key=r[21], species_name_es=r[22], species_name_en=r[23],
        scientific_name=r[24], gear_code=r[25], isscfg_code=r[26], landed_kg=r[27],
        live_kg=r[28], count=r[29], presentation=r[30], disposition=r[31], unit_price=r[32],
        currency=r[33], caught_at=r[34], lon=r[35], lat=r[36], fao_area=r[37],
        catch_place_key=r[38], catch_place_name=r[39], quality_flags=tuple(r[40] or ()),
        cancelled=r[41], notice_revision=r[42])


def stream(sess: Session, *, subscription_id: uuid.UUID, org_id: uuid.UUID, timezone: str,
           amendment: bool, as_of: datetime, batch: int = 5000) -> Iterator[CatchRecord]:
    """``as_of``: the run's creation time; earlier runs count for notice revisions."""
    result = sess.execute(
        text(RECORDS_SQL).execution_options(yield_per=batch),
        {"sub": subscription_id, "org": org_id, "tz": timezone, "amendment": amendment,
         "as_of": as_of})
    for row in result:
        yield _record(row)


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
