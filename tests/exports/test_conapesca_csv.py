"""conapesca_aviso_csv: one notice per trip, one row per species, amendment types, encodings."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from exports.base import OptionError, get
from exports.formats._notices import base_folio
from exports.formats.conapesca_csv import HEADER
from exports.records import Action, CatchRecord, ExportContext
from exports.sinks import MemorySink
from tests.exports.records import TRIP_ID, amend, make_context, make_record, make_trip

NAME = "avisos_arribo.csv"
OTHER_TRIP = "0190a1b2-c3d4-7e5f-9a6b-00000000beef"


def export(records: list[CatchRecord],
           context: ExportContext | None = None) -> tuple[list[dict[str, str]], MemorySink]:
    sink = MemorySink()
    stats = get("conapesca_aviso_csv")().write(iter(records), sink, context or make_context())
    assert stats.records == len(records)
    encoding = {"iso-8859-1": "latin-1"}.get(sink.media_types[NAME].split("charset=")[1], "utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(sink.files[NAME].decode(encoding), newline="")))
    assert stats.rows == {NAME: len(rows)}
    return rows, sink


def test_a_row_per_species_with_summed_weights_prices_and_trip_fields() -> None:
    trip = make_trip(species=("LJS", "LJS", "PNV"))
    trip[1] = replace(trip[1], landed_kg=Decimal("7.250"), live_kg=None, unit_price=Decimal("90.00"))
    trip[2] = replace(trip[2], landed_kg=Decimal("3.000"), live_kg=None, unit_price=None)
    rows, sink = export(trip)

    assert sink.media_types == {NAME: "text/csv; charset=utf-8"}
    assert list(rows[0]) == list(HEADER)
    assert [r["CLAVE ESPECIE"] for r in rows] == ["1350105", "1500161"]
    snapper, shrimp = rows
    # 12.5 kg at 95 + 7.25 kg at 90; live weight falls back to landed where missing.
    assert snapper["PESO DESEMBARCADO_KILOGRAMOS"] == "19.750"
    assert snapper["PESO VIVO_KILOGRAMOS"] == "20.450"
    assert snapper["VALOR_PESOS"] == "1840.00"  # 1187.50 + 652.50
    assert snapper["PRECIO_PESOS"] == "93.16"  # 1840 / 19.75
    assert shrimp["PRECIO_PESOS"] == shrimp["VALOR_PESOS"] == ""
    assert shrimp["NOMBRE ESPECIE"] == "Camarón blanco" and shrimp["CODIGO ASFIS"] == "PNV"
    assert snapper == snapper | {
        "RNP ACTIVO": "00047381", "NOMBRE ACTIVO": "La Güera II",
        "CLAVE SITIO DESEMBARQUE": "2501-017", "NOMBRE SITIO DESEMBARQUE": "Playa Sur, Mazatlán",
        "RNPA UNIDAD ECONOMICA": "2501002519",
        "UNIDAD ECONOMICA": "Sociedad Cooperativa de Producción Pesquera Playa Sur S.C. de R.L.",
        "NOMBRE ESTADO": "Sinaloa", "CLAVE OFICINA": "2501", "ORIGEN": "CAPTURA",
        "FOLIO AVISO": "CAR-8A6B1C2D3E4F5A6B", "FECHA AVISO": "2024-05-14",
        "CLAVE LUGAR CAPTURA": "SIN-Z07", "NOMBRE LUGAR CAPTURA": "Bajo El Cardón",
        "NUMERO EMBARCACIONES": "1", "PERIODO INICIO": "2024-05-14", "PERIODO FIN": "2024-05-14",
        "NUMERO PERMISO": "PPMZ/SIN/0123/2024", "NOMBRE CIENTIFICO": "Lutjanus peru",
        "CLAVE ARTE PESCA": "LHP", "CODIGO ISSCFG": "09.1.0", "TIPO MOVIMIENTO": "ORIGINAL",
        "FOLIO ORIGINAL": "", "ID CORRIDA": make_context().run_id,
    }


def test_one_notice_per_trip_in_input_order() -> None:
    records = make_trip() + make_trip(OTHER_TRIP, species=("MUF",))
    rows, _ = export(records)
    assert [r["FOLIO AVISO"] for r in rows] == [base_folio(TRIP_ID)] * 2 + [base_folio(OTHER_TRIP)]
    # No CONAPESCA key for mullet: the ASFIS code stands in.
    assert rows[2]["CLAVE ESPECIE"] == "MUF"


def test_dates_are_local_and_fall_back_from_landing_to_return_to_departure() -> None:
    # 05:10 UTC on the 15th is 22:10 on the 14th in Mazatlán.
    late = datetime(2024, 5, 15, 5, 10, tzinfo=UTC)
    rows, _ = export([make_record(landed_at=late, returned_at=late)])
    assert rows[0]["FECHA AVISO"] == rows[0]["PERIODO FIN"] == "2024-05-14"
    rows, _ = export([make_record(landed_at=None, returned_at=datetime(2024, 5, 16, 18, tzinfo=UTC))])
    assert rows[0]["FECHA AVISO"] == "2024-05-16"
    rows, _ = export([make_record(landed_at=None, returned_at=None)])
    assert rows[0]["FECHA AVISO"] == "2024-05-14" and rows[0]["PERIODO FIN"] == ""


def test_catch_place_is_the_first_known_one_of_the_species() -> None:
    trip = make_trip(species=("LJS", "LJS"))
    trip[0] = replace(trip[0], catch_place_key=None, catch_place_name=None)
    trip[1] = replace(trip[1], catch_place_key="SIN-Z09", catch_place_name="Isla de Venados")
    rows, _ = export(trip)
    assert (rows[0]["CLAVE LUGAR CAPTURA"], rows[0]["NOMBRE LUGAR CAPTURA"]) == ("SIN-Z09", "Isla de Venados")


def test_office_falls_back_to_the_authority_office() -> None:
    rows, _ = export([make_record(office_key=None)])
    assert rows[0]["CLAVE OFICINA"] == "2500"


@pytest.mark.parametrize(("actions", "kind"), [
    ((Action.original, Action.original), "ORIGINAL"),
    ((Action.late_addition, Action.late_addition), "EXTEMPORANEO"),
    ((Action.correction, Action.restated), "CORRECCION"),
    ((Action.restated, Action.restated), "CORRECCION"),
    ((Action.cancellation, Action.restated), "CORRECCION"),
    ((Action.cancellation, Action.cancellation), "CANCELACION"),
])
def test_notice_type(actions: tuple[Action, ...], kind: str) -> None:
    trip = [replace(r, action=a) for r, a in zip(make_trip(species=("LJS", "PNV")), actions, strict=True)]
    rows, _ = export(trip, make_context(purpose="amendment", sequence=2))
    assert {r["TIPO MOVIMIENTO"] for r in rows} == {kind}


def test_reissued_notice_names_its_original_and_drops_cancelled_catches() -> None:
    trip = amend(make_trip(species=("LJS", "LJS", "PNV")), Action.restated, notice_revision=2)
    trip[0] = replace(trip[0], action=Action.correction, landed_kg=Decimal("10.000"), live_kg=None)
    trip[2] = replace(trip[2], action=Action.cancellation)
    rows, _ = export(trip, make_context(purpose="amendment", sequence=3))
    assert [r["FOLIO AVISO"] for r in rows] == ["CAR-8A6B1C2D3E4F5A6B-R2"] * 2
    assert {r["FOLIO ORIGINAL"] for r in rows} == {"CAR-8A6B1C2D3E4F5A6B"}
    assert {r["TIPO MOVIMIENTO"] for r in rows} == {"CORRECCION"}
    snapper, shrimp = rows
    assert snapper["PESO DESEMBARCADO_KILOGRAMOS"] == "22.500"
    # The shrimp line stays, at zero, so the office sees it withdrawn.
    assert (shrimp["PESO DESEMBARCADO_KILOGRAMOS"], shrimp["PESO VIVO_KILOGRAMOS"]) == ("0.000", "0.000")
    assert shrimp["VALOR_PESOS"] == "" and shrimp["NOMBRE LUGAR CAPTURA"] == "Bajo El Cardón"


def test_cancellation_writes_each_species_at_zero() -> None:
    trip = amend(make_trip(species=("LJS", "PNV", "LJS")), Action.cancellation, notice_revision=1)
    rows, _ = export(trip, make_context(purpose="amendment", sequence=2))
    assert [(r["CLAVE ESPECIE"], r["TIPO MOVIMIENTO"], r["PESO DESEMBARCADO_KILOGRAMOS"],
             r["PESO VIVO_KILOGRAMOS"], r["VALOR_PESOS"]) for r in rows] == [
        ("1350105", "CANCELACION", "0.000", "0.000", ""),
        ("1500161", "CANCELACION", "0.000", "0.000", ""),
    ]
    assert rows[0]["FOLIO AVISO"] == "CAR-8A6B1C2D3E4F5A6B-R1"


def test_tombstones_count_as_cancelled_whatever_the_action() -> None:
    trip = make_trip(species=("LJS", "LJS"))
    trip[1] = replace(trip[1], cancelled=True, action=Action.correction)
    rows, _ = export(trip)
    assert rows[0]["PESO DESEMBARCADO_KILOGRAMOS"] == "12.500"
    assert rows[0]["TIPO MOVIMIENTO"] == "CORRECCION"


def test_latin1_keeps_spanish_and_transliterates_the_rest() -> None:
    record = make_record(org_name="Peña ñandú “El Łobo” – Œste 鱼", vessel_name="Ñañá")
    _, sink = export([record], make_context(options={"encoding": "latin-1"}))
    assert sink.media_types[NAME] == "text/csv; charset=iso-8859-1"
    data = sink.files[NAME]
    assert "Peña ñandú".encode("latin-1") in data
    text = data.decode("latin-1")
    assert 'Peña ñandú ""El Lobo"" - OEste ?' in text  # quotes doubled by CSV quoting
    assert "Ñañá" in text and "Camarón" not in text  # only the snapper line


def test_utf8_sig_starts_with_a_bom() -> None:
    _, sink = export([make_record()], make_context(options={"encoding": "utf-8-sig"}))
    assert sink.files[NAME].startswith(b"\xef\xbb\xbfRNP ACTIVO,")
    assert sink.media_types[NAME] == "text/csv; charset=utf-8"


@pytest.mark.parametrize(("options", "field", "code"), [
    ({"encoding": "cp1252"}, "options.encoding", "invalid_choice"),
    ({"delimiter": ";"}, "options.delimiter", "unknown_option"),
])
def test_bad_options_are_refused(options: dict[str, str], field: str, code: str) -> None:
    exporter = get("conapesca_aviso_csv")
    with pytest.raises(OptionError) as err:
        exporter.validate_options(options)
    assert (err.value.field, err.value.code) == (field, code)
    with pytest.raises(OptionError):
        exporter().write(iter([make_record()]), MemorySink(), make_context(options=options))
    assert exporter.validate_options({}) == {"encoding": "utf-8"}


def test_empty_input_writes_the_header_only() -> None:
    rows, sink = export([])
    assert rows == [] and sink.files[NAME].decode() == ",".join(HEADER) + "\r\n"
