"""Spanish and English texts of every message the API returns.

Errors carry a stable ``code``; the text is chosen per request from
``Accept-Language`` (Spanish when absent: most users are Mexican fishers).
Marshmallow's own messages are recognised by their English text and mapped
to a code, so library errors are translated too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import has_request_context, request

SUPPORTED = ("es", "en")

MESSAGES: dict[str, dict[str, str]] = {
    # titles of problem types
    "validation_error": {"en": "The request has invalid fields.",
                         "es": "La solicitud tiene campos no válidos."},
    "bad_request": {"en": "The request could not be understood.",
                    "es": "No se pudo entender la solicitud."},
    "malformed_json": {"en": "The body is not valid JSON: {reason}",
                       "es": "El cuerpo no es JSON válido: {reason}"},
    "malformed_gzip": {"en": "The body is not valid gzip data.",
                       "es": "El cuerpo no son datos gzip válidos."},
    "unsupported_encoding": {"en": "Content-Encoding {encoding} is not supported; use gzip.",
                             "es": "No se admite Content-Encoding {encoding}; use gzip."},
    "unsupported_media_type": {"en": "Send the body as application/json.",
                               "es": "Envíe el cuerpo como application/json."},
    "unauthorized": {"en": "Authentication is required.",
                     "es": "Se requiere autenticación."},
    "token_missing": {"en": "Send an access token: Authorization: Bearer <token>.",
                      "es": "Envíe un token de acceso: Authorization: Bearer <token>."},
    "token_expired": {"en": "The access token has expired; refresh it.",
                      "es": "El token de acceso caducó; renuévelo."},
    "token_invalid": {"en": "The access token is not valid.",
                      "es": "El token de acceso no es válido."},
    "refresh_invalid": {"en": "The refresh token is not valid or has expired.",
                        "es": "El token de renovación no es válido o caducó."},
    "refresh_reused": {"en": "This refresh token was already used; every session of this "
                             "device was closed for safety. Log in again.",
                       "es": "Este token de renovación ya se había usado; por seguridad se "
                             "cerraron las sesiones de este dispositivo. Inicie sesión otra vez."},
    "bad_credentials": {"en": "Wrong phone number or password.",
                        "es": "Número de teléfono o contraseña incorrectos."},
    "forbidden": {"en": "You are not allowed to do this.",
                  "es": "No tiene permiso para hacer esto."},
    "not_found": {"en": "Not found.", "es": "No encontrado."},
    # a search near a point (server.geofields.NearQuery)
    "radius_needs_point": {"en": "A radius needs lon and lat.",
                           "es": "Un radio necesita lon y lat."},
    "point_incomplete": {"en": "Give both lon and lat.", "es": "Indique lon y lat."},
    "distance_needs_point": {"en": "Sorting by distance needs lon and lat.",
                             "es": "Ordenar por distancia necesita lon y lat."},
    "method_not_allowed": {"en": "Method not allowed here.",
                           "es": "Método no permitido aquí."},
    "payload_too_large": {"en": "The request body is too large (limit {limit} bytes).",
                          "es": "El cuerpo de la solicitud es demasiado grande "
                                "(límite {limit} bytes)."},
    "too_many_items": {"en": "A batch holds at most {limit} items.",
                       "es": "Un lote admite como máximo {limit} elementos."},
    "rate_limited": {"en": "Too many attempts. Try again in {retry_after} seconds.",
                     "es": "Demasiados intentos. Intente de nuevo en {retry_after} segundos."},
    "conflict": {"en": "The request conflicts with the current state.",
                 "es": "La solicitud entra en conflicto con el estado actual."},
    "precondition_failed": {"en": "The record changed since you read it (version {current}).",
                            "es": "El registro cambió desde que lo leyó (versión {current})."},
    "internal_error": {"en": "Unexpected server error. It was logged.",
                       "es": "Error inesperado del servidor. Quedó registrado."},
    "service_unavailable": {"en": "The service is not ready: {reason}",
                            "es": "El servicio no está listo: {reason}"},
    # titles of statuses whose detail message carries parameters or names one
    # cause only (a title does not change from one occurrence to the next)
    "title_precondition_failed": {"en": "The record changed since you read it.",
                                  "es": "El registro cambió desde que lo leyó."},
    "title_payload_too_large": {"en": "The request body is too large.",
                                "es": "El cuerpo de la solicitud es demasiado grande."},
    "title_unsupported_media_type": {"en": "The body's media type or encoding is not supported.",
                                     "es": "No se admite el tipo o la codificación del cuerpo."},
    "title_rate_limited": {"en": "Too many attempts.", "es": "Demasiados intentos."},
    "title_service_unavailable": {"en": "The service is not ready.",
                                  "es": "El servicio no está listo."},
    # field-level
    "required": {"en": "This field is required.", "es": "Este campo es obligatorio."},
    "null": {"en": "This field may not be null.", "es": "Este campo no puede ser nulo."},
    "unknown_field": {"en": "Unknown field.", "es": "Campo desconocido."},
    "invalid_type": {"en": "Invalid input type.", "es": "Tipo de dato no válido."},
    "invalid_value": {"en": "Invalid value.", "es": "Valor no válido."},
    "nul_character": {"en": "NUL characters (\\u0000, %00) are not allowed.",
                      "es": "No se admiten caracteres NUL (\\u0000, %00)."},
    "pattern_mismatch": {"en": "Does not have the expected format.",
                         "es": "No tiene el formato esperado."},
    "number_too_large": {"en": "Number too large.", "es": "Número demasiado grande."},
    "not_a_time": {"en": "Not a valid time.", "es": "No es una hora válida."},
    "invalid_email": {"en": "Not a valid email address.",
                      "es": "No es una dirección de correo válida."},
    "invalid_url": {"en": "Not a valid URL.", "es": "No es una URL válida."},
    "not_a_string": {"en": "Not a valid string.", "es": "No es un texto válido."},
    "not_a_number": {"en": "Not a valid number.", "es": "No es un número válido."},
    "not_an_integer": {"en": "Not a valid integer.", "es": "No es un número entero válido."},
    "not_a_boolean": {"en": "Not a valid boolean.", "es": "No es un valor booleano válido."},
    "not_a_uuid": {"en": "Not a valid UUID.", "es": "No es un UUID válido."},
    "not_a_datetime": {"en": "Not a valid date and time (ISO 8601 with time zone).",
                       "es": "No es una fecha y hora válida (ISO 8601 con zona horaria)."},
    "not_a_date": {"en": "Not a valid date (YYYY-MM-DD).",
                   "es": "No es una fecha válida (AAAA-MM-DD)."},
    "not_a_list": {"en": "Not a valid list.", "es": "No es una lista válida."},
    "not_an_object": {"en": "Not a valid object.", "es": "No es un objeto válido."},
    "not_finite": {"en": "Special numeric values (NaN, Infinity) are not permitted.",
                   "es": "No se permiten valores numéricos especiales (NaN, Infinity)."},
    "one_of": {"en": "Must be one of: {choices}.", "es": "Debe ser uno de: {choices}."},
    "length_between": {"en": "Length must be between {min} and {max}.",
                       "es": "La longitud debe estar entre {min} y {max}."},
    "length_equal": {"en": "Length must be {equal}.", "es": "La longitud debe ser {equal}."},
    "length_min": {"en": "Shorter than minimum length {min}.",
                   "es": "Más corto que la longitud mínima de {min}."},
    "length_max": {"en": "Longer than maximum length {max}.",
                   "es": "Más largo que la longitud máxima de {max}."},
    "range_between": {"en": "Must be between {min} and {max}.",
                      "es": "Debe estar entre {min} y {max}."},
    "range_min": {"en": "Must be at least {min}.", "es": "Debe ser al menos {min}."},
    "range_max": {"en": "Must be at most {max}.", "es": "Debe ser como máximo {max}."},
    "range_gt": {"en": "Must be greater than {min}.", "es": "Debe ser mayor que {min}."},
    "range_lt": {"en": "Must be less than {max}.", "es": "Debe ser menor que {max}."},
    "must_be_positive": {"en": "Must be greater than 0.", "es": "Debe ser mayor que 0."},
    "invalid_phone": {"en": "Not a valid phone number; use the international form, "
                            "e.g. +52 612 123 4567.",
                      "es": "No es un número de teléfono válido; use la forma internacional, "
                            "p. ej. +52 612 123 4567."},
    "phone_taken": {"en": "This phone number is already registered.",
                    "es": "Este número de teléfono ya está registrado."},
    "weak_password": {"en": "The password needs at least {min} characters.",
                      "es": "La contraseña necesita al menos {min} caracteres."},
    "unknown_species": {"en": "Unknown species code {value}.",
                        "es": "Código de especie desconocido: {value}."},
    "unknown_gear": {"en": "Unknown gear code {value}.",
                     "es": "Código de arte de pesca desconocido: {value}."},
    "unknown_port": {"en": "Unknown port {value}.", "es": "Puerto desconocido: {value}."},
    "unknown_vessel": {"en": "Unknown vessel {value} in this cooperative.",
                       "es": "Embarcación desconocida en esta cooperativa: {value}."},
    "unknown_trip": {"en": "Unknown trip {value}.", "es": "Viaje desconocido: {value}."},
    "unknown_zone": {"en": "Unknown zone {value}.", "es": "Zona desconocida: {value}."},
    "unknown_member": {"en": "Unknown member {value}.", "es": "Miembro desconocido: {value}."},
    "weight_too_large": {"en": "{value} kg is above the plausible maximum of {max} kg.",
                         "es": "{value} kg supera el máximo plausible de {max} kg."},
    "live_below_landed": {"en": "Live weight cannot be below the landed weight.",
                          "es": "El peso vivo no puede ser menor que el peso desembarcado."},
    "in_future": {"en": "This time is in the future.", "es": "Esta hora está en el futuro."},
    "return_before_departure": {"en": "The return is before the departure.",
                                "es": "El regreso es anterior a la salida."},
    "trip_too_long": {"en": "A trip lasts at most {max} days.",
                      "es": "Un viaje dura como máximo {max} días."},
    "catch_outside_trip": {"en": "The catch time is outside its trip ({start} – {end}).",
                           "es": "La hora de la captura está fuera de su viaje "
                                 "({start} – {end})."},
    "duplicate_in_batch": {"en": "This id appears more than once in the batch.",
                           "es": "Este id aparece más de una vez en el lote."},
    "duplicate_code": {"en": "This code appears more than once in the batch.",
                       "es": "Este código aparece más de una vez en el lote."},
    "trip_excludes_catches": {"en": "With these times the trip would leave some of its catches "
                                     "outside it; correct those catches first.",
                               "es": "Con estas horas el viaje dejaría fuera algunas de sus "
                                     "capturas; corrija primero esas capturas."},
    "trip_has_catches": {"en": "This trip still has catches; cancel them first (a push may "
                                "hold the catches' cancellations, then the trip in the next push).",
                         "es": "Este viaje todavía tiene capturas; cancélelas primero (un envío "
                               "puede llevar sus cancelaciones y el siguiente, el viaje)."},
    "zero_catch_has_catches": {"en": "A zero-catch trip cannot have catches.",
                               "es": "Un viaje sin captura no puede tener capturas."},
    "not_your_trip": {"en": "This trip belongs to someone else.",
                      "es": "Este viaje pertenece a otra persona."},
    "no_membership": {"en": "You are not an active member of organization {value}.",
                      "es": "No es miembro activo de la organización {value}."},
    "version_gap": {"en": "Version {value} does not follow the current version {current}.",
                    "es": "La versión {value} no sigue a la versión actual {current}."},
    "already_cancelled": {"en": "This record is cancelled.",
                          "es": "Este registro está cancelado."},
    "already_member": {"en": "You already belong to or asked to join this organization.",
                       "es": "Ya pertenece o ya pidió unirse a esta organización."},
    "invalid_cursor": {"en": "Invalid cursor; start again without one.",
                       "es": "Cursor no válido; empiece de nuevo sin cursor."},
    "invalid_code": {"en": "Not a valid code.", "es": "No es un código válido."},
    "duplicate_value": {"en": "This value is already used: {value}.",
                        "es": "Este valor ya está en uso: {value}."},
    "last_admin": {"en": "A cooperative must keep at least one active administrator.",
                   "es": "Una cooperativa debe conservar al menos un administrador activo."},
    "date_order": {"en": "The end date is before the start date.",
                   "es": "La fecha final es anterior a la inicial."},
}

# Marshmallow's default English messages -> (code, regex for params).
_MARSHMALLOW: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Missing data for required field\.$"), "required"),
    (re.compile(r"^Field may not be null\.$"), "null"),
    (re.compile(r"^Unknown field\.$"), "unknown_field"),
    (re.compile(r"^Invalid input type\.$"), "invalid_type"),
    (re.compile(r"^Invalid type\.$"), "invalid_type"),
    (re.compile(r"^Invalid (value|input)\.$"), "invalid_value"),
    (re.compile(r"^String does not match expected pattern\.$"), "pattern_mismatch"),
    (re.compile(r"^Number too large\.$"), "number_too_large"),
    (re.compile(r"^Not a valid utf-8 string\.$"), "not_a_string"),
    (re.compile(r"^Not a valid (aware |naive )?datetime\.$"), "not_a_datetime"),
    (re.compile(r"^Not a valid time\.$"), "not_a_time"),
    (re.compile(r"^Not a valid tuple\.$"), "not_a_list"),
    (re.compile(r"^Not a valid email address\.$"), "invalid_email"),
    (re.compile(r"^Not a valid URL\.$"), "invalid_url"),
    (re.compile(r"^Length must be (?P<equal>\S+)\.$"), "length_equal"),
    (re.compile(r"^Not a valid string\.$"), "not_a_string"),
    (re.compile(r"^Not a valid number\.$"), "not_a_number"),
    (re.compile(r"^Not a valid integer\.$"), "not_an_integer"),
    (re.compile(r"^Not a valid boolean\.$"), "not_a_boolean"),
    (re.compile(r"^Not a valid UUID\.$"), "not_a_uuid"),
    (re.compile(r"^Not a valid date\.$"), "not_a_date"),
    (re.compile(r"^Not a valid list\.$"), "not_a_list"),
    (re.compile(r"^Not a valid mapping type\.$"), "not_an_object"),
    (re.compile(r"^Special numeric values \(nan or infinity\) are not permitted\.$"), "not_finite"),
    (re.compile(r"^Must be one of: (?P<choices>.*)\.$"), "one_of"),
    (re.compile(r"^Length must be between (?P<min>\S+) and (?P<max>\S+)\.$"), "length_between"),
    (re.compile(r"^Shorter than minimum length (?P<min>\S+)\.$"), "length_min"),
    (re.compile(r"^Longer than maximum length (?P<max>\S+)\.$"), "length_max"),
    (re.compile(r"^Must be greater than or equal to (?P<min>\S+) and less than or equal to "
                r"(?P<max>\S+)\.$"), "range_between"),
    (re.compile(r"^Must be greater than or equal to (?P<min>\S+)\.$"), "range_min"),
    (re.compile(r"^Must be less than or equal to (?P<max>\S+)\.$"), "range_max"),
    (re.compile(r"^Must be greater than 0\.$"), "must_be_positive"),
    (re.compile(r"^Must be greater than (?P<min>\S+) and less than (or equal to )?(?P<max>\S+)\.$"),
     "range_between"),
    (re.compile(r"^Must be greater than or equal to (?P<min>\S+) and less than (?P<max>\S+)\.$"),
     "range_between"),
    (re.compile(r"^Must be greater than (?P<min>\S+)\.$"), "range_gt"),
    (re.compile(r"^Must be less than (?P<max>\S+)\.$"), "range_lt"),
]


def register(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add messages defined elsewhere (``geo.messages``) without overriding ours."""
    for code, texts in messages.items():
        MESSAGES.setdefault(code, dict(texts))


def locale() -> str:
    if not has_request_context():
        return "es"
    best = request.accept_languages.best_match(SUPPORTED)
    return best or "es"


class Words(dict[str, str]):
    """A parameter that is itself translated: {"es": "quien vende", "en": "the seller"}."""


def t(code: str, lang: str | None = None, **params: object) -> str:
    texts = MESSAGES.get(code)
    if texts is None:
        return code
    lang = lang or locale()
    template = texts.get(lang) or texts["en"]
    values = {k: (v.get(lang) or v.get("en", "")) if isinstance(v, Words) else v
              for k, v in params.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


def classify(message: str) -> tuple[str, dict[str, str]]:
    """Map a library's English message to (code, params); unknown text keeps itself."""
    for pattern, code in _MARSHMALLOW:
        m = pattern.match(message)
        if m:
            return code, m.groupdict()
    return "", {}
