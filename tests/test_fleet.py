"""A cooperative's vessels and permits through HTTP: validation, roles and tenancy."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pytest
from sqlalchemy.orm import Session

from server.fleet import services
from server.fleet.models import Permit, Vessel
from server.members.models import Membership, MembershipStatus, Role
from tests.conftest import Api, Coop, Factory, errors_of, problem


def messages_of(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in body["errors"]}


def vessels(org_id: uuid.UUID) -> str:
    return f"/api/v1/organizations/{org_id}/vessels"


def permits(org_id: uuid.UUID) -> str:
    return f"/api/v1/organizations/{org_id}/permits"


def vessel_body(**over: Any) -> dict[str, Any]:
    body = {"name": "Don Chuy", "registration": f"MAZ-{secrets.token_hex(3).upper()}",
            "rnp": "250012345", "length_m": 7.62, "engine_hp": 75}
    body.update(over)
    return body


def permit_body(**over: Any) -> dict[str, Any]:
    body = {"number": f"PPC-{secrets.token_hex(3)}", "species_codes": ["LJS", "SKJ"],
            "gear_codes": ["GNS", "LLS"], "valid_from": "2025-01-01", "valid_until": "2026-12-31",
            "issued_by": "CONAPESCA Mazatlán"}
    body.update(over)
    return body


def create_vessel(coop: Coop, **over: Any) -> dict[str, Any]:
    r = coop.admin.api.post(vessels(coop.org.id), vessel_body(**over))
    assert r.status_code == 201, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


def create_permit(coop: Coop, **over: Any) -> dict[str, Any]:
    r = coop.admin.api.post(permits(coop.org.id), permit_body(**over))
    assert r.status_code == 201, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


# --- vessels ----------------------------------------------------------------------------------


def test_admin_registers_a_vessel(factory: Factory, db: Session) -> None:
    coop = factory.coop()
    body = vessel_body(owner_member_id=str(coop.fisher.member.id))
    r = coop.admin.api.post(vessels(coop.org.id), body)
    assert r.status_code == 201, r.get_json()
    assert r.mimetype == "application/json"
    v = r.get_json()
    assert v == {"id": v["id"], "org_id": str(coop.org.id), "name": "Don Chuy",
                 "registration": body["registration"], "rnp": "250012345",
                 "owner_member_id": str(coop.fisher.member.id),
                 "length_m": 7.62, "engine_hp": 75.0, "active": True}
    stored = db.get(Vessel, (coop.org.id, uuid.UUID(v["id"])))
    assert stored is not None and stored.registration == body["registration"]
    assert float(stored.length_m or 0) == 7.62
    # Fishers of the coop see it.
    listed = coop.fisher.api.get(vessels(coop.org.id))
    assert listed.status_code == 200
    assert {x["id"] for x in listed.get_json()} == {v["id"], str(coop.vessel_id)}
    one = coop.fisher.api.get(f"{vessels(coop.org.id)}/{v['id']}")
    assert one.status_code == 200 and one.get_json() == v


def test_minimal_vessel(factory: Factory) -> None:
    coop = factory.coop()
    v = create_vessel(coop, rnp=None, length_m=None, engine_hp=None)
    assert (v["rnp"], v["length_m"], v["engine_hp"], v["owner_member_id"], v["active"]) == (
        None, None, None, None, True)


def test_duplicate_registration_in_the_same_coop(factory: Factory) -> None:
    coop, other = factory.coop(), factory.coop()
    first = create_vessel(coop)
    err = problem(coop.admin.api.post(vessels(coop.org.id),
                                      vessel_body(registration=first["registration"])),
                  422, "validation_error")
    assert err["errors"] == [{"field": "registration", "in": "json", "code": "duplicate_value",
                              "message": f"Este valor ya está en uso: {first['registration']}."}]
    # Registrations are unique per cooperative only.
    create_vessel(other, registration=first["registration"])


def test_duplicate_registration_race_is_422_not_500(factory: Factory,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    coop = factory.coop()
    first = create_vessel(coop)
    monkeypatch.setattr(services, "_check_vessel", lambda *a, **k: None)
    err = problem(coop.admin.api.post(vessels(coop.org.id),
                                      vessel_body(registration=first["registration"])),
                  422, "validation_error")
    assert errors_of(err) == {"registration": "duplicate_value"}
    second = create_vessel(coop)
    err = problem(coop.admin.api.patch(f"{vessels(coop.org.id)}/{second['id']}",
                                       {"registration": first["registration"]}),
                  422, "validation_error")
    assert errors_of(err) == {"registration": "duplicate_value"}


def test_vessel_owner_must_be_an_active_member(factory: Factory, db: Session) -> None:
    coop, other = factory.coop(), factory.coop()
    ghost = uuid.uuid4()
    err = problem(coop.admin.api.post(vessels(coop.org.id), vessel_body(owner_member_id=str(ghost)),
                                      lang="en"), 422, "validation_error")
    assert err["errors"] == [{"field": "owner_member_id", "in": "json", "code": "unknown_member",
                              "message": f"Unknown member {ghost}."}]
    # A member of another coop is unknown here.
    err = problem(coop.admin.api.post(vessels(coop.org.id),
                                      vessel_body(owner_member_id=str(other.fisher.member.id))),
                  422, "validation_error")
    assert errors_of(err) == {"owner_member_id": "unknown_member"}
    # So is someone whose request to join is only pending.
    hopeful = factory.member()
    db.add(Membership(org_id=coop.org.id, member_id=hopeful.id, role=Role.fisher,
                      status=MembershipStatus.pending))
    db.commit()
    err = problem(coop.admin.api.post(vessels(coop.org.id),
                                      vessel_body(owner_member_id=str(hopeful.id))),
                  422, "validation_error")
    assert errors_of(err) == {"owner_member_id": "unknown_member"}


@pytest.mark.parametrize(("field", "value", "code"), [
    ("length_m", 0.5, "range_between"),
    ("length_m", 100.01, "range_between"),
    ("length_m", "long", "not_a_number"),
    ("engine_hp", -1, "range_between"),
    ("engine_hp", 5000.1, "range_between"),
    ("name", "", "length_between"),
    ("registration", "R" * 41, "length_between"),
    ("active", "maybe", "not_a_boolean"),
    ("owner_member_id", "someone", "not_a_uuid"),
])
def test_vessel_field_validation(factory: Factory, field: str, value: Any, code: str) -> None:
    coop = factory.coop()
    err = problem(coop.admin.api.post(vessels(coop.org.id), vessel_body(**{field: value})),
                  422, "validation_error")
    assert errors_of(err) == {field: code}


def test_vessel_length_message(factory: Factory) -> None:
    coop = factory.coop()
    err = problem(coop.admin.api.post(vessels(coop.org.id), vessel_body(length_m=120)),
                  422, "validation_error")
    assert messages_of(err) == {"length_m": "Debe estar entre 1 y 100."}
    err = problem(coop.admin.api.post(vessels(coop.org.id), vessel_body(length_m=120), lang="en"),
                  422, "validation_error")
    assert messages_of(err) == {"length_m": "Must be between 1 and 100."}


def test_vessel_required_and_unknown_fields(factory: Factory, db: Session) -> None:
    coop, other = factory.coop(), factory.coop()
    err = problem(coop.admin.api.post(vessels(coop.org.id), {"rnp": "1"}), 422, "validation_error")
    assert errors_of(err) == {"name": "required", "registration": "required"}
    # org_id is the path's, never the body's.
    body = vessel_body(org_id=str(other.org.id), id=str(uuid.uuid4()))
    err = problem(coop.admin.api.post(vessels(coop.org.id), body), 422, "validation_error")
    assert errors_of(err) == {"org_id": "unknown_field", "id": "unknown_field"}


def test_admin_updates_and_retires_a_vessel(factory: Factory) -> None:
    coop = factory.coop()
    v = create_vessel(coop)
    path = f"{vessels(coop.org.id)}/{v['id']}"
    r = coop.admin.api.patch(path, {"name": "Doña Lupe", "length_m": 8.5})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == dict(v, name="Doña Lupe", length_m=8.5)
    # Keeping its own registration is not a duplicate.
    assert coop.admin.api.patch(path, {"registration": v["registration"]}).status_code == 200
    r = coop.admin.api.patch(path, {"active": False})
    assert r.status_code == 200 and r.get_json()["active"] is False
    # A partial update leaves unsent fields alone (active keeps false, not its default).
    r = coop.admin.api.patch(path, {"rnp": "250099999"})
    assert r.status_code == 200
    assert (r.get_json()["active"], r.get_json()["name"], r.get_json()["rnp"]) == (
        False, "Doña Lupe", "250099999")
    assert coop.fisher.api.get(path).get_json()["active"] is False


def test_vessel_update_validation(factory: Factory) -> None:
    coop = factory.coop()
    a, b = create_vessel(coop), create_vessel(coop)
    path = f"{vessels(coop.org.id)}/{b['id']}"
    err = problem(coop.admin.api.patch(path, {"registration": a["registration"]}),
                  422, "validation_error")
    assert errors_of(err) == {"registration": "duplicate_value"}
    err = problem(coop.admin.api.patch(path, {"owner_member_id": str(uuid.uuid4()),
                                              "length_m": 0}), 422, "validation_error")
    assert errors_of(err) == {"length_m": "range_between"}
    err = problem(coop.admin.api.patch(path, {"owner_member_id": str(uuid.uuid4())}),
                  422, "validation_error")
    assert errors_of(err) == {"owner_member_id": "unknown_member"}
    err = problem(coop.admin.api.patch(path, {"name": None, "registration": None}),
                  422, "validation_error")
    assert errors_of(err) == {"name": "null", "registration": "null"}
    assert coop.admin.api.get(path).get_json() == b
    problem(coop.admin.api.patch(f"{vessels(coop.org.id)}/{uuid.uuid4()}", {"name": "X"}),
            404, "not_found")


def test_fisher_reads_but_cannot_write(factory: Factory) -> None:
    coop = factory.coop()
    item = f"{vessels(coop.org.id)}/{coop.vessel_id}"
    assert coop.fisher.api.get(vessels(coop.org.id)).status_code == 200
    assert coop.fisher.api.get(item).status_code == 200
    assert coop.fisher.api.get(permits(coop.org.id)).status_code == 200
    body = problem(coop.fisher.api.post(vessels(coop.org.id), vessel_body()), 403, "forbidden")
    assert body["detail"] == "No tiene permiso para hacer esto."
    problem(coop.fisher.api.patch(item, {"name": "Mía"}), 403, "forbidden")
    problem(coop.fisher.api.post(permits(coop.org.id), permit_body()), 403, "forbidden")
    permit = create_permit(coop)
    problem(coop.fisher.api.patch(f"{permits(coop.org.id)}/{permit['id']}", {"notes": "x"}),
            403, "forbidden")
    assert coop.fisher.api.get(item).get_json()["name"] == "La Esperanza"


def test_buyer_of_the_coop_does_not_see_the_fleet(factory: Factory) -> None:
    coop = factory.coop()
    buyer = factory.person(coop.org, Role.buyer)
    problem(buyer.api.get(vessels(coop.org.id)), 403, "forbidden")
    problem(buyer.api.get(permits(coop.org.id)), 403, "forbidden")


def test_another_coop_gets_404_everywhere(factory: Factory, db: Session) -> None:
    coop, other = factory.coop(), factory.coop()
    permit = create_permit(coop)
    item = f"{vessels(coop.org.id)}/{coop.vessel_id}"
    for api in (other.admin.api, other.fisher.api):
        problem(api.get(vessels(coop.org.id)), 404, "not_found")
        problem(api.get(item), 404, "not_found")
        problem(api.post(vessels(coop.org.id), vessel_body()), 404, "not_found")
        problem(api.patch(item, {"name": "Robado"}), 404, "not_found")
        problem(api.get(permits(coop.org.id)), 404, "not_found")
        problem(api.post(permits(coop.org.id), permit_body()), 404, "not_found")
        problem(api.patch(f"{permits(coop.org.id)}/{permit['id']}", {"notes": "x"}),
                404, "not_found")
    stored = db.get(Vessel, (coop.org.id, coop.vessel_id))
    assert stored is not None and stored.name == "La Esperanza"


def test_another_orgs_object_under_your_own_path_is_404(factory: Factory) -> None:
    coop, other = factory.coop(), factory.coop()
    permit = create_permit(other)
    own = coop.admin.api
    problem(own.get(f"{vessels(coop.org.id)}/{other.vessel_id}"), 404, "not_found")
    problem(own.patch(f"{vessels(coop.org.id)}/{other.vessel_id}", {"name": "Mío"}),
            404, "not_found")
    problem(own.patch(f"{permits(coop.org.id)}/{permit['id']}", {"notes": "mío"}), 404, "not_found")
    assert other.admin.api.get(f"{vessels(other.org.id)}/{other.vessel_id}").get_json()["name"] == \
        "La Esperanza"


def test_anonymous_gets_401(anon: Api, factory: Factory) -> None:
    coop = factory.coop()
    problem(anon.get(vessels(coop.org.id)), 401, "token_missing")
    problem(anon.post(vessels(coop.org.id), vessel_body()), 401, "token_missing")
    problem(anon.get(permits(coop.org.id)), 401, "token_missing")


def test_platform_admin_and_an_organization_that_does_not_exist(factory: Factory) -> None:
    root = factory.person(platform_admin=True)
    coop = factory.coop()
    r = root.api.post(vessels(coop.org.id), vessel_body())
    assert r.status_code == 201 and r.get_json()["org_id"] == str(coop.org.id)
    missing = uuid.uuid4()
    problem(root.api.post(vessels(missing), vessel_body()), 404, "not_found")
    problem(root.api.post(permits(missing), permit_body()), 404, "not_found")
    problem(root.api.get(vessels(missing)), 404, "not_found")


# --- permits ----------------------------------------------------------------------------------


def test_admin_records_a_permit(factory: Factory, db: Session) -> None:
    coop = factory.coop()
    body = permit_body(vessel_id=str(coop.vessel_id))
    r = coop.admin.api.post(permits(coop.org.id), body)
    assert r.status_code == 201, r.get_json()
    p = r.get_json()
    assert p == {"id": p["id"], "org_id": str(coop.org.id), "number": body["number"],
                 "kind": "commercial", "species_codes": ["LJS", "SKJ"],
                 "gear_codes": ["GNS", "LLS"], "zone_id": None, "vessel_id": str(coop.vessel_id),
                 "valid_from": "2025-01-01", "valid_until": "2026-12-31",
                 "issued_by": "CONAPESCA Mazatlán", "notes": None}
    stored = db.get(Permit, (coop.org.id, uuid.UUID(p["id"])))
    assert stored is not None and stored.species_codes == ["LJS", "SKJ"]
    listed = coop.fisher.api.get(permits(coop.org.id)).get_json()
    assert [x["id"] for x in listed] == [p["id"]]


def test_permits_listed_by_expiry(factory: Factory) -> None:
    coop = factory.coop()
    late = create_permit(coop, valid_until="2027-06-30")
    early = create_permit(coop, valid_until="2025-06-30")
    listed = coop.admin.api.get(permits(coop.org.id)).get_json()
    assert [x["id"] for x in listed] == [early["id"], late["id"]]


def test_permit_unknown_catalog_codes_name_the_list_index(factory: Factory) -> None:
    coop = factory.coop()
    body = permit_body(species_codes=["LJS", "ZZZ"], gear_codes=["GNS", "QQQQ", "LLS"])
    err = problem(coop.admin.api.post(permits(coop.org.id), body), 422, "validation_error")
    assert err["errors"] == [
        {"field": "species_codes.1", "in": "json", "code": "unknown_species",
         "message": "Código de especie desconocido: ZZZ."},
        {"field": "gear_codes.1", "in": "json", "code": "unknown_gear",
         "message": "Código de arte de pesca desconocido: QQQQ."}]
    assert coop.admin.api.get(permits(coop.org.id)).get_json() == []


def test_permit_malformed_species_code_is_translated(factory: Factory) -> None:
    coop = factory.coop()
    body = permit_body(species_codes=["LJS", "SKJ", "ljs"])
    err = problem(coop.admin.api.post(permits(coop.org.id), body), 422, "validation_error")
    assert err["errors"] == [{"field": "species_codes.2", "in": "json", "code": "invalid_code",
                              "message": "No es un código válido."}]
    err = problem(coop.admin.api.post(permits(coop.org.id), body, lang="en"), 422, "validation_error")
    assert messages_of(err) == {"species_codes.2": "Not a valid code."}


def test_permit_dates_in_order(factory: Factory) -> None:
    coop = factory.coop()
    body = permit_body(valid_from="2026-01-01", valid_until="2025-12-31")
    err = problem(coop.admin.api.post(permits(coop.org.id), body), 422, "validation_error")
    assert err["errors"] == [{"field": "valid_until", "in": "json", "code": "date_order",
                              "message": "La fecha final es anterior a la inicial."}]
    # One day is a valid permit.
    create_permit(coop, valid_from="2026-01-01", valid_until="2026-01-01")
    err = problem(coop.admin.api.post(permits(coop.org.id), permit_body(valid_from="2026-02-30")),
                  422, "validation_error")
    assert errors_of(err) == {"valid_from": "not_a_date"}


def test_permit_references_and_duplicates(factory: Factory) -> None:
    coop, other = factory.coop(), factory.coop()
    first = create_permit(coop)
    zone = uuid.uuid4()
    body = permit_body(number=first["number"], vessel_id=str(other.vessel_id), zone_id=str(zone),
                       kind="pirate")
    err = problem(coop.admin.api.post(permits(coop.org.id), body), 422, "validation_error")
    assert errors_of(err) == {"kind": "one_of"}
    del body["kind"]
    err = problem(coop.admin.api.post(permits(coop.org.id), body), 422, "validation_error")
    assert errors_of(err) == {"number": "duplicate_value", "vessel_id": "unknown_vessel",
                              "zone_id": "unknown_zone"}
    # The same number in another coop is fine.
    create_permit(other, number=first["number"])


def test_permit_required_fields(factory: Factory) -> None:
    coop = factory.coop()
    err = problem(coop.admin.api.post(permits(coop.org.id), {"species_codes": "LJS"}),
                  422, "validation_error")
    assert errors_of(err) == {"number": "required", "valid_from": "required",
                              "valid_until": "required", "species_codes": "not_a_list"}


def test_admin_updates_a_permit(factory: Factory) -> None:
    coop = factory.coop()
    p = create_permit(coop, kind="concession")
    path = f"{permits(coop.org.id)}/{p['id']}"
    r = coop.admin.api.patch(path, {"notes": "Renovado", "valid_until": "2027-12-31"})
    assert r.status_code == 200, r.get_json()
    # Unsent fields keep their values (kind and the lists do not fall back to defaults).
    assert r.get_json() == dict(p, notes="Renovado", valid_until="2027-12-31")
    r = coop.admin.api.patch(path, {"species_codes": ["OCZ"]})
    assert r.status_code == 200 and r.get_json()["species_codes"] == ["OCZ"]


def test_permit_update_validation(factory: Factory) -> None:
    coop = factory.coop()
    p = create_permit(coop, valid_from="2025-01-01", valid_until="2025-12-31")
    other = create_permit(coop)
    path = f"{permits(coop.org.id)}/{p['id']}"
    # Only one date sent: checked against the stored other one.
    err = problem(coop.admin.api.patch(path, {"valid_until": "2024-12-31"}), 422, "validation_error")
    assert errors_of(err) == {"valid_until": "date_order"}
    err = problem(coop.admin.api.patch(path, {"valid_from": "2026-01-01"}), 422, "validation_error")
    assert errors_of(err) == {"valid_until": "date_order"}
    err = problem(coop.admin.api.patch(path, {"gear_codes": ["XXX"], "number": other["number"]}),
                  422, "validation_error")
    assert errors_of(err) == {"gear_codes.0": "unknown_gear", "number": "duplicate_value"}
    assert coop.admin.api.patch(path, {"number": p["number"]}).status_code == 200
    problem(coop.admin.api.patch(f"{permits(coop.org.id)}/{uuid.uuid4()}", {"notes": "x"}),
            404, "not_found")
    assert coop.admin.api.get(permits(coop.org.id)).get_json()[0] == p
