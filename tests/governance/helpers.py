"""Helpers for governance tests (also used by tests/market/test_ratings.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.members.models import Organization, Role
from tests.conftest import Api, Factory, Person, iso


def proposals_url(org_id: Any) -> str:
    return f"/api/v1/organizations/{org_id}/proposals"


def proposal_url(pid: Any) -> str:
    return f"/api/v1/proposals/{pid}"


@dataclass
class Coop:
    org: Organization
    admin: Person
    fishers: list[Person] = field(default_factory=list)

    @property
    def voters(self) -> list[Person]:
        return [self.admin, *self.fishers]


def coop(factory: Factory, fishers: int = 3) -> Coop:
    org = factory.org()
    return Coop(org, factory.person(org, Role.admin),
                [factory.person(org, Role.fisher) for _ in range(fishers)])


def body(**over: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": "Compartir estadísticas con el proyecto de mejora pesquera",
        "body": "¿Compartimos las cifras conjuntas con el FIP de pargo?",
        "options": [{"label": "Sí"}, {"label": "No"}],
        "closes_at": iso(datetime.now(UTC) + timedelta(days=7)),
        "quorum": 0.5}
    out.update(over)
    return out


def propose(api: Api, org_id: Any, **over: Any) -> dict[str, Any]:
    r = api.post(proposals_url(org_id), body(**over))
    assert r.status_code == 201, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


def vote(api: Api, pid: Any, option_id: Any, **kw: Any) -> Any:
    return api.post(f"{proposal_url(pid)}/ballot", {"option_id": str(option_id)}, **kw)


def voted(api: Api, pid: Any, option_id: Any) -> dict[str, Any]:
    r = vote(api, pid, option_id)
    assert r.status_code in (200, 201), r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


def verify(api: Api, pid: Any, receipt: str, **kw: Any) -> Any:
    return api.post(f"{proposal_url(pid)}/receipts/verify", {"receipt": receipt}, **kw)


def end_window(db: Session, pid: Any) -> None:
    """As if the voting window had just passed (the clock is the database's)."""
    db.execute(text("UPDATE proposal SET opens_at = clock_timestamp() - interval '2 hours', "
                    "closes_at = clock_timestamp() - interval '1 millisecond' WHERE id = :p"),
               {"p": pid})
    db.commit()


def open_now(db: Session, pid: Any) -> None:
    db.execute(text("UPDATE proposal SET opens_at = clock_timestamp() - interval '1 second' "
                    "WHERE id = :p"), {"p": pid})
    db.commit()


def result(api: Api, pid: Any) -> dict[str, Any]:
    r = api.get(proposal_url(pid))
    assert r.status_code == 200, r.get_json()
    out: dict[str, Any] = r.get_json()
    assert out["status"] == "closed", out
    res: dict[str, Any] = out["result"]
    return res


def tally(res: dict[str, Any]) -> dict[str, int]:
    return {t["option_id"]: t["votes"] for t in res["tally"]}


def options(prop: dict[str, Any]) -> list[str]:
    return [o["id"] for o in prop["options"]]


def count(db: Session, sql: str, **params: Any) -> int:
    n = db.execute(text(sql), params).scalar_one()
    db.rollback()
    return int(n)


def notifications(api: Api, kind: str, lang: str | None = None) -> list[dict[str, Any]]:
    r = api.get("/api/v1/me/notifications", lang=lang)
    assert r.status_code == 200, r.get_json()
    return [n for n in r.get_json()["notifications"] if n["kind"] == kind]


def ratings_vote(db: Session, org_admin: Api, voters: list[Api], org_id: Any,
                 enabled: bool) -> dict[str, Any]:
    """A proposal whose first option sets ratings, everyone voting for it, closed."""
    prop = propose(org_admin, org_id, title="Calificaciones en el mercado",
                   options=[{"label": "Sí", "effect": {"type": "ratings", "enabled": enabled}},
                            {"label": "No"}], quorum=0)
    for api in voters:
        voted(api, prop["id"], prop["options"][0]["id"])
    end_window(db, prop["id"])
    res = result(org_admin, prop["id"])
    assert res["effect_applied"] is True, res
    return prop


def new_id() -> str:
    return str(uuid.uuid4())
