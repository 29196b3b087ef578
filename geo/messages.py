"""Human-readable texts for ``GeoError`` codes, in English and Spanish.

Kept as plain data (no dependency on ``geo.errors``) so the server can merge
it into its own translation catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_LANG = "en"

MESSAGES: dict[str, dict[str, str]] = {
    "not_an_object": {
        "en": "Expected a GeoJSON object, got {got}.",
        "es": "Se esperaba un objeto GeoJSON, pero se recibió {got}.",
    },
    "unknown_geometry_type": {
        "en": 'Unknown GeoJSON type "{got}".',
        "es": 'El tipo GeoJSON "{got}" no es reconocido.',
    },
    "wrong_geometry_type": {
        "en": "Expected a {expected} geometry, got {got}.",
        "es": "Se esperaba una geometría de tipo {expected}, pero se recibió {got}.",
    },
    "missing_coordinates": {
        "en": "The coordinates are missing or incomplete.",
        "es": "Faltan las coordenadas o están incompletas.",
    },
    "missing_features": {
        "en": 'The FeatureCollection must have a "features" list.',
        "es": 'La FeatureCollection debe tener una lista "features".',
    },
    "not_a_number": {
        "en": "Coordinates must be numbers, got {got}.",
        "es": "Las coordenadas deben ser números, pero se recibió {got}.",
    },
    "not_finite": {
        "en": "Coordinates must be finite numbers, got {value}.",
        "es": "Las coordenadas deben ser números finitos, pero se recibió {value}.",
    },
    "too_many_dimensions": {
        "en": "A position has {got} values; at most 3 (longitude, latitude, altitude) are allowed.",
        "es": (
            "Una posición tiene {got} valores; se admiten como máximo 3 "
            "(longitud, latitud y altitud)."
        ),
    },
    "longitude_out_of_range": {
        "en": "Longitude {value} is outside the range -180 to 180.",
        "es": "La longitud {value} está fuera del rango de -180 a 180.",
    },
    "latitude_out_of_range": {
        "en": "Latitude {value} is outside the range -90 to 90.",
        "es": "La latitud {value} está fuera del rango de -90 a 90.",
    },
    "too_few_points": {
        "en": "At least {min} positions are required, got {got}.",
        "es": "Se necesitan al menos {min} posiciones, pero hay {got}.",
    },
    "too_many_vertices": {
        "en": "The geometry has {got} vertices; the maximum is {max}.",
        "es": "La geometría tiene {got} vértices; el máximo permitido es {max}.",
    },
    "ring_not_closed": {
        "en": "The polygon ring is not closed: its first and last positions must be identical.",
        "es": (
            "El anillo del polígono no está cerrado: la primera y la última posición "
            "deben ser idénticas."
        ),
    },
    "empty_geometry": {
        "en": "The geometry is empty.",
        "es": "La geometría está vacía.",
    },
    "self_intersection": {
        "en": "The polygon's edges cross each other at longitude {x}, latitude {y}.",
        "es": "Los bordes del polígono se cruzan entre sí en la longitud {x}, latitud {y}.",
    },
    "invalid_geometry": {
        "en": "The geometry is not valid: {reason}.",
        "es": "La geometría no es válida: {reason}.",
    },
}


def render(code: str, params: Mapping[str, object], lang: str) -> str:
    """Format the message for ``code`` in ``lang``, falling back to English.

    Accepts full locale tags ("es-MX", "es_ES") because that is what
    Accept-Language parsing usually yields. Never raises: an unknown code or a
    missing parameter degrades to a less helpful text rather than turning a
    validation error into a server error.
    """
    texts = MESSAGES.get(code)
    if texts is None:
        return code
    base = lang.replace("_", "-").split("-", 1)[0].lower()
    template = texts.get(base) or texts[DEFAULT_LANG]
    try:
        return template.format_map(params)
    except (KeyError, IndexError, ValueError):
        return template
