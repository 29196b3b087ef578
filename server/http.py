"""Request bodies as phones send them: gzip accepted, sizes bounded, JSON only.

The gzip step is WSGI middleware so everything after it (Flask, webargs) sees
a plain body. Errors found there are handed to Flask through the environ and
raised in ``before_request`` so they get the one problem format.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request

from server.errors import ApiError

BODY_ERROR = "cardumen.body_error"
_JSON_TYPES = ("application/json", "application/geo+json", "application/merge-patch+json")
_OTHER_BODY_TYPES = ("multipart/form-data",)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class GzipRequestMiddleware:
    def __init__(self, app: WSGIApp, max_wire: int, max_decoded: int) -> None:
        self.app = app
        self.max_wire = max_wire
        self.max_decoded = max_decoded

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        encoding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        if encoding and encoding != "identity":
            self._decode(environ, encoding)
        return self.app(environ, start_response)

    def _decode(self, environ: dict[str, Any], encoding: str) -> None:
        if encoding not in ("gzip", "x-gzip"):
            environ[BODY_ERROR] = ApiError(415, "unsupported_encoding", encoding=encoding)
            return
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.max_wire:
            environ[BODY_ERROR] = ApiError(413, "payload_too_large", limit=self.max_wire)
            return
        raw = environ["wsgi.input"].read(length) if length else b""
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(raw, self.max_decoded + 1)
            if len(body) > self.max_decoded or inflater.unconsumed_tail:
                environ[BODY_ERROR] = ApiError(413, "payload_too_large", limit=self.max_decoded)
                return
            body += inflater.flush()
            if not inflater.eof:
                raise zlib.error("truncated")
        except zlib.error:
            environ[BODY_ERROR] = ApiError(400, "malformed_gzip")
            return
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        del environ["HTTP_CONTENT_ENCODING"]
        environ["cardumen.gzip_wire_bytes"] = length


def init_app(app: Flask) -> None:
    app.wsgi_app = GzipRequestMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, app.config["MAX_CONTENT_LENGTH"], app.config["MAX_DECODED_LENGTH"]
    )
    # Flask checks MAX_CONTENT_LENGTH against the decoded body; the middleware
    # already bounded the wire size, so here the decoded bound applies.
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_DECODED_LENGTH"]

    @app.before_request
    def _check_body() -> None:
        err = request.environ.get(BODY_ERROR)
        if err is not None:
            raise err
        if request.method in ("POST", "PUT", "PATCH") and _has_body():
            mimetype = request.mimetype
            if mimetype not in _JSON_TYPES and mimetype not in _OTHER_BODY_TYPES:
                raise ApiError(415, "unsupported_media_type")


def _has_body() -> bool:
    if request.content_length:
        return True
    return request.environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
