"""What the GDAL test runs in a child process (imports nothing of the app).

pyogrio holds the GIL while GDAL fetches pages during a read, so a server
thread in the same process could never answer those requests: the reader
runs in a process of its own, the server stays a thread of the test process.
"""

from __future__ import annotations

from typing import Any


def read(source: str, token: str, layer: str, **kwargs: Any) -> dict[str, Any]:
    """Open ``source`` with a bearer token and read ``layer``: its info and its rows (WKB)."""
    import pyogrio
    import pyogrio.raw

    # GDAL_HTTP_HEADERS does not reach the server: the OAPIF driver sends its
    # own HEADERS option (Accept) on every request, which replaces the
    # configured ones. GDAL's bearer authentication (3.9+) is added to them.
    options = {"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token, "GDAL_HTTP_TIMEOUT": "30"}
    pyogrio.set_gdal_config_options(options)
    try:
        open_kw = {"dataset_kwargs": kwargs.pop("dataset_kwargs", {})}
        layers = sorted(name for name, _ in pyogrio.list_layers(source))
        info = pyogrio.read_info(source, layer=layer, force_feature_count=True,
                                 **open_kw["dataset_kwargs"])
        meta, _fids, geometry, fields = pyogrio.raw.read(source, layer=layer, **open_kw, **kwargs)
        names = list(meta["fields"])
        rows = [dict(zip(names, [v.item() if hasattr(v, "item") else v for v in values],
                         strict=True)) for values in zip(*fields, strict=True)]
        return {"layers": layers, "features": int(info["features"]),
                "fields": list(info["fields"]), "geometry_type": info["geometry_type"],
                "rows": rows, "wkb": [bytes(g) for g in geometry]}
    finally:
        pyogrio.set_gdal_config_options(dict.fromkeys(options))
