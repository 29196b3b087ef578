"""A real push receiver for tests: an HTTP server on loopback that fails on purpose.

``FlakyReceiver`` listens on ``127.0.0.1`` (a free port) in a background
thread, checks each request's ``Cardumen-Signature`` with
``exports.push.verify_signature`` and answers each request with the next step
of its script; once the script is used up it answers ``ok``::

    with FlakyReceiver(secret, script=["timeout", "500"], hang_seconds=2) as rx:
        push(rx.url, body, ctype, secret=secret, delivery_id="d1", run_id="r1",
             timeout=0.5)                          # -> error "timeout"
        push(rx.url, ...)                          # -> error "http_500"
        push(rx.url, ...)                          # -> ok
        assert rx.outcomes == ["timeout", "500", "ok"]
        assert set(rx.accepted) == {"d1"}          # keyed by Idempotency-Key
        assert rx.requests[-1].verify_files() == []

Script steps:

``"ok"``
    Verify the signature (401 ``bad_signature`` if wrong), require an
    ``Idempotency-Key`` (400 ``bad_request``), then accept: 200 with JSON
    ``{"received": <Cardumen-Run>}``. A key already accepted answers 200 with
    ``"duplicate": true`` and the outcome ``"duplicate"``; it is not accepted twice.
``"slow_ok"``
    Accept as ``ok``, then wait ``hang_seconds`` before answering: the receiver
    got the run but the sender timed out, so its retry must come back a duplicate.
``"timeout"``
    Wait ``hang_seconds`` (longer than the client's timeout), then answer 504
    to a client that has gone. Nothing is accepted.
``"reset"``
    Close the connection (with a TCP reset) without answering.
``"redirect"``
    302 to ``<url>/moved``.
``"500"``, ``"503"``, any 3-digit status
    Answer that status with a small JSON error body.

Every request is recorded at arrival, before any wait, so the records are
complete as soon as the client's call returns: ``requests`` (a
``ReceivedRequest`` each: headers, body, its SHA-256, whether the signature
held, the outcome), ``outcomes``, ``accepted`` (first accepted request per
Idempotency-Key) and ``duplicates``. Exceptions raised inside the server are
collected in ``errors`` rather than printed.

The client side must not go through a proxy: if HTTP(S)_PROXY may be set in
the test environment, set ``NO_PROXY=127.0.0.1`` or pass a session with
``trust_env = False``.
"""

from __future__ import annotations

import hashlib
import io
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import orjson

from exports.manifest import verify_manifest
from exports.push import SIGNATURE_HEADER, verify_signature

_STATUS_STEP = re.compile(r"^[1-5][0-9][0-9]$")
KNOWN_STEPS = ("ok", "slow_ok", "timeout", "reset", "redirect")


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a multipart/form-data body."""

    name: str
    filename: str | None
    media_type: str | None
    data: bytes


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    """The parts of a multipart/form-data body, byte-exact; ValueError if malformed.

    Strict on purpose (CRLF only, no preamble), so a sender bug shows up here."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or m is None:
        raise ValueError(f"not multipart/form-data: {content_type!r}")
    delim = b"--" + m.group(1).encode()
    if not body.startswith(delim + b"\r\n") or not body.endswith(b"\r\n" + delim + b"--\r\n"):
        raise ValueError("body does not start and end with the boundary")
    sections = (b"\r\n" + body).split(b"\r\n" + delim)
    parts = []
    for section in sections[1:-1]:
        if not section.startswith(b"\r\n"):
            raise ValueError("boundary line not followed by CRLF")
        head, sep, data = section[2:].partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("part without a header block")
        headers = {}
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if not disposition.startswith("form-data") or name is None:
            raise ValueError(f"bad Content-Disposition: {disposition!r}")
        parts.append(Part(name.group(1), filename.group(1) if filename else None,
                          headers.get("content-type"), data))
    return parts


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    index: int  # 0-based, in arrival order
    method: str
    path: str
    headers: dict[str, str]  # names lowercased
    body: bytes
    body_sha256: str
    signature_valid: bool
    outcome: str  # "ok", "duplicate", "slow_ok", "timeout", "reset", "redirect", "500", ...

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")

    @property
    def run_id(self) -> str | None:
        return self.headers.get("cardumen-run")

    def parts(self) -> list[Part]:
        return parse_multipart(self.body, self.headers.get("content-type", ""))

    def manifest(self) -> dict[str, Any]:
        """The manifest part, parsed."""
        first = self.parts()[0]
        if first.name != "manifest":
            raise ValueError(f"first part is {first.name!r}, not the manifest")
        doc: dict[str, Any] = orjson.loads(first.data)
        return doc

    def files(self) -> dict[str, bytes]:
        """The file parts by file name."""
        return {p.filename or p.name: p.data for p in self.parts()[1:]}

    def verify_files(self) -> list[str]:
        """Names of files whose bytes disagree with the manifest (``[]`` when all is well)."""
        parts = self.parts()
        files = self.files()

        def open_file(name: str) -> io.BytesIO:
            if name not in files:
                raise FileNotFoundError(name)
            return io.BytesIO(files[name])

        return verify_manifest(parts[0].data, open_file)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: FlakyReceiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if exc is not None:
            self.receiver._errors.append(exc)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read the records, not a log

    def do_POST(self) -> None:
        rx = self.server.receiver
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._answer(411, {"error": "length_required"})
            return
        body = self.rfile.read(int(length))
        headers = {k.lower(): v for k, v in self.headers.items()}
        valid = verify_signature(rx.secret, headers.get(SIGNATURE_HEADER.lower(), ""), body,
                                 now=int(rx.clock()), tolerance=rx.tolerance)
        step, record = rx._arrive(self.command, self.path, headers, body, valid)
        outcome = record.outcome
        if step == "timeout":
            rx._stop.wait(rx.hang_seconds)
            self._answer(504, {"error": "too_slow"})
        elif step == "reset":
            # Linger 0 turns close() into a TCP reset instead of an orderly FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
            self.close_connection = True
        elif step == "redirect":
            self._answer(302, {"error": "moved"}, location=rx.url + "/moved")
        elif _STATUS_STEP.match(step):
            self._answer(int(step), {"error": "scripted", "status": int(step)})
        elif outcome == "bad_signature":
            self._answer(401, {"error": "bad_signature"})
        elif outcome == "bad_request":
            self._answer(400, {"error": "missing_idempotency_key"})
        else:
            if step == "slow_ok":
                rx._stop.wait(rx.hang_seconds)
            answer: dict[str, Any] = {"received": record.run_id}
            if outcome == "duplicate":
                answer["duplicate"] = True
            self._answer(200, answer)

    def _answer(self, status: int, doc: dict[str, Any], location: str | None = None) -> None:
        data = orjson.dumps(doc)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            if location:
                self.send_header("Location", location)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (a scripted timeout): nobody to answer
        self.close_connection = True


class FlakyReceiver:
    """A scripted push receiver on ``127.0.0.1``; see the module docstring."""

    def __init__(self, secret: bytes, script: Sequence[str] = (), *, hang_seconds: float = 2.0,
                 path: str = "/inbox", tolerance: int = 300,
                 clock: Callable[[], float] = time.time) -> None:
        for step in script:
            if step not in KNOWN_STEPS and not _STATUS_STEP.match(step):
                raise ValueError(f"unknown script step {step!r}")
        self.secret = secret
        self.hang_seconds = hang_seconds
        self.path = path
        self.tolerance = tolerance
        self.clock = clock
        self._script = list(script)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._requests: list[ReceivedRequest] = []
        self._accepted: dict[str, ReceivedRequest] = {}
        self._errors: list[BaseException] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> FlakyReceiver:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.receiver = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="flaky-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # cuts short any scripted wait
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FlakyReceiver:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- where and what

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("receiver not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def extend_script(self, *steps: str) -> None:
        """Append steps (e.g. make it fail again after a success)."""
        for step in steps:
            if step not in KNOWN_STEPS and not _STATUS_STEP.match(step):
                raise ValueError(f"unknown script step {step!r}")
        with self._lock:
            self._script.extend(steps)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def outcomes(self) -> list[str]:
        return [r.outcome for r in self.requests]

    @property
    def accepted(self) -> dict[str, ReceivedRequest]:
        """The first accepted request per Idempotency-Key: the distinct deliveries."""
        with self._lock:
            return dict(self._accepted)

    @property
    def duplicates(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.outcome == "duplicate"]

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised in the server thread (expected to stay empty)."""
        return list(self._errors)

    # -- called from the handler thread

    def _arrive(self, method: str, path: str, headers: dict[str, str], body: bytes,
                valid: bool) -> tuple[str, ReceivedRequest]:
        with self._lock:
            step = self._script.pop(0) if self._script else "ok"
            outcome = step
            key = headers.get("idempotency-key")
            if step in ("ok", "slow_ok"):
                if not valid:
                    outcome = "bad_signature"
                elif not key:
                    outcome = "bad_request"
                elif key in self._accepted:
                    outcome = "duplicate"
            record = ReceivedRequest(len(self._requests), method, path, headers, body,
                                     hashlib.sha256(body).hexdigest(), valid, outcome)
            self._requests.append(record)
            if outcome in ("ok", "slow_ok") and key:
                self._accepted[key] = record
            return step, record
