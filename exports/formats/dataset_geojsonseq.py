"""The open dataset as GeoJSON text sequences (RFC 8142): ``catches.geojsons``, ``trips.geojsons``.

One Feature per line, each preceded by the record separator (0x1E): a reader
can start on any record and a cut-off file loses only its last feature. The
features are those of ``dataset_geojson``.
"""

from __future__ import annotations

from collections.abc import Iterable

from exports.base import AmendmentScope, BaseExporter, Sink, WriteStats, register
from exports.formats._common import finishing
from exports.formats._geojson import FeatureStream, write_dataset
from exports.records import CatchRecord, ExportContext

CATCHES = "catches.geojsons"
TRIPS = "trips.geojsons"
MEDIA_TYPE = "application/geo+json-seq"


@register
class DatasetGeoJsonSeq(BaseExporter):
    name = "dataset_geojsonseq"
    title_es = "Conjunto de datos de capturas (secuencia GeoJSON)"
    title_en = "Catch dataset (GeoJSON text sequence)"
    amendment_scope = AmendmentScope.record

    def write(self, records: Iterable[CatchRecord], sink: Sink, context: ExportContext) -> WriteStats:
        self.validate_options(context.options)
        with finishing(sink.open(CATCHES, MEDIA_TYPE)) as catches_out, \
                finishing(sink.open(TRIPS, MEDIA_TYPE)) as trips_out:
            catches = FeatureStream(catches_out, sequence=True)
            trips = FeatureStream(trips_out, sequence=True)
            n = write_dataset(records, catches, trips)
        return WriteStats(records=n, rows={CATCHES: catches.count, TRIPS: trips.count})
