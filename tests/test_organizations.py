"""Organizations and memberships through HTTP: creation, joining, approval, roles, tenancy."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import ApiError
from server.members import services
from server.members.models import Membership, Organization, Role
from tests.conftest import Api, Factory, errors_of, problem

ORGS = "/api/v1/organizations"






def rnpa() -> str:
    return f"{secrets.randbelow(10**10):010d}"


def org_body(**over: Any) -> dict[str, Any]:
    body = {"name": f"Cooperativa Pesquera {secrets.token_hex(3)}", "rnpa": rnpa(),
            "state": "Sinaloa", "office_key": "MZT-01"}
    body.update(over)
    return body


def members(api: Api, org_id: uuid.UUID, status: str | None = None) -> dict[str, dict[str, Any]]:
    """{member_id: row} of an organization, as its administrator sees them."""
    r = api.get(f"{ORGS}/{org_id}/members" + (f"?status={status}" if status else ""))
    assert r.status_code == 200, r.get_json()
    return {row["member_id"]: row for row in r.get_json()}


def org_names(anon: Api) -> set[str]:
    r = anon.get(ORGS)
    assert r.status_code == 200
    return {o["name"] for o in r.get_json()}


# --- public profile ---------------------------------------------------------------------------


def test_anyone_lists_and_reads_organizations(anon: Api, factory: Factory) -> None:
    org = factory.org()
    r = anon.get(ORGS)
    assert r.status_code == 200 and r.mimetype == "application/json"
    listed = {o["id"]: o for o in r.get_json()}
    assert listed[str(org.id)] == {
        "id": str(org.id), "kind": "cooperative", "name": org.name, "rnpa": org.rnpa,
        "state": None, "office_key": None, "created_at": listed[str(org.id)]["created_at"]}
    names = [o["name"] for o in r.get_json()]
    assert names == sorted(names)
    one = anon.get(f"{ORGS}/{org.id}")
    assert one.status_code == 200 and one.get_json()["name"] == org.name


def test_unknown_organization_is_404(anon: Api) -> None:
    problem(anon.get(f"{ORGS}/{uuid.uuid4()}"), 404, "not_found")
    body = problem(anon.get(f"{ORGS}/not-a-uuid"), 404, "not_found")
    assert body["detail"] == "No encontrado."


# --- creation ---------------------------------------------------------------------------------


def test_platform_admin_creates_an_organization_with_its_first_admin(anon: Api, factory: Factory) -> None:
    root = factory.person(platform_admin=True)
    boss = factory.person()
    body = org_body(admin_member_id=str(boss.member.id))
    r = root.api.post(ORGS, body)
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert {k: created[k] for k in ("kind", "name", "rnpa", "state", "office_key")} == {
        "kind": "cooperative", "name": body["name"], "rnpa": body["rnpa"], "state": "Sinaloa",
        "office_key": "MZT-01"}
    assert "admin_member_id" not in created
    org_id = uuid.UUID(created["id"])
    assert body["name"] in org_names(anon)
    # The named member administers it right away, with no new login.
    rows = members(boss.api, org_id)
    assert rows[str(boss.member.id)]["role"] == "admin"
    assert rows[str(boss.member.id)]["status"] == "active"
    me = boss.api.get("/api/v1/me").get_json()
    assert me["memberships"] == [{"org_id": str(org_id), "org_name": body["name"], "role": "admin",
                                  "status": "active"}]


def test_platform_admin_creates_an_organization_without_admin(factory: Factory, db: Session) -> None:
    root = factory.person(platform_admin=True)
    r = root.api.post(ORGS, {"name": "Secretaría de Pesca", "kind": "authority"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["kind"] == "authority" and r.get_json()["rnpa"] is None
    org_id = uuid.UUID(r.get_json()["id"])
    assert db.scalars(select(Membership).where(Membership.org_id == org_id)).all() == []


def test_only_a_platform_admin_creates_organizations(anon: Api, factory: Factory) -> None:
    coop = factory.coop()
    body = org_body()
    problem(coop.fisher.api.post(ORGS, body), 403, "forbidden")
    problem(coop.admin.api.post(ORGS, body), 403, "forbidden")
    problem(anon.post(ORGS, body), 401, "token_missing")
    assert body["name"] not in org_names(anon)


def test_duplicate_rnpa_is_409(factory: Factory) -> None:
    root = factory.person(platform_admin=True)
    existing = factory.org()
    assert existing.rnpa
    body = problem(root.api.post(ORGS, org_body(rnpa=existing.rnpa)), 409, "conflict")
    assert body["errors"] == [{"field": "rnpa", "in": "json", "code": "duplicate_value",
                               "message": f"Este valor ya está en uso: {existing.rnpa}."}]


def test_rnpa_race_is_409_not_500(factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    root = factory.person(platform_admin=True)
    existing = factory.org()
    monkeypatch.setattr(services, "_rnpa_taken", lambda sess, value: False)
    body = problem(root.api.post(ORGS, org_body(rnpa=existing.rnpa)), 409, "conflict")
    assert errors_of(body) == {"rnpa": "duplicate_value"}


def test_create_with_unknown_admin_creates_nothing(anon: Api, factory: Factory, db: Session) -> None:
    root = factory.person(platform_admin=True)
    ghost = uuid.uuid4()
    body = org_body(admin_member_id=str(ghost))
    err = problem(root.api.post(ORGS, body, lang="en"), 422, "validation_error")
    assert err["errors"] == [{"field": "admin_member_id", "in": "json", "code": "unknown_member",
                              "message": f"Unknown member {ghost}."}]
    assert db.scalar(select(Organization.id).where(Organization.rnpa == body["rnpa"])) is None
    assert body["name"] not in org_names(anon)


def test_create_validation(factory: Factory) -> None:
    root = factory.person(platform_admin=True)
    err = problem(root.api.post(ORGS, {"name": "X", "kind": "club", "rnpa": "ab cd",
                                       "admin_member_id": "nope", "id": str(uuid.uuid4())}),
                  422, "validation_error")
    assert errors_of(err) == {"name": "length_between", "kind": "one_of", "rnpa": "invalid_code",
                              "admin_member_id": "not_a_uuid", "id": "unknown_field"}
    messages = {e["field"]: e["message"] for e in err["errors"]}
    assert messages["rnpa"] == "No es un código válido."
    assert messages["name"] == "La longitud debe estar entre 2 y 200."
    err = problem(root.api.post(ORGS, {}), 422, "validation_error")
    assert errors_of(err) == {"name": "required"}


# --- joining and approval ---------------------------------------------------------------------


def test_join_approve_then_read_the_fleet(factory: Factory) -> None:
    coop = factory.coop()
    newcomer = factory.person()
    vessels = f"{ORGS}/{coop.org.id}/vessels"
    r = newcomer.api.post(f"{ORGS}/{coop.org.id}/join", {})
    assert r.status_code == 202, r.get_json()
    assert r.get_json() == {"org_id": str(coop.org.id), "org_name": coop.org.name,
                            "role": "fisher", "status": "pending"}
    # Pending is not a member yet.
    problem(newcomer.api.get(vessels), 404, "not_found")

    pending = members(coop.admin.api, coop.org.id, "pending")
    assert list(pending) == [str(newcomer.member.id)]
    row = pending[str(newcomer.member.id)]
    assert (row["phone"], row["role"], row["status"], row["decided_at"]) == (
        newcomer.phone, "fisher", "pending", None)

    r = coop.admin.api.patch(f"{ORGS}/{coop.org.id}/members/{newcomer.member.id}",
                             {"status": "active"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "active" and r.get_json()["role"] == "fisher"
    assert r.get_json()["decided_at"] is not None
    assert members(coop.admin.api, coop.org.id, "pending") == {}

    r = newcomer.api.get(vessels)  # the same token: roles are read per request
    assert r.status_code == 200
    assert [v["id"] for v in r.get_json()] == [str(coop.vessel_id)]
    me = newcomer.api.get("/api/v1/me").get_json()
    assert me["memberships"][0]["status"] == "active"


def test_join_as_buyer_and_invalid_roles(factory: Factory) -> None:
    org = factory.org()
    p = factory.person()
    err = problem(p.api.post(f"{ORGS}/{org.id}/join", {"role": "admin"}), 422, "validation_error")
    assert errors_of(err) == {"role": "one_of"}
    r = p.api.post(f"{ORGS}/{org.id}/join", {"role": "buyer"})
    assert r.status_code == 202 and r.get_json()["role"] == "buyer"


def test_duplicate_join_is_409(factory: Factory) -> None:
    coop = factory.coop()
    p = factory.person()
    assert p.api.post(f"{ORGS}/{coop.org.id}/join").status_code == 202
    body = problem(p.api.post(f"{ORGS}/{coop.org.id}/join", {}), 409, "already_member")
    assert body["detail"] == "Ya pertenece o ya pidió unirse a esta organización."
    # An active member too.
    problem(coop.fisher.api.post(f"{ORGS}/{coop.org.id}/join", {}), 409, "already_member")


def test_join_race_is_409_not_500(factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    org = factory.org()
    p = factory.person()
    assert p.api.post(f"{ORGS}/{org.id}/join").status_code == 202
    monkeypatch.setattr(services, "_membership", lambda sess, org_id, member_id: None)
    problem(p.api.post(f"{ORGS}/{org.id}/join"), 409, "already_member")


def test_join_needs_login_and_an_existing_org(anon: Api, factory: Factory) -> None:
    org = factory.org()
    problem(anon.post(f"{ORGS}/{org.id}/join", {}), 401, "token_missing")
    problem(factory.person().api.post(f"{ORGS}/{uuid.uuid4()}/join", {}), 404, "not_found")


def test_reject_then_ask_again(factory: Factory) -> None:
    coop = factory.coop()
    p = factory.person()
    p.api.post(f"{ORGS}/{coop.org.id}/join")
    r = coop.admin.api.patch(f"{ORGS}/{coop.org.id}/members/{p.member.id}", {"status": "rejected"})
    assert r.status_code == 200
    assert r.get_json()["status"] == "rejected"
    problem(p.api.get(f"{ORGS}/{coop.org.id}/vessels"), 404, "not_found")
    assert list(members(coop.admin.api, coop.org.id, "rejected")) == [str(p.member.id)]
    r = p.api.post(f"{ORGS}/{coop.org.id}/join", {})
    assert r.status_code == 202 and r.get_json()["status"] == "pending"
    assert members(coop.admin.api, coop.org.id)[str(p.member.id)]["decided_at"] is None


# --- who may see and change members -----------------------------------------------------------


def test_a_fisher_cannot_list_or_change_members(factory: Factory) -> None:
    coop = factory.coop()
    body = problem(coop.fisher.api.get(f"{ORGS}/{coop.org.id}/members"), 403, "forbidden")
    assert body["detail"] == "No tiene permiso para hacer esto."
    problem(coop.fisher.api.patch(f"{ORGS}/{coop.org.id}/members/{coop.fisher.member.id}",
                                  {"role": "admin"}), 403, "forbidden")
    assert members(coop.admin.api, coop.org.id)[str(coop.fisher.member.id)]["role"] == "fisher"


def test_admin_of_one_coop_sees_404_in_another(factory: Factory, anon: Api) -> None:
    x, y = factory.coop(), factory.coop()
    problem(x.admin.api.get(f"{ORGS}/{y.org.id}/members"), 404, "not_found")
    problem(x.admin.api.patch(f"{ORGS}/{y.org.id}/members/{y.fisher.member.id}",
                              {"status": "removed"}), 404, "not_found")
    # Y's member addressed under X's own path is not X's member.
    problem(x.admin.api.patch(f"{ORGS}/{x.org.id}/members/{y.fisher.member.id}",
                              {"status": "removed"}), 404, "not_found")
    assert members(y.admin.api, y.org.id)[str(y.fisher.member.id)]["status"] == "active"
    problem(anon.get(f"{ORGS}/{y.org.id}/members"), 401, "token_missing")


def test_admin_lists_only_own_members(factory: Factory) -> None:
    x, y = factory.coop(), factory.coop()
    assert set(members(x.admin.api, x.org.id)) == {str(x.admin.member.id), str(x.fisher.member.id)}
    assert str(y.fisher.member.id) not in members(x.admin.api, x.org.id)


def test_member_list_status_filter_is_validated(factory: Factory) -> None:
    coop = factory.coop()
    err = problem(coop.admin.api.get(f"{ORGS}/{coop.org.id}/members?status=sleeping"),
                  422, "validation_error")
    assert err["errors"][0]["field"] == "status" and err["errors"][0]["in"] == "query"
    assert err["errors"][0]["code"] == "one_of"


def test_membership_update_validation(factory: Factory) -> None:
    coop = factory.coop()
    path = f"{ORGS}/{coop.org.id}/members/{coop.fisher.member.id}"
    err = problem(coop.admin.api.patch(path, {"status": "pending", "role": "captain", "x": 1}),
                  422, "validation_error")
    assert errors_of(err) == {"status": "one_of", "role": "one_of", "x": "unknown_field"}
    problem(coop.admin.api.patch(f"{ORGS}/{coop.org.id}/members/{uuid.uuid4()}",
                                 {"status": "active"}), 404, "not_found")


def test_platform_admin_manages_any_org_but_not_missing_ones(factory: Factory) -> None:
    coop = factory.coop()
    root = factory.person(platform_admin=True)
    assert str(coop.fisher.member.id) in members(root.api, coop.org.id)
    problem(root.api.get(f"{ORGS}/{uuid.uuid4()}/members"), 404, "not_found")


# --- roles and the last administrator ---------------------------------------------------------


def test_role_change_gives_admin_rights(factory: Factory) -> None:
    coop = factory.coop()
    path = f"{ORGS}/{coop.org.id}/members/{coop.fisher.member.id}"
    r = coop.admin.api.patch(path, {"role": "admin"})
    assert r.status_code == 200
    assert (r.get_json()["role"], r.get_json()["status"]) == ("admin", "active")
    assert str(coop.admin.member.id) in members(coop.fisher.api, coop.org.id)
    # Two admins: now the first may step down.
    r = coop.admin.api.patch(f"{ORGS}/{coop.org.id}/members/{coop.admin.member.id}",
                             {"role": "fisher"})
    assert r.status_code == 200 and r.get_json()["role"] == "fisher"
    problem(coop.admin.api.get(f"{ORGS}/{coop.org.id}/members"), 403, "forbidden")


def test_the_last_admin_cannot_leave(factory: Factory) -> None:
    coop = factory.coop()
    me = f"{ORGS}/{coop.org.id}/members/{coop.admin.member.id}"
    body = problem(coop.admin.api.patch(me, {"status": "removed"}), 409, "last_admin")
    assert body["detail"] == "Una cooperativa debe conservar al menos un administrador activo."
    problem(coop.admin.api.patch(me, {"role": "fisher"}, lang="en"), 409, "last_admin")
    problem(coop.admin.api.patch(me, {"status": "rejected"}), 409, "last_admin")
    rows = members(coop.admin.api, coop.org.id)
    assert (rows[str(coop.admin.member.id)]["role"], rows[str(coop.admin.member.id)]["status"]) == (
        "admin", "active")


def test_removed_member_loses_access_at_once(factory: Factory) -> None:
    coop = factory.coop()
    assert coop.fisher.api.get(f"{ORGS}/{coop.org.id}/vessels").status_code == 200
    r = coop.admin.api.patch(f"{ORGS}/{coop.org.id}/members/{coop.fisher.member.id}",
                             {"status": "removed"})
    assert r.status_code == 200 and r.get_json()["status"] == "removed"
    problem(coop.fisher.api.get(f"{ORGS}/{coop.org.id}/vessels"), 404, "not_found")


def test_two_admins_demoting_each_other_at_once_leave_one(app: Flask, factory: Factory) -> None:
    org = factory.org()
    a, b = factory.member(), factory.member()
    factory.join(org, a, Role.admin)
    factory.join(org, b, Role.admin)
    maker = app.extensions["cardumen.sessionmaker"]
    outcome: dict[str, str] = {}
    with maker() as s1, maker() as s2:
        services.update_membership(s1, org.id, b.id, {"role": Role.fisher}, a.id)  # not committed

        def b_demotes_a() -> None:
            try:
                services.update_membership(s2, org.id, a.id, {"role": Role.fisher}, b.id)
                s2.commit()
                outcome["b"] = "ok"
            except ApiError as exc:
                s2.rollback()
                outcome["b"] = exc.code

        t = threading.Thread(target=b_demotes_a)
        t.start()
        time.sleep(0.5)  # b's request now waits (or, without the lock, counts a stale admin)
        s1.commit()
        t.join(10)
    assert outcome == {"b": "last_admin"}
    rows = factory.sess.execute(select(Membership.member_id, Membership.role).where(
        Membership.org_id == org.id)).all()
    roles = {member_id: role for member_id, role in rows}
    assert roles == {a.id: "admin", b.id: "fisher"}
