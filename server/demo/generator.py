"""The pure demo-data generator: SYNTHETIC cooperatives, people, vessels, permits,
trips, landings and catches, from a seed. No database access.

Deterministic: the same catalog, size, seed, ``now`` and id factory give the
same records (one ``random.Random(seed)``, no global random state). Ids come
from ``new_id`` (uuid7 by default, so two loads never collide); tests pass a
counter to compare records whole.

Setup (organizations, members, vessels, permits: a few thousand rows at most)
is built eagerly; trips and their catches are yielded one trip at a time,
cooperative after cooperative, in time order, so memory stays flat whatever
the number of catches.

Positions are at sea: every fishing ground and every catch position is drawn
around the cooperative's home port and rejected while it falls inside the land
layer (server/catalog/data/land.geojson) or outside the coast's FAO area
(fao_areas.geojson: 77 Pacific, 31 Atlantic) -- the same files the database's
zones are loaded from, so the database's enrichment agrees.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

import orjson
import phonenumbers
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from server.catalog.services import DATA
from server.db import new_id as default_new_id
from server.demo import reference as ref

DEMO_PREFIX = "[DEMO] "
TRIP_NOTE = "Datos sintéticos de demostración"
PERMIT_NOTE = "Permiso sintético de demostración"
DAYS = 3 * 365  # trips over the last three years
ZERO_CATCH_SHARE = 0.03
CATCHES_PER_TRIP = (1, 2, 3, 4)
CATCHES_PER_TRIP_WEIGHTS = (35, 35, 20, 10)
MEAN_CATCHES_PER_TRIP = (1 - ZERO_CATCH_SHARE) * 2.05
LATE_SHARE = 0.01  # synced more than 30 days after the trip (flagged received_late)
KM_PER_DEG = 111.32
MAX_KG = 5000.0
DISPOSITIONS = ("sold", "own_use", "kept", "discarded")
DISPOSITION_WEIGHTS = (92, 4, 3, 1)
BAIT_GEAR = frozenset({"LHP", "LLS", "FPO", "LTL"})


# --- inputs ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PortInfo:
    id: uuid.UUID
    name: str
    state: str | None
    coast: str  # pacific | atlantic
    lon: float
    lat: float


@dataclass(frozen=True)
class Catalog:
    """What the generator needs from the catalog tables."""

    ports: tuple[PortInfo, ...]
    species_coasts: Mapping[str, str | None]
    gear: frozenset[str]


# --- output records (field order = COPY column order) ----------------------------------

class OrgRow(NamedTuple):
    id: uuid.UUID
    kind: str
    name: str
    rnpa: str
    state: str | None
    created_at: datetime


class MemberRow(NamedTuple):
    id: uuid.UUID
    phone: str
    name: str
    locale: str
    created_at: datetime


class MembershipRow(NamedTuple):
    org_id: uuid.UUID
    member_id: uuid.UUID
    role: str
    status: str
    requested_at: datetime
    decided_at: datetime
    decided_by: uuid.UUID


class VesselRow(NamedTuple):
    org_id: uuid.UUID
    id: uuid.UUID
    name: str
    registration: str
    rnp: str
    owner_member_id: uuid.UUID | None
    length_m: Decimal
    engine_hp: Decimal
    created_at: datetime


class PermitRow(NamedTuple):
    org_id: uuid.UUID
    id: uuid.UUID
    number: str
    kind: str
    species_codes: list[str]
    gear_codes: list[str]
    vessel_id: uuid.UUID
    valid_from: date
    valid_until: date
    issued_by: str
    notes: str


class TripRow(NamedTuple):
    org_id: uuid.UUID
    id: uuid.UUID
    member_id: uuid.UUID
    vessel_id: uuid.UUID
    gear_code: str
    departed_at: datetime
    returned_at: datetime
    departure_port_id: uuid.UUID
    return_port_id: uuid.UUID
    zero_catch: bool
    costs: str  # JSON, amounts as numbers (as the sync endpoint stores them)
    track: str  # EWKT LineString
    notes: str
    recorded_by: uuid.UUID
    device_id: str
    content_hash: bytes
    received_at: datetime
    updated_at: datetime


class LandingRow(NamedTuple):
    org_id: uuid.UUID
    id: uuid.UUID
    trip_id: uuid.UUID
    port_id: uuid.UUID
    landed_at: datetime


class CatchRow(NamedTuple):
    org_id: uuid.UUID
    id: uuid.UUID
    trip_id: uuid.UUID
    member_id: uuid.UUID
    species_code: str
    gear_code: str
    landed_kg: Decimal
    live_kg: Decimal
    count_: int | None  # the ``count`` column (a NamedTuple field may not be called count)
    presentation: str
    disposition: str
    unit_price: Decimal | None
    currency: str
    position: str  # EWKT Point
    caught_at: datetime
    notes: str | None
    recorded_by: uuid.UUID
    device_id: str
    content_hash: bytes
    received_at: datetime


CATCH_COLUMNS = tuple("count" if f == "count_" else f for f in CatchRow._fields)


class TripBundle(NamedTuple):
    trip: TripRow
    landing: LandingRow
    catches: list[CatchRow]


# --- geography -------------------------------------------------------------------------

@dataclass(frozen=True)
class Sea:
    land: BaseGeometry
    fao: dict[str, BaseGeometry]

    def ok(self, lon: float, lat: float, coast: str) -> bool:
        """At sea (not on land, nor on the coastline: the database flags a position
        that merely touches land), and inside the coast's marine FAO area."""
        return (not shapely.intersects_xy(self.land, lon, lat)
                and bool(shapely.contains_xy(self.fao[ref.FAO_AREA[coast]], lon, lat)))


@cache
def sea() -> Sea:
    """Land and FAO areas from the catalog seed files, loaded and prepared once."""
    parts = [shape(f["geometry"]) for f in _features("land.geojson")]
    land = parts[0] if len(parts) == 1 else shapely.GeometryCollection(parts)
    fao = {str(f["properties"]["code"]): shape(f["geometry"])
           for f in _features("fao_areas.geojson")}
    shapely.prepare(land)
    for g in fao.values():
        shapely.prepare(g)
    return Sea(land, fao)


def _features(name: str) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = json.loads((DATA / name).read_text(encoding="utf-8"))[
        "features"]
    return features


def _offset(lon: float, lat: float, east_km: float, north_km: float) -> tuple[float, float]:
    return (round(lon + east_km / (KM_PER_DEG * math.cos(math.radians(lat))), 5),
            round(lat + north_km / KM_PER_DEG, 5))


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    dx = (lon2 - lon1) * KM_PER_DEG * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, (lat2 - lat1) * KM_PER_DEG)


# --- hashing ---------------------------------------------------------------------------

def _dec(value: Decimal) -> str:
    """server.catches.services._canon of a Decimal."""
    return format(value.normalize(), "f")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _digest(canonical: dict[str, Any]) -> bytes:
    """server.catches.services.content_hash of a body whose values are already in
    canonical form (strings for UUIDs, Decimals and datetimes, GeoJSON dicts for
    geometries): the same bytes, without re-walking the values. Equal to the hash
    the sync endpoint would compute for the same body (tests/test_demo.py checks)."""
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).digest()


# --- the generator ---------------------------------------------------------------------

@dataclass
class _Vessel:
    row: VesselRow
    captain: int  # index into _Coop.fishers
    crew: list[int]


@dataclass
class _Ground:
    lon: float
    lat: float
    spread_km: float


@dataclass
class _Coop:
    org: OrgRow
    port: PortInfo
    region: str
    utc_offset: int
    quota: int  # catches to generate
    fishers: list[MemberRow] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    vessels: list[_Vessel] = field(default_factory=list)
    metiers: list[tuple[ref.Metier, float, tuple[tuple[str, float], ...]]] = field(
        default_factory=list)  # (metier, weight, species usable on this coast)
    grounds: dict[str, tuple[list[_Ground], list[float]]] = field(default_factory=dict)


def coop_count(size: int) -> int:
    """~8 cooperatives for 20k catches, ~22 for 200k, ~63 for 2M; at most ~60k catches each."""
    if size <= 0:
        return 0
    by_size = round(8 * (size / 20_000) ** 0.45)
    return max(1, min(size, max(2, by_size, math.ceil(size / 60_000))))


def _season_open(season: ref.Season | None, day: date) -> bool:
    if season is None:
        return True
    md = (day.month, day.day)
    return any((start <= md <= end) if start <= end else (md >= start or md <= end)
               for start, end in season)


class DemoGenerator:
    """Build the setup eagerly; iterate :meth:`trips` for the trips and catches."""

    def __init__(self, catalog: Catalog, size: int, *, now: datetime, seed: int = 42,
                 new_id: Callable[[], uuid.UUID] = default_new_id,
                 taken_phones: Sequence[str] | frozenset[str] = frozenset(),
                 taken_rnpa: Sequence[str] | frozenset[str] = frozenset()) -> None:
        if size < 0:
            raise ValueError("size must be >= 0")
        missing = {m.gear for m in ref.METIERS.values()} - catalog.gear
        if missing:
            raise ValueError(f"gear codes missing from the catalog: {sorted(missing)}")
        self.catalog = catalog
        self.size = size
        self.now = now.astimezone(UTC)
        self.rng = random.Random(seed)
        self.new_id = new_id
        self.sea = sea()
        self.last_day = (self.now - timedelta(days=2)).date()
        self.first_day = self.last_day - timedelta(days=DAYS - 1)
        self._start = datetime.combine(self.first_day, datetime.min.time(), UTC)
        self._phones = set(taken_phones)
        self._rnpa = set(taken_rnpa)
        self.orgs: list[OrgRow] = []
        self.members: list[MemberRow] = []
        self.memberships: list[MembershipRow] = []
        self.vessels: list[VesselRow] = []
        self.permits: list[PermitRow] = []
        self._coops: list[_Coop] = []
        self._setup()

    # --- setup -------------------------------------------------------------------------

    def _ports(self) -> list[PortInfo]:
        by_coast = {c: sorted((p for p in self.catalog.ports if p.coast == c),
                              key=lambda p: p.name) for c in ("pacific", "atlantic")}
        for ports in by_coast.values():
            self.rng.shuffle(ports)
        pac, atl = by_coast["pacific"], by_coast["atlantic"]
        if not pac and not atl:
            raise ValueError("no Pacific or Atlantic ports in the catalog")
        # Pacific, Atlantic, Pacific, ... then whatever coast has ports left.
        order: list[PortInfo] = []
        for i in range(max(len(pac), len(atl))):
            order += [p for p in (pac[i] if i < len(pac) else None,
                                  atl[i] if i < len(atl) else None) if p is not None]
        return order

    def _setup(self) -> None:
        n = coop_count(self.size)
        if n == 0:
            return
        ports = self._ports()
        rng = self.rng
        fisher_counts = [rng.randint(10, 40) for _ in range(n)]
        weights = [f * rng.uniform(0.6, 1.4) for f in fisher_counts]
        total = sum(weights)
        quotas = [int(self.size * w / total) for w in weights]
        for i in range(self.size - sum(quotas)):
            quotas[i % n] += 1
        names_used: set[str] = set()
        for i in range(n):
            port = ports[i % len(ports)]
            self._coop(port, fisher_counts[i], quotas[i], names_used)

    def _region(self, port: PortInfo) -> str:
        return (ref.PORT_REGION.get(port.name) or ref.STATE_REGION.get(port.state or "")
                or ref.COAST_REGION[port.coast])

    def _usable(self, metier: ref.Metier, coast: str) -> tuple[tuple[str, float], ...]:
        coasts = self.catalog.species_coasts
        return tuple((code, w) for code, w in metier.species
                     if code in coasts and coasts[code] in (coast, "both"))

    def _coop(self, port: PortInfo, n_fishers: int, quota: int, names_used: set[str]) -> None:
        rng = self.rng
        region = self._region(port)
        name = ""
        for _ in range(100):
            name = f"{DEMO_PREFIX}S.C.P.P. {rng.choice(ref.COOP_NAMES)} de {port.name}"
            if name not in names_used:
                break
        names_used.add(name)
        state_no = ref.STATE_NUMBER.get(port.state or "", 99)
        rnpa = self._unique(self._rnpa, lambda: f"{state_no:02d}{rng.randrange(10**8):08d}")
        created = self._start - timedelta(days=rng.uniform(20, 90))
        org = OrgRow(self.new_id(), "cooperative", name, rnpa, port.state or port.name, created)
        self.orgs.append(org)
        coop = _Coop(org, port, region, ref.STATE_UTC_OFFSET.get(port.state or "",
                                                                 ref.DEFAULT_UTC_OFFSET), quota)

        # Fisheries: 3-5 of the region's, at least one open all year.
        pool = [(ref.METIERS[k], w) for k, w in ref.REGION_METIERS[region]]
        pool = [(m, w) for m, w in pool if self._usable(m, port.coast)]
        picked: list[tuple[ref.Metier, float]] = []
        for _ in range(min(len(pool), rng.randint(3, 5))):
            m, w = rng.choices(pool, weights=[w for _, w in pool])[0]
            pool.remove((m, w))
            picked.append((m, w * rng.uniform(0.5, 1.5)))
        if not any(m.season is None for m, _ in picked):
            year_round = [(m, w) for m, w in pool if m.season is None]
            if year_round:
                picked.append(max(year_round, key=lambda mw: mw[1]))
        if not picked:
            raise ValueError(f"no fishery with species of coast {port.coast} for {port.name}")
        coop.metiers = [(m, w, self._usable(m, port.coast)) for m, w in picked]
        for m, _, _ in coop.metiers:
            coop.grounds[m.key] = self._grounds(port, m)

        # People: one administrator and 10-40 fishers, a panga for every 2-3 of them, or
        # more pangas (up to one each) so that none goes out on more than ~60% of days;
        # only the busiest cooperatives of a very large load need more than 40 fishers.
        trips_expected = quota / MEAN_CATCHES_PER_TRIP
        n_vessels = min(n_fishers, max(math.ceil(n_fishers / 2.5),
                                       math.ceil(trips_expected / (DAYS * 0.6))))
        if trips_expected > DAYS * n_vessels * 0.9:
            n_vessels = math.ceil(trips_expected / (DAYS * 0.9))
        n_fishers = max(n_fishers, n_vessels)
        admin = self._member(port, region, female_share=0.3)
        self._join(org, admin, "admin", admin)
        for _ in range(n_fishers):
            fisher = self._member(port, region, female_share=0.1)
            self._join(org, fisher, "fisher", admin)
            coop.fishers.append(fisher)
            coop.devices.append(f"demo-android-{rng.getrandbits(48):012x}")

        # Vessels (pangas): a captain each, the other fishers as crew.
        order = list(range(n_fishers))
        rng.shuffle(order)
        names = list(ref.VESSEL_NAMES)
        rng.shuffle(names)
        port_no = rng.randrange(100)
        for v in range(n_vessels):
            vname = names[v % len(names)] + ("" if v < len(names) else f" {v // len(names) + 1}")
            captain = order[v]
            reg = f"{state_no:02d}{port_no:02d}{rng.randrange(10**6):06d}-{rng.randrange(10)}"
            row = VesselRow(
                org.id, self.new_id(), vname, reg, f"{rng.randrange(10**7, 10**8)}",
                coop.fishers[captain].id if rng.random() < 0.8 else None,
                Decimal(rng.choice(("6.10", "6.71", "7.01", "7.32", "7.62", "7.92"))),
                Decimal(rng.choice(ref.ENGINE_HP)), created + timedelta(days=rng.uniform(1, 15)))
            coop.vessels.append(_Vessel(row, captain, [captain]))
            self.vessels.append(row)
        for j, f in enumerate(order[n_vessels:]):
            coop.vessels[j % n_vessels].crew.append(f)

        # Permits: one per vessel and fishery, renewed every 2-4 years over the period.
        seq = 0
        abbr = "".join(w[0] for w in (port.state or port.name).split()).upper()
        for vessel in coop.vessels:
            for m, _, species in coop.metiers:
                start = self.first_day - timedelta(days=rng.randint(0, 700))
                while start <= self.last_day:
                    until = start + timedelta(days=365 * rng.choice((2, 3, 4)) - 1)
                    seq += 1
                    self.permits.append(PermitRow(
                        org.id, self.new_id(), f"PPC-{abbr}-{seq:05d}/{start.year}", "commercial",
                        [c for c, _ in species], [m.gear], vessel.row.id, start, until,
                        "CONAPESCA", PERMIT_NOTE))
                    start = until + timedelta(days=1)
        self._coops.append(coop)

    def _unique(self, taken: set[str], make: Callable[[], str]) -> str:
        for _ in range(1000):
            value = make()
            if value not in taken:
                taken.add(value)
                return value
        raise RuntimeError("could not draw a unique value")

    def _member(self, port: PortInfo, region: str, female_share: float) -> MemberRow:
        rng = self.rng
        first = rng.choice(ref.FEMALE_NAMES if rng.random() < female_share else ref.MALE_NAMES)
        regional = ref.REGIONAL_SURNAMES[ref.REGION_SURNAMES.get(region, "gulf")]
        surnames = [rng.choice(regional if rng.random() < 0.35 else ref.SURNAMES)
                    for _ in range(2)]
        area = ref.PORT_AREA_CODE.get(port.name) or ref.STATE_AREA_CODE.get(port.state or "", "55")

        def phone() -> str:
            digits = 10 - len(area)
            number = f"+52{area}{rng.randrange(10**digits):0{digits}d}"
            if not phonenumbers.is_valid_number(phonenumbers.parse(number)):
                number = f"+5255{rng.randrange(10**8):08d}"
            return number

        created = self._start - timedelta(days=rng.uniform(1, 20))
        row = MemberRow(self.new_id(), self._unique(self._phones, phone),
                        " ".join([first, *surnames]), "es", created)
        self.members.append(row)
        return row

    def _join(self, org: OrgRow, member: MemberRow, role: str, admin: MemberRow) -> None:
        decided = member.created_at + timedelta(hours=self.rng.uniform(1, 72))
        self.memberships.append(MembershipRow(org.id, member.id, role, "active",
                                              member.created_at, decided, admin.id))

    def _grounds(self, port: PortInfo, metier: ref.Metier) -> tuple[list[_Ground], list[float]]:
        rng = self.rng
        lo, hi = metier.distance_km
        grounds: list[_Ground] = []
        for _ in range(rng.randint(3, 6)):
            for attempt in range(2000):
                widen = 1 + attempt // 400  # crowded coasts: look further out
                d = rng.uniform(lo, min(hi * widen, 40.0))
                bearing = rng.uniform(0, 2 * math.pi)
                lon, lat = _offset(port.lon, port.lat, d * math.sin(bearing), d * math.cos(bearing))
                if self.sea.ok(lon, lat, port.coast):
                    grounds.append(_Ground(lon, lat, metier.spread_km))
                    break
        if not grounds:
            raise ValueError(f"no water within 40 km of {port.name} ({port.lon}, {port.lat})")
        return grounds, [rng.uniform(0.3, 1.0) ** 2 for _ in grounds]

    # --- trips ---------------------------------------------------------------------------

    def trips(self) -> Iterator[TripBundle]:
        """Every trip with its landing and catches; exactly ``size`` catches in all."""
        for coop in self._coops:
            yield from self._coop_trips(coop)

    def _coop_trips(self, coop: _Coop) -> Iterator[TripBundle]:
        rng = self.rng
        counts: list[int] = []
        remaining = coop.quota
        while remaining > 0:
            if rng.random() < ZERO_CATCH_SHARE:
                counts.append(0)
                continue
            k = min(remaining, rng.choices(CATCHES_PER_TRIP, CATCHES_PER_TRIP_WEIGHTS)[0])
            counts.append(k)
            remaining -= k
        n_vessels = len(coop.vessels)
        slots_total = DAYS * n_vessels
        if len(counts) <= slots_total:
            slots = sorted(rng.sample(range(slots_total), len(counts)))
        else:  # more trips than vessel-days: some vessels go out twice a day
            slots = sorted(rng.randrange(slots_total) for _ in counts)
        for slot, k in zip(slots, counts, strict=True):
            yield self._trip(coop, slot // n_vessels, coop.vessels[slot % n_vessels], k)

    def _trip(self, coop: _Coop, day_index: int, vessel: _Vessel, n_catches: int) -> TripBundle:
        rng = self.rng
        new_id = self.new_id
        day = self.first_day + timedelta(days=day_index)
        open_metiers = [(m, w * (2.0 if m.season else 1.0), s) for m, w, s in coop.metiers
                        if _season_open(m.season, day)]
        if not open_metiers:
            open_metiers = [(m, w, s) for m, w, s in coop.metiers if m.season is None] \
                or coop.metiers
        metier, _, species = rng.choices(open_metiers, [w for _, w, _ in open_metiers])[0]

        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        local_hours = rng.uniform(*metier.depart_hours)
        departed = midnight + timedelta(minutes=round((local_hours - coop.utc_offset) * 60))
        hours = rng.uniform(*metier.trip_hours)
        returned = departed + timedelta(minutes=round(hours * 60))
        member_ix = vessel.captain if rng.random() < 0.8 else rng.choice(vessel.crew)
        member = coop.fishers[member_ix]
        device = coop.devices[member_ix]
        received = returned + timedelta(minutes=rng.uniform(10, 8 * 60))
        if rng.random() < LATE_SHARE:
            received += timedelta(days=rng.uniform(31, 90))
        received = min(received, self.now).replace(microsecond=0)
        port = coop.port
        grounds, ground_weights = coop.grounds[metier.key]
        ground = rng.choices(grounds, ground_weights)[0]
        trip_id = new_id()
        org_id = coop.org.id
        trip_id_s = str(trip_id)

        # Catches: distinct species of the fishery where possible, in time order.
        codes: list[str] = []
        pool = list(species)
        for _ in range(n_catches):
            if not pool:
                pool = list(species)
            code = rng.choices(pool, [w for _, w in pool])[0][0]
            pool = [(c, w) for c, w in pool if c != code]
            codes.append(code)
        window = (returned - departed).total_seconds() - 75 * 60
        offsets = sorted(rng.uniform(0, window) for _ in codes)
        luck = rng.lognormvariate(0, 0.35)  # a good or a bad day, for every catch of the trip
        years = (day - self.first_day).days / 365.0
        catches: list[CatchRow] = []
        track = [(port.lon, port.lat)]
        for i, (code, off) in enumerate(zip(codes, offsets, strict=True)):
            spec = ref.SPECIES[code]
            caught = (departed + timedelta(seconds=45 * 60 + off)).replace(second=0, microsecond=0)
            lon, lat = self._position(port, ground)
            track.append((lon, lat))
            kg = spec.median_kg * luck * rng.lognormvariate(0, spec.sigma) * (1 if i == 0 else 0.6)
            landed_g = round(min(max(kg, 0.3), MAX_KG) * 10) * 100
            pres, _, live_factor, price_factor = rng.choices(
                spec.presentations, [p[1] for p in spec.presentations])[0]
            live_g = max(landed_g, round(landed_g * live_factor))
            landed = Decimal(landed_g).scaleb(-3)
            live = Decimal(live_g).scaleb(-3)
            disposition = rng.choices(DISPOSITIONS, DISPOSITION_WEIGHTS)[0]
            price: Decimal | None = None
            if disposition == "sold":
                mxn = spec.price * price_factor * rng.lognormvariate(0, 0.12) * 1.045 ** years
                price = Decimal(max(1, round(mxn * 2)) * 50).scaleb(-2)
            count = None
            if spec.individual_kg:
                count = max(1, round(live_g / 1000 / (spec.individual_kg
                                                      * rng.lognormvariate(0, 0.25))))
            catch_id = new_id()
            digest = _digest({
                "trip_id": trip_id_s, "species_code": code, "gear_code": metier.gear,
                "landed_kg": _dec(landed), "live_kg": _dec(live), "count": count,
                "presentation": pres, "disposition": disposition,
                "unit_price": None if price is None else _dec(price), "currency": "MXN",
                "position": {"type": "Point", "coordinates": [lon, lat]},
                "caught_at": _iso(caught), "notes": None,
            })
            catches.append(CatchRow(
                org_id, catch_id, trip_id, member.id, code, metier.gear, landed, live, count,
                pres, disposition, price, "MXN", f"SRID=4326;POINT({lon!r} {lat!r})", caught,
                None, member.id, device, digest, received))
        if not catches:
            track.append((ground.lon, ground.lat))
        track.append((port.lon, port.lat))

        costs = self._costs(metier, hours, vessel.row.engine_hp, years)
        costs_canon = [{k: _dec(v) if isinstance(v, Decimal) else v for k, v in c.items()}
                       for c in costs]
        costs_json = orjson.dumps([{k: float(v) if isinstance(v, Decimal) else v
                                    for k, v in c.items()} for c in costs]).decode()
        track_coords = [[x, y] for x, y in track]
        digest = _digest({
            "org_id": str(org_id), "vessel_id": str(vessel.row.id), "gear_code": metier.gear,
            "departed_at": _iso(departed), "returned_at": _iso(returned),
            "departure_port_id": str(port.id), "return_port_id": str(port.id),
            "zero_catch": not catches, "costs": costs_canon,
            "track": {"type": "LineString", "coordinates": track_coords}, "notes": TRIP_NOTE,
        })
        wkt = ",".join(f"{x!r} {y!r}" for x, y in track)
        trip = TripRow(org_id, trip_id, member.id, vessel.row.id, metier.gear, departed, returned,
                       port.id, port.id, not catches, costs_json, f"SRID=4326;LINESTRING({wkt})",
                       TRIP_NOTE, member.id, device, digest, received, received)
        landing = LandingRow(org_id, new_id(), trip_id, port.id, returned)
        return TripBundle(trip, landing, catches)

    def _position(self, port: PortInfo, ground: _Ground) -> tuple[float, float]:
        rng = self.rng
        for _ in range(30):
            lon, lat = _offset(ground.lon, ground.lat, rng.gauss(0, ground.spread_km),
                               rng.gauss(0, ground.spread_km))
            if 1.0 <= _km(port.lon, port.lat, lon, lat) <= 42.0 and self.sea.ok(lon, lat,
                                                                                 port.coast):
                return lon, lat
        return ground.lon, ground.lat

    def _costs(self, metier: ref.Metier, hours: float, hp: Decimal,
               years: float) -> list[dict[str, Any]]:
        rng = self.rng
        fuel_price = 21.5 + 0.9 * years  # MXN per litre of gasoline
        fuel = min(1500.0, max(300.0, hours * float(hp) * rng.uniform(0.05, 0.09) * fuel_price))
        costs: list[dict[str, Any]] = [{
            "kind": "fuel", "amount": Decimal(round(fuel)), "currency": "MXN",
            "quantity": Decimal(round(fuel / fuel_price * 10)).scaleb(-1), "unit": "L"}]
        ice_kg = rng.randint(2, 8) * 12.5
        costs.append({"kind": "ice", "amount": Decimal(round(ice_kg * 3.2)), "currency": "MXN",
                      "quantity": Decimal(str(ice_kg)), "unit": "kg"})
        if metier.gear in BAIT_GEAR:
            costs.append({"kind": "bait", "amount": Decimal(rng.randint(10, 60) * 10),
                          "currency": "MXN"})
        if rng.random() < 0.4:
            costs.append({"kind": "food", "amount": Decimal(rng.randint(8, 25) * 10),
                          "currency": "MXN"})
        return costs
