"""fao_cwp_monthly: live-weight tonnes and trips per unit x species x area x gear x month."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from exports.base import AmendmentScope, OptionError, get
from exports.formats.fao_cwp import HEADER
from exports.records import Action, CatchRecord
from exports.sinks import MemorySink
from tests.exports.records import ORG_ID, amend, make_context, make_record, make_trip

NAME = "cwp_monthly.csv"
TRIP_2 = "0190a1b2-c3d4-7e5f-9a6b-000000000002"
TRIP_3 = "0190a1b2-c3d4-7e5f-9a6b-000000000003"


def export(records: list[CatchRecord], **context: object) -> list[dict[str, str]]:
    sink = MemorySink()
    stats = get("fao_cwp_monthly")().write(iter(records), sink, make_context(**context))
    rows = list(csv.DictReader(io.StringIO(sink.files[NAME].decode(), newline="")))
    assert stats.records == len(records) and stats.rows == {NAME: len(rows)}
    return rows


def test_cells_sum_live_weight_in_tonnes_and_count_distinct_trips() -> None:
    records = [
        *make_trip(species=("LJS", "LJS", "PNV")),  # live 13.2 + 13.2 (LJS), 13.2 (PNV)
        make_record("LJS", trip_id=TRIP_2, live_kg=None, landed_kg=Decimal("1000.4")),
        # Same species and month but another gear: its own cell.
        make_record("LJS", trip_id=TRIP_3, gear_code="GNS", isscfg_code="07.1.0"),
    ]
    rows = export(records)
    assert list(rows[0]) == list(HEADER)
    assert [(r["species"], r["gear"], r["live_weight_t"], r["trips"]) for r in rows] == [
        ("LJS", "GNS", "0.013", "1"),
        ("LJS", "LHP", "1.027", "2"),  # 26.4 kg + 1000.4 landed (no live weight) = 1.0268 t
        ("PNV", "LHP", "0.013", "1"),
    ]
    assert rows[1] == rows[1] | {
        "reporting_unit": "2501002519",
        "reporting_unit_name": "Sociedad Cooperativa de Producción Pesquera Playa Sur S.C. de R.L.",
        "scientific_name": "Lutjanus peru", "area": "77", "isscfg_code": "09.1.0", "period": "2024-05",
    }


def test_months_are_local_and_units_without_rnpa_use_the_org_id() -> None:
    # 03:00 UTC on 1 June is still 31 May in Mazatlán.
    records = [make_record(caught_at=datetime(2024, 6, 1, 3, tzinfo=UTC)),
               make_record(caught_at=datetime(2024, 6, 1, 8, tzinfo=UTC), rnpa=None)]
    rows = export(records)
    units = [(r["reporting_unit"], r["period"]) for r in rows]
    assert units == [(ORG_ID, "2024-06"), ("2501002519", "2024-05")]


def test_rows_are_sorted_by_cell_key_whatever_the_input_order() -> None:
    records = [make_record("PNV", fao_area="87"), make_record("LJS", fao_area="77"),
               make_record("LJS", fao_area=None)]
    rows = export(records)
    assert [(r["species"], r["area"]) for r in rows] == [("LJS", ""), ("LJS", "77"), ("PNV", "87")]


def test_amendment_restates_cells_and_zeroes_withdrawn_ones() -> None:
    records = [
        *amend(make_trip(species=("LJS",)), Action.correction, refers_to_run="run-1"),
        *amend(make_trip(TRIP_2, species=("PNV", "PNV")), Action.cancellation),
    ]
    rows = export(records, purpose="amendment", sequence=2)
    assert list(rows[0]) == [*HEADER, "status"]
    assert [(r["species"], r["live_weight_t"], r["trips"], r["status"]) for r in rows] == [
        ("LJS", "0.013", "1", "revised"),
        ("PNV", "0.000", "0", "revised"),
    ]
    # In an original run a cell with nothing that counts has nothing to report.
    assert [r["species"] for r in export(records)] == ["LJS"]


def test_cancelled_records_do_not_count_in_a_mixed_cell() -> None:
    trip = make_trip(species=("LJS", "LJS"))
    trip[1] = amend([trip[1]], Action.cancellation)[0]
    other = make_trip(TRIP_2, species=("LJS",), cancelled=True)
    rows = export(trip + other, purpose="amendment", sequence=2)
    assert [(r["live_weight_t"], r["trips"]) for r in rows] == [("0.013", "1")]


def test_scope_and_options() -> None:
    exporter = get("fao_cwp_monthly")
    assert exporter.amendment_scope is AmendmentScope.stat_cell
    with pytest.raises(OptionError):
        exporter.validate_options({"unit": "kg"})
