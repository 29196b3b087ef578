"""One error format for every error: RFC 9457 ``application/problem+json``.

Body: ``type``, ``title``, ``status``, ``detail``, ``instance``, ``code`` and,
for invalid input, ``errors``: a list of ``{field, in, code, message}``.
Texts follow ``Accept-Language`` (see server.i18n).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from flask import Flask, Response, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from server import i18n

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://cardumen.org/problems/"
PROBLEM_MIMETYPE = "application/problem+json"

_STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 412: "precondition_failed",
    413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
    429: "rate_limited", 500: "internal_error", 503: "service_unavailable",
}
# Titles name the kind of problem and do not vary between occurrences (RFC 9457
# 3.1.4): statuses whose message above has parameters get a text of their own.
_TITLES = {412: "title_precondition_failed", 413: "title_payload_too_large",
           415: "title_unsupported_media_type", 429: "title_rate_limited",
           503: "title_service_unavailable"}


class Coded(str):
    """A validation message that knows its code and parameters.

    A ``str`` so marshmallow can store it like its own messages; the error
    handler reads ``code``/``params`` back to translate it.
    """

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, **params: Any) -> Coded:
        obj = super().__new__(cls, i18n.t(code, "en", **params))
        obj.code = code
        obj.params = params
        return obj


def invalid(code: str, **params: Any) -> ValidationError:
    return ValidationError(Coded(code, **params))


def invalid_field(field_name: str, code: str, **params: Any) -> ValidationError:
    """For schema-level checks that blame one field."""
    return ValidationError({field_name: [Coded(code, **params)]})


@dataclass
class FieldError:
    field: str
    code: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    location: str = "json"
    raw: str | None = None  # a message we could not classify: shown as is

    def render(self, lang: str) -> dict[str, Any]:
        msg = self.raw if self.raw and not self.code else i18n.t(self.code, lang, **self.params)
        return {"field": self.field, "in": self.location, "code": self.code or "invalid",
                "message": msg}


class ApiError(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(self, status: int, code: str | None = None, *,
                 errors: Iterable[FieldError] = (), headers: Mapping[str, str] | None = None,
                 extra: Mapping[str, Any] | None = None, **params: Any) -> None:
        super().__init__(code or _STATUS_CODES.get(status, "bad_request"))
        self.status = status
        self.code = code or _STATUS_CODES.get(status, "bad_request")
        self.params = params
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def not_found() -> ApiError:
    return ApiError(404, "not_found")


def field_errors(messages: Any, location: str = "json", prefix: str = "") -> list[FieldError]:
    """Flatten marshmallow's nested messages into field errors with dotted paths."""
    out: list[FieldError] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                path = prefix
            out.extend(field_errors(value, location, path))
    elif isinstance(messages, list | tuple):
        for msg in messages:
            out.extend(field_errors(msg, location, prefix))
    else:
        out.append(_one(str(messages), messages, location, prefix))
    return out


def _one(text: str, msg: Any, location: str, path: str) -> FieldError:
    if isinstance(msg, Coded):
        return FieldError(path, msg.code, msg.params, location)
    code, params = i18n.classify(text)
    return FieldError(path, code, dict(params), location, raw=None if code else text)


def problem(status: int, code: str, *, errors: Iterable[FieldError] = (),
            headers: Mapping[str, str] | None = None, extra: Mapping[str, Any] | None = None,
            **params: Any) -> Response:
    lang = i18n.locale()
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code.replace("_", "-"),
        "title": i18n.t(_TITLES.get(status) or _STATUS_CODES.get(status, code), lang),
        "status": status,
        "detail": i18n.t(code, lang, **params),
        "instance": request.path if request else None,
        "code": code,
    }
    errs = [e.render(lang) for e in errors]
    if errs:
        body["errors"] = errs
    if extra:
        body.update(extra)
    resp = Response(orjson.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    resp.headers["Content-Language"] = lang
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _from_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    headers = dict(data.get("headers") or {})
    messages = data.get("messages")
    if status == 400 and messages and "json" in messages and \
            messages["json"] == ["Invalid JSON body."]:
        reason = str(getattr(exc, "exc", None) or "invalid").split(":")[0]
        return problem(400, "malformed_json", reason=reason)
    if messages:
        errs: list[FieldError] = []
        for location, msgs in messages.items():
            errs.extend(field_errors(msgs, location))
        return problem(422 if status == 422 else status,
                       "validation_error" if status == 422 else _STATUS_CODES.get(status, "bad_request"),
                       errors=errs, headers=headers)
    if status == 413:
        return problem(413, "payload_too_large", limit=request.max_content_length)
    if status == 405:
        allowed = exc.get_response().headers.get("Allow")
        if allowed:
            headers["Allow"] = allowed
    code = _STATUS_CODES.get(status, "bad_request" if status < 500 else "internal_error")
    return problem(status, code, headers=headers)


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return problem(exc.status, exc.code, errors=exc.errors, headers=exc.headers,
                       extra=exc.extra, **exc.params)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Response:
        return problem(422, "validation_error", errors=field_errors(exc.messages))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return _from_http(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "internal_error")
