"""The open dataset as two CSV files: ``catches.csv`` (one row per record) and ``trips.csv``.

Columns are ``CSV_CATCH_COLUMNS`` and ``TRIP_COLUMNS`` of ``_dataset``: the
catch position goes in ``lon``/``lat``, flags are ``;``-joined, booleans are
``true``/``false``, an empty field is a null. RFC 4180 quoting (the ``csv``
module's default dialect, CRLF line ends). Rows are written as they are read.

This writer is benchmarked against PostgreSQL's ``COPY ... TO STDOUT (FORMAT
csv)``; the ``csv`` module alone spends ~130 ns a field, so a catch row is
formatted with one f-string and handed to ``csv`` only when a field holds a
comma, quote or line break (the output is the same either way; a test checks).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

import orjson

from exports.base import AmendmentScope, BaseExporter, Sink, WriteStats, register
from exports.formats._common import Q2, Q3, TextOut, dec, memo_fixed, utc_iso
from exports.formats._dataset import ACTION_TEXT, CSV_CATCH_COLUMNS, TRIP_COLUMNS, Trip
from exports.records import Action, CatchRecord, ExportContext

CATCHES = "catches.csv"
TRIPS = "trips.csv"
MEDIA_TYPE = "text/csv; charset=utf-8"
_SEPARATORS = len(CSV_CATCH_COLUMNS) - 1
_BATCH = 512  # lines joined per write: fewer calls into the text layer, bounded memory


def coordinate(value: float | None) -> str:
    # orjson prints a float like repr() does (shortest round trip) but about
    # four times faster; a pair at once, "[lon,lat]", is sliced in the loop.
    return "" if value is None else orjson.dumps(value).decode()


def csv_row(r: CatchRecord) -> tuple[Any, ...]:
    """The catch row as fields, for the ``csv`` module (the slow, always-correct path)."""
    price = r.unit_price
    return (
        r.catch_id, r.version, ACTION_TEXT[r.action], r.refers_to_run, r.org_id, r.rnpa, r.trip_id,
        r.vessel_rnp or r.vessel_registration, r.species_code, r.species_key, r.scientific_name,
        r.gear_code, dec(r.landed_kg, Q3), dec(r.live_kg, Q3), r.count, r.presentation,
        r.disposition, dec(price, Q2), r.currency,
        None if price is None else dec(r.landed_kg * price, Q2),
        utc_iso(r.caught_at), coordinate(r.lon), coordinate(r.lat), r.fao_area, r.catch_place_key,
        ";".join(r.quality_flags), "true" if r.cancelled else "false",
    )


class _Lines(list[str]):
    """Lets a ``csv.writer`` append its lines to the current batch."""

    write = list.append


@register
class DatasetCsv(BaseExporter):
    name = "dataset_csv"
    title_es = "Conjunto de datos de capturas (CSV)"
    title_en = "Catch dataset (CSV)"
    amendment_scope = AmendmentScope.record

    def write(self, records: Iterable[CatchRecord], sink: Sink, context: ExportContext) -> WriteStats:
        self.validate_options(context.options)
        n = trips = 0
        with TextOut(sink.open(CATCHES, MEDIA_TYPE)) as catches_out, \
                TextOut(sink.open(TRIPS, MEDIA_TYPE)) as trips_out:
            trip_writer = csv.writer(trips_out)
            trip_writer.writerow(TRIP_COLUMNS)
            lines = _Lines()
            slow = csv.writer(lines)
            slow.writerow(CSV_CATCH_COLUMNS)
            append = lines.append
            kg = memo_fixed(Q3)
            price_text = memo_fixed(Q2)
            action_text = ACTION_TEXT
            position = orjson.dumps
            cancellation = Action.cancellation
            trip: Trip | None = None
            trip_id = None
            for r in records:
                if trip is None or r.trip_id != trip_id:
                    if trip is not None:
                        trip_writer.writerow(trip.values())
                        trips += 1
                    trip = Trip(r)
                    trip_id = r.trip_id
                    # The org, trip and vessel columns are the same for the whole trip.
                    trip_part = (f"{r.org_id},{r.rnpa or ''},{r.trip_id},"
                                 f"{r.vessel_rnp or r.vessel_registration or ''}")
                if not (r.cancelled or r.action is cancellation):  # is_cancelled(), inlined
                    trip.catches += 1
                    trip.landed_kg += r.landed_kg
                n += 1
                price = r.unit_price
                live = r.live_kg
                count = r.count
                lon = r.lon
                lat = r.lat
                if lon is not None and lat is not None:
                    where = position((lon, lat)).decode()[1:-1]  # "[lon,lat]" -> "lon,lat"
                else:
                    where = f"{coordinate(lon)},{coordinate(lat)}"
                line = (
                    f"{r.catch_id},{r.version},{action_text[r.action]},{r.refers_to_run or ''},{trip_part},"
                    f"{r.species_code},{r.species_key or ''},{r.scientific_name},{r.gear_code or ''},"
                    f"{kg(r.landed_kg)},{'' if live is None else kg(live)},{'' if count is None else count},"
                    f"{r.presentation},{r.disposition},{'' if price is None else price_text(price)},"
                    f"{r.currency},{'' if price is None else price_text(r.landed_kg * price)},"
                    f"{utc_iso(r.caught_at)},{where},"
                    f"{r.fao_area or ''},{r.catch_place_key or ''},{';'.join(r.quality_flags)},"
                    f"{'true' if r.cancelled else 'false'}"
                )
                if line.count(",") == _SEPARATORS and '"' not in line and "\n" not in line \
                        and "\r" not in line:
                    append(line + "\r\n")
                else:
                    slow.writerow(csv_row(r))
                if len(lines) >= _BATCH:
                    catches_out.write("".join(lines))
                    lines.clear()
            if trip is not None:
                trip_writer.writerow(trip.values())
                trips += 1
            catches_out.write("".join(lines))
        return WriteStats(records=n, rows={CATCHES: n, TRIPS: trips})
