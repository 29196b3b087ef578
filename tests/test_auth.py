"""Registration, login, rate limits, access tokens, refresh rotation and logout, through HTTP."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from server import create_app
from server.members import services, tokens
from server.members.models import Member, RefreshToken
from tests.conftest import PASSWORD, Api, Factory, errors_of, problem, random_phone

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/me"






def national(phone: str) -> str:
    """A +5255XXXXXXXX number as a Mexican would type it: (55) 1234-5678."""
    digits = phone[3:]
    return f"({digits[:2]}) {digits[2:6]}-{digits[6:]}"


def register_body(**over: Any) -> dict[str, Any]:
    body = {"phone": random_phone(), "password": "una clave larga", "name": "Juana Pérez"}
    body.update(over)
    return body


def claims(token: str) -> dict[str, Any]:
    out: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return out


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(anon: Api, phone: str, device: str = "phone-1", password: str = PASSWORD) -> dict[str, Any]:
    r = anon.post(LOGIN, {"phone": phone, "password": password, "device_id": device})
    assert r.status_code == 200, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


# --- registration -----------------------------------------------------------------------------


def test_register_normalizes_phone_and_never_returns_the_password(anon: Api, db: Session) -> None:
    phone = random_phone()
    r = anon.post(REGISTER, {"phone": national(phone), "password": "una clave larga",
                             "name": "Juana Pérez"})
    assert r.status_code == 201, r.get_json()
    assert r.mimetype == "application/json"
    body = r.get_json()
    assert set(body) == {"id", "phone", "name", "locale", "is_platform_admin", "created_at"}
    assert body["phone"] == phone  # E.164
    assert body["name"] == "Juana Pérez"
    assert body["locale"] == "es"
    assert body["is_platform_admin"] is False
    assert "una clave larga" not in r.get_data(as_text=True)
    stored = db.get(Member, uuid.UUID(body["id"]))
    assert stored is not None and stored.phone == phone
    assert stored.password_hash.startswith("$argon2id$")
    # The normalized number logs in, typed either way.
    r = anon.post(LOGIN, {"phone": national(phone), "password": "una clave larga", "device_id": "d"})
    assert r.status_code == 200
    assert r.get_json()["member"]["id"] == body["id"]


def test_register_with_english_locale_and_minimum_password(anon: Api) -> None:
    r = anon.post(REGISTER, register_body(password="12345678", locale="en"))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["locale"] == "en"


def test_register_duplicate_phone_is_409_phone_taken(anon: Api) -> None:
    body = register_body()
    assert anon.post(REGISTER, body).status_code == 201
    # The same number written another way is the same phone.
    again = dict(body, phone=national(body["phone"]), name="Otra persona")
    err = problem(anon.post(REGISTER, again), 409, "conflict")
    assert err["errors"] == [{"field": "phone", "in": "json", "code": "phone_taken",
                              "message": "Este número de teléfono ya está registrado."}]
    err = problem(anon.post(REGISTER, again, lang="en"), 409, "conflict")
    assert err["errors"][0]["message"] == "This phone number is already registered."


def test_register_race_on_the_same_phone_is_409_not_500(anon: Api, db: Session,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    body = register_body()
    assert anon.post(REGISTER, body).status_code == 201
    # The second of two simultaneous registrations passes the check, then hits the index.
    monkeypatch.setattr(services, "_phone_registered", lambda sess, phone: False)
    err = problem(anon.post(REGISTER, body), 409, "conflict")
    assert errors_of(err) == {"phone": "phone_taken"}
    assert len(db.scalars(select(Member).where(Member.phone == body["phone"])).all()) == 1


@pytest.mark.parametrize("phone", ["123", "not a phone", "+52 55 1234", "+1 000 000 0000", ""])
def test_register_invalid_phone(anon: Api, phone: str) -> None:
    err = problem(anon.post(REGISTER, register_body(phone=phone)), 422, "validation_error")
    assert err["errors"] == [{
        "field": "phone", "in": "json", "code": "invalid_phone",
        "message": "No es un número de teléfono válido; use la forma internacional, "
                   "p. ej. +52 612 123 4567."}]


def test_register_short_password_is_weak(anon: Api) -> None:
    err = problem(anon.post(REGISTER, register_body(password="1234567")), 422, "validation_error")
    assert err["errors"] == [{"field": "password", "in": "json", "code": "weak_password",
                              "message": "La contraseña necesita al menos 8 caracteres."}]
    err = problem(anon.post(REGISTER, register_body(password="1234567"), lang="en"),
                  422, "validation_error")
    assert err["errors"][0]["message"] == "The password needs at least 8 characters."


def test_register_overlong_password(anon: Api) -> None:
    err = problem(anon.post(REGISTER, register_body(password="x" * 201)), 422, "validation_error")
    assert errors_of(err) == {"password": "length_max"}


def test_register_missing_fields_in_spanish_by_default(anon: Api) -> None:
    r = anon.post(REGISTER, {})
    err = problem(r, 422, "validation_error")
    assert r.headers["Content-Language"] == "es"
    assert err["title"] == "La solicitud tiene campos no válidos."
    assert err["detail"] == "La solicitud tiene campos no válidos."
    assert sorted(err["errors"], key=lambda e: e["field"]) == [
        {"field": f, "in": "json", "code": "required", "message": "Este campo es obligatorio."}
        for f in ("name", "password", "phone")]


@pytest.mark.parametrize("header", ["en", "en-US,en;q=0.9", "fr;q=1.0, en;q=0.5"])
def test_register_missing_fields_in_english(anon: Api, header: str) -> None:
    r = anon.post(REGISTER, {"phone": random_phone()}, headers={"Accept-Language": header})
    err = problem(r, 422, "validation_error")
    assert r.headers["Content-Language"] == "en"
    assert err["detail"] == "The request has invalid fields."
    assert {(e["field"], e["message"]) for e in err["errors"]} == {
        ("password", "This field is required."), ("name", "This field is required.")}


def test_register_unsupported_language_falls_back_to_spanish(anon: Api) -> None:
    r = anon.post(REGISTER, {}, lang="fr")
    problem(r, 422, "validation_error")
    assert r.headers["Content-Language"] == "es"


def test_register_unknown_field_cannot_make_a_platform_admin(anon: Api, db: Session) -> None:
    body = register_body(is_platform_admin=True)
    err = problem(anon.post(REGISTER, body), 422, "validation_error")
    assert err["errors"] == [{"field": "is_platform_admin", "in": "json", "code": "unknown_field",
                              "message": "Campo desconocido."}]
    assert db.scalar(select(Member.id).where(Member.phone == body["phone"])) is None


def test_register_wrong_types(anon: Api) -> None:
    r = anon.post(REGISTER, {"phone": 5512345678, "password": 12345678, "name": ["Juana"],
                             "locale": "fr"}, lang="en")
    err = problem(r, 422, "validation_error")
    assert errors_of(err) == {"phone": "not_a_string", "password": "not_a_string",
                              "name": "not_a_string", "locale": "one_of"}
    assert {e["field"]: e["message"] for e in err["errors"]}["locale"] == "Must be one of: es, en."


def test_register_body_not_json(anon: Api) -> None:
    r = anon.post(REGISTER, data="{phone:", headers={"Content-Type": "application/json"})
    err = problem(r, 400, "malformed_json")
    assert err["detail"].startswith("El cuerpo no es JSON válido")
    r = anon.post(REGISTER, data="phone=1", headers={"Content-Type": "text/plain"})
    problem(r, 415, "unsupported_media_type")


# --- login ------------------------------------------------------------------------------------


def test_login_returns_an_access_and_a_refresh_token(anon: Api, factory: Factory, app: Flask) -> None:
    m = factory.member()
    r = anon.post(LOGIN, {"phone": national(m.phone), "password": PASSWORD, "device_id": "phone-1"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == app.config["ACCESS_TOKEN_TTL"] == 900
    assert body["refresh_expires_in"] == app.config["REFRESH_TOKEN_TTL"]
    assert len(body["refresh_token"]) >= 40
    assert body["member"]["id"] == str(m.id)
    assert body["member"]["phone"] == m.phone
    assert "password" not in body["member"] and "password_hash" not in body["member"]
    c = jwt.decode(body["access_token"], app.config["SECRET_KEY"], algorithms=["HS256"],
                   issuer="cardumen")
    assert c["sub"] == str(m.id)
    assert c["exp"] - c["iat"] == 900
    uuid.UUID(c["fam"])
    me = anon.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.get_json()["phone"] == m.phone
    assert me.get_json()["memberships"] == []


def test_login_wrong_password_and_unknown_phone_answer_the_same(anon: Api, factory: Factory) -> None:
    m = factory.member()
    wrong = anon.post(LOGIN, {"phone": m.phone, "password": "not the password", "device_id": "d"})
    unknown = anon.post(LOGIN, {"phone": random_phone(), "password": PASSWORD, "device_id": "d"})
    body = problem(wrong, 401, "bad_credentials")
    assert body["detail"] == "Número de teléfono o contraseña incorrectos."
    assert problem(unknown, 401, "bad_credentials") == body
    assert "access_token" not in body


def test_login_of_a_disabled_member_is_refused(anon: Api, factory: Factory, db: Session) -> None:
    m = factory.member()
    m.disabled_at = datetime.now(UTC)
    db.commit()
    problem(anon.post(LOGIN, {"phone": m.phone, "password": PASSWORD, "device_id": "d"}),
            401, "bad_credentials")


def test_login_validation(anon: Api) -> None:
    err = problem(anon.post(LOGIN, {"phone": "12", "password": PASSWORD}), 422, "validation_error")
    assert errors_of(err) == {"phone": "invalid_phone", "device_id": "required"}
    err = problem(anon.post(LOGIN, {"phone": random_phone(), "password": PASSWORD,
                                    "device_id": ""}), 422, "validation_error")
    assert errors_of(err) == {"device_id": "length_between"}


@pytest.fixture
def limited_app(database_url: str) -> Iterator[Callable[..., Flask]]:
    """Apps over the test database with low rate limits (a long window: no reset mid-test)."""
    made: list[Flask] = []

    def make(per_phone: int, per_address: int) -> Flask:
        app = create_app({"DATABASE_URL": database_url, "ENV": "test",
                          "SECRET_KEY": "limited-" + secrets.token_hex(16),
                          "RATE_LIMIT_PER_PHONE": per_phone, "RATE_LIMIT_PER_ADDRESS": per_address,
                          "RATE_LIMIT_WINDOW": 10**6})
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["cardumen.engine"].dispose()


def client_at(app: Flask, addr: str) -> Api:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = addr
    return Api(client)


def random_addr() -> str:
    return f"192.0.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def assert_rate_limited(r: Any, lang: str = "es") -> int:
    body = problem(r, 429, "rate_limited")
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 10**6 + 1
    if lang == "es":
        assert body["detail"] == f"Demasiados intentos. Intente de nuevo en {retry} segundos."
    return retry


def test_login_rate_limited_per_phone(limited_app: Callable[..., Flask], factory: Factory) -> None:
    app = limited_app(per_phone=3, per_address=1000)
    m = factory.member()
    api = client_at(app, random_addr())
    for _ in range(3):
        problem(api.post(LOGIN, {"phone": m.phone, "password": "wrong password", "device_id": "d"}),
                401, "bad_credentials")
    # Over the limit even the right password is refused, from any address.
    assert_rate_limited(api.post(LOGIN, {"phone": m.phone, "password": PASSWORD, "device_id": "d"}))
    elsewhere = client_at(app, random_addr())
    r = elsewhere.post(LOGIN, {"phone": national(m.phone), "password": PASSWORD, "device_id": "d"},
                       lang="en")
    retry = assert_rate_limited(r, "en")
    assert r.get_json()["detail"] == f"Too many attempts. Try again in {retry} seconds."
    # Another phone from the first address is not affected.
    other = factory.member()
    assert api.post(LOGIN, {"phone": other.phone, "password": PASSWORD,
                            "device_id": "d"}).status_code == 200


def test_login_rate_limited_per_address(limited_app: Callable[..., Flask], factory: Factory) -> None:
    app = limited_app(per_phone=1000, per_address=3)
    addr = random_addr()
    api = client_at(app, addr)
    for _ in range(3):
        problem(api.post(LOGIN, {"phone": random_phone(), "password": PASSWORD, "device_id": "d"}),
                401, "bad_credentials")
    m = factory.member()
    assert_rate_limited(client_at(app, addr).post(
        LOGIN, {"phone": m.phone, "password": PASSWORD, "device_id": "d"}))
    # The same member from another address logs in.
    assert client_at(app, random_addr()).post(
        LOGIN, {"phone": m.phone, "password": PASSWORD, "device_id": "d"}).status_code == 200


def test_register_rate_limited_per_phone(limited_app: Callable[..., Flask]) -> None:
    app = limited_app(per_phone=2, per_address=1000)
    api = client_at(app, random_addr())
    body = register_body()
    assert api.post(REGISTER, body).status_code == 201
    problem(api.post(REGISTER, body), 409, "conflict")
    assert_rate_limited(api.post(REGISTER, body))


# --- access tokens ----------------------------------------------------------------------------


def test_me_without_token(anon: Api) -> None:
    r = anon.get(ME)
    body = problem(r, 401, "token_missing")
    assert body["detail"] == "Envíe un token de acceso: Authorization: Bearer <token>."
    assert r.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer", "Bearer    ", "Token abc.def.ghi", "Basic dXNlcjpwYXNz",
                                    "abc.def.ghi"])
def test_me_with_a_malformed_header_is_token_missing(anon: Api, header: str) -> None:
    problem(anon.get(ME, headers={"Authorization": header}), 401, "token_missing")


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x"])
def test_me_with_garbage_token_is_token_invalid(anon: Api, token: str) -> None:
    r = anon.get(ME, headers=bearer(token))
    problem(r, 401, "token_invalid")
    assert "invalid_token" in r.headers["WWW-Authenticate"]


def test_tampered_signature_is_rejected(anon: Api, factory: Factory) -> None:
    token = login(anon, factory.member().phone)["access_token"]
    assert anon.get(ME, headers=bearer(token)).status_code == 200
    head, payload, sig = token.split(".")
    # Flip the first character: the last one may only carry padding bits.
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    problem(anon.get(ME, headers=bearer(f"{head}.{payload}.{flipped}")), 401, "token_invalid")


def test_tampered_payload_is_rejected(anon: Api, factory: Factory) -> None:
    victim = factory.member()
    token = login(anon, factory.member().phone)["access_token"]
    head, _payload, sig = token.split(".")
    c = claims(token)
    c["sub"] = str(victim.id)
    forged = base64.urlsafe_b64encode(json.dumps(c).encode()).rstrip(b"=").decode()
    problem(anon.get(ME, headers=bearer(f"{head}.{forged}.{sig}")), 401, "token_invalid")


def test_token_signed_with_another_secret(anon: Api, factory: Factory) -> None:
    m = factory.member()
    fam = uuid.UUID(claims(login(anon, m.phone)["access_token"])["fam"])
    token = tokens.issue_access("another-secret-" + secrets.token_hex(16), m.id, fam,
                                datetime.now(UTC), 600)
    problem(anon.get(ME, headers=bearer(token)), 401, "token_invalid")


def test_unsigned_token_is_rejected(anon: Api, factory: Factory) -> None:
    m = factory.member()
    c = claims(login(anon, m.phone)["access_token"])

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    token = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(c)}."
    problem(anon.get(ME, headers=bearer(token)), 401, "token_invalid")


def test_expired_token(anon: Api, factory: Factory, app: Flask) -> None:
    m = factory.member()
    fam = uuid.UUID(claims(login(anon, m.phone)["access_token"])["fam"])
    secret = app.config["SECRET_KEY"]
    fresh = tokens.issue_access(secret, m.id, fam, datetime.now(UTC), 60)
    assert anon.get(ME, headers=bearer(fresh)).status_code == 200  # the crafting is right
    old = tokens.issue_access(secret, m.id, fam, datetime.now(UTC) - timedelta(hours=1), ttl=60)
    r = anon.get(ME, headers=bearer(old), lang="en")
    body = problem(r, 401, "token_expired")
    assert body["detail"] == "The access token has expired; refresh it."
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_valid_signature_but_unknown_member_or_family(anon: Api, factory: Factory, app: Flask) -> None:
    m = factory.member()
    fam = uuid.UUID(claims(login(anon, m.phone)["access_token"])["fam"])
    secret = app.config["SECRET_KEY"]
    now = datetime.now(UTC)
    problem(anon.get(ME, headers=bearer(tokens.issue_access(secret, uuid.uuid4(), fam, now, 60))),
            401, "token_invalid")
    problem(anon.get(ME, headers=bearer(tokens.issue_access(secret, m.id, uuid.uuid4(), now, 60))),
            401, "token_invalid")


def test_disabled_member_loses_access_and_refresh(anon: Api, factory: Factory, db: Session) -> None:
    m = factory.member()
    pair = login(anon, m.phone)
    m.disabled_at = datetime.now(UTC)
    db.commit()
    problem(anon.get(ME, headers=bearer(pair["access_token"])), 401, "token_invalid")
    problem(anon.post(REFRESH, {"refresh_token": pair["refresh_token"]}), 401, "refresh_invalid")


# --- refresh and logout -----------------------------------------------------------------------


def test_refresh_rotates_within_the_family(anon: Api, factory: Factory) -> None:
    m = factory.member()
    first = login(anon, m.phone)
    r = anon.post(REFRESH, {"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.get_json()
    second = r.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["token_type"] == "Bearer" and second["expires_in"] == 900
    assert second["member"]["id"] == str(m.id)
    assert claims(second["access_token"])["fam"] == claims(first["access_token"])["fam"]
    assert anon.get(ME, headers=bearer(second["access_token"])).get_json()["id"] == str(m.id)
    # The new refresh token rotates again.
    third = anon.post(REFRESH, {"refresh_token": second["refresh_token"]})
    assert third.status_code == 200
    assert third.get_json()["refresh_token"] not in (first["refresh_token"], second["refresh_token"])


def test_refresh_reuse_revokes_the_whole_family(anon: Api, factory: Factory, db: Session) -> None:
    m = factory.member()
    other_device = factory.login(m, "tablet")
    first = login(anon, m.phone, "phone-1")
    second = anon.post(REFRESH, {"refresh_token": first["refresh_token"]}).get_json()
    assert anon.get(ME, headers=bearer(second["access_token"])).status_code == 200

    r = anon.post(REFRESH, {"refresh_token": first["refresh_token"]})
    body = problem(r, 401, "refresh_reused")
    assert body["detail"].startswith("Este token de renovación ya se había usado")
    # Everything of that login is dead: the new refresh token and its access token.
    problem(anon.post(REFRESH, {"refresh_token": second["refresh_token"]}), 401, "refresh_invalid")
    problem(anon.get(ME, headers=bearer(second["access_token"])), 401, "token_invalid")
    problem(anon.get(ME, headers=bearer(first["access_token"])), 401, "token_invalid")
    fam = uuid.UUID(claims(first["access_token"])["fam"])
    rows = db.scalars(select(RefreshToken).where(RefreshToken.family_id == fam)).all()
    assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)
    # The member's session on another device is untouched.
    assert other_device.get(ME).status_code == 200


def test_refresh_with_garbage(anon: Api) -> None:
    body = problem(anon.post(REFRESH, {"refresh_token": secrets.token_urlsafe(32)}),
                   401, "refresh_invalid")
    assert body["detail"] == "El token de renovación no es válido o caducó."
    err = problem(anon.post(REFRESH, {"refresh_token": "short"}), 422, "validation_error")
    assert errors_of(err) == {"refresh_token": "length_between"}
    err = problem(anon.post(REFRESH, {"refresh_token": 1234567890123}), 422, "validation_error")
    assert errors_of(err) == {"refresh_token": "not_a_string"}
    err = problem(anon.post(REFRESH, {}), 422, "validation_error")
    assert errors_of(err) == {"refresh_token": "required"}


def test_refresh_with_an_expired_refresh_token(anon: Api, factory: Factory, db: Session) -> None:
    pair = login(anon, factory.member().phone)
    row = db.scalar(select(RefreshToken).where(
        RefreshToken.token_hash == tokens.refresh_hash(pair["refresh_token"])))
    assert row is not None
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.commit()
    problem(anon.post(REFRESH, {"refresh_token": pair["refresh_token"]}), 401, "refresh_invalid")


def test_logout_ends_only_that_devices_session(anon: Api, factory: Factory) -> None:
    m = factory.member()
    phone1 = login(anon, m.phone, "phone-1")
    phone2 = login(anon, m.phone, "phone-2")
    r = anon.post(LOGOUT, headers=bearer(phone1["access_token"]))
    assert r.status_code == 204
    assert r.get_data() == b""
    problem(anon.get(ME, headers=bearer(phone1["access_token"])), 401, "token_invalid")
    problem(anon.post(REFRESH, {"refresh_token": phone1["refresh_token"]}), 401, "refresh_invalid")
    problem(anon.post(LOGOUT, headers=bearer(phone1["access_token"])), 401, "token_invalid")
    # The other device keeps working, and can still rotate.
    assert anon.get(ME, headers=bearer(phone2["access_token"])).status_code == 200
    assert anon.post(REFRESH, {"refresh_token": phone2["refresh_token"]}).status_code == 200


def test_logout_needs_a_token(anon: Api) -> None:
    problem(anon.post(LOGOUT), 401, "token_missing")
