"""HTTP API of consent: a member's own answers and their history; a cooperative's counts.

Only the member sets their consent: there is no endpoint for anyone else to
set it, a cooperative admin included. Admins see how many members consent,
never who.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from server import db, i18n
from server.consent import messages, services
from server.consent.models import ConsentEvent, Purpose
from server.consent.schemas import (
    ConsentInSchema,
    ConsentSchema,
    ConsentsSchema,
    HistoryQuery,
    HistorySchema,
    SummarySchema,
)
from server.members import auth
from server.members.models import Role
from server.pages import split_page

blp = Blueprint("consent", __name__, url_prefix="/api/v1",
                description="Members' consent to pooled uses of their data, and its audit.")


def _purposes() -> list[dict[str, Any]]:
    lang = i18n.locale()
    out = []
    for p in [*Purpose, "mandatory_government_reporting"]:
        title, description = messages.PURPOSE_TEXT[str(p)][lang]
        required = isinstance(p, Purpose)
        out.append({"purpose": str(p), "title": title, "description": description,
                    "consent_required": required,
                    "recipient_kinds": list(services.RECIPIENT_KINDS[p]) if required
                    else ["authority"]})
    return out


@blp.route("/me/consents")
class MyConsents(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, ConsentsSchema)
    @auth.login_required
    def get(self) -> Any:
        """Your answers, and every purpose there is to answer (mandatory reporting listed
        too: it needs no consent). Without a yes, your data stay out."""
        return {"purposes": _purposes(),
                "consents": services.states(db.session(), auth.current().member_id)}

    @blp.doc(security=auth.SECURITY)
    @blp.response(200, ConsentSchema)
    @auth.login_required
    @blp.arguments(ConsentInSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Grant or revoke one purpose for one recipient. Outputs made after a revocation
        leave your data out; every change is kept in your history."""
        sess = db.session()
        me = auth.current().member_id
        state = services.set_consent(sess, me, Purpose(data["purpose"]), data["recipient_id"],
                                     data["granted"], by=me, note=data["note"])
        sess.commit()
        return state


@blp.route("/me/consents/history")
class MyHistory(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, HistorySchema)
    @auth.login_required
    @blp.arguments(HistoryQuery, location="query")
    def get(self, query: dict[str, Any]) -> Any:
        """Every change of your consents, newest first (an audit no one can rewrite)."""
        q = select(ConsentEvent).where(ConsentEvent.member_id == auth.current().member_id)
        if query["before"] is not None:
            q = q.where(ConsentEvent.id < query["before"])
        rows = list(db.session().scalars(q.order_by(ConsentEvent.id.desc())
                                         .limit(query["limit"] + 1)))
        rows, more = split_page(rows, query["limit"])
        return {"events": rows, "next_before": rows[-1].id if more else None}


@blp.route("/organizations/<uuid:org_id>/consents")
class CooperativeConsents(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, SummarySchema)
    @auth.login_required
    def get(self, org_id: uuid.UUID) -> Any:
        """How many active members consent to the cooperative's pooled statistics (its
        admins; never who)."""
        auth.require_role(org_id, [Role.admin])
        return services.summary(db.session(), org_id)
