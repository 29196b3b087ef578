"""Records and contexts for exporter tests: a Sinaloa cooperative, its boat and its catch.

``make_record(**over)`` gives one plausible catch record (override any field);
``make_trip`` a trip's worth; ``make_context`` a run. Ids are fixed UUIDs so
outputs are reproducible and folios predictable.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, BinaryIO

from exports.records import Action, CatchRecord, ExportContext

ORG_ID = "0190a1b2-0000-7000-8000-00000000a001"
TRIP_ID = "0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b"
RUN_ID = "0190a1b2-0000-7000-8000-0000000000f1"
DEPARTED = datetime(2024, 5, 14, 11, 30, tzinfo=UTC)  # 04:30 in Mazatlán (UTC-7)

# (ASFIS, CONAPESCA key, Spanish, English, scientific)
SPECIES = {
    "LJS": ("LJS", "1350105", "Huachinango", "Pacific red snapper", "Lutjanus peru"),
    "PNV": ("PNV", "1500161", "Camarón blanco", "Whiteleg shrimp", "Penaeus vannamei"),
    "MUF": ("MUF", None, "Lisa", "Flathead grey mullet", "Mugil cephalus"),
}

_BASE: dict[str, Any] = {
    "catch_id": "0190a1b2-0000-7000-8000-000000000c01",
    "version": 1,
    "action": Action.original,
    "refers_to_run": None,
    "org_id": ORG_ID,
    "org_name": "Sociedad Cooperativa de Producción Pesquera Playa Sur S.C. de R.L.",
    "rnpa": "2501002519",
    "state": "Sinaloa",
    "office_key": "2501",
    "vessel_id": "0190a1b2-0000-7000-8000-0000000000b1",
    "vessel_name": "La Güera II",
    "vessel_registration": "2503128721-6",
    "vessel_rnp": "00047381",
    "permit_number": "PPMZ/SIN/0123/2024",
    "trip_id": TRIP_ID,
    "departed_at": DEPARTED,
    "returned_at": DEPARTED + timedelta(hours=9),
    "landing_port_key": "2501-017",
    "landing_port_name": "Playa Sur, Mazatlán",
    "landed_at": DEPARTED + timedelta(hours=9, minutes=20),
    "species_code": "LJS",
    "species_key": "1350105",
    "species_name_es": "Huachinango",
    "species_name_en": "Pacific red snapper",
    "scientific_name": "Lutjanus peru",
    "gear_code": "LHP",
    "isscfg_code": "09.1.0",
    "landed_kg": Decimal("12.500"),
    "live_kg": Decimal("13.200"),
    "count": 9,
    "presentation": "entero",
    "disposition": "venta",
    "unit_price": Decimal("95.00"),
    "currency": "MXN",
    "caught_at": DEPARTED + timedelta(hours=3),
    "lon": -106.5123,
    "lat": 23.1544,
    "fao_area": "77",
    "catch_place_key": "SIN-Z07",
    "catch_place_name": "Bajo El Cardón",
    "quality_flags": (),
    "cancelled": False,
    "notice_revision": 0,
}
_FIELDS = [f.name for f in fields(CatchRecord)]
_seq = itertools.count(1)


def catch_uuid(n: int) -> str:
    return str(uuid.UUID(f"0190a1b2-0000-7000-8000-{n:012x}"))


def make_record(species: str | None = None, **over: Any) -> CatchRecord:
    """A catch record; ``species`` picks one of ``SPECIES`` (names and keys follow)."""
    values = dict(_BASE)
    values["catch_id"] = catch_uuid(next(_seq))
    if species is not None:
        code, key, es, en, sci = SPECIES[species]
        values.update(species_code=code, species_key=key, species_name_es=es, species_name_en=en,
                      scientific_name=sci)
    values.update(over)
    return CatchRecord(**values)


def make_trip(trip_id: str = TRIP_ID, species: tuple[str, ...] = ("LJS", "LJS", "PNV"),
              **over: Any) -> list[CatchRecord]:
    """One trip's records, ordered by catch id as the server sends them."""
    records = [make_record(s, trip_id=trip_id, **over) for s in species]
    return sorted(records, key=lambda r: r.catch_id)


def make_context(**over: Any) -> ExportContext:
    values: dict[str, Any] = {
        "run_id": RUN_ID,
        "subscription_id": "0190a1b2-0000-7000-8000-0000000000e1",
        "format_name": "test",
        "authority_name": "Comisión Nacional de Acuacultura y Pesca",
        "authority_office_key": "2500",
        "period_start": date(2024, 5, 1),
        "period_end": date(2024, 6, 1),
        "timezone": "America/Mazatlan",
        "purpose": "original",
        "sequence": 1,
        "generator_version": "0.1.0",
        "options": {},
    }
    values.update(over)
    return ExportContext(**values)


def amend(records: list[CatchRecord], action: Action, **over: Any) -> list[CatchRecord]:
    return [replace(r, action=action, **over) for r in records]


def stream_records(n: int, per_trip: int = 8) -> Iterator[CatchRecord]:
    """``n`` fresh records, ``per_trip`` to a trip, made one at a time (nothing kept)."""
    args = [_BASE[name] for name in _FIELDS]
    catch_at, trip_at = _FIELDS.index("catch_id"), _FIELDS.index("trip_id")
    for i in range(n):
        if i % per_trip == 0:
            args[trip_at] = f"trip-{i // per_trip:09d}"
        args[catch_at] = f"catch-{i:012d}"
        yield CatchRecord(*args)


class _Discard:
    """A sink stream that counts bytes and keeps none of them."""

    def __init__(self) -> None:
        self.size = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def __enter__(self) -> _Discard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DiscardSink:
    def __init__(self) -> None:
        self.sizes: dict[str, _Discard] = {}

    def open(self, name: str, media_type: str) -> BinaryIO:
        stream = self.sizes[name] = _Discard()
        return stream  # type: ignore[return-value]  # duck-typed: what exporters call
