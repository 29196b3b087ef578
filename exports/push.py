"""Push delivery: POST a report run to an authority's HTTPS endpoint, signed.

What a receiver gets (one request per delivery attempt)
--------------------------------------------------------
``POST <endpoint>`` with these headers:

``Content-Type: multipart/form-data; boundary=cardumen-<48 hex>``
    The body has a first part ``name="manifest"`` (``filename="manifest.json"``,
    ``application/json``, see ``exports.manifest``), then one part
    ``name="file"`` per report file, whose ``filename`` is the file's name in
    the manifest. Check each file's SHA-256 and size against the manifest.
``Content-Length``
    Always set; the body is never chunked.
``Cardumen-Signature: t=<unix seconds>,v1=<64 hex>``
    ``v1`` is ``HMAC-SHA256(secret, "<t>." + body)`` in lowercase hex, where
    ``<t>`` is the decimal ``t`` as sent and ``body`` the raw request body
    bytes. To verify: recompute it over the bytes received, compare in
    constant time, and reject a ``t`` more than 5 minutes from your clock.
    Because ``t`` is inside the MAC, a captured request cannot be replayed
    later with a fresh timestamp. More than one ``v1=`` may appear (during a
    secret rotation); accept the request if any matches.
``Cardumen-Run``
    The report run's id. A run's files never change; an amendment is a new run.
``Cardumen-Delivery`` and ``Idempotency-Key`` (same value)
    One delivery of one run to one endpoint. Retries of a delivery send the
    same key and byte-identical bodies (only the signature's ``t`` changes), so
    a receiver that already accepted the key should answer 2xx and drop the copy.
``User-Agent: cardumen-push/1``

Any 2xx answer means accepted; answer promptly (store the body, process it
later), since the sender gives up after its timeout and tries again. Anything
else (including 3xx: redirects are not followed, so a moved endpoint must be
reconfigured), a timeout or a broken connection is retried later with
exponential backoff. The first 500 characters of the answer body are kept
in the sender's delivery log, so a short JSON or text explanation on errors
helps.

``verify_signature`` here is the reference implementation of the check.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO
from urllib.parse import urlsplit

import requests
import urllib3

SIGNATURE_HEADER = "Cardumen-Signature"
USER_AGENT = "cardumen-push/1"
DEFAULT_TOLERANCE = 300
EXCERPT_CHARS = 500
CHUNK = 64 * 1024


# -- endpoint validation ---------------------------------------------------------


class EndpointError(ValueError):
    """A push endpoint URL we refuse; ``code`` is stable (API problems, tests)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


_UNSAFE = re.compile(r"[\x00-\x20\x7f]")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_endpoint(url: str, *, allow_loopback_http: bool) -> str:
    """``url`` (surrounding whitespace removed) if it may receive pushes, else EndpointError.

    Plain http is only for tests and local development (``allow_loopback_http``),
    and then only to this machine: anywhere else the signed body would cross
    networks readable by others.
    """
    url = url.strip()
    if not url or _UNSAFE.search(url):
        raise EndpointError("endpoint_invalid", "empty, or contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # parses it: ValueError if not a number in range
    except ValueError as e:
        raise EndpointError("endpoint_invalid", str(e)) from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise EndpointError("endpoint_not_https", "must be an absolute https:// URL")
    if not url.lower().startswith(f"{scheme}://"):
        raise EndpointError("endpoint_invalid", "must be an absolute URL (https://host/...)")
    if "@" in parts.netloc:
        raise EndpointError("endpoint_has_credentials",
                            "credentials do not belong in the URL; pushes are signed instead")
    host = parts.hostname
    if not host:
        raise EndpointError("endpoint_invalid", "no host")
    if port == 0:
        raise EndpointError("endpoint_invalid", "port 0")
    if "#" in url:
        raise EndpointError("endpoint_has_fragment", "a fragment is never sent to the server")
    if scheme == "http" and not (allow_loopback_http and _is_loopback(host)):
        raise EndpointError("endpoint_not_https", "must be https://")
    return url


# -- body ------------------------------------------------------------------------


_BAD_NAME = re.compile(r'["\\\x00-\x1f\x7f]')


def boundary_for(manifest: bytes) -> str:
    """The multipart boundary for a manifest: fixed, so a retry sends identical bytes.

    It cannot occur inside a file: the manifest holds every file's SHA-256, so a
    file containing it would have to contain a hash of itself.
    """
    return "cardumen-" + hashlib.sha256(manifest).hexdigest()[:48]


def _part_head(boundary: str, name: str, filename: str, media_type: str) -> bytes:
    return (f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {media_type}\r\n\r\n").encode()


def build_body(manifest: bytes,
               files: Sequence[tuple[str, str, Callable[[], IO[bytes]]]],
               out: BinaryIO) -> str:
    """Write the multipart/form-data body to ``out``; return its Content-Type.

    ``files`` are ``(name, media_type, opener)``; each opener's stream is copied
    in chunks and closed, so the body never has to fit in memory.
    """
    names = [name for name, _, _ in files]
    if len(set(names)) != len(names) or "manifest.json" in names:
        raise ValueError(f"file names must be unique and not manifest.json: {names}")
    for name, media_type, _ in files:
        # Quotes, backslashes and line breaks would need escaping that receivers
        # disagree on; report file names never need them.
        if not name or _BAD_NAME.search(name) or _BAD_NAME.search(media_type):
            raise ValueError(f"unsafe file name or media type: {name!r}, {media_type!r}")
    boundary = boundary_for(manifest)
    out.write(_part_head(boundary, "manifest", "manifest.json", "application/json"))
    out.write(manifest)
    for name, media_type, opener in files:
        out.write(b"\r\n" + _part_head(boundary, "file", name, media_type))
        with opener() as f:
            shutil.copyfileobj(f, out, CHUNK)
    out.write(f"\r\n--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}"


# -- signature -------------------------------------------------------------------


def _mac(secret: bytes, timestamp: int) -> hmac.HMAC:
    if not secret:
        raise ValueError("empty signing secret")
    return hmac.new(secret, f"{timestamp}.".encode(), hashlib.sha256)


def sign_bytes(secret: bytes, body: bytes, *, timestamp: int) -> str:
    """The ``Cardumen-Signature`` header value for ``body`` at ``timestamp``."""
    mac = _mac(secret, timestamp)
    mac.update(body)
    return f"t={timestamp},v1={mac.hexdigest()}"


def sign_file(secret: bytes, path: Path, *, timestamp: int) -> str:
    """``sign_bytes`` over a file's contents, read in chunks."""
    mac = _mac(secret, timestamp)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            mac.update(chunk)
    return f"t={timestamp},v1={mac.hexdigest()}"


_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def verify_signature(secret: bytes, header: str, body: bytes, *, now: int,
                     tolerance: int = DEFAULT_TOLERANCE) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` and its ``t`` is within
    ``tolerance`` seconds of ``now`` (either side, for clock skew)."""
    timestamp: int | None = None
    candidates = []
    for item in (header or "").split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            if timestamp is not None or not (value.isascii() and value.isdigit() and len(value) <= 12):
                return False  # two timestamps, or not a plain number: ambiguous, refuse
            timestamp = int(value)
        elif key == "v1" and _HEX64.match(value):
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance:
        return False
    mac = _mac(secret, timestamp)
    mac.update(body)
    expected = mac.hexdigest().encode()
    # Compare every candidate, so timing does not reveal which one matched.
    matched = [hmac.compare_digest(expected, c.encode()) for c in candidates]
    return any(matched)


# -- delivery --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PushAttempt:
    ok: bool
    status_code: int | None  # None when no HTTP answer arrived
    error: str | None  # "timeout", "connection_error: ...", "tls_error: ...", "http_500", ...
    duration_ms: int
    response_excerpt: str  # first 500 characters of the answer body ("" if none)


_TOKEN = re.compile(r"^[\x21-\x7e]{1,200}$")
_ADDRESS = re.compile(r" (object )?at 0x[0-9a-fA-F]+")


def _describe(exc: BaseException) -> str:
    """A short reason from the innermost cause (requests' own message is a paragraph)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    innermost = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        innermost = cur
        if isinstance(cur, OSError) and cur.strerror:
            return cur.strerror
        # urllib3 nests the real error in .reason or in args, Python in __cause__.
        nested = [getattr(cur, "reason", None), *cur.args, cur.__cause__, cur.__context__]
        cur = next((n for n in nested if isinstance(n, BaseException)), None)
    text = _ADDRESS.sub("", str(innermost)) or type(innermost).__name__
    return text[:200]


def _excerpt(resp: requests.Response) -> str:
    # The answer is only a diagnostic: read a bounded amount, never the whole body.
    try:
        raw = resp.raw.read(4 * EXCERPT_CHARS, decode_content=True) or b""
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError):
        return ""
    return raw.decode(resp.encoding or "utf-8", errors="replace")[:EXCERPT_CHARS]


def push(url: str, body_path: Path, content_type: str, *, secret: bytes, delivery_id: str,
         run_id: str, timeout: float, now: int | None = None,
         session: requests.Session | None = None) -> PushAttempt:
    """POST ``body_path`` (from ``build_body``) to ``url``, signed; one attempt, no retries.

    Network and HTTP failures are returned, never raised; a missing body file or
    a malformed id raises (those are the caller's bugs). ``timeout`` bounds the
    connect and each wait for data, not the whole transfer. ``url`` should have
    passed ``validate_endpoint`` when it was configured.
    """
    if not _TOKEN.match(delivery_id) or not _TOKEN.match(run_id):
        raise ValueError("delivery_id and run_id must be printable ASCII without spaces")
    timestamp = int(time.time()) if now is None else now
    size = body_path.stat().st_size
    headers = {
        "Content-Type": content_type,
        "Content-Length": str(size),
        SIGNATURE_HEADER: sign_file(secret, body_path, timestamp=timestamp),
        "Cardumen-Delivery": delivery_id,
        "Cardumen-Run": run_id,
        "Idempotency-Key": delivery_id,
        "User-Agent": USER_AGENT,
    }
    own_session = session is None
    sess = requests.Session() if session is None else session
    started = time.monotonic()

    def attempt(ok: bool, status: int | None, error: str | None, excerpt: str = "") -> PushAttempt:
        return PushAttempt(ok, status, error, int((time.monotonic() - started) * 1000), excerpt)

    try:
        with open(body_path, "rb") as body:
            try:
                resp = sess.post(url, data=body, headers=headers, timeout=timeout,
                                 allow_redirects=False, stream=True)
            except requests.Timeout:
                return attempt(False, None, "timeout")
            except requests.exceptions.SSLError as e:
                return attempt(False, None, f"tls_error: {_describe(e)}")
            except requests.ConnectionError as e:
                return attempt(False, None, f"connection_error: {_describe(e)}")
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                    requests.exceptions.InvalidSchema) as e:
                return attempt(False, None, f"invalid_url: {_describe(e)}")
            except requests.RequestException as e:
                return attempt(False, None, f"request_error: {_describe(e)}")
        try:
            status = resp.status_code
            excerpt = _excerpt(resp)
            if 300 <= status < 400:
                # Where it points is what the operator needs to fix the endpoint.
                excerpt = f"Location: {resp.headers.get('Location', '')}\n{excerpt}"[:EXCERPT_CHARS]
        finally:
            resp.close()
        if 200 <= status < 300:
            return attempt(True, status, None, excerpt)
        return attempt(False, status, f"http_{status}", excerpt)
    finally:
        if own_session:
            sess.close()


def backoff_seconds(attempt: int, *, base: float = 30, cap: float = 6 * 3600) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based):
    ``base * 2**(attempt-1)``, at most ``cap``. No jitter: add it at the caller."""
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    if base < 0 or cap < 0:
        raise ValueError("base and cap must not be negative")
    # Bounded exponent: 2.0**1024 overflows, and the cap is long reached by then.
    return float(min(cap, base * 2.0 ** min(attempt - 1, 1000)))
