"""Request bodies as phones send them: gzip accepted, sizes bounded, JSON only.

The gzip step is WSGI middleware so everything after it (Flask, webargs) sees
a plain body. Errors found there are handed to Flask through the environ and
raised in ``before_request`` so they get the one problem format.

Two limits: ``MAX_CONTENT_LENGTH`` bounds the bytes on the wire (plain or
gzip) and ``MAX_DECODED_LENGTH`` the body once inflated.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from flask import Flask, request

from server.errors import ApiError, FieldError

BODY_ERROR = "cardumen.body_error"
GZIP_WIRE_BYTES = "cardumen.gzip_wire_bytes"
_JSON_TYPES = ("application/json", "application/geo+json", "application/merge-patch+json")
# Images: listing photos are posted as the raw file (server/market/photos.py decodes them).
_OTHER_BODY_TYPES = ("multipart/form-data", "image/jpeg", "image/png", "image/webp")
# PostgreSQL text and jsonb cannot hold U+0000: refuse it at the door rather
# than fail (500) at INSERT time. An escaped backslash before "u0000" is text.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
NUL_REASON = "NUL characters (\\u0000) are not allowed"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _TooLarge(Exception):
    pass


class GzipRequestMiddleware:
    def __init__(self, app: WSGIApp, max_wire: int, max_decoded: int) -> None:
        self.app = app
        self.max_wire = max_wire
        self.max_decoded = max_decoded

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        encoding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        if encoding and encoding != "identity":
            self._decode(environ, encoding)
        else:
            self._plain(environ)
        return self.app(environ, start_response)

    def _plain(self, environ: dict[str, Any]) -> None:
        length = _content_length(environ)
        if length is None:
            environ[BODY_ERROR] = ApiError(400, "bad_request")
        elif length > self.max_wire:
            environ[BODY_ERROR] = ApiError(413, "payload_too_large", limit=self.max_wire)
        elif length == 0 and _chunked(environ):
            # Buffered here, bounded: werkzeug cuts a chunked body at the limit
            # without a word instead of answering 413.
            try:
                self._replace_body(environ, self._read_wire(environ, 0))
            except _TooLarge:
                environ[BODY_ERROR] = ApiError(413, "payload_too_large", limit=self.max_wire)

    def _read_wire(self, environ: dict[str, Any], length: int) -> bytes:
        stream = environ["wsgi.input"]
        if length:
            return bytes(stream.read(length))
        if not _chunked(environ):
            return b""
        # No Content-Length (chunked upload): read to the end, never past the limit.
        buf = bytearray()
        while len(buf) <= self.max_wire:
            chunk = stream.read(min(65536, self.max_wire + 1 - len(buf)))
            if not chunk:
                break
            buf += chunk
        if len(buf) > self.max_wire:
            raise _TooLarge
        return bytes(buf)

    def _inflate(self, raw: bytes) -> bytes:
        """Every gzip member (RFC 1952 allows several), bounded by the decoded limit."""
        out = bytearray()
        data = raw
        while True:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += inflater.decompress(data, self.max_decoded + 1 - len(out))
            if len(out) > self.max_decoded or inflater.unconsumed_tail:
                raise _TooLarge
            out += inflater.flush()
            if len(out) > self.max_decoded:
                raise _TooLarge
            if not inflater.eof:
                raise zlib.error("truncated")
            data = inflater.unused_data
            if not data:
                return bytes(out)

    def _decode(self, environ: dict[str, Any], encoding: str) -> None:
        if encoding not in ("gzip", "x-gzip"):
            environ[BODY_ERROR] = ApiError(415, "unsupported_encoding", encoding=encoding[:40])
            return
        length = _content_length(environ)
        if length is None:
            environ[BODY_ERROR] = ApiError(400, "bad_request")
            return
        if length > self.max_wire:
            environ[BODY_ERROR] = ApiError(413, "payload_too_large", limit=self.max_wire)
            return
        try:
            raw = self._read_wire(environ, length)
        except _TooLarge:
            environ[BODY_ERROR] = ApiError(413, "payload_too_large", limit=self.max_wire)
            return
        try:
            body = self._inflate(raw)
        except _TooLarge:
            environ[BODY_ERROR] = ApiError(413, "payload_too_large", limit=self.max_decoded)
            return
        except zlib.error:
            environ[BODY_ERROR] = ApiError(400, "malformed_gzip")
            return
        self._replace_body(environ, body)
        del environ["HTTP_CONTENT_ENCODING"]
        environ[GZIP_WIRE_BYTES] = len(raw)

    @staticmethod
    def _replace_body(environ: dict[str, Any], body: bytes) -> None:
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)


def _chunked(environ: dict[str, Any]) -> bool:
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()


def _content_length(environ: dict[str, Any]) -> int | None:
    """The declared length (0 when absent); None when it is not a number >= 0."""
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        return None
    return int(raw)


def has_nul(data: bytes) -> bool:
    return b"\\u0000" in data and _NUL_ESCAPE.search(data) is not None


def json_body() -> Any:
    """The request body parsed as JSON the way the argument parser does it (orjson),
    for views that take a free-form document; 400 malformed_json otherwise."""
    data = request.get_data(cache=True)
    if not data:
        raise ApiError(400, "malformed_json", reason="empty body")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", reason=str(exc).split(":")[0]) from exc
    if has_nul(data):
        raise ApiError(400, "malformed_json", reason=NUL_REASON)
    return value


def init_app(app: Flask) -> None:
    max_wire = app.config["MAX_CONTENT_LENGTH"]
    app.wsgi_app = GzipRequestMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, max_wire, app.config["MAX_DECODED_LENGTH"]
    )
    # Flask checks MAX_CONTENT_LENGTH against the body it reads: the decoded
    # one for gzip (the middleware bounded its wire size already). Plain bodies
    # keep the wire limit, per request (chunked ones have no Content-Length).
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_DECODED_LENGTH"]

    @app.before_request
    def _check_body() -> None:
        err = request.environ.get(BODY_ERROR)
        if err is not None:
            raise err
        if GZIP_WIRE_BYTES not in request.environ:
            request.max_content_length = max_wire
        if "\x00" in request.path:
            # No route holds a NUL, and PostgreSQL text cannot: nothing is there.
            raise ApiError(404, "not_found")
        if b"%00" in request.query_string:
            raise ApiError(400, "bad_request", errors=[
                FieldError("", "nul_character", location="query")])
        if request.method in ("POST", "PUT", "PATCH") and _has_body():
            mimetype = request.mimetype
            if mimetype not in _JSON_TYPES and mimetype not in _OTHER_BODY_TYPES:
                raise ApiError(415, "unsupported_media_type")


def _has_body() -> bool:
    if request.content_length:
        return True
    return request.environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
