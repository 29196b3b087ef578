"""The HTTP envelope: one problem format for every error, body limits, gzip,
content types, languages, and the health probes."""

from __future__ import annotations

import gzip
import io
import secrets
import socket
import zlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import create_app
from server.http import GzipRequestMiddleware
from tests.conftest import PASSWORD, Api, Factory, random_phone
from tests.test_migrations import throwaway_database

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "code"}
LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"


def assert_problem(r: Any, status: int, code: str, lang: str = "es") -> dict[str, Any]:
    """The response is an RFC 9457 problem document with our fields."""
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"
    assert r.headers["Content-Language"] == lang
    body: dict[str, Any] = orjson.loads(r.get_data())
    assert set(body) >= PROBLEM_FIELDS, body
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == "https://cardumen.org/problems/" + code.replace("_", "-")
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == r.request.path
    for err in body.get("errors", []):
        assert set(err) == {"field", "in", "code", "message"}, err
    return body


def client_of(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = (
        f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}")
    return client


def login_body(phone: str, password: str = PASSWORD, pad: int = 0) -> bytes:
    # Whitespace padding keeps the JSON valid while making the body any size.
    return orjson.dumps({"phone": phone, "password": password, "device_id": "d1"}) + b" " * pad


@pytest.fixture(scope="module")
def tight(database_url: str) -> Iterator[Flask]:
    """An app with tiny body limits (1000 bytes on the wire, 2000 decoded) and a
    login limit of 3 attempts per phone, on the session's database."""
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "tight-" + secrets.token_hex(16),
                      "ENV": "test", "MAX_CONTENT_LENGTH": 1000, "MAX_DECODED_LENGTH": 2000,
                      "RATE_LIMIT_PER_PHONE": 3, "DB_POOL_SIZE": 2})
    yield app
    app.extensions["cardumen.engine"].dispose()


# --------------------------------------------------------------------------- routing errors


def test_unknown_path_is_404_problem(anon: Api) -> None:
    body = assert_problem(anon.get("/api/v1/no/such/thing"), 404, "not_found")
    assert body["title"] == "No encontrado."
    assert "errors" not in body


def test_unknown_path_outside_the_api_is_404_problem(anon: Api) -> None:
    assert_problem(anon.get("/favicon.ico"), 404, "not_found")


def test_wrong_method_is_405_with_allow(anon: Api) -> None:
    r = anon.request("DELETE", LOGIN)
    assert_problem(r, 405, "method_not_allowed")
    allowed = {m.strip() for m in r.headers["Allow"].split(",")}
    assert "POST" in allowed
    assert "DELETE" not in allowed and "GET" not in allowed


def test_get_on_post_only_route_is_405(anon: Api) -> None:
    r = anon.get("/api/v1/sync/push")
    assert_problem(r, 405, "method_not_allowed")
    assert "POST" in r.headers["Allow"]


# --------------------------------------------------------------------------- body size


def test_plain_body_over_the_wire_limit_is_413(tight: Flask, factory: Factory) -> None:
    m = factory.member()
    c = client_of(tight)
    # 1500 bytes: over the 1000-byte wire limit although under the decoded one.
    body = login_body(m.phone, pad=1500)
    assert 1000 < len(body) < 2000
    r = c.post(LOGIN, data=body, content_type="application/json")
    problem = assert_problem(r, 413, "payload_too_large")
    assert "1000" in problem["detail"]
    assert "1000" not in problem["title"]  # the title does not change per occurrence


def test_plain_body_far_over_the_limit_is_413(tight: Flask) -> None:
    r = client_of(tight).post(LOGIN, data=b"{" + b" " * 50_000 + b"}",
                              content_type="application/json")
    assert_problem(r, 413, "payload_too_large")


def test_plain_body_under_the_limit_is_accepted(tight: Flask, factory: Factory) -> None:
    m = factory.member()
    body = login_body(m.phone, pad=800)
    assert len(body) < 1000
    r = client_of(tight).post(LOGIN, data=body, content_type="application/json")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["token_type"].lower() == "bearer"


def test_chunked_plain_body_over_the_wire_limit_is_413(tight: Flask) -> None:
    # No Content-Length: the limit is enforced while reading.
    body = login_body(random_phone(), pad=1500)
    r = client_of(tight).post(LOGIN, input_stream=io.BytesIO(body), content_type="application/json",
                              environ_overrides={"CONTENT_LENGTH": "",
                                                 "HTTP_TRANSFER_ENCODING": "chunked",
                                                 "wsgi.input_terminated": True})
    problem = assert_problem(r, 413, "payload_too_large")
    assert "1000" in problem["detail"]


def test_gzip_body_over_the_wire_limit_is_413(tight: Flask) -> None:
    noise = secrets.token_urlsafe(1500)  # does not compress below 1000 bytes
    wire = gzip.compress(orjson.dumps({"phone": noise}))
    assert len(wire) > 1000
    r = client_of(tight).post(LOGIN, data=wire, content_type="application/json",
                              headers={"Content-Encoding": "gzip"})
    assert "1000" in assert_problem(r, 413, "payload_too_large")["detail"]


def test_gzip_bomb_is_413(tight: Flask) -> None:
    bomb = gzip.compress(b'{"phone": "' + b"0" * 500_000 + b'"}', 9)
    assert len(bomb) < 1000  # small on the wire, 500 kB decoded
    r = client_of(tight).post(LOGIN, data=bomb, content_type="application/json",
                              headers={"Content-Encoding": "gzip"})
    assert "2000" in assert_problem(r, 413, "payload_too_large")["detail"]


def test_gzip_bomb_in_a_second_member_is_413(tight: Flask) -> None:
    body = gzip.compress(b"{") + gzip.compress(b" " * 100_000 + b"}", 9)
    assert len(body) < 1000
    r = client_of(tight).post(LOGIN, data=body, content_type="application/json",
                              headers={"Content-Encoding": "gzip"})
    assert_problem(r, 413, "payload_too_large")


def test_gzip_body_is_bounded_by_the_decoded_limit(tight: Flask, factory: Factory) -> None:
    m = factory.member()
    raw = login_body(m.phone, pad=1500)  # over the wire limit when plain...
    assert 1000 < len(raw) < 2000
    wire = gzip.compress(raw)
    assert len(wire) < 1000  # ...but small compressed, and under the decoded limit
    r = client_of(tight).post(LOGIN, data=wire, content_type="application/json",
                              headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["member"]["id"] == str(m.id)


def test_negative_content_length_is_400(tight: Flask) -> None:
    r = client_of(tight).post(LOGIN, data=b"{}", content_type="application/json",
                              environ_overrides={"CONTENT_LENGTH": "-5"})
    assert_problem(r, 400, "bad_request")


# --------------------------------------------------------------------------- content types


@pytest.mark.parametrize(("data", "content_type"), [
    ("phone=1&password=2", "text/plain"),
    ("phone=1&password=2", "application/x-www-form-urlencoded"),
    ("<login/>", "application/xml"),
])
def test_non_json_body_is_415(anon: Api, data: str, content_type: str) -> None:
    r = anon.client.post(LOGIN, data=data, content_type=content_type)
    body = assert_problem(r, 415, "unsupported_media_type")
    assert "application/json" in body["detail"]


def test_form_post_is_415(anon: Api) -> None:
    r = anon.client.post(LOGIN, data={"phone": "+525512345678", "password": "x"})
    assert_problem(r, 415, "unsupported_media_type")


def test_unsupported_content_encoding_is_415(anon: Api) -> None:
    r = anon.client.post(LOGIN, data=b"\x1b\x00\x00", content_type="application/json",
                         headers={"Content-Encoding": "br"})
    body = assert_problem(r, 415, "unsupported_encoding")
    assert "br" in body["detail"]
    assert "gzip" in body["detail"]
    # The title names the problem kind, not the application/json advice.
    assert "application/json" not in body["title"]


def test_malformed_json_is_400(anon: Api) -> None:
    r = anon.client.post(LOGIN, data=b'{"phone": "+525512345678",', content_type="application/json")
    body = assert_problem(r, 400, "malformed_json")
    assert body["detail"].startswith("El cuerpo no es JSON válido")


def test_empty_json_body_is_a_validation_error(anon: Api) -> None:
    r = anon.client.post(LOGIN, data=b"", content_type="application/json")
    body = assert_problem(r, 422, "validation_error")
    assert {e["field"] for e in body["errors"]} == {"phone", "password", "device_id"}


def test_malformed_gzip_is_400(anon: Api) -> None:
    r = anon.client.post(LOGIN, data=b"this is not gzip", content_type="application/json",
                         headers={"Content-Encoding": "gzip"})
    assert_problem(r, 400, "malformed_gzip")


def test_truncated_gzip_is_400(anon: Api) -> None:
    wire = gzip.compress(login_body("+525512345678"))
    r = anon.client.post(LOGIN, data=wire[: len(wire) // 2], content_type="application/json",
                         headers={"Content-Encoding": "gzip"})
    assert_problem(r, 400, "malformed_gzip")


def test_gzip_with_trailing_garbage_is_400(anon: Api) -> None:
    wire = gzip.compress(login_body("+525512345678")) + b"garbage"
    r = anon.client.post(LOGIN, data=wire, content_type="application/json",
                         headers={"Content-Encoding": "gzip"})
    assert_problem(r, 400, "malformed_gzip")


def test_gzip_register_and_login(anon: Api, db: Any) -> None:
    from server.members.models import Member

    phone = random_phone()
    reg = orjson.dumps({"phone": phone, "password": PASSWORD, "name": "Comprimida"})
    r = anon.client.post(REGISTER, data=gzip.compress(reg), content_type="application/json",
                         headers={"Content-Encoding": "gzip"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["phone"] == phone
    stored = db.query(Member).filter_by(phone=phone).one()
    assert stored.name == "Comprimida"
    r = anon.client.post(LOGIN, data=gzip.compress(login_body(phone)),
                         content_type="application/json", headers={"Content-Encoding": "x-gzip"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["member"]["phone"] == phone


def test_multi_member_gzip_is_decoded_whole(anon: Api, factory: Factory) -> None:
    # RFC 1952: a gzip file may hold several members; all of them are the body.
    m = factory.member()
    raw = login_body(m.phone)
    wire = gzip.compress(raw[:20]) + gzip.compress(raw[20:])
    r = anon.client.post(LOGIN, data=wire, content_type="application/json",
                         headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200, r.get_json()


def test_chunked_gzip_body_is_read(anon: Api, factory: Factory) -> None:
    m = factory.member()
    wire = gzip.compress(login_body(m.phone))
    r = anon.client.post(LOGIN, input_stream=io.BytesIO(wire), content_type="application/json",
                         headers={"Content-Encoding": "gzip"},
                         environ_overrides={"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked",
                                            "wsgi.input_terminated": True})
    assert r.status_code == 200, r.get_json()


def test_middleware_reads_chunked_bodies_in_pieces() -> None:
    """A chunked stream may return short reads; the whole body is still read."""

    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            piece, self.data = self.data[:7], self.data[7:]
            return piece

    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["body"] = environ["wsgi.input"].read()
        seen["error"] = environ.get("cardumen.body_error")
        return []

    payload = b'{"a": "' + b"x" * 500 + b'"}'
    mw = GzipRequestMiddleware(app, max_wire=10_000, max_decoded=10_000)
    mw({"HTTP_CONTENT_ENCODING": "gzip", "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": Trickle(gzip.compress(payload))}, lambda *a: None)
    assert seen == {"body": payload, "error": None}

    small = GzipRequestMiddleware(app, max_wire=20, max_decoded=10_000)
    small({"HTTP_CONTENT_ENCODING": "gzip", "HTTP_TRANSFER_ENCODING": "chunked",
           "wsgi.input": Trickle(gzip.compress(payload))}, lambda *a: None)
    assert seen["error"] is not None and seen["error"].status == 413


# --------------------------------------------------------------------------- languages


def _validation(anon: Api, lang: str | None) -> Any:
    return anon.post(LOGIN, {"phone": "+525512345678"}, lang=lang)


def test_spanish_is_the_default(anon: Api) -> None:
    body = assert_problem(_validation(anon, None), 422, "validation_error", lang="es")
    assert body["title"] == "La solicitud tiene campos no válidos."
    assert body["detail"] == "La solicitud tiene campos no válidos."
    msgs = {e["field"]: e for e in body["errors"]}
    assert set(msgs) == {"password", "device_id"}
    assert msgs["password"] == {"field": "password", "in": "json", "code": "required",
                                "message": "Este campo es obligatorio."}


@pytest.mark.parametrize("header", ["en", "en-US,en;q=0.9", "en-GB", "fr-FR, en;q=0.5"])
def test_english_on_request(anon: Api, header: str) -> None:
    body = assert_problem(_validation(anon, header), 422, "validation_error", lang="en")
    assert body["title"] == "The request has invalid fields."
    assert {e["message"] for e in body["errors"]} == {"This field is required."}


@pytest.mark.parametrize("header", ["fr", "de-DE,de;q=0.9", "es-MX,es;q=0.9,en;q=0.5", "*"])
def test_other_languages_fall_back_to_spanish(anon: Api, header: str) -> None:
    body = assert_problem(_validation(anon, header), 422, "validation_error", lang="es")
    assert {e["message"] for e in body["errors"]} == {"Este campo es obligatorio."}


def test_language_applies_to_every_error(anon: Api) -> None:
    assert assert_problem(anon.get("/nope", lang="en"), 404, "not_found",
                          lang="en")["detail"] == "Not found."
    assert assert_problem(anon.get("/nope"), 404, "not_found")["detail"] == "No encontrado."
    r = anon.client.post(LOGIN, data=b"x", content_type="text/plain",
                         headers={"Accept-Language": "en"})
    assert assert_problem(r, 415, "unsupported_media_type", lang="en")["detail"] == \
        "Send the body as application/json."
    r = anon.get("/api/v1/me", lang="en")
    assert assert_problem(r, 401, "token_missing", lang="en")["title"] == \
        "Authentication is required."


def test_library_messages_are_translated(app: Flask, factory: Factory) -> None:
    admin = factory.person(platform_admin=True).api
    bad = {"species": [{"code": "abc", "scientific_name": "X y", "name_es": "a", "name_en": "b"}]}
    body = assert_problem(admin.put("/api/v1/catalog/species", bad), 422, "validation_error")
    assert body["errors"] == [{"field": "species.0.code", "in": "json", "code": "pattern_mismatch",
                               "message": "No tiene el formato esperado."}]


# --------------------------------------------------------------------------- hostile input


def test_array_where_object_expected_is_422(anon: Api) -> None:
    body = assert_problem(anon.post(LOGIN, [1, 2, 3]), 422, "validation_error")
    assert [e["code"] for e in body["errors"]] == ["invalid_type"]


@pytest.mark.parametrize("payload", ["a string", 42, None, True])
def test_scalar_where_object_expected_is_4xx(anon: Api, payload: Any) -> None:
    r = anon.client.post(LOGIN, data=orjson.dumps(payload), content_type="application/json")
    assert r.status_code in (400, 422), r.get_json()
    assert r.mimetype == "application/problem+json"


def test_deeply_nested_json_is_400(anon: Api) -> None:
    r = anon.client.post(LOGIN, data=b"[" * 100_000 + b"]" * 100_000,
                         content_type="application/json")
    assert_problem(r, 400, "malformed_json")


def test_deeply_nested_value_inside_an_object_is_4xx(anon: Api) -> None:
    deep = b'{"phone": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}"
    r = anon.client.post(LOGIN, data=deep, content_type="application/json")
    assert r.status_code in (400, 422)
    assert r.mimetype == "application/problem+json"


@pytest.mark.parametrize("number", [b"1" + b"0" * 5000, b"1e999999", b"-1e400", b"NaN", b"Infinity",
                                    b"123456789012345678901234567890"])
def test_huge_or_special_numbers_are_4xx(anon: Api, number: bytes) -> None:
    body = b'{"phone": "+525512345678", "password": ' + number + b', "device_id": "d"}'
    r = anon.client.post(LOGIN, data=body, content_type="application/json")
    assert r.status_code in (400, 422), r.get_json()
    assert r.mimetype == "application/problem+json"


def test_huge_query_number_is_422(anon: Api) -> None:
    body = assert_problem(anon.get("/api/v1/catalog/changes?limit=" + "9" * 400),
                          422, "validation_error")
    assert body["errors"][0]["field"] == "limit"
    assert body["errors"][0]["in"] == "query"


def test_nul_character_in_a_json_string_is_400(anon: Api) -> None:
    r = anon.post(REGISTER, {"phone": random_phone(), "password": PASSWORD, "name": "a\u0000b"})
    body = assert_problem(r, 400, "malformed_json")
    assert "\\u0000" in body["detail"]


def test_escaped_backslash_before_u0000_is_text(anon: Api) -> None:
    # The JSON text \\u0000 is a backslash followed by "u0000", not a NUL.
    phone = random_phone()
    r = anon.post(REGISTER, {"phone": phone, "password": PASSWORD, "name": "a\\u0000b"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["name"] == "a\\u0000b"


def test_nul_character_in_the_query_is_400(anon: Api) -> None:
    body = assert_problem(anon.get("/api/v1/catalog/zones?kind=no%00take"), 400, "bad_request")
    assert body["errors"][0]["code"] == "nul_character"


def test_unknown_fields_are_named(anon: Api) -> None:
    body = assert_problem(anon.post(LOGIN, {"phone": "+525512345678", "password": PASSWORD,
                                            "device_id": "d", "admin": True}),
                          422, "validation_error")
    assert body["errors"] == [{"field": "admin", "in": "json", "code": "unknown_field",
                               "message": "Campo desconocido."}]


# --------------------------------------------------------------------------- rate limit


def test_too_many_logins_is_429_with_retry_after(tight: Flask, factory: Factory) -> None:
    m = factory.member()
    c = client_of(tight)
    bad = orjson.dumps({"phone": m.phone, "password": "wrong password!", "device_id": "d"})
    for _ in range(3):
        r = c.post(LOGIN, data=bad, content_type="application/json")
        assert_problem(r, 401, "bad_credentials")
    # Even the right password waits now: the limit counts attempts.
    r = c.post(LOGIN, data=login_body(m.phone), content_type="application/json",
               headers={"Accept-Language": "en"})
    body = assert_problem(r, 429, "rate_limited", lang="en")
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= tight.config["RATE_LIMIT_WINDOW"] + 1
    assert f"{retry} seconds" in body["detail"]
    assert body["title"] == "Too many attempts."
    # Another phone from another address is not affected.
    other = factory.member()
    r = client_of(tight).post(LOGIN, data=login_body(other.phone), content_type="application/json")
    assert r.status_code == 200


# --------------------------------------------------------------------------- health


def test_healthz(anon: Api) -> None:
    r = anon.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok"}


def test_readyz_at_head(anon: Api) -> None:
    from server import migrate

    r = anon.get("/readyz")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "ready"
    assert body["database"] == "ok"
    assert body["migration"] == sorted(migrate.head_revisions())
    assert body["migration"] != []


def test_readyz_503_when_migrations_are_behind(database_url: str) -> None:
    from server import migrate

    with throwaway_database(database_url) as url:  # PostGIS only, no migration applied
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x" * 32, "ENV": "test",
                          "DB_POOL_SIZE": 1})
        try:
            c = client_of(app)
            body = assert_problem(c.get("/readyz"), 503, "service_unavailable")
            head = sorted(migrate.head_revisions())[0]
            assert head in body["detail"]
            assert body["title"] == "El servicio no está listo."
            assert c.get("/healthz").status_code == 200  # alive, just not ready
            migrate.upgrade(url)
            assert c.get("/readyz").status_code == 200
            migrate.downgrade(url, "base")
            assert_problem(c.get("/readyz"), 503, "service_unavailable")
        finally:
            app.extensions["cardumen.engine"].dispose()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_readyz_503_when_database_unreachable() -> None:
    url = f"postgresql+psycopg://nobody:nothing@127.0.0.1:{_closed_port()}/cardumen"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x" * 32, "ENV": "test",
                      "DB_POOL_SIZE": 1})
    c = client_of(app)
    body = assert_problem(c.get("/readyz", headers={"Accept-Language": "en"}), 503,
                          "service_unavailable", lang="en")
    assert body["detail"].startswith("The service is not ready: ")
    assert "OperationalError" in body["detail"]
    assert "nothing" not in r_text(body)  # no credentials leak into the answer
    assert c.get("/healthz").status_code == 200


def r_text(body: dict[str, Any]) -> str:
    return orjson.dumps(body).decode()


def test_zlib_streams_other_than_gzip_are_malformed(anon: Api) -> None:
    # A raw zlib stream labelled gzip is refused, not guessed at.
    r = anon.client.post(LOGIN, data=zlib.compress(login_body("+525512345678")),
                         content_type="application/json", headers={"Content-Encoding": "gzip"})
    assert_problem(r, 400, "malformed_gzip")
