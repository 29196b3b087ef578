"""FAO / CWP monthly catch statistics: ``cwp_monthly.csv``.

One row per statistics cell: reporting unit (the economic unit, by RNPA else
our organization id) x ASFIS species x FAO major area x ISSCFG gear x month
(of the catch time, in the run's time zone). Measures as the CWP Handbook
defines them for catch statistics: live weight in tonnes (``live_kg``, else
the landed weight when no live weight was recorded, / 1000, 3 decimals) and
effort as the number of distinct trips.

Columns: reporting_unit, reporting_unit_name, species (ASFIS 3-alpha),
scientific_name, area (FAO major area), gear (ISSCFG abbreviation),
isscfg_code, period (YYYY-MM), live_weight_t, trips; amendment runs add
``status`` = ``revised``, and a cell whose records are all cancellations is
restated with 0 tonnes and 0 trips so the receiver can zero it.

Memory grows with the number of cells and of trips per cell, not with records.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from exports.base import AmendmentScope, BaseExporter, Sink, WriteStats, register
from exports.formats._common import ZERO, TextOut, aware, is_cancelled, kg, zone
from exports.records import CatchRecord, ExportContext

FILE_NAME = "cwp_monthly.csv"
MEDIA_TYPE = "text/csv; charset=utf-8"
HEADER = (
    "reporting_unit", "reporting_unit_name", "species", "scientific_name", "area", "gear",
    "isscfg_code", "period", "live_weight_t", "trips",
)
_THOUSAND = Decimal(1000)

# reporting unit, species, area, gear abbreviation, ISSCFG code, period
CellKey = tuple[str, str, str, str, str, str]


@dataclass(slots=True)
class Cell:
    unit_name: str
    scientific_name: str
    live_kg: Decimal = ZERO
    trips: set[str] = field(default_factory=set)  # trips with a record that still counts


@register
class FaoCwpMonthly(BaseExporter):
    name = "fao_cwp_monthly"
    title_es = "Estadísticas mensuales FAO/CWP"
    title_en = "FAO/CWP monthly statistics"
    amendment_scope = AmendmentScope.stat_cell

    def write(self, records: Iterable[CatchRecord], sink: Sink, context: ExportContext) -> WriteStats:
        self.validate_options(context.options)
        tz = zone(context)
        cells: dict[CellKey, Cell] = {}
        n = 0
        for r in records:
            n += 1
            month = aware(r.caught_at).astimezone(tz).strftime("%Y-%m")
            key = (r.rnpa or r.org_id, r.species_code, r.fao_area or "", r.gear_code or "",
                   r.isscfg_code or "", month)
            cell = cells.get(key)
            if cell is None:
                cell = cells[key] = Cell(r.org_name, r.scientific_name)
            if not is_cancelled(r):
                cell.live_kg += r.landed_kg if r.live_kg is None else r.live_kg
                cell.trips.add(r.trip_id)

        amendment = context.purpose == "amendment"
        rows = 0
        with TextOut(sink.open(FILE_NAME, MEDIA_TYPE)) as out:
            writer = csv.writer(out)
            writer.writerow((*HEADER, "status") if amendment else HEADER)
            for key in sorted(cells):
                cell = cells[key]
                if not cell.trips and not amendment:
                    continue  # nothing left to report, and no earlier figure to zero
                unit, species, area, gear, isscfg, period = key
                row = (unit, cell.unit_name, species, cell.scientific_name, area, gear, isscfg,
                       period, kg(cell.live_kg / _THOUSAND), len(cell.trips))
                writer.writerow((*row, "revised") if amendment else row)
                rows += 1
        return WriteStats(records=n, rows={FILE_NAME: rows})
