"""The open-data dataset: one row per catch record and one per trip, in every dataset format.

The CSV, GeoJSON, GeoJSON-sequence and GeoPackage formats share these columns
so a user can switch format without remapping. Each format builds its rows
from attribute reads in its own loop, without ``dataclasses.asdict`` or
per-field dispatch: the CSV and GeoJSON-sequence writers are measured against
PostgreSQL's COPY.

Records arrive ordered by ``(org_id, trip_id, catch_id)``, so a trip's records
are consecutive and its row is written when the next trip starts: memory holds
one trip's totals, never the records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from exports.formats._common import Q3, ZERO, dec, is_cancelled, utc_iso
from exports.records import Action, CatchRecord

CATCH_COLUMNS = (
    "catch_id", "version", "action", "refers_to_run", "org_id", "rnpa", "trip_id", "vessel",
    "species_code", "species_key", "scientific_name", "gear_code", "landed_kg", "live_kg",
    "count", "presentation", "disposition", "unit_price", "currency", "value", "caught_at",
    "fao_area", "catch_place_key", "quality_flags", "cancelled",
)
# The CSV has no geometry: the position goes in two columns after the time.
CSV_CATCH_COLUMNS = (*CATCH_COLUMNS[:21], "lon", "lat", *CATCH_COLUMNS[21:])

# Action is a StrEnum: .value and format() go through Python-level enum code,
# a dict look-up does not.
ACTION_TEXT = {a: a.value for a in Action}

TRIP_COLUMNS = (
    "trip_id", "org_id", "vessel", "departed_at", "returned_at", "landing_port_key",
    "landing_port_name", "landed_at", "catches", "landed_kg",
)


class Trip:
    """What the trips table says about one trip: its fields and its catch totals."""

    __slots__ = ("catches", "first", "landed_kg")

    def __init__(self, first: CatchRecord) -> None:
        self.first = first
        self.catches = 0  # records that still count (not cancelled)
        self.landed_kg = ZERO

    def add(self, r: CatchRecord) -> None:
        if not is_cancelled(r):
            self.catches += 1
            self.landed_kg += r.landed_kg

    def values(self) -> list[Any]:
        f = self.first
        return [
            f.trip_id, f.org_id, f.vessel_rnp or f.vessel_registration, utc_iso(f.departed_at),
            utc_iso(f.returned_at), f.landing_port_key, f.landing_port_name, utc_iso(f.landed_at),
            self.catches, dec(self.landed_kg, Q3),
        ]


def walk(records: Iterable[CatchRecord], on_catch: Callable[[CatchRecord], object],
         on_trip: Callable[[Trip], object]) -> tuple[int, int]:
    """Feed each record to ``on_catch`` and each finished trip to ``on_trip``.

    Returns (records, trips)."""
    n = trips = 0
    trip: Trip | None = None
    trip_id = None
    for r in records:
        if trip is None or r.trip_id != trip_id:
            if trip is not None:
                on_trip(trip)
                trips += 1
            trip = Trip(r)
            trip_id = r.trip_id
        trip.add(r)
        on_catch(r)
        n += 1
    if trip is not None:
        on_trip(trip)
        trips += 1
    return n, trips
