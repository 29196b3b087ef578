"""CONAPESCA landing notices as a printable PDF form: ``avisos_arribo.pdf``, a page per notice.

The notices (folios, types, species lines) are those of ``conapesca_aviso_csv``.
Each page is a form the economic unit can print, sign and file: header with
the authority, folio and notice type; dates; economic unit, permit, vessel,
landing site and catch place; a table of species lines with totals; signature
boxes. A notice with more lines than fit goes on to continuation pages.

Byte-identical output: the canvas is ``invariant`` (fixed creation date and
document id) and title, author and creator are fixed. Text uses the PDF
standard fonts (WinAnsi), so characters outside cp1252 are transliterated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from reportlab.lib.pagesizes import letter
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from exports.base import AmendmentScope, BaseExporter, Sink, WriteStats, register
from exports.formats._common import finishing, kg, money, representable, zone
from exports.formats._notices import Notice, NoticeReader, NoticeType, SpeciesLine
from exports.records import CatchRecord, ExportContext

FILE_NAME = "avisos_arribo.pdf"
MEDIA_TYPE = "application/pdf"

PAGE_W, PAGE_H = letter  # "carta", the usual paper in Mexican offices
MARGIN = 15 * mm
CONTENT_W = PAGE_W - 2 * MARGIN
FONT, BOLD = "Helvetica", "Helvetica-Bold"
ROW_H = 5 * mm
GREY = 0.9

TYPE_LABELS = {
    NoticeType.original: "ORIGINAL",
    NoticeType.late: "EXTEMPORÁNEO",
    NoticeType.correction: "CORRECCIÓN",
    NoticeType.cancellation: "CANCELACIÓN",
}
# Species table: header, width share, right-aligned.
COLUMNS: Sequence[tuple[str, float, bool]] = (
    ("Clave", 0.07, False),
    ("Especie", 0.21, False),
    ("Arte", 0.06, False),
    ("Lugar de captura", 0.21, False),
    ("Desemb. (kg)", 0.12, True),
    ("Vivo (kg)", 0.10, True),
    ("Precio $/kg", 0.11, True),
    ("Valor $", 0.12, True),
)
MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
          "septiembre", "octubre", "noviembre", "diciembre")


def pdf_text(value: object) -> str:
    """Text the standard fonts can show: ``None`` as empty, non-cp1252 characters transliterated."""
    if value is None:
        return ""
    return representable(str(value), "cp1252")


def fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` points."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "...", font, size) > width:
        text = text[:-1]
    return text + "..."


def joined(key: str | None, name: str | None) -> str:
    """A key and its name, as "Z-12 Bajo de Mazatlán"."""
    return f"{key or ''} {name or ''}".strip()


def long_date(d: date | None) -> str:
    return "" if d is None else f"{d.day} de {MONTHS[d.month - 1]} de {d.year} ({d.isoformat()})"


class NoticeForm:
    """Draws notices on a canvas, one page (or more) each."""

    def __init__(self, canvas: Canvas, context: ExportContext) -> None:
        self.c = canvas
        self.context = context
        self.sheet = 0

    # Drawing primitives.
    def text(self, x: float, y: float, value: object, size: float = 9, bold: bool = False,
             width: float | None = None, right: bool = False) -> None:
        font = BOLD if bold else FONT
        s = pdf_text(value)
        if width is not None:
            s = fit(s, font, size, width)
        self.c.setFont(font, size)
        if right:
            self.c.drawRightString(x, y, s)
        else:
            self.c.drawString(x, y, s)

    def field(self, x: float, y: float, w: float, label: str, value: object) -> None:
        """A labelled box 10 mm high with its top-left corner at (x, y)."""
        self.c.rect(x, y - 10 * mm, w, 10 * mm)
        self.text(x + 1.5 * mm, y - 3.5 * mm, label, size=6.5)
        self.text(x + 1.5 * mm, y - 8 * mm, value, size=9.5, bold=True, width=w - 3 * mm)

    def row(self, y: float, cells: Sequence[object], bold: bool = False, fill: bool = False) -> None:
        x = MARGIN
        if fill:
            self.c.setFillGray(GREY)
            self.c.rect(MARGIN, y - ROW_H, CONTENT_W, ROW_H, stroke=0, fill=1)
            self.c.setFillGray(0)
        for (_, share, right), value in zip(COLUMNS, cells, strict=True):
            w = share * CONTENT_W
            tx = x + w - 1.5 * mm if right else x + 1.5 * mm
            self.text(tx, y - ROW_H + 1.5 * mm, value, size=8, bold=bold, width=w - 3 * mm, right=right)
            x += w
        self.c.line(MARGIN, y - ROW_H, MARGIN + CONTENT_W, y - ROW_H)

    # Page parts.
    def header(self, notice: Notice, continued: bool) -> float:
        c = self.c
        top = PAGE_H - MARGIN
        self.text(MARGIN, top - 5 * mm, self.context.authority_name, size=11, bold=True,
                  width=CONTENT_W - 70 * mm)
        title = "AVISO DE ARRIBO" + (" (continuación)" if continued else "")
        self.text(MARGIN, top - 12 * mm, title, size=16, bold=True)
        self.text(MARGIN, top - 17 * mm, "Declaración de la captura desembarcada",
                  size=8)
        box_x = PAGE_W - MARGIN - 68 * mm
        c.rect(box_x, top - 20 * mm, 68 * mm, 20 * mm)
        self.text(box_x + 2 * mm, top - 5 * mm, "FOLIO", size=7)
        self.text(box_x + 2 * mm, top - 11 * mm, notice.folio, size=12, bold=True, width=64 * mm)
        self.text(box_x + 2 * mm, top - 17 * mm, f"Tipo: {TYPE_LABELS[notice.type]}", size=9, bold=True)
        c.line(MARGIN, top - 23 * mm, PAGE_W - MARGIN, top - 23 * mm)
        return top - 26 * mm

    def particulars(self, notice: Notice, y: float) -> float:
        t = notice.trip
        half, third = CONTENT_W / 2, CONTENT_W / 3
        place_keys = sorted({(ln.catch_place_key or "", ln.catch_place_name or "") for ln in notice.lines
                             if ln.catch_place_key or ln.catch_place_name})
        places = "; ".join(joined(k, n) for k, n in place_keys)
        grid: list[list[tuple[float, str, object]]] = [
            [(third, "Fecha del aviso", long_date(notice.notice_date)),
             (third, "Inicio del periodo de captura", long_date(notice.period_start)),
             (third, "Fin del periodo de captura", long_date(notice.period_end))],
            [(half, "Unidad económica (nombre o razón social)", t.org_name),
             (third * 0.75, "RNPA de la unidad económica", t.rnpa),
             (half - third * 0.75, "Estado", t.state)],
            [(half, "Permiso o concesión", t.permit_number),
             (half, "Oficina de pesca receptora (clave)", notice.office_key)],
            [(half, "Embarcación (nombre)", t.vessel_name),
             (third * 0.75, "RNP / matrícula", t.vessel_rnp or t.vessel_registration),
             (half - third * 0.75, "Número de embarcaciones", 1)],
            [(half, "Sitio de desembarque", joined(t.landing_port_key, t.landing_port_name)),
             (half, "Lugar de captura", places)],
        ]
        if notice.original_folio:
            grid.append([(half, "Folio del aviso que se sustituye", notice.original_folio),
                         (half, "Revisión", notice.revision)])
        for line in grid:
            x = MARGIN
            for w, label, value in line:
                self.field(x, y, w, label, value)
                x += w
            y -= 10 * mm
        return y - 4 * mm

    def table_head(self, y: float) -> float:
        self.row(y, [name for name, _, _ in COLUMNS], bold=True, fill=True)
        return y - ROW_H

    def species_row(self, y: float, line: SpeciesLine) -> float:
        place = joined(line.catch_place_key, line.catch_place_name)
        self.row(y, [line.species_key, line.name_es, line.gear_code, place, kg(line.landed_kg),
                     kg(line.live_kg), money(line.price), money(line.value)])
        return y - ROW_H

    def closing(self, notice: Notice, y: float) -> None:
        total_value = notice.total_value
        self.row(y, ["", "TOTAL", "", "", kg(notice.total_landed_kg), kg(notice.total_live_kg), "",
                     money(total_value)], bold=True, fill=True)
        y -= ROW_H + 6 * mm
        if notice.type is NoticeType.cancellation:
            self.text(MARGIN, y, "AVISO CANCELADO: las capturas declaradas en este folio quedan sin efecto.",
                      size=10, bold=True)
            y -= 6 * mm
        self.text(MARGIN, y, "Declaro bajo protesta de decir verdad que los datos asentados son ciertos.",
                  size=8)
        box_w, box_h = CONTENT_W / 2 - 4 * mm, 28 * mm
        top = min(y - 4 * mm, MARGIN + 12 * mm + box_h)
        for i, label in enumerate(("Nombre y firma del titular o representante legal",
                                   "Sello, nombre y firma de quien recibe")):
            x = MARGIN + i * (box_w + 8 * mm)
            self.c.rect(x, top - box_h, box_w, box_h)
            self.c.line(x + 5 * mm, top - box_h + 8 * mm, x + box_w - 5 * mm, top - box_h + 8 * mm)
            self.text(x + box_w / 2 - stringWidth(label, FONT, 7) / 2, top - box_h + 4 * mm, label, size=7)

    def footer(self) -> None:
        self.sheet += 1
        ctx = self.context
        self.text(MARGIN, MARGIN - 6 * mm,
                  f"Generado por Cardumen {ctx.generator_version} - corrida {ctx.run_id}", size=6.5,
                  width=CONTENT_W - 25 * mm)
        self.text(PAGE_W - MARGIN, MARGIN - 6 * mm, f"Hoja {self.sheet}", size=6.5, right=True)
        self.c.showPage()

    def draw(self, notice: Notice) -> None:
        closing_h = ROW_H + 6 * mm + 6 * mm + 40 * mm  # totals, notes, signatures
        y = self.particulars(notice, self.header(notice, continued=False))
        y = self.table_head(y)
        for line in notice.lines:
            if y - ROW_H < MARGIN + 5 * mm:
                self.footer()
                y = self.table_head(self.header(notice, continued=True))
            y = self.species_row(y, line)
        if y < MARGIN + closing_h:  # totals and signatures go together, on a page of their own
            self.footer()
            y = self.header(notice, continued=True)
        self.closing(notice, y)
        self.footer()

    def empty(self) -> None:
        ctx = self.context
        self.text(MARGIN, PAGE_H - MARGIN - 5 * mm, ctx.authority_name, size=11, bold=True)
        self.text(MARGIN, PAGE_H - MARGIN - 12 * mm, "AVISOS DE ARRIBO", size=16, bold=True)
        end = date.fromordinal(ctx.period_end.toordinal() - 1)
        self.text(MARGIN, PAGE_H - MARGIN - 22 * mm,
                  f"Sin avisos de arribo del {long_date(ctx.period_start)} al {long_date(end)}.", size=10)
        self.footer()


@register
class ConapescaAvisoPdf(BaseExporter):
    name = "conapesca_aviso_pdf"
    title_es = "Avisos de arribo CONAPESCA (PDF)"
    title_en = "CONAPESCA landing notices (PDF)"
    amendment_scope = AmendmentScope.trip

    def write(self, records: Iterable[CatchRecord], sink: Sink, context: ExportContext) -> WriteStats:
        self.validate_options(context.options)
        reader = NoticeReader(records, context, zone(context))
        notices = 0
        with finishing(sink.open(FILE_NAME, MEDIA_TYPE)) as out:
            canvas = Canvas(out, pagesize=letter, invariant=1, pageCompression=1)
            canvas.setTitle("Avisos de arribo")
            canvas.setAuthor("Cardumen")
            canvas.setCreator(f"Cardumen {context.generator_version}")
            canvas.setSubject(f"{context.authority_name} - {context.period_start.isoformat()}")
            form = NoticeForm(canvas, context)
            for notice in reader:
                form.draw(notice)
                notices += 1
            if not notices:
                form.empty()
            canvas.save()
        return WriteStats(records=reader.records_read, rows={FILE_NAME: notices})

