"""conapesca_aviso_pdf: a printable form per notice, byte-identical across runs.

pypdf is not installed, so the PDF is checked from its bytes: the header, the
page objects, and the text operators of the (ASCII85 + Flate) page streams.
"""

from __future__ import annotations

import base64
import re
import zlib

import pytest

from exports.base import OptionError, get
from exports.formats._notices import base_folio
from exports.records import Action, CatchRecord
from exports.sinks import MemorySink
from tests.exports.records import TRIP_ID, amend, make_context, make_record, make_trip

NAME = "avisos_arribo.pdf"
OTHER_TRIP = "0190a1b2-c3d4-7e5f-9a6b-00000000beef"


def export(records: list[CatchRecord], **context: object) -> tuple[bytes, int]:
    sink = MemorySink()
    stats = get("conapesca_aviso_pdf")().write(iter(records), sink, make_context(**context))
    assert sink.media_types == {NAME: "application/pdf"}
    return sink.files[NAME], stats.rows[NAME]


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


def page_text(pdf: bytes) -> str:
    """The strings drawn on the pages, in order, decoded from WinAnsi."""
    chunks = []
    # reportlab writes page streams as /ASCII85Decode /FlateDecode.
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        data = zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>")))
        chunks += re.findall(rb"\((.*?)(?<!\\)\) Tj", data)
    return "\n".join(unescape(c) for c in chunks)


def unescape(literal: bytes) -> str:
    """A PDF string literal's text: backslash escapes, octal codes, WinAnsi bytes."""
    def one(m: re.Match[bytes]) -> bytes:
        e = m.group(1)
        return bytes([int(e, 8)]) if e[:1].isdigit() else {b"n": b"\n", b"r": b"\r"}.get(e, e)
    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal).decode("cp1252")


def test_a_page_per_notice_with_the_form_fields() -> None:
    pdf, notices = export(make_trip() + make_trip(OTHER_TRIP, species=("MUF",)))
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert notices == 2 and pages(pdf) == 2
    assert b"/Title (Avisos de arribo)" in pdf and b"/Author (Cardumen)" in pdf
    text = page_text(pdf)
    for expected in (base_folio(TRIP_ID), base_folio(OTHER_TRIP), "AVISO DE ARRIBO", "Tipo: ORIGINAL",
                     "Comisión Nacional de Acuacultura y Pesca", "Playa Sur, Mazatlán", "2501002519",
                     "PPMZ/SIN/0123/2024", "00047381", "Huachinango", "Camarón blanco", "Lisa",
                     "14 de mayo de 2024 (2024-05-14)", "TOTAL", "25.000",
                     "Nombre y firma del titular o representante legal"):
        assert expected in text, expected


def test_output_is_byte_identical() -> None:
    records = make_trip() + make_trip(OTHER_TRIP)
    assert export(records)[0] == export(records)[0]


def test_amendments_show_type_and_replaced_folio() -> None:
    corrected = amend(make_trip(), Action.restated, notice_revision=1)
    cancelled = amend(make_trip(OTHER_TRIP), Action.cancellation, notice_revision=3)
    text = page_text(export(corrected + cancelled, purpose="amendment", sequence=2)[0])
    assert f"{base_folio(TRIP_ID)}-R1" in text and "Tipo: CORRECCIÓN" in text
    assert "Tipo: CANCELACIÓN" in text and "AVISO CANCELADO" in text
    assert f"{base_folio(OTHER_TRIP)}-R3" in text


def test_long_notices_continue_on_more_pages() -> None:
    records = [make_record(species_key=f"{9000 + i}", species_name_es=f"Especie {i}") for i in range(60)]
    pdf, notices = export(records)
    assert notices == 1 and pages(pdf) >= 2
    text = page_text(pdf)
    assert "AVISO DE ARRIBO (continuación)" in text and "Especie 59" in text and "Hoja 2" in text


def test_characters_outside_the_fonts_are_transliterated() -> None:
    text = page_text(export([make_record(vessel_name="Łucía 鱼")])[0])
    assert "Lucía ?" in text


def test_no_notices_still_gives_a_page() -> None:
    pdf, notices = export([])
    assert notices == 0 and pages(pdf) == 1
    assert "Sin avisos de arribo del 1 de mayo de 2024" in page_text(pdf)


def test_unknown_options_are_refused() -> None:
    with pytest.raises(OptionError) as err:
        get("conapesca_aviso_pdf").validate_options({"encoding": "latin-1"})
    assert err.value.field == "options.encoding"
