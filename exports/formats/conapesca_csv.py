"""CONAPESCA landing notices (avisos de arribo) as CSV: one row per notice x species.

Layout. The column names and their order follow CONAPESCA's open data on
landing notices ("Avisos de arribo y cosecha", one CSV a year, published at
conapesca.gob.mx / datos.gob.mx; 35 columns, ISO-8859-1, headed by
``RNP ACTIVO``). The official file itself could not be fetched from here: the
names below were reconstructed from public code that loads those files, which
quotes ``RNP ACTIVO``, ``CLAVE SITIO DESEMBARQUE``, ``NOMBRE SITIO
DESEMBARQUE``, ``RNPA UNIDAD ECONOMICA``, ``UNIDAD ECONOMICA``, ``NOMBRE
ESTADO``, ``CLAVE OFICINA``, ``FOLIO AVISO``, ``FECHA AVISO``, ``NUMERO
EMBARCACIONES``, ``PERIODO FIN``, ``CLAVE ESPECIE``, ``NOMBRE ESPECIE``,
``PESO DESEMBARCADO_KILOGRAMOS`` and ``PRECIO_PESOS`` verbatim; the others
(``NOMBRE ACTIVO``, ``ORIGEN``, ``CLAVE/NOMBRE LUGAR CAPTURA`` (older years
spell ``LUGARCAPTURA``), ``PERIODO INICIO``, ``NUMERO PERMISO``, ``PESO
VIVO_KILOGRAMOS``, ``VALOR_PESOS``) only in normalized form, so their exact
spelling is inferred. Official columns we cannot fill from a catch log are left
out: NOMBRE OFICINA, TIPO AVISO (there it is the fleet: MAYORES / MENORES /
COSECHA), MES/AÑO CORTE, DURACION, DIAS EFECTIVOS, TIPO ZONA, PRODUCCION
ACUACULTURAL, FECHA EXPEDICION / VIGENCIA (of the permit), NOMBRE PRINCIPAL and
LITORAL. Dates are ISO (``YYYY-MM-DD``) local dates, where the open data
prints ``DD/MM/YYYY``.

Columns we add after the official ones: CODIGO ASFIS, NOMBRE CIENTIFICO, CLAVE
ARTE PESCA (ISSCFG abbreviation), CODIGO ISSCFG, and for amendments TIPO
MOVIMIENTO (ORIGINAL / EXTEMPORANEO / CORRECCION / CANCELACION; not called
TIPO AVISO, which already means the fleet), FOLIO ORIGINAL (the folio a
re-issued notice replaces) and ID CORRIDA (the run that wrote the file).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

from exports.base import AmendmentScope, BaseExporter, Sink, WriteStats, register
from exports.formats._common import TextOut, iso_date, kg, money, representable, vessel, zone
from exports.formats._notices import NoticeReader
from exports.records import CatchRecord, ExportContext

FILE_NAME = "avisos_arribo.csv"

HEADER = (
    "RNP ACTIVO", "NOMBRE ACTIVO", "CLAVE SITIO DESEMBARQUE", "NOMBRE SITIO DESEMBARQUE",
    "RNPA UNIDAD ECONOMICA", "UNIDAD ECONOMICA", "NOMBRE ESTADO", "CLAVE OFICINA",
    "FOLIO AVISO", "FECHA AVISO", "ORIGEN", "CLAVE LUGAR CAPTURA", "NOMBRE LUGAR CAPTURA",
    "NUMERO EMBARCACIONES", "PERIODO INICIO", "PERIODO FIN", "NUMERO PERMISO",
    "CLAVE ESPECIE", "NOMBRE ESPECIE", "PESO DESEMBARCADO_KILOGRAMOS", "PESO VIVO_KILOGRAMOS",
    "PRECIO_PESOS", "VALOR_PESOS",
    # Ours.
    "CODIGO ASFIS", "NOMBRE CIENTIFICO", "CLAVE ARTE PESCA", "CODIGO ISSCFG",
    "TIPO MOVIMIENTO", "FOLIO ORIGINAL", "ID CORRIDA",
)

# The charset parameter in IANA spelling; utf-8-sig is UTF-8 with a BOM.
CHARSETS = {"utf-8": "utf-8", "latin-1": "iso-8859-1", "utf-8-sig": "utf-8"}


@register
class ConapescaAvisoCsv(BaseExporter):
    name = "conapesca_aviso_csv"
    title_es = "Avisos de arribo CONAPESCA (CSV)"
    title_en = "CONAPESCA landing notices (CSV)"
    amendment_scope = AmendmentScope.trip
    option_choices = {"encoding": tuple(CHARSETS)}
    option_defaults = {"encoding": "utf-8"}

    def write(self, records: Iterable[CatchRecord], sink: Sink, context: ExportContext) -> WriteStats:
        encoding = self.validate_options(context.options)["encoding"]
        reader = NoticeReader(records, context, zone(context))
        rows = 0
        media_type = f"text/csv; charset={CHARSETS[encoding]}"
        with TextOut(sink.open(FILE_NAME, media_type), encoding) as out:
            writer = csv.writer(out)
            writer.writerow(HEADER)
            # Transliterate before the csv module quotes (see representable()).
            legacy = encoding == "latin-1"
            for notice in reader:
                t = notice.trip
                head = (
                    vessel(t), t.vessel_name, t.landing_port_key, t.landing_port_name,
                    t.rnpa, t.org_name, t.state, notice.office_key,
                    notice.folio, iso_date(notice.notice_date), "CAPTURA",
                )
                for line in notice.lines:
                    row: tuple[object, ...] = (
                        *head,
                        line.catch_place_key, line.catch_place_name,
                        1, iso_date(notice.period_start), iso_date(notice.period_end),
                        t.permit_number, line.species_key, line.name_es,
                        kg(line.landed_kg), kg(line.live_kg),
                        money(line.price), money(line.value),
                        line.species_code, line.scientific_name, line.gear_code, line.isscfg_code,
                        notice.type.value, notice.original_folio, context.run_id,
                    )
                    if legacy:
                        row = tuple(representable(v, encoding) if isinstance(v, str) else v for v in row)
                    writer.writerow(row)
                    rows += 1
        return WriteStats(records=reader.records_read, rows={FILE_NAME: rows})
