"""Signed catch-history statements: exact, verifiable by anyone, and any change breaks them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exports import statement as signed
from tests.analytics.conftest import World
from tests.conftest import Api, errors_of, problem

URL = "/api/v1/me/statement"
VERIFY = "/api/v1/statements/verify"
SIE_ES = "Sierra del Pacífico"


def issue(world: World, **query: str) -> dict[str, Any]:
    r = world.fishers[0].api.get(URL, query_string={
        "from": f"{world.m2:%Y-%m}", "to": f"{world.m1:%Y-%m}"} | query)
    assert r.status_code == 200, r.get_json()
    body: dict[str, Any] = r.get_json()
    return body


def test_a_statement_tells_the_members_catch_exactly(world: World) -> None:
    s = issue(world)
    assert s["kind"] == signed.KIND and s["member"]["id"] == str(world.fishers[0].member.id)
    assert s["period"] == {"from": f"{world.m2:%Y-%m}-01",
                           "to": s["period"]["to"], "timezone": "America/Mexico_City"}
    assert s["period"]["to"].startswith(f"{world.m1:%Y-%m}-")
    assert s["trips"] == 2 and s["days_at_sea"] == 2
    assert s["landed_kg_by_species"] == [
        {"species_code": "LJS", "name": "Pargo lunarejo", "landed_kg": "11.000",
         "income_mxn": "1045.00"},
        {"species_code": "SIE", "name": SIE_ES, "landed_kg": "2.000", "income_mxn": "0.00"}]
    assert s["landed_kg_total"] == "13.000" and s["income_mxn"] == "1045.00"
    assert [c["id"] for c in s["cooperatives"]] == [world.org]
    assert s["signature"]["alg"] == "Ed25519"


def test_anyone_can_verify_and_any_change_breaks_it(world: World, anon: Api) -> None:
    s = issue(world)
    r = anon.post(VERIFY, s)
    assert r.status_code == 200 and r.get_json() == {
        "valid": True, "key_id": s["signature"]["key_id"], "reason": None, "message": None}
    tampered = []
    for path, value in ((("landed_kg_total",), "130.000"), (("income_mxn",), "10450.00"),
                        (("member", "name"), "Otro"), (("period", "from"), "2000-01-01"),
                        (("landed_kg_by_species", 0, "landed_kg"), "110.000")):
        t = copy.deepcopy(s)
        target: Any = t
        for k in path[:-1]:
            target = target[k]
        target[path[-1]] = value
        tampered.append(t)
    t = copy.deepcopy(s)
    t["extra"] = "añadido"
    tampered.append(t)
    for t in tampered:
        body = anon.post(VERIFY, t, lang="es").get_json()
        assert body["valid"] is False and body["reason"] == "signature_invalid", t
        assert "firma" in body["message"]
    # Signed by someone else's key, or not signed at all.
    forged = signed.sign({k: v for k, v in s.items() if k != "signature"},
                         Ed25519PrivateKey.generate())
    assert anon.post(VERIFY, forged).get_json()["reason"] == "key_unknown"
    unsigned = {k: v for k, v in s.items() if k != "signature"}
    assert anon.post(VERIFY, unsigned).get_json()["reason"] == "signature_missing"
    body = problem(anon.post(VERIFY, [1, 2]), 422, "validation_error")
    assert errors_of(body) == {"body": "statement_not_an_object"}


def test_a_bank_verifies_offline_with_the_published_key(world: World, anon: Api) -> None:
    s = issue(world)
    (key,) = anon.get("/api/v1/statements/keys").get_json()["keys"]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["kid"] == s["signature"]["key_id"]
    public = signed.public_from_jwk(key)
    assert signed.verify(s, {key["kid"]: public}) == key["kid"]
    s["trips"] = 3
    with pytest.raises(signed.StatementError, match="signature_invalid"):
        signed.verify(s, {key["kid"]: public})


def test_only_the_member_gets_their_statement(world: World) -> None:
    problem(Api(world.fishers[0].api.client).get(URL), 401, "token_missing")
    problem(world.other.fisher.api.get(URL, query_string={"org_id": world.org}), 404, "not_found")
    # Another member's statement shows their own catch only.
    other = world.fishers[5].api.get(URL, query_string={"from": f"{world.m1:%Y-%m}",
                                                         "to": f"{world.m1:%Y-%m}"}).get_json()
    assert other["landed_kg_total"] == "600.000"
    assert other["member"]["id"] == str(world.fishers[5].member.id)


def test_the_key_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "statement.pem"
    a = signed.load_or_create_key(path)
    b = signed.load_or_create_key(path)
    assert signed.key_id(a.public_key()) == signed.key_id(b.public_key())
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["statement.pem"]
