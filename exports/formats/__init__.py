"""The built-in report formats; importing this package registers them all.

A new format is one module here with a ``@register``-ed ``BaseExporter``
subclass, plus its import below.
"""

from exports.formats import (  # noqa: F401  (imported to register)
    conapesca_csv,
    conapesca_pdf,
    dataset_csv,
    dataset_geojson,
    dataset_geojsonseq,
    dataset_gpkg,
    fao_cwp,
)
