"""GeoJSON features for the dataset formats, and the two ways of framing them.

A catch is a Feature with a Point (or null geometry without a position) and
the ``CATCH_COLUMNS`` as properties; a trip is a Feature with null geometry.
Weights and money are JSON numbers with fixed places (``12.500``). Features
are encoded one at a time and written in batches; nothing holds more than a
batch.

Two encoders give the same bytes. ``catch_encoder`` builds a dict for orjson
(decimals as ``orjson.Fragment``, since orjson cannot print a Decimal): simple
and always right. ``write_dataset`` formats most records with one f-string
instead, about twice as fast, which the GeoJSON-sequence format needs to keep
up with PostgreSQL's COPY; a record whose text would need JSON escaping goes
through ``catch_encoder``, and a test holds both to the same output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import BinaryIO

import orjson

from exports.formats._common import Q2, Q3, dec, memo_fixed, utc_iso
from exports.formats._dataset import ACTION_TEXT, Trip
from exports.records import Action, CatchRecord

_BATCH = 512  # features joined per write
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


def catch_encoder(newline: bool = False) -> Callable[[CatchRecord], bytes]:
    """A function from a record to its Feature as JSON bytes (``newline``: with a final LF)."""
    kg = _memo_fragment(Q3)
    money = _memo_fragment(Q2)
    dumps = orjson.dumps
    option = orjson.OPT_APPEND_NEWLINE if newline else 0
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
        }, option=option)

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
    """Frames features into ``out``: a FeatureCollection, or an RFC 8142 sequence.

    In a sequence each feature is RS, the JSON text, LF; in a collection the
    features are separated by a comma and LF. ``batch`` holds framed features
    until ``flush``."""

    COLLECTION_HEAD = b'{"type":"FeatureCollection","features":[\n'

    def __init__(self, out: BinaryIO, sequence: bool) -> None:
        self.out = out
        self.sequence = sequence
        self.count = 0
        self.batch: list[bytes] = []
        if not sequence:
            out.write(self.COLLECTION_HEAD)

    def frame(self, index: int) -> tuple[str, str]:
        """What goes before and after feature number ``index`` (from 0)."""
        if self.sequence:
            return "\x1e", "\n"
        return (",\n" if index else ""), ""

    def add(self, feature: bytes) -> None:
        before, after = self.frame(self.count)
        self.batch.append(before.encode() + feature + after.encode())
        self.count += 1
        if len(self.batch) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        self.out.write(b"".join(self.batch))
        self.batch.clear()

    def finish(self) -> None:
        self.flush()
        if not self.sequence:
            self.out.write(b"\n]}\n" if self.count else b"]}\n")


def _memo_json(keys: tuple[str, ...]) -> Callable[[tuple[str | None, ...]], str]:
    """The JSON members ``"k1":v1,"k2":v2`` for a group of string fields, remembered.

    Groups (a species and its gear, a place) repeat from row to row; orjson
    escapes them once per distinct group."""
    cache: dict[tuple[str | None, ...], str] = {}
    get = cache.get
    dumps = orjson.dumps

    def members(values: tuple[str | None, ...]) -> str:
        text = get(values)
        if text is None:
            if len(cache) >= 2048:
                cache.clear()
            text = cache[values] = dumps(dict(zip(keys, values, strict=True))).decode()[1:-1]
        return text

    return members


def write_dataset(records: Iterable[CatchRecord], catches: FeatureStream,
                  trips: FeatureStream) -> int:
    """Write every record to ``catches`` and each trip, once it ends, to ``trips``."""
    slow = catch_encoder()
    batch = catches.batch
    flush = catches.flush
    first, _ = catches.frame(0)
    between, end = catches.frame(1)
    kg = memo_fixed(Q3)
    money = memo_fixed(Q2)
    species_members = _memo_json(("species_code", "species_key", "scientific_name", "gear_code"))
    handling_members = _memo_json(("presentation", "disposition"))
    place_members = _memo_json(("fao_area", "catch_place_key"))
    coordinates = orjson.dumps
    action_text = ACTION_TEXT
    cancellation = Action.cancellation
    trip: Trip | None = None
    trip_id = None
    trip_part = ""
    n = 0
    for r in records:
        if trip is None or r.trip_id != trip_id:
            if trip is not None:
                trips.add(trip_feature(trip))
            trip = Trip(r)
            trip_id = r.trip_id
            # The org, trip and vessel members are the same for the whole trip.
            trip_part = orjson.dumps({"org_id": r.org_id, "rnpa": r.rnpa, "trip_id": r.trip_id,
                                      "vessel": r.vessel_rnp or r.vessel_registration}).decode()[1:-1]
        if not (r.cancelled or r.action is cancellation):  # is_cancelled(), inlined
            trip.catches += 1
            trip.landed_kg += r.landed_kg
        before = between if n else first
        n += 1
        catch_id = r.catch_id
        refers = r.refers_to_run
        flags = ";".join(r.quality_flags)
        currency = r.currency
        # The only strings not escaped by orjson in a group: may they go in raw?
        raw = f"{catch_id}{refers or ''}{currency}{flags}"
        if '"' in raw or "\\" in raw or not raw.isprintable():
            batch.append(before.encode() + slow(r) + end.encode())
        else:
            price = r.unit_price
            live = r.live_kg
            count = r.count
            lon = r.lon
            lat = r.lat
            refers_json = "null" if refers is None else '"' + refers + '"'
            geometry = "null" if lon is None or lat is None else \
                f'{{"type":"Point","coordinates":{coordinates((lon, lat)).decode()}}}'
            batch.append((
                f'{before}{{"type":"Feature","id":"{catch_id}","geometry":{geometry},"properties":{{'
                f'"catch_id":"{catch_id}","version":{r.version},"action":"{action_text[r.action]}",'
                f'"refers_to_run":{refers_json},{trip_part},'
                f'{species_members((r.species_code, r.species_key, r.scientific_name, r.gear_code))},'
                f'"landed_kg":{kg(r.landed_kg)},"live_kg":{"null" if live is None else kg(live)},'
                f'"count":{"null" if count is None else count},'
                f'{handling_members((r.presentation, r.disposition))},'
                f'"unit_price":{"null" if price is None else money(price)},"currency":"{currency}",'
                f'"value":{"null" if price is None else money(r.landed_kg * price)},'
                f'"caught_at":"{utc_iso(r.caught_at)}",{place_members((r.fao_area, r.catch_place_key))},'
                f'"quality_flags":"{flags}","cancelled":{"true" if r.cancelled else "false"}}}}}{end}'
            ).encode())
        if len(batch) >= _BATCH:
            flush()
    catches.count = n
    if trip is not None:
        trips.add(trip_feature(trip))
    catches.finish()
    trips.finish()
    return n
