"""Push delivery against a real loopback receiver that fails on purpose."""

from __future__ import annotations

import contextlib
import hashlib
import io
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests

from exports.manifest import ManifestFile, build_manifest
from exports.push import (
    EndpointError,
    backoff_seconds,
    boundary_for,
    build_body,
    push,
    sign_bytes,
    sign_file,
    validate_endpoint,
    verify_signature,
)
from tests.exports.receiver import FlakyReceiver, parse_multipart

SECRET = b"s3cret-shared-with-the-authority"
NOW = 1_780_000_000
FILES = {"avisos.csv": b"folio,kg\r\n1,12.5\r\n" * 50, "resumen.json": b'{"avisos": 50}\n'}


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy from the environment would swallow loopback requests.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def manifest_bytes() -> bytes:
    files = [ManifestFile(n, "text/csv" if n.endswith(".csv") else "application/json", len(d),
                          hashlib.sha256(d).hexdigest(), 50) for n, d in FILES.items()]
    return build_manifest(run_id="01HRUN", subscription_id="01HSUB", format_name="conapesca_aviso_csv",
                          period_start=date(2026, 12, 1), period_end=date(2027, 1, 1), purpose="original",
                          sequence=1, amends=[], record_count=50, files=files,
                          generator_version="test", counts={"original": 50})


def write_body(path: Path) -> str:
    files = [(n, "text/csv", lambda d=d: io.BytesIO(d)) for n, d in FILES.items()]
    with path.open("wb") as out:
        return build_body(manifest_bytes(), files, out)


@pytest.fixture
def body(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    path = tmp_path / "body.multipart"
    yield path, write_body(path)


# -- endpoints


@pytest.mark.parametrize("url", [
    "https://api.conapesca.gob.mx/avisos",
    "https://api.example.org:8443/in?k=v",
    "  https://[2001:db8::1]/in  ",
    "HTTPS://Example.org/in",
])
def test_https_endpoints_pass(url: str) -> None:
    assert validate_endpoint(url, allow_loopback_http=False) == url.strip()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/in", "http://127.9.9.9/in",
                                 "http://localhost/in", "http://[::1]:9000/in"])
def test_http_only_to_loopback_and_only_when_allowed(url: str) -> None:
    assert validate_endpoint(url, allow_loopback_http=True) == url
    with pytest.raises(EndpointError) as e:
        validate_endpoint(url, allow_loopback_http=False)
    assert e.value.code == "endpoint_not_https"


@pytest.mark.parametrize(("url", "code"), [
    ("http://example.org/in", "endpoint_not_https"),
    ("http://10.0.0.5/in", "endpoint_not_https"),
    ("http://localhost.example.org/in", "endpoint_not_https"),
    ("ftp://example.org/in", "endpoint_not_https"),
    ("example.org/in", "endpoint_not_https"),
    ("https:///in", "endpoint_invalid"),
    ("https://", "endpoint_invalid"),
    ("https:example.org", "endpoint_invalid"),
    ("https://:443/in", "endpoint_invalid"),
    ("https://example.org:99999/", "endpoint_invalid"),
    ("https://example.org:0/", "endpoint_invalid"),
    ("https://exa mple.org/", "endpoint_invalid"),
    ("https://example.org/in\r\nX: y", "endpoint_invalid"),
    ("", "endpoint_invalid"),
    ("https://user:pw@example.org/in", "endpoint_has_credentials"),
    ("https://token@example.org/in", "endpoint_has_credentials"),
    ("https://example.org/in#frag", "endpoint_has_fragment"),
    ("https://example.org/in#", "endpoint_has_fragment"),
])
def test_bad_endpoints(url: str, code: str) -> None:
    with pytest.raises(EndpointError) as e:
        validate_endpoint(url, allow_loopback_http=True)
    assert e.value.code == code


# -- signatures


def test_signature_round_trip_and_failures(tmp_path: Path) -> None:
    body = b"--x\r\nsome body\r\n"
    header = sign_bytes(SECRET, body, timestamp=NOW)
    assert header.startswith(f"t={NOW},v1=")
    assert verify_signature(SECRET, header, body, now=NOW)
    assert verify_signature(SECRET, header, body, now=NOW + 300)
    assert verify_signature(SECRET, header, body, now=NOW - 300)  # small clock skew
    assert not verify_signature(SECRET, header, body + b"x", now=NOW)
    assert not verify_signature(SECRET, header, body[:-1], now=NOW)
    assert not verify_signature(b"other secret", header, body, now=NOW)
    assert not verify_signature(SECRET, header, body, now=NOW + 301)  # replayed later
    assert not verify_signature(SECRET, header, body, now=NOW - 301)
    # The timestamp is inside the MAC: moving it forward breaks the signature.
    forged = header.replace(f"t={NOW}", f"t={NOW + 1000}")
    assert not verify_signature(SECRET, forged, body, now=NOW + 1000)

    p = tmp_path / "b"
    p.write_bytes(body)
    assert sign_file(SECRET, p, timestamp=NOW) == header


def test_signature_header_parsing() -> None:
    body = b"payload"
    good = sign_bytes(SECRET, body, timestamp=NOW)
    v1 = good.split("v1=")[1]
    other = sign_bytes(b"old secret", body, timestamp=NOW).split("v1=")[1]
    assert verify_signature(SECRET, f"t={NOW}, v1={other}, v1={v1}", body, now=NOW)  # rotation
    for header in ["", f"v1={v1}", f"t={NOW}", f"t=abc,v1={v1}", f"t={NOW},t={NOW},v1={v1}",
                   f"t={NOW},v1={v1.upper()}", f"t={NOW},v1=ñ{v1[1:]}", f"t={NOW},v0={v1}",
                   f"t={'9' * 5000},v1={v1}", f"t=-{NOW},v1={v1}", "garbage"]:
        assert not verify_signature(SECRET, header, body, now=NOW), header
    with pytest.raises(ValueError):
        sign_bytes(b"", body, timestamp=NOW)


# -- body


def test_body_is_deterministic_multipart(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    ctype = write_body(a)
    assert write_body(b) == ctype
    assert a.read_bytes() == b.read_bytes()
    boundary = boundary_for(manifest_bytes())
    assert ctype == f"multipart/form-data; boundary={boundary}" and len(boundary) <= 70
    parts = parse_multipart(a.read_bytes(), ctype)
    assert [(p.name, p.filename, p.media_type) for p in parts] == [
        ("manifest", "manifest.json", "application/json"),
        ("file", "avisos.csv", "text/csv"), ("file", "resumen.json", "text/csv")]
    assert parts[0].data == manifest_bytes()
    assert {p.filename: p.data for p in parts[1:]} == FILES


def test_body_parses_with_werkzeug(tmp_path: Path) -> None:
    # What a Flask receiver would use: a second, independent multipart parser.
    formparser = pytest.importorskip("werkzeug.formparser")
    path = tmp_path / "body"
    ctype = write_body(path)
    data = path.read_bytes()
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": ctype, "CONTENT_LENGTH": str(len(data)),
               "wsgi.input": io.BytesIO(data)}
    _, form, files = formparser.parse_form_data(environ)
    assert not form  # every part is a file part
    assert files["manifest"].read() == manifest_bytes()
    assert {f.filename: f.read() for f in files.getlist("file")} == FILES
    for _, f in files.items(multi=True):
        f.close()


@pytest.mark.parametrize("name", ['a"b.csv', "a\r\nb.csv", "", "manifest.json", "a\\b.csv"])
def test_body_refuses_unsafe_names(name: str) -> None:
    with pytest.raises(ValueError):
        build_body(b"{}", [(name, "text/csv", lambda: io.BytesIO(b""))], io.BytesIO())


# -- delivery


def test_timeout_then_500_then_ok(body: tuple[Path, str]) -> None:
    path, ctype = body
    with FlakyReceiver(SECRET, script=["timeout", "500", "ok"], hang_seconds=5) as rx:
        results = [push(rx.url, path, ctype, secret=SECRET, delivery_id="01HDEL", run_id="01HRUN",
                        timeout=0.5, now=int(time.time()) + i) for i in range(3)]
        first, second, third = results
        assert (first.ok, first.status_code, first.error) == (False, None, "timeout")
        assert first.duration_ms >= 450
        assert (second.ok, second.status_code, second.error) == (False, 500, "http_500")
        assert '"scripted"' in second.response_excerpt
        assert (third.ok, third.status_code, third.error) == (True, 200, None)
        assert third.response_excerpt == '{"received":"01HRUN"}'

        assert rx.outcomes == ["timeout", "500", "ok"]
        reqs = rx.requests
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        assert [r.body_sha256 for r in reqs] == [sha] * 3  # retries send identical bytes
        assert all(r.signature_valid for r in reqs)
        assert len({r.headers["cardumen-signature"] for r in reqs}) == 3  # fresh timestamp each
        h = reqs[-1].headers
        assert h["content-length"] == str(path.stat().st_size)
        assert "transfer-encoding" not in h
        assert h["content-type"] == ctype
        assert h["cardumen-delivery"] == h["idempotency-key"] == "01HDEL"
        assert h["cardumen-run"] == "01HRUN"
        assert h["user-agent"] == "cardumen-push/1"
        assert set(rx.accepted) == {"01HDEL"}
        assert reqs[-1].verify_files() == []
        assert reqs[-1].manifest()["run_id"] == "01HRUN"
        assert rx.errors == []


def test_retry_after_a_late_answer_is_a_duplicate(body: tuple[Path, str]) -> None:
    path, ctype = body
    with FlakyReceiver(SECRET, script=["slow_ok"], hang_seconds=5) as rx:
        late = push(rx.url, path, ctype, secret=SECRET, delivery_id="d1", run_id="r1", timeout=0.3)
        retry = push(rx.url, path, ctype, secret=SECRET, delivery_id="d1", run_id="r1", timeout=2)
        other = push(rx.url, path, ctype, secret=SECRET, delivery_id="d2", run_id="r1", timeout=2)
        assert late.error == "timeout"
        assert retry.ok and '"duplicate":true' in retry.response_excerpt
        assert other.ok
        assert rx.outcomes == ["slow_ok", "duplicate", "ok"]
        assert sorted(rx.accepted) == ["d1", "d2"]
        assert [r.index for r in rx.duplicates] == [1]


def test_wrong_secret_is_refused(body: tuple[Path, str]) -> None:
    path, ctype = body
    with FlakyReceiver(SECRET) as rx:
        r = push(rx.url, path, ctype, secret=b"not it", delivery_id="d1", run_id="r1", timeout=2)
        assert (r.ok, r.status_code, r.error) == (False, 401, "http_401")
        assert rx.outcomes == ["bad_signature"] and rx.accepted == {}


def test_stale_timestamp_is_refused(body: tuple[Path, str]) -> None:
    path, ctype = body
    with FlakyReceiver(SECRET) as rx:
        r = push(rx.url, path, ctype, secret=SECRET, delivery_id="d1", run_id="r1", timeout=2,
                 now=int(time.time()) - 3600)
        assert r.error == "http_401"
        assert rx.requests[0].signature_valid is False


def test_redirect_is_a_failure_and_not_followed(body: tuple[Path, str]) -> None:
    path, ctype = body
    with FlakyReceiver(SECRET, script=["redirect"]) as rx:
        r = push(rx.url, path, ctype, secret=SECRET, delivery_id="d1", run_id="r1", timeout=2)
        assert (r.ok, r.status_code, r.error) == (False, 302, "http_302")
        assert r.response_excerpt.startswith(f"Location: {rx.url}/moved")
        assert len(rx.requests) == 1 and rx.accepted == {}


def test_reset_connection_is_a_clean_failure(body: tuple[Path, str]) -> None:
    path, ctype = body
    with FlakyReceiver(SECRET, script=["reset"]) as rx:
        r = push(rx.url, path, ctype, secret=SECRET, delivery_id="d1", run_id="r1", timeout=2)
        assert not r.ok and r.status_code is None
        assert r.error is not None and r.error.startswith("connection_error: ")
        assert " at 0x" not in r.error
        again = push(rx.url, path, ctype, secret=SECRET, delivery_id="d1", run_id="r1", timeout=2)
        assert again.ok
        assert rx.outcomes == ["reset", "ok"]


def test_connection_refused_is_a_clean_failure(body: tuple[Path, str]) -> None:
    path, ctype = body
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = s.getsockname()[1]
        r = push(f"http://127.0.0.1:{port}/in", path, ctype, secret=SECRET, delivery_id="d1",
                 run_id="r1", timeout=2)
    assert (r.ok, r.status_code) == (False, None)
    assert r.error == "connection_error: Connection refused"
    assert r.response_excerpt == ""


def test_tls_failure_is_a_clean_failure(body: tuple[Path, str]) -> None:
    path, ctype = body
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()

        def answer_in_plain_text() -> None:
            conn, _ = srv.accept()
            with conn, contextlib.suppress(OSError):  # the client hangs up as it pleases
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                conn.recv(65536)

        t = threading.Thread(target=answer_in_plain_text, daemon=True)
        t.start()
        r = push(f"https://127.0.0.1:{srv.getsockname()[1]}/in", path, ctype, secret=SECRET,
                 delivery_id="d1", run_id="r1", timeout=2)
        t.join(timeout=5)
    assert (r.ok, r.status_code) == (False, None)
    assert r.error is not None and r.error.startswith("tls_error: ")


def test_caller_session_is_used_and_left_open(body: tuple[Path, str]) -> None:
    path, ctype = body
    with FlakyReceiver(SECRET) as rx, requests.Session() as s:
        s.trust_env = False
        assert push(rx.url, path, ctype, secret=SECRET, delivery_id="d1", run_id="r1",
                    timeout=2, session=s).ok
        assert push(rx.url, path, ctype, secret=SECRET, delivery_id="d2", run_id="r1",
                    timeout=2, session=s).ok
        assert sorted(rx.accepted) == ["d1", "d2"]


def test_bad_ids_and_missing_body_raise(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        push("https://example.org/", tmp_path / "nope", "x", secret=SECRET, delivery_id="a\r\nb",
             run_id="r", timeout=1)
    with pytest.raises(FileNotFoundError):
        push("https://example.org/", tmp_path / "nope", "x", secret=SECRET, delivery_id="d",
             run_id="r", timeout=1)


def test_backoff() -> None:
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_seconds(10) == 30 * 512
    assert backoff_seconds(11) == 6 * 3600  # 30 * 1024 s is past the cap
    assert backoff_seconds(5000) == 6 * 3600
    assert backoff_seconds(3, base=1, cap=3) == 3
    with pytest.raises(ValueError):
        backoff_seconds(0)
