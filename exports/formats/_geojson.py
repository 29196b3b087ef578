"""GeoJSON features for the dataset formats, and the two ways of framing them.

A catch is a Feature with a Point (or null geometry without a position) and
the ``CATCH_COLUMNS`` as properties; a trip is a Feature with null geometry.
Weights and money are JSON numbers with fixed places (``12.500``): orjson
cannot print a Decimal, so they go in as ``orjson.Fragment`` (already
serialized text). Features are encoded one at a time and written in small
batches; nothing holds more than a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import BinaryIO

import orjson

from exports.formats._common import Q2, Q3, dec, utc_iso
from exports.formats._dataset import ACTION_TEXT, Trip
from exports.records import Action, CatchRecord

_BATCH = 512
Fragment = orjson.Fragment


def _memo_fragment(exp: Decimal) -> Callable[[Decimal], orjson.Fragment]:
    # Weights and prices repeat a lot; a Fragment is immutable, so it is shared.
    cache: dict[Decimal, orjson.Fragment] = {}
    get = cache.get

    def fragment(value: Decimal) -> orjson.Fragment:
        f = get(value)
        if f is None:
            if len(cache) >= 2048:
                cache.clear()
            f = cache[value] = Fragment(dec(value, exp))
        return f

    return fragment


def catch_encoder() -> Callable[[CatchRecord], bytes]:
    """A function from a record to its Feature as JSON bytes."""
    kg = _memo_fragment(Q3)
    money = _memo_fragment(Q2)
    dumps = orjson.dumps
    action_text = ACTION_TEXT

    def encode(r: CatchRecord) -> bytes:
        price = r.unit_price
        live = r.live_kg
        lon = r.lon
        lat = r.lat
        return dumps({
            "type": "Feature",
            "id": r.catch_id,
            "geometry": None if lon is None or lat is None else
            {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "catch_id": r.catch_id, "version": r.version, "action": action_text[r.action],
                "refers_to_run": r.refers_to_run, "org_id": r.org_id, "rnpa": r.rnpa,
                "trip_id": r.trip_id, "vessel": r.vessel_rnp or r.vessel_registration,
                "species_code": r.species_code, "species_key": r.species_key,
                "scientific_name": r.scientific_name, "gear_code": r.gear_code,
                "landed_kg": kg(r.landed_kg), "live_kg": None if live is None else kg(live),
                "count": r.count, "presentation": r.presentation, "disposition": r.disposition,
                "unit_price": None if price is None else money(price), "currency": r.currency,
                "value": None if price is None else money(r.landed_kg * price),
                "caught_at": utc_iso(r.caught_at), "fao_area": r.fao_area,
                "catch_place_key": r.catch_place_key, "quality_flags": ";".join(r.quality_flags),
                "cancelled": r.cancelled,
            },
        })

    return encode


def trip_feature(trip: Trip) -> bytes:
    f = trip.first
    return orjson.dumps({
        "type": "Feature",
        "id": f.trip_id,
        "geometry": None,
        "properties": {
            "trip_id": f.trip_id, "org_id": f.org_id, "vessel": f.vessel_rnp or f.vessel_registration,
            "departed_at": utc_iso(f.departed_at), "returned_at": utc_iso(f.returned_at),
            "landing_port_key": f.landing_port_key, "landing_port_name": f.landing_port_name,
            "landed_at": utc_iso(f.landed_at), "catches": trip.catches,
            "landed_kg": Fragment(dec(trip.landed_kg, Q3)),
        },
    })


class FeatureStream:
    """Writes features to ``out`` either as a FeatureCollection or as an RFC 8142 sequence."""

    COLLECTION_HEAD = b'{"type":"FeatureCollection","features":[\n'

    def __init__(self, out: BinaryIO, sequence: bool) -> None:
        self.out = out
        self.sequence = sequence
        self.count = 0
        self._batch: list[bytes] = []
        if not sequence:
            out.write(self.COLLECTION_HEAD)

    def add(self, feature: bytes) -> None:
        batch = self._batch
        if self.sequence:
            batch.append(b"\x1e" + feature + b"\n")  # RS, JSON text, LF
        else:
            batch.append(feature if not self.count else b",\n" + feature)
        self.count += 1
        if len(batch) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        self.out.write(b"".join(self._batch))
        self._batch.clear()

    def finish(self) -> None:
        self.flush()
        if not self.sequence:
            self.out.write(b"\n]}\n" if self.count else b"]}\n")


def write_dataset(records: Iterable[CatchRecord], catches: FeatureStream,
                  trips: FeatureStream) -> int:
    """Write every record to ``catches`` and each trip, once it ends, to ``trips``."""
    encode = catch_encoder()
    add_catch = catches.add
    cancellation = Action.cancellation
    trip: Trip | None = None
    trip_id = None
    n = 0
    for r in records:
        if trip is None or r.trip_id != trip_id:
            if trip is not None:
                trips.add(trip_feature(trip))
            trip = Trip(r)
            trip_id = r.trip_id
        if not (r.cancelled or r.action is cancellation):  # is_cancelled(), inlined
            trip.catches += 1
            trip.landed_kg += r.landed_kg
        add_catch(encode(r))
        n += 1
    if trip is not None:
        trips.add(trip_feature(trip))
    catches.finish()
    trips.finish()
    return n
