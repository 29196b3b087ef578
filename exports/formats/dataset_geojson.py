"""The open dataset as GeoJSON (RFC 7946): ``catches.geojson`` and ``trips.geojson``.

Each file is one FeatureCollection, written feature by feature (never built
as one document in memory). Catches are Points in WGS 84 (null geometry
without a position) with the dataset columns as properties; trips have null
geometry.
"""

from __future__ import annotations

from collections.abc import Iterable

from exports.base import AmendmentScope, BaseExporter, Sink, WriteStats, register
from exports.formats._common import finishing
from exports.formats._geojson import FeatureStream, write_dataset
from exports.records import CatchRecord, ExportContext

CATCHES = "catches.geojson"
TRIPS = "trips.geojson"
MEDIA_TYPE = "application/geo+json"


@register
class DatasetGeoJson(BaseExporter):
    name = "dataset_geojson"
    title_es = "Conjunto de datos de capturas (GeoJSON)"
    title_en = "Catch dataset (GeoJSON)"
    amendment_scope = AmendmentScope.record

    def write(self, records: Iterable[CatchRecord], sink: Sink, context: ExportContext) -> WriteStats:
        self.validate_options(context.options)
        with finishing(sink.open(CATCHES, MEDIA_TYPE)) as catches_out, \
                finishing(sink.open(TRIPS, MEDIA_TYPE)) as trips_out:
            catches = FeatureStream(catches_out, sequence=False)
            trips = FeatureStream(trips_out, sequence=False)
            n = write_dataset(records, catches, trips)
        return WriteStats(records=n, rows={CATCHES: catches.count, TRIPS: trips.count})
