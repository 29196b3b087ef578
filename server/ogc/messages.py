"""Spanish and English texts of the OGC API's message codes."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "invalid_query": {"en": "Some query parameters are not valid; see errors.",
                      "es": "Algunos parámetros de la consulta no son válidos; vea errors."},
    "unknown_parameter": {"en": "Unknown parameter {name}; this resource takes: {allowed}.",
                          "es": "Parámetro desconocido: {name}; este recurso acepta: {allowed}."},
    "repeated_parameter": {"en": "Give this parameter once.",
                           "es": "Indique este parámetro una sola vez."},
    "bbox_invalid": {
        "en": "Give bbox as four finite numbers: min longitude, min latitude, max longitude, "
              "max latitude (WGS84).",
        "es": "Indique bbox como cuatro números finitos: longitud mínima, latitud mínima, "
              "longitud máxima, latitud máxima (WGS84)."},
    "bbox_inverted": {
        "en": "A bbox minimum is above its maximum (boxes across the antimeridian are not "
              "supported).",
        "es": "Un mínimo del bbox es mayor que su máximo (no se admiten cajas que crucen el "
              "antimeridiano)."},
    "bbox_out_of_range": {
        "en": "bbox must lie within longitudes -180 to 180 and latitudes -90 to 90.",
        "es": "bbox debe estar entre las longitudes -180 y 180 y las latitudes -90 y 90."},
    "datetime_invalid": {
        "en": "Give an RFC 3339 date-time with its time zone (2026-03-01T00:00:00Z), a date, "
              "or an interval a/b, ../b or a/..",
        "es": "Indique una fecha y hora RFC 3339 con su zona horaria (2026-03-01T00:00:00Z), "
              "una fecha, o un intervalo a/b, ../b o a/.."},
    "datetime_inverted": {"en": "The interval ends before it starts.",
                          "es": "El intervalo termina antes de empezar."},
    "limit_range": {"en": "limit must be a whole number from {min} to {max}.",
                    "es": "limit debe ser un número entero de {min} a {max}."},
    "species_invalid": {
        "en": "Give species as ASFIS 3-letter codes separated by commas, e.g. LJS,SIE.",
        "es": "Indique species como códigos ASFIS de 3 letras separados por comas, p. ej. LJS,SIE."},
    "format_unsupported": {"en": "Format not offered; use f={choices}.",
                           "es": "Formato no disponible; use f={choices}."},
}
