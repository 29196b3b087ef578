"""Dataset exports (CSV, GeoJSON text sequence) against PostgreSQL's COPY writing the same text.

    .venv/bin/python bench/exports.py --catches 1000000 --memory-check
    .venv/bin/python bench/exports.py --catches 100000              # quick run

One throwaway database, one cooperative holding all ``--catches`` catches (the demo
loader, with its cooperative count pinned to one), one report selection of every
current catch of it (the server's ``_report_selection`` temporary table). Per format:

  E   the project: ``records.stream`` (the server's query on a server-side cursor)
      into the exporter (``dataset_csv`` or ``dataset_geojsonseq``), which writes its
      catches file and its trips file to the sink.
  C   the baseline: ``COPY (SELECT <the exporter's columns, formatted in SQL> FROM
      (<the server's query>)) TO STDOUT``, blocks read through psycopg and written to
      the same kind of sink; then the same for the trips file (Ct).

Target (the issue): catches/s of E >= 0.5 x rows/s of C. Each exporter run is a fresh
subprocess that reports its peak RSS (VmHWM) and, in a second run, the peak of
Python allocations (tracemalloc); ``--memory-check`` repeats both on a tenth of the
selection so the two sizes show whether memory stays flat. The script exits 0
either way: it is a measurement. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import gc
import io
import json
import os
import pstats
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO
from unittest import mock

if __package__:
    from bench import _common as common
else:  # run as a script: bench/ is sys.path[0]
    import _common as common

    # The repository first: this file's own name would shadow the ``exports`` package.
    sys.path.insert(0, str(common.ROOT))

TARGET = 0.5
TIMEZONE = "America/Mazatlan"
MIB = 1024 * 1024
# format key -> (exporter name, catches file, trips file)
FORMATS = {
    "csv": ("dataset_csv", "catches.csv", "trips.csv"),
    "geojsonseq": ("dataset_geojsonseq", "catches.geojsons", "trips.geojsons"),
}
# The demo loader writes permits per vessel; one cooperative with 1M catches has ~500
# vessels and ~3000 permits, and the records query's permit look-up scans all of an
# organization's permits for every catch (permit has no index on vessel_id).
# --- the baseline's SQL ----------------------------------------------------------------

def _record_columns() -> list[str]:
    """RECORDS_SQL's select list, named like CatchRecord's fields (records._record maps
    them by position in this same order)."""
    from exports.records import CatchRecord

    return [f.name for f in dataclasses.fields(CatchRecord)]


def _utc(col: str) -> str:
    """utc_iso() in SQL: ISO 8601 UTC with a Z, microseconds only when there are some."""
    at = f"({col} AT TIME ZONE 'UTC')"
    return (f"CASE WHEN date_trunc('second', {col}) = {col} "
            f"""THEN to_char({at}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') """
            f"""ELSE to_char({at}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END""")


_NOT_CANCELLED = "NOT (r.cancelled OR r.action = 'cancellation')"  # is_cancelled()
_VESSEL = "coalesce(nullif(r.vessel_rnp, ''), r.vessel_registration)"  # rnp or registration


def _csv_catch_exprs() -> dict[str, str]:
    """CSV_CATCH_COLUMNS as SQL. COPY's CSV writes an empty string as "" where the csv
    module writes nothing, hence nullif(..., '') on text."""
    def t(e: str) -> str:
        return f"nullif({e}, '')"

    return {
        "catch_id": "r.catch_id", "version": "r.version", "action": "r.action",
        "refers_to_run": "r.refers_to_run", "org_id": "r.org_id", "rnpa": t("r.rnpa"),
        "trip_id": "r.trip_id", "vessel": t(_VESSEL), "species_code": t("r.species_code"),
        "species_key": t("r.species_key"), "scientific_name": t("r.scientific_name"),
        "gear_code": t("r.gear_code"), "landed_kg": "round(r.landed_kg, 3)",
        "live_kg": "round(r.live_kg, 3)", "count": "r.count",
        "presentation": t("r.presentation"), "disposition": t("r.disposition"),
        "unit_price": "round(r.unit_price, 2)", "currency": t("r.currency"),
        "value": "round(r.landed_kg * r.unit_price, 2)", "caught_at": _utc("r.caught_at"),
        "lon": "r.lon", "lat": "r.lat", "fao_area": t("r.fao_area"),
        "catch_place_key": t("r.catch_place_key"),
        "quality_flags": t("array_to_string(r.quality_flags, ';')"),
        "cancelled": "CASE WHEN r.cancelled THEN 'true' ELSE 'false' END",
    }


def _json_catch_props() -> dict[str, str]:
    return {
        "catch_id": "r.catch_id", "version": "r.version", "action": "r.action",
        "refers_to_run": "r.refers_to_run", "org_id": "r.org_id", "rnpa": "r.rnpa",
        "trip_id": "r.trip_id", "vessel": _VESSEL, "species_code": "r.species_code",
        "species_key": "r.species_key", "scientific_name": "r.scientific_name",
        "gear_code": "r.gear_code", "landed_kg": "round(r.landed_kg, 3)",
        "live_kg": "round(r.live_kg, 3)", "count": "r.count", "presentation": "r.presentation",
        "disposition": "r.disposition", "unit_price": "round(r.unit_price, 2)",
        "currency": "r.currency", "value": "round(r.landed_kg * r.unit_price, 2)",
        "caught_at": _utc("r.caught_at"), "fao_area": "r.fao_area",
        "catch_place_key": "r.catch_place_key",
        "quality_flags": "coalesce(array_to_string(r.quality_flags, ';'), '')",
        "cancelled": "r.cancelled",
    }


_TRIP_KEYS = {  # what Trip.values() takes from the trip's first record
    "trip_id": "r.trip_id", "org_id": "r.org_id", "vessel": _VESSEL,
    "departed_at": _utc("r.departed_at"), "returned_at": _utc("r.returned_at"),
    "landing_port_key": "r.landing_port_key", "landing_port_name": "r.landing_port_name",
    "landed_at": _utc("r.landed_at"),
}
_TRIP_TOTALS = {
    "catches": f"count(*) FILTER (WHERE {_NOT_CANCELLED})",
    "landed_kg": f"round(coalesce(sum(r.landed_kg) FILTER (WHERE {_NOT_CANCELLED}), 0), 3)",
}


def _json_object(pairs: dict[str, str]) -> str:
    return "json_build_object(" + ", ".join(f"'{k}', {v}" for k, v in pairs.items()) + ")"


def records_from() -> str:
    """The server's records query as a derived table ``r`` with CatchRecord's field
    names, its :name parameters turned into psycopg's %(name)s (client-side binding,
    as COPY takes no server-side parameters)."""
    from server.reports.records import RECORDS_SQL

    assert "%" not in RECORDS_SQL
    query = re.sub(r"(?<![:\w]):(sub|org|tz|amendment|as_of)\b", r"%(\1)s", RECORDS_SQL)
    cols = ", ".join(f'"{c}"' for c in _record_columns())
    return f"({query}) AS r({cols})"


def copy_sql(fmt: str, part: str) -> str:
    """The COPY statement writing ``fmt``'s catches or trips file."""
    from exports.formats._dataset import CSV_CATCH_COLUMNS, TRIP_COLUMNS

    src = records_from()
    trip_group = ("r.trip_id, r.org_id, r.vessel_rnp, r.vessel_registration, r.departed_at, "
                  "r.returned_at, r.landing_port_key, r.landing_port_name, r.landed_at")
    order = "ORDER BY r.trip_id::uuid"  # the stream's order: c.trip_id (uuid), c.id
    if fmt == "csv" and part == "catches":
        exprs = _csv_catch_exprs()
        if tuple(exprs) != CSV_CATCH_COLUMNS:
            raise RuntimeError("bench/exports.py is out of date with CSV_CATCH_COLUMNS")
        select = ", ".join(f'{e} AS "{c}"' for c, e in exprs.items())
        return f"COPY (SELECT {select} FROM {src}) TO STDOUT WITH (FORMAT csv, HEADER)"
    if fmt == "csv":
        exprs = {**{k: f"nullif({v}, '')" for k, v in _TRIP_KEYS.items()}, **_TRIP_TOTALS}
        if tuple(exprs) != TRIP_COLUMNS:
            raise RuntimeError("bench/exports.py is out of date with TRIP_COLUMNS")
        select = ", ".join(f'{e} AS "{c}"' for c, e in exprs.items())
        return (f"COPY (SELECT {select} FROM {src} GROUP BY {trip_group} {order}) "
                "TO STDOUT WITH (FORMAT csv, HEADER)")
    # GeoJSON text sequence: RS + the Feature + LF per line. In CSV mode with a quote and a
    # delimiter that JSON never holds unescaped, COPY writes the text as it is.
    raw = r"WITH (FORMAT csv, QUOTE e'\x01', DELIMITER e'\x02')"
    if part == "catches":
        geometry = ("CASE WHEN r.lon IS NULL OR r.lat IS NULL THEN NULL::json ELSE "
                    "json_build_object('type', 'Point', 'coordinates', "
                    "json_build_array(r.lon, r.lat)) END")
        feature = _json_object({"type": "'Feature'", "id": "r.catch_id", "geometry": geometry,
                                "properties": _json_object(_json_catch_props())})
        return f"COPY (SELECT chr(30) || {feature}::text FROM {src}) TO STDOUT {raw}"
    props = _json_object({**_TRIP_KEYS, **_TRIP_TOTALS})
    feature = _json_object({"type": "'Feature'", "id": "r.trip_id", "geometry": "NULL::json",
                            "properties": props})
    return (f"COPY (SELECT chr(30) || {feature}::text FROM {src} GROUP BY {trip_group} {order}) "
            f"TO STDOUT {raw}")


# --- sinks -----------------------------------------------------------------------------

class _Discard(io.RawIOBase):
    def __init__(self, sizes: dict[str, int], name: str) -> None:
        super().__init__()
        self.sizes, self.name_ = sizes, name
        sizes[name] = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        n = len(memoryview(data).cast("B"))
        self.sizes[self.name_] += n
        return n


class NullSink:
    """Counts the bytes and keeps none of them."""

    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}

    def open(self, name: str, media_type: str) -> BinaryIO:
        return _Discard(self.sizes, name)  # type: ignore[return-value]


class PhaseSink:
    """``store``: the server's sink (generate.StoreSink over a LocalStore: SHA-256 while
    writing, fsync and link on close); ``file``: exports.sinks.DirectorySink (plain
    files); ``null``: discard."""

    def __init__(self, kind: str, out: Path, tag: str) -> None:
        self.kind = kind
        self.sink: Any
        if kind == "store":
            from exports.storage import LocalStore
            from server.reports.generate import StoreSink

            self.root = out / "store"
            self.sink = StoreSink(LocalStore(self.root), f"runs/bench/{tag}")
        elif kind == "file":
            from exports.sinks import DirectorySink

            self.root = out / tag
            self.sink = DirectorySink(self.root)
        else:
            self.root = out
            self.sink = NullSink()

    def open(self, name: str, media_type: str) -> BinaryIO:
        stream: BinaryIO = self.sink.open(name, media_type)
        return stream

    def files(self) -> dict[str, dict[str, Any]]:
        if self.kind == "store":
            return {n: {"path": str(self.root / a.key), "bytes": a.size}
                    for n, _, a in self.sink.files}
        if self.kind == "file":
            return {n: {"path": str(self.root / n), "bytes": (self.root / n).stat().st_size}
                    for n in self.sink.media_types}
        return {n: {"path": None, "bytes": b} for n, b in self.sink.sizes.items()}


# --- one phase, in a fresh process -----------------------------------------------------

def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_hwm() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0), so the peak read
    afterwards belongs to the export, not to imports and setup."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def make_selection(sess: Any, org_id: uuid.UUID, limit: int | None) -> int:
    """The server's selection table (records.fill_selection), filled in SQL with every
    current catch of ``org_id`` (the first ``limit`` in stream order), so no Python list
    of a million ids sits in the process whose memory is measured."""
    from sqlalchemy import text

    from server.reports import records

    records.fill_selection(sess, [])  # CREATE TEMPORARY TABLE ... ON COMMIT DROP; TRUNCATE
    n = sess.execute(text(f"""
        INSERT INTO {records.SELECTION_TABLE} (catch_id, version, data_version, action)
        SELECT id, version, version, 'original' FROM catch
        WHERE org_id = :org AND superseded_at IS NULL
        ORDER BY trip_id, id LIMIT :n
    """), {"org": org_id, "n": limit}).rowcount
    sess.execute(text(f"ANALYZE {records.SELECTION_TABLE}"))
    return int(n)


def _context(fmt_name: str, sub: uuid.UUID) -> Any:
    from exports.records import ExportContext

    return ExportContext(
        run_id=str(uuid.uuid4()), subscription_id=str(sub), format_name=fmt_name,
        authority_name="Bench", authority_office_key=None, period_start=date(2020, 1, 1),
        period_end=date(2030, 1, 1), timezone=TIMEZONE, purpose="original", sequence=1,
        generator_version="cardumen bench")


def run_phase(spec: dict[str, Any]) -> dict[str, Any]:
    """One timed phase (``kind`` export or copy) in this process; a JSON-able result."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from exports import base as registry
    from server.db import make_engine
    from server.reports import records

    fmt, kind = spec["format"], spec["kind"]
    exporter_name, catches_file, trips_file = FORMATS[fmt]
    org_id, sub = uuid.UUID(spec["org"]), uuid.UUID(spec["sub"])
    as_of = datetime.fromisoformat(spec["as_of"])
    params = {"sub": sub, "org": org_id, "tz": TIMEZONE, "amendment": False, "as_of": as_of}
    engine = make_engine(spec["url"], 1)
    out: dict[str, Any] = {}
    with Session(engine) as sess:
        out["selection"] = make_selection(sess, org_id, spec["limit"])
        backend = int(sess.execute(text("SELECT pg_backend_pid()")).scalar_one())
        sink = PhaseSink(spec["sink"], Path(spec["out"]), spec["tag"])
        exporter = registry.get(exporter_name)() if kind == "export" else None
        sql = copy_sql(fmt, spec["part"]) if kind == "copy" else ""
        prof = cProfile.Profile() if spec.get("profile") else None
        gc.collect()
        out["rss_start_mib"] = _status_kb("VmRSS") / 1024
        out["hwm_reset"] = _reset_hwm()
        if spec.get("trace"):
            tracemalloc.start()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        pg0, busy0 = common.cpu_seconds(backend), common.machine_busy_seconds()
        t0 = time.perf_counter()
        if prof is not None:
            prof.enable()
        if exporter is not None:
            stats = exporter.write(records.stream(sess, subscription_id=sub, org_id=org_id,
                                                  timezone=TIMEZONE, amendment=False,
                                                  as_of=as_of),
                                   sink, _context(exporter_name, sub))
            out["rows"], out["trips"] = stats.rows[catches_file], stats.rows[trips_file]
        else:
            conn = sess.connection().connection.driver_connection
            assert conn is not None
            # A server-side cursor never runs a parallel plan; neither does the baseline.
            conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            name = catches_file if spec["part"] == "catches" else trips_file
            with conn.cursor() as cur:
                with sink.open(name, "text/plain") as f, cur.copy(sql, params) as copy:
                    for block in copy:
                        f.write(block)
                out["rows"] = cur.rowcount
        if prof is not None:
            prof.disable()
        out["seconds"] = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        out["cpu_client"] = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
        out["cpu_pg"] = common.cpu_seconds(backend) - pg0
        out["cpu_other"] = max(0.0, common.machine_busy_seconds() - busy0
                               - out["cpu_client"] - out["cpu_pg"])
        if spec.get("trace"):
            out["trace_peak_mib"] = tracemalloc.get_traced_memory()[1] / MIB
            tracemalloc.stop()
        out["hwm_mib"] = _status_kb("VmHWM") / 1024
        out["files"] = sink.files()
        if prof is not None:
            text_out = io.StringIO()
            for key in ("tottime", "cumulative"):
                pstats.Stats(prof, stream=text_out).sort_stats(key).print_stats(spec["top"])
            out["profile"] = text_out.getvalue()
        sess.rollback()
    engine.dispose()
    return out


def spawn(spec: dict[str, Any]) -> dict[str, Any]:
    """run_phase in a fresh interpreter (this script with --phase)."""
    proc = subprocess.run([sys.executable, __file__, "--phase", json.dumps(spec)],
                          cwd=common.ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"phase {spec['tag']} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# --- setup -----------------------------------------------------------------------------

def load_one_coop(db: common.BenchDB, catches: int, seed: int) -> tuple[uuid.UUID, dict[str, int]]:
    """``catches`` demo catches, all in one cooperative (the generator picks the number
    of cooperatives from the size; pinning it to one makes one big coop, with as many
    vessels and fishers as its trips need). Returns the organization with most catches."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from server.db import make_engine
    from server.demo import generator, loader

    engine = make_engine(db.url, 2)
    with mock.patch.object(generator, "coop_count", lambda size: 1 if size > 0 else 0), \
            Session(engine) as sess:
        counts = loader.load(sess, catches, seed=seed, progress=sys.stderr.isatty())
        sess.commit()
    with engine.connect() as conn:
        org = conn.execute(text("SELECT org_id FROM catch WHERE superseded_at IS NULL "
                                "GROUP BY org_id ORDER BY count(*) DESC LIMIT 1")).scalar_one()
    engine.dispose()
    return org, counts


def analyze(conninfo: str) -> None:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def probe_query(db: common.BenchDB, org: uuid.UUID, limit: int) -> float:
    """Microseconds per row of the records query alone (EXPLAIN ANALYZE, TIMING OFF:
    every row is computed and discarded) on a ``limit``-row selection."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from server.db import make_engine
    from server.reports.records import RECORDS_SQL

    engine = make_engine(db.url, 1)
    with Session(engine) as sess:
        n = make_selection(sess, org, limit)
        plan = sess.execute(text("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + RECORDS_SQL),
                            {"sub": uuid.uuid4(), "org": org, "tz": TIMEZONE,
                             "amendment": False, "as_of": datetime.now(UTC)}).scalar_one()
        sess.rollback()
    engine.dispose()
    return float(plan[0]["Execution Time"]) * 1000 / max(n, 1)


def _relations(node: dict[str, Any], acc: Counter[str]) -> Counter[str]:
    if "Relation Name" in node:
        acc[node["Relation Name"]] += 1
    for child in node.get("Plans", []):
        _relations(child, acc)
    return acc


def plan_check(db: common.BenchDB, org: uuid.UUID) -> list[str]:
    """Do the baseline's statements read the same tables as the server's cursor? (The
    server's query is planned as a cursor: EXPLAIN DECLARE.)"""
    import psycopg
    from sqlalchemy.orm import Session

    from server.db import make_engine
    from server.reports.records import RECORDS_SQL

    q = re.sub(r"(?<![:\w]):(sub|org|tz|amendment|as_of)\b", r"%(\1)s", RECORDS_SQL)
    params = {"sub": uuid.uuid4(), "org": org, "tz": TIMEZONE, "amendment": False,
              "as_of": datetime.now(UTC)}
    lines = []
    engine = make_engine(db.url, 1)
    with Session(engine) as sess:
        make_selection(sess, org, None)
        conn = sess.connection().connection.driver_connection
        assert conn is not None
        cur = psycopg.ClientCursor(conn)

        def relations(sql: str) -> Counter[str]:
            cur.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            row = cur.fetchone()
            assert row is not None
            return _relations(row[0][0]["Plan"], Counter())

        server = relations("DECLARE bench_c NO SCROLL CURSOR FOR " + q)
        cur.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        for fmt in FORMATS:
            for part in ("catches", "trips"):
                inner = copy_sql(fmt, part).removeprefix("COPY (").rsplit(") TO STDOUT", 1)[0]
                missing = server - relations(inner)
                name = FORMATS[fmt][1 if part == "catches" else 2]
                lines.append(f"  COPY {name}: " + (
                    "reads every table the server's query reads" if not missing
                    else "does not read " + ", ".join(sorted(missing))
                    + " (no column of it is used, so PostgreSQL drops the join)"))
        sess.rollback()
    engine.dispose()
    return lines


# --- comparing the texts ---------------------------------------------------------------

def compare_csv(a: str, b: str) -> str:
    """Exporter (CRLF) against COPY (LF): equal lines after the line ends."""
    import csv

    same = total = 0
    first = ""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        for la, lb in zip(fa, fb, strict=False):
            total += 1
            if la.removesuffix(b"\r\n") == lb.removesuffix(b"\n"):
                same += 1
            elif not first:
                ra = next(csv.reader([la.decode()]))
                rb = next(csv.reader([lb.decode()]))
                diff = [f"{i}: {x!r} vs {y!r}" for i, (x, y) in
                        enumerate(zip(ra, rb, strict=False)) if x != y]
                first = f"; first difference, line {total}: {'; '.join(diff[:4]) or 'line ends'}"
        rest_a = sum(1 for _ in fa)
        rest_b = sum(1 for _ in fb)
    extra = f"; exporter {rest_a} more lines, COPY {rest_b} more" if rest_a or rest_b else ""
    return f"{same:,} of {total:,} lines equal (after CRLF -> LF){extra}{first}"


def compare_seq(a: str, b: str) -> str:
    """Both GeoJSON sequences feature by feature: equal as parsed JSON."""
    import orjson

    same = total = bad = 0
    first = ""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        for la, lb in zip(fa, fb, strict=False):
            total += 1
            if not (la.startswith(b"\x1e") and lb.startswith(b"\x1e")):
                bad += 1
                continue
            ja, jb = orjson.loads(la[1:]), orjson.loads(lb[1:])
            if ja == jb:
                same += 1
            elif not first:
                pa, pb = ja.get("properties", {}), jb.get("properties", {})
                diff = [f"{k}: {pa.get(k)!r} vs {pb.get(k)!r}" for k in pa if pa.get(k) != pb.get(k)]
                if ja.get("geometry") != jb.get("geometry"):
                    diff.insert(0, f"geometry {ja.get('geometry')} vs {jb.get('geometry')}")
                first = f"; first difference, feature {total}: {'; '.join(diff[:4])}"
        rest_a = sum(1 for _ in fa)
        rest_b = sum(1 for _ in fb)
    extra = f"; exporter {rest_a} more, COPY {rest_b} more" if rest_a or rest_b else ""
    badtxt = f"; {bad} lines without RS" if bad else ""
    return f"{same:,} of {total:,} features equal as parsed JSON{extra}{badtxt}{first}"


# --- main ------------------------------------------------------------------------------

@dataclasses.dataclass
class Row:
    label: str
    res: dict[str, Any]

    @property
    def rate(self) -> float:
        return float(self.res["rows"]) / self.res["seconds"]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--catches", type=int, default=1_000_000,
                   help="catches loaded and exported (default 1000000)")
    p.add_argument("--formats", default="csv,geojsonseq", help="csv, geojsonseq or both")
    p.add_argument("--memory-check", action="store_true",
                   help="also run each exporter on a tenth of the selection (peak memory at both sizes)")
    p.add_argument("--no-tracemalloc", action="store_true",
                   help="skip the extra exporter runs under tracemalloc")
    p.add_argument("--sink", choices=("store", "file", "null"), default="store",
                   help="store: the server's artifact store (hash, fsync; default); "
                        "file: plain files; null: discard")
    p.add_argument("--no-trips-baseline", action="store_true",
                   help="skip the COPY of the trips files")
    p.add_argument("--no-compare", action="store_true", help="skip comparing the texts")
    p.add_argument("--profile", type=int, default=0, metavar="ROWS",
                   help="afterwards, cProfile each exporter over the first ROWS rows")
    p.add_argument("--profile-top", type=int, default=25)
    p.add_argument("--quiet-wait", type=float, default=60.0, metavar="SECS",
                   help="before each phase, wait up to SECS for an idle machine (0: don't)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--workdir", default=None, help="where the files go (default: a temp dir)")
    p.add_argument("--keep-db", action="store_true", help="do not drop the database")
    p.add_argument("--phase", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if args.phase is None and (args.catches < 10 or any(f not in FORMATS for f in args.formats)):
        p.error("need --catches >= 10 and --formats from csv, geojsonseq")
    return args


def code_state() -> str:
    """HEAD, and a digest of the exporter and records sources (they may hold uncommitted
    work), so a figure can be tied to the code it measured."""
    import hashlib

    files = sorted([*common.ROOT.glob("exports/**/*.py"), common.ROOT / "server/reports/records.py"])
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=common.ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "exports",
                                "server/reports/records.py"], cwd=common.ROOT,
                               capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return f"sources {digest}"
    changed = [ln[3:] for ln in dirty if ln[:2].strip() == "M"]
    return (f"HEAD {head}" + (f" + uncommitted changes to {', '.join(changed)}" if changed else "")
            + f"; exporter sources sha256 {digest}")


def quiet(name: str, wait: float) -> None:
    if wait > 0 and not common.wait_quiet(wait):
        print(f"warning: machine still busy after {wait:.0f} s; starting {name} anyway "
              "(see the 'other' CPU column)", file=sys.stderr)


@contextlib.contextmanager
def workdir(path: str | None) -> Iterator[Path]:
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)
        yield Path(path)
    else:
        with tempfile.TemporaryDirectory(prefix="cardumen-bench-exports-") as tmp:
            yield Path(tmp)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase:
        print(json.dumps(run_phase(json.loads(args.phase))))
        return 0
    t_setup = time.perf_counter()
    code = code_state()
    with common.throwaway_database(keep=args.keep_db) as db, workdir(args.workdir) as out:
        print(f"loading {args.catches:,} demo catches into one cooperative ...", file=sys.stderr)
        t = time.perf_counter()
        org, counts = load_one_coop(db, args.catches, args.seed)
        load_s = time.perf_counter() - t
        analyze(db.conninfo)
        probe_n = min(args.catches, 10_000)
        probes = [("production schema", probe_query(db, org, probe_n))]
        plans = plan_check(db, org)
        version = common.server_version(db.conninfo)
        setup_s = time.perf_counter() - t_setup
        sub, as_of = uuid.uuid4(), datetime.now(UTC)
        base = {"url": db.url, "org": str(org), "sub": str(sub), "as_of": as_of.isoformat(),
                "sink": args.sink, "out": str(out), "limit": None, "top": args.profile_top}

        def phase(tag: str, **kw: Any) -> dict[str, Any]:
            spec = {**base, "tag": tag, **kw}
            if not kw.get("warmup"):
                common.checkpoint(db.conninfo)
                quiet(tag, args.quiet_wait)
            print(f"  {tag} ...", file=sys.stderr)
            return spawn(spec)

        # Not timed: one pass of the query so no phase pays for cold caches.
        phase("warm-up", kind="copy", format="csv", part="catches", sink="null", warmup=True)
        rows: list[Row] = []
        ratios: list[tuple[str, float, float | None]] = []
        texts: list[str] = []
        memory: list[tuple[str, int, dict[str, Any], dict[str, Any] | None]] = []
        for fmt in args.formats:
            exp_name, cfile, tfile = FORMATS[fmt]
            e = phase(f"{fmt}-export", kind="export", format=fmt)
            c = phase(f"{fmt}-copy", kind="copy", format=fmt, part="catches")
            ct = (None if args.no_trips_baseline
                  else phase(f"{fmt}-copy-trips", kind="copy", format=fmt, part="trips"))
            rows += [Row(f"E  {exp_name} (both files)", e), Row(f"C  COPY {cfile}", c)]
            if ct is not None:
                rows.append(Row(f"Ct COPY {tfile}", ct))
            er = e["rows"] / e["seconds"]
            both = None if ct is None else e["rows"] / (c["seconds"] + ct["seconds"])
            ratios.append((exp_name, er / (c["rows"] / c["seconds"]),
                           None if both is None else er / both))
            if e["rows"] != c["rows"] or (ct is not None and e["trips"] != ct["rows"]):
                texts.append(f"{exp_name}: ROW COUNTS DIFFER: exporter {e['rows']} catches, "
                             f"{e['trips']} trips; COPY {c['rows']}"
                             + ("" if ct is None else f", {ct['rows']}"))
            for name, mine, theirs in ((cfile, e, c), (tfile, e, ct)):
                if theirs is None:
                    continue
                fa, fb = mine["files"][name], theirs["files"][name]
                sizes = f"exporter {fa['bytes'] / MIB:,.1f} MiB, COPY {fb['bytes'] / MIB:,.1f} MiB"
                if args.no_compare or fa["path"] is None:
                    texts.append(f"{name}: {sizes} (not compared)")
                else:
                    cmp = compare_csv if fmt == "csv" else compare_seq
                    texts.append(f"{name}: {cmp(fa['path'], fb['path'])}; {sizes}")
            for done in (e, c, ct):
                for f in (done or {}).get("files", {}).values():
                    if f["path"]:
                        Path(f["path"]).unlink(missing_ok=True)
            traced = None if args.no_tracemalloc else phase(
                f"{fmt}-export-traced", kind="export", format=fmt, trace=True)
            memory.append((exp_name, e["rows"], e, traced))
            if args.memory_check:
                small = max(1, args.catches // 10)
                se = phase(f"{fmt}-export-{small}", kind="export", format=fmt, limit=small)
                st = None if args.no_tracemalloc else phase(
                    f"{fmt}-export-{small}-traced", kind="export", format=fmt, limit=small,
                    trace=True)
                memory.append((exp_name, se["rows"], se, st))
            for entry in memory[-2:]:
                for res in (entry[2], entry[3]):
                    for f in (res or {}).get("files", {}).values():
                        if f["path"]:
                            Path(f["path"]).unlink(missing_ok=True)
        shutil.rmtree(out / "store", ignore_errors=True)

        code_after = code_state()
        if code_after != code:
            code += f"\n  WARNING: the sources changed during the run; at the end: {code_after}"
        report(args, version, code, db, counts, load_s, setup_s, probes, probe_n, plans, rows,
               ratios, texts, memory)

        if args.profile:
            for fmt in args.formats:
                res = phase(f"{fmt}-profile", kind="export", format=fmt, limit=args.profile,
                            profile=True)
                print(f"\n== cProfile: {FORMATS[fmt][0]}, {res['rows']:,} catches: "
                      f"{res['seconds']:.2f} s under the profiler")
                text = res["profile"]
                for block in text.split("   ncalls")[1:]:
                    print("   ncalls" + block.rstrip())
                shutil.rmtree(out / "store", ignore_errors=True)
    return 0


def report(args: argparse.Namespace, version: str, code: str, db: common.BenchDB,
           counts: dict[str, int],
           load_s: float, setup_s: float, probes: list[tuple[str, float]], probe_n: int,
           plans: list[str], rows: list[Row], ratios: list[tuple[str, float, float | None]],
           texts: list[str], memory: list[tuple[str, int, dict[str, Any], dict[str, Any] | None]]
           ) -> None:
    sink = {"store": "the server's artifact store (StoreSink over LocalStore: SHA-256, fsync)",
            "file": "plain files (DirectorySink)", "null": "discarded"}[args.sink]
    print(f"\nCardumen dataset exports: {counts['catch']:,} catches of one cooperative "
          f"({counts['trip']:,} trips, {counts['vessel']:,} vessels, {counts['permit']:,} permits)")
    print(f"{version} ({db.where}); {os.cpu_count()} CPUs; load avg {os.getloadavg()[0]:.2f}; "
          f"demo load {load_s:.0f} s ({counts['catch'] / load_s:,.0f} catches/s), "
          f"setup {setup_s:.0f} s")
    print(f"code: {code}")
    print(f"sink: {sink}; E reads records.stream (the server's path), C and Ct COPY")
    print(f"records query alone, {probe_n:,}-row slice: "
          + "; ".join(f"{name} {us:.1f} µs/row" for name, us in probes))
    print("plan check (EXPLAIN DECLARE of the server's query against EXPLAIN of each COPY's SELECT):")
    print("\n".join(plans))
    head = (f"\n{'phase':38} {'rows/s':>9} {'secs':>7} {'rows':>10}  "
            f"CPU s: {'client':>6} {'postgres':>8} {'other':>6}")
    print(head)
    print("-" * (len(head) - 1))
    for r in rows:
        print(f"{r.label:38} {r.rate:9,.0f} {r.res['seconds']:7.2f} {r.res['rows']:10,}         "
              f"{r.res['cpu_client']:6.2f} {r.res['cpu_pg']:8.2f} {r.res['cpu_other']:6.2f}")
    print("-" * (len(head) - 1))
    for name, ratio, both in ratios:
        verdict = "TARGET MET" if ratio >= TARGET else "TARGET MISSED"
        extra = "" if both is None else (f"  (against COPY of both files, catches + trips: "
                                         f"{both:.2f})")
        print(f"ratio {name} catches/s / COPY rows/s = {ratio:.2f} (target >= {TARGET})  "
              f"{verdict}{extra}")
    print("\nsame text?")
    for t in texts:
        print(f"  {t}")
    print("\nexporter peak memory (a fresh process per run; MiB)")
    mhead = (f"  {'exporter':20} {'rows':>10} {'RSS at start':>13} {'peak RSS':>9} "
             f"{'peak - start':>13} {'tracemalloc peak':>17}")
    print(mhead)
    for name, n, res, traced in memory:
        peak = res["hwm_mib"]
        tm = "-" if traced is None else f"{traced['trace_peak_mib']:.1f}"
        note = "" if res["hwm_reset"] else " (VmHWM not reset: includes setup)"
        print(f"  {name:20} {n:10,} {res['rss_start_mib']:13.1f} {peak:9.1f} "
              f"{peak - res['rss_start_mib']:13.1f} {tm:>17}{note}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
