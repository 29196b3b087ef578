"""Load SYNTHETIC demo data into the database, at any size, with COPY.

Every demo organization's name starts with ``[DEMO] `` (and has ``state``
set), every demo trip's notes say "Datos sintéticos de demostración", and
every demo member logs in with the password ``demo1234`` (one argon2 hash,
computed once per load, shared by all of them). The data are invented: see
:mod:`server.demo.generator`.

Writing: organizations, members, memberships, vessels and permits are
COPYed once; trips, landings and catches are generated and COPYed in chunks
of about 50,000 catches, so memory stays flat at millions of rows. Catches go
through a temporary staging table and then into ``catch`` with one
``INSERT ... SELECT`` per chunk that assigns ``fao_area``, ``zone_ids`` and
``quality_flags`` set-based, with the same rules as
``server.catches.services.enrich`` (one GiST probe per position into
``zone_piece``). That costs less than COPY into ``catch`` followed by an
UPDATE, which would write every row (and all six of its index entries) twice
and fire the change-feed trigger per row.

The loader does not commit: the caller does (``cardumen demo load``,
``cardumen up``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from psycopg import Cursor
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from server.catalog.models import Gear, Port, Species
from server.catalog.services import load_seed
from server.db import utcnow
from server.demo.generator import (
    CATCH_COLUMNS,
    DEMO_PREFIX,
    Catalog,
    DemoGenerator,
    LandingRow,
    MemberRow,
    MembershipRow,
    OrgRow,
    PermitRow,
    PortInfo,
    TripBundle,
    TripRow,
    VesselRow,
)
from server.members import tokens
from server.members.models import Member, Organization

SIZES = {"small": 20_000, "medium": 200_000, "large": 2_000_000}
CHUNK_CATCHES = 50_000
DEMO_PASSWORD = "demo1234"  # every demo member's password (log in with any demo phone)
STAGE = "demo_catch_stage"

_CATCH_COLUMNS = ", ".join(CATCH_COLUMNS)
_INSERT_CATCHES = f"""
    INSERT INTO catch ({_CATCH_COLUMNS}, version, fao_area, zone_ids, quality_flags)
    SELECT {", ".join("s." + c for c in CATCH_COLUMNS)}, 1, e.fao_area, e.zone_ids,
           array_remove(ARRAY[
               CASE WHEN s.received_at - s.caught_at > interval '30 days'
                    THEN 'received_late' END,
               CASE WHEN s.position IS NULL THEN 'no_position' END,
               CASE WHEN e.land AND NOT e.inland_water THEN 'on_land' END,
               CASE WHEN e.no_take THEN 'in_no_take_zone' END,
               CASE WHEN s.position IS NOT NULL AND e.fao_area IS NULL
                    THEN 'outside_fao_areas' END
           ]::varchar[], NULL)
      FROM {STAGE} s
      LEFT JOIN LATERAL (
          SELECT min(z.code) FILTER (WHERE z.kind = 'fao_area') AS fao_area,
                 coalesce(array_agg(DISTINCT z.id)
                          FILTER (WHERE z.kind NOT IN ('fao_area', 'land')), '{{}}') AS zone_ids,
                 coalesce(bool_or(z.kind = 'land'), false) AS land,
                 coalesce(bool_or(z.kind = 'inland_water'), false) AS inland_water,
                 coalesce(bool_or(z.kind = 'no_take'), false) AS no_take
            FROM zone_piece zp
            JOIN zone z ON z.id = zp.zone_id AND z.retired_at IS NULL
           WHERE ST_Intersects(zp.geom, s.position)
             AND (z.valid_from IS NULL OR z.valid_from <= (s.caught_at AT TIME ZONE 'UTC')::date)
             AND (z.valid_until IS NULL
                  OR z.valid_until >= (s.caught_at AT TIME ZONE 'UTC')::date)
      ) e ON true
"""


def parse_size(size: str | int) -> int:
    """``small``/``medium``/``large`` or a positive number of catches."""
    if isinstance(size, bool):
        raise ValueError(f"invalid demo size: {size!r}")
    if isinstance(size, int):
        n = size
    else:
        key = size.strip().lower()
        if key in SIZES:
            return SIZES[key]
        try:
            n = int(key)
        except ValueError:
            raise ValueError(f"invalid demo size {size!r}: use small, medium, large "
                             "or a positive number of catches") from None
    if n <= 0:
        raise ValueError(f"invalid demo size {size!r}: must be positive")
    return n


def already_loaded(sess: Session) -> bool:
    return bool(sess.scalar(select(exists().where(Organization.name.startswith(DEMO_PREFIX)))))


def read_catalog(sess: Session) -> Catalog:
    ports = tuple(
        PortInfo(r.id, r.name, r.state, r.coast, float(r.lon), float(r.lat))
        for r in sess.execute(
            select(Port.id, Port.name, Port.state, Port.coast,
                   func.ST_X(Port.geom).label("lon"), func.ST_Y(Port.geom).label("lat"))
            .where(Port.active, Port.coast.in_(("pacific", "atlantic")))
            .order_by(Port.name, Port.id)))
    species = {r.code: r.coasts for r in sess.execute(
        select(Species.code, Species.coasts).where(Species.active))}
    gear = frozenset(sess.scalars(select(Gear.code).where(Gear.active)))
    return Catalog(ports, species, gear)


def generator(sess: Session, size: str | int = "small", *, seed: int = 42) -> DemoGenerator:
    """The generator ``load`` uses, seeded and fed from this database's catalog."""
    if sess.scalar(select(func.count()).select_from(Species)) == 0:
        load_seed(sess)
    taken_phones = frozenset(sess.scalars(select(Member.phone)))
    taken_rnpa = frozenset(r for r in sess.scalars(select(Organization.rnpa)) if r)
    return DemoGenerator(read_catalog(sess), parse_size(size), now=utcnow(), seed=seed,
                         taken_phones=taken_phones, taken_rnpa=taken_rnpa)


def _copy(cur: Cursor[Any], table: str, columns: Sequence[str],
          rows: Iterable[Sequence[Any]]) -> int:
    n = 0
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def load(sess: Session, size: str | int = "small", *, progress: bool = False,
         seed: int = 42) -> dict[str, int]:
    """Generate and write demo data; return the rows written per table. Does not commit."""
    gen = generator(sess, size, seed=seed)
    password_hash = tokens.hash_password(DEMO_PASSWORD)
    counts = dict.fromkeys(("organization", "member", "membership", "vessel", "permit",
                            "trip", "landing", "catch", "consent"), 0)
    conn = sess.connection().connection.driver_connection
    assert conn is not None
    with conn.cursor() as cur:
        counts["organization"] = _copy(cur, "organization", OrgRow._fields, gen.orgs)
        counts["member"] = _copy(cur, "member", (*MemberRow._fields, "password_hash"),
                                 ((*m, password_hash) for m in gen.members))
        counts["membership"] = _copy(cur, "membership", MembershipRow._fields, gen.memberships)
        counts["vessel"] = _copy(cur, "vessel", VesselRow._fields, gen.vessels)
        counts["permit"] = _copy(cur, "permit", PermitRow._fields, gen.permits)

        cur.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")
        cur.execute(f"CREATE TEMP TABLE {STAGE} AS SELECT {_CATCH_COLUMNS} FROM catch WITH NO DATA")
        bar = tqdm(total=gen.size, desc="Capturas sintéticas de demostración", unit=" capturas",
                   unit_scale=True, disable=not progress)
        # One chunk is written (by a thread: the server's work and the socket release
        # the GIL) while the next one is generated; at most two chunks in memory.
        with bar, ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-copy") as pool:
            pending: Future[int] | None = None
            for chunk in _chunks(gen.trips(), CHUNK_CATCHES):
                if pending is not None:
                    bar.update(pending.result())
                pending = pool.submit(_write_chunk, cur, chunk, counts)
            if pending is not None:
                bar.update(pending.result())
        cur.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")
        counts["consent"] = _consents(cur, [o.id for o in gen.orgs])
        # Fresh statistics for the dashboards' plans (ANALYZE may run in a transaction).
        cur.execute("ANALYZE trip, landing, catch")
    return counts


# Most demo fishers consent to their cooperative's pooled statistics; some do not, so the
# cooperative dashboards show what leaving members out looks like. Chosen by a hash of
# the member id: the same members every time.
_DEMO_CONSENT = """
    WITH chosen AS (
        SELECT ms.member_id, ms.org_id FROM membership ms
        JOIN organization o ON o.id = ms.org_id AND o.kind = 'cooperative'
        WHERE ms.org_id = ANY(%s) AND ms.status = 'active' AND ms.role IN ('fisher', 'admin')
          AND ('x' || substr(md5(ms.member_id::text), 1, 4))::bit(16)::int %% 100 < 85),
    granted AS (
        INSERT INTO consent (member_id, purpose, recipient_org_id, granted)
        SELECT member_id, 'cooperative_statistics', org_id, true FROM chosen
        ON CONFLICT DO NOTHING RETURNING member_id, recipient_org_id)
    INSERT INTO consent_event (member_id, purpose, recipient_org_id, granted, note)
    SELECT member_id, 'cooperative_statistics', recipient_org_id, true, 'demo data'
    FROM granted
"""


def _consents(cur: Cursor[Any], org_ids: list[uuid.UUID]) -> int:
    cur.execute(_DEMO_CONSENT, (org_ids,))
    return cur.rowcount


def _chunks(bundles: Iterable[TripBundle], size: int) -> Iterator[list[TripBundle]]:
    """Whole trips, about ``size`` catches per list."""
    chunk: list[TripBundle] = []
    n = 0
    for bundle in bundles:
        chunk.append(bundle)
        n += len(bundle.catches)
        if n >= size:
            yield chunk
            chunk, n = [], 0
    if chunk:
        yield chunk


def _write_chunk(cur: Cursor[Any], chunk: list[TripBundle], counts: dict[str, int]) -> int:
    counts["trip"] += _copy(cur, "trip", TripRow._fields, (b.trip for b in chunk))
    counts["landing"] += _copy(cur, "landing", LandingRow._fields, (b.landing for b in chunk))
    _copy(cur, STAGE, CATCH_COLUMNS, (c for b in chunk for c in b.catches))
    cur.execute(_INSERT_CATCHES)
    written = cur.rowcount
    counts["catch"] += written
    cur.execute(f"TRUNCATE {STAGE}")
    return written
