"""The plain records exporters read: one catch version with everything a report cites.

``server/reports`` builds these from the database (joins with the trip, the
vessel, the permit, the catalog) and hands exporters an iterable ordered by
``(org_id, trip_id, catch_id)``, so an exporter that groups by trip or by
notice can do it in one pass and in constant memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class Action(StrEnum):
    """Why a record version is in a run.

    ``original``: first reported in its period's first run. ``late_addition``:
    first reported in a later run of its period. ``correction``: a new version
    of a record reported before (``refers_to_run`` names that run).
    ``cancellation``: the record was cancelled, or left the period or scope,
    after it was reported. ``restated``: unchanged, repeated only because a
    document it belongs to (a landing notice, a statistics cell) is re-issued.
    """

    original = "original"
    late_addition = "late_addition"
    correction = "correction"
    cancellation = "cancellation"
    restated = "restated"


# Not frozen: a frozen dataclass of this width costs ~6 µs to build against
# ~0.9 µs, more than an exporter spends on the row. Exporters only read records.
@dataclass(slots=True)
class CatchRecord:
    # What and which version.
    catch_id: str
    version: int
    action: Action
    refers_to_run: str | None  # the run that reported this record's previous version
    # Who: the economic unit (cooperative), its vessel and permit.
    org_id: str
    org_name: str
    rnpa: str | None  # Registro Nacional de Pesca y Acuacultura of the economic unit
    state: str | None  # Mexican state of the economic unit
    office_key: str | None  # CONAPESCA office that receives its notices
    vessel_id: str | None
    vessel_name: str | None
    vessel_registration: str | None  # matrícula
    vessel_rnp: str | None
    permit_number: str | None
    # The trip: effort and where it landed.
    trip_id: str
    departed_at: datetime
    returned_at: datetime | None
    landing_port_key: str | None  # CONAPESCA key, else UN/LOCODE
    landing_port_name: str | None
    landed_at: datetime | None
    # What was caught.
    species_code: str  # ASFIS 3-alpha
    species_key: str | None  # CONAPESCA key where known
    species_name_es: str
    species_name_en: str
    scientific_name: str
    gear_code: str | None  # ISSCFG abbreviation (catch's gear, else the trip's)
    isscfg_code: str | None  # ISSCFG numeric code, e.g. "07.1.0"
    landed_kg: Decimal
    live_kg: Decimal | None
    count: int | None
    presentation: str
    disposition: str
    unit_price: Decimal | None  # per kg at first sale
    currency: str
    # Where and when.
    caught_at: datetime  # aware, UTC
    lon: float | None
    lat: float | None
    fao_area: str | None  # FAO major area code, e.g. "77"
    catch_place_key: str | None  # fishing zone code containing the position
    catch_place_name: str | None
    quality_flags: tuple[str, ...] = ()
    cancelled: bool = False  # this version is a tombstone
    notice_revision: int = 0  # how many runs reported this record's trip before (landing notices)

    @property
    def value(self) -> Decimal | None:
        """Landed weight times first-sale price, rounded to centavos."""
        if self.unit_price is None:
            return None
        return (self.landed_kg * self.unit_price).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class ExportContext:
    """What a run is about; everything an exporter may print besides the records.

    No wall-clock time: two runs over the same inputs write the same bytes."""

    run_id: str
    subscription_id: str
    format_name: str
    authority_name: str
    authority_office_key: str | None
    period_start: date  # inclusive, in ``timezone``
    period_end: date  # exclusive, in ``timezone``
    timezone: str  # IANA name, e.g. "America/Mazatlan"
    purpose: str  # "original" or "amendment"
    sequence: int  # 1 for a period's original, 2.. for its amendments
    generator_version: str
    options: dict[str, str] = field(default_factory=dict)
