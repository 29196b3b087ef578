"""Governance's words (error codes of its own, notifications in both languages) and the
database objects its guarantees rest on."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

import geo.messages
from server import i18n
from server.analytics import messages as analytics
from server.consent import messages as consent
from server.forum import messages as forum
from server.governance import messages as governance
from server.market import messages as market
from server.notifications.messages import TEXTS
from server.ogc import messages as ogc
from server.reports import messages as reports
from tests.conftest import Factory
from tests.governance.helpers import coop, end_window, propose, ratings_vote, voted

RECORDS = {"proposal_option", "proposal_result", "proposal_tally", "proposal_receipt",
           "coop_setting_change"}
WORKING = {"proposal", "proposal_voter", "proposal_ballot", "coop_setting", "coop_sharing"}


def test_governance_codes_are_its_own_and_bilingual(app: Any) -> None:
    others = [geo.messages, reports, consent, analytics, market, ogc, forum]
    taken = {c for m in others for c in m.MESSAGES}
    base = set(i18n.MESSAGES) - taken - set(governance.MESSAGES)
    for code, texts in governance.MESSAGES.items():
        assert code.startswith("gov_"), code
        assert code not in taken and code not in base, code
        assert set(texts) >= {"es", "en"} and texts["es"] != texts["en"], code
        # What the app shows is our text (register keeps the first one it saw).
        assert i18n.MESSAGES[code] == texts


def test_every_governance_notification_reads_in_both_languages(factory: Factory,
                                                               db: Session) -> None:
    c = coop(factory, 1)
    fip = factory.org(kind="ngo")
    admin, fisher = c.admin.api, c.fishers[0].api

    def closed(options: list[dict[str, Any]], choices: list[int], quorum: float = 0) -> None:
        prop = propose(admin, c.org.id, options=options, quorum=quorum)
        for api, choice in zip((admin, fisher), choices, strict=False):
            voted(api, prop["id"], prop["options"][choice]["id"])
        end_window(db, prop["id"])
        assert admin.get(f"/api/v1/proposals/{prop['id']}").status_code == 200

    plain = [{"label": "Sí"}, {"label": "No"}]
    closed(plain, [0, 0])  # decided
    closed(plain, [0, 1])  # tied
    closed(plain, [])  # no votes
    closed(plain, [0], quorum=1)  # no quorum
    cancelled = propose(admin, c.org.id)
    assert admin.post(f"/api/v1/proposals/{cancelled['id']}/cancel").status_code == 200
    ratings_vote(db, admin, [admin], c.org.id, enabled=False)
    ratings_vote(db, admin, [admin], c.org.id, enabled=True)
    for enabled in (True, False):
        closed([{"label": "Sí", "effect": {"type": "data_sharing", "purpose": "research",
                                           "recipient_org_id": str(fip.id),
                                           "enabled": enabled}}, {"label": "No"}], [0])
    kinds = {k for k in TEXTS if k.startswith("governance.")}
    for lang in ("es", "en"):
        feed = fisher.get("/api/v1/me/notifications?limit=200", lang=lang).get_json()
        mine = [n for n in feed["notifications"] if n["kind"].startswith("governance.")]
        assert {n["kind"] for n in mine} == kinds
        for n in mine:
            assert n["text"] != n["kind"] and "{" not in n["text"], n
            assert n["data"]["org_id"] == str(c.org.id)


@pytest.mark.parametrize("table", sorted(RECORDS | WORKING))
def test_governance_tables_are_tenant_tables(db: Session, table: str) -> None:
    pk = db.execute(text("""
        SELECT array_agg(a.attname ORDER BY k.i) FROM pg_constraint con,
               unnest(con.conkey) WITH ORDINALITY k(n, i)
        JOIN pg_attribute a ON a.attnum = k.n
        WHERE con.conrelid = CAST(:t AS regclass) AND a.attrelid = con.conrelid
          AND con.contype = 'p'"""), {"t": table}).scalar_one()
    db.rollback()
    assert pk[0] == "org_id", (table, pk)


def test_records_refuse_change_and_working_tables_do_not(db: Session) -> None:
    rows = db.execute(text("""
        SELECT c.relname, t.tgname, p.proname FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE NOT t.tgisinternal AND c.relname = ANY(:tables)"""),
        {"tables": sorted(RECORDS | WORKING)}).all()
    db.rollback()
    assert {(r[0], r[1], r[2]) for r in rows} == {
        (t, f"{t}_immutable", "cardumen_refuse_change") for t in RECORDS}
