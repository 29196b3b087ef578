"""HTTP API of governance: a cooperative's proposals, secret ballots with receipts, results,
and the settings results change.

Reads close a proposal whose window has passed before answering (and commit that), so no
one ever sees a proposal past its window without its result.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from server import db
from server.errors import ApiError
from server.governance import ballots, closing, proposals, settings
from server.governance.models import Proposal
from server.governance.schemas import (
    BallotSchema,
    ListQuery,
    ProposalInSchema,
    ProposalPageSchema,
    ProposalSchema,
    ReceiptCheckSchema,
    ReceiptInSchema,
    ReceiptListSchema,
    SettingHistorySchema,
    SettingsSchema,
    VoteInSchema,
)
from server.members import auth, ratelimit
from server.pages import split_page

blp = Blueprint("governance", __name__, url_prefix="/api/v1",
                description="One member, one vote: proposals, secret ballots, results.")

F = TypeVar("F", bound=Callable[..., Any])

def _cfg(name: str) -> Any:
    """GOVERNANCE_* of server/config.py (and the environment)."""
    return current_app.config[name]


def _limits() -> proposals.Limits:
    return proposals.Limits(min_window=timedelta(minutes=float(_cfg("GOVERNANCE_MIN_WINDOW_MINUTES"))),
                            max_window=timedelta(days=float(_cfg("GOVERNANCE_MAX_WINDOW_DAYS"))))


def _rate_limited(action: str, setting: str) -> Callable[[F], F]:
    """Counted before the body is read, so malformed attempts count too."""
    def decorate(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ratelimit.check(db.engine(), [(f"gov-{action}:{auth.current().member_id}",
                                           int(_cfg(setting)))], int(_cfg("GOVERNANCE_RATE_WINDOW")))
            return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


def _admin_of_path_org(fn: F) -> F:
    """403/404 before the body is validated: a fisher learns nothing from the checks."""
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        proposals.require_admin(db.session(), auth.current(), kwargs["org_id"])
        return fn(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def _secret() -> bytes:
    return ballots.ballot_secret(str(current_app.config["SECRET_KEY"]))


def _one(prop: Proposal) -> dict[str, Any]:
    sess = db.session()
    return proposals.render(sess, [prop], auth.current(), proposals.db_now(sess))[0]


@blp.route("/organizations/<uuid:org_id>/proposals")
class Proposals(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, ProposalPageSchema)
    @auth.login_required
    @blp.arguments(ListQuery, location="query")
    def get(self, query: dict[str, Any], org_id: uuid.UUID) -> Any:
        """The cooperative's proposals, newest first (its fishers and admins). Those whose
        window has passed are closed first, so each shows its result."""
        sess = db.session()
        p = auth.current()
        proposals.require_member(sess, p, org_id)
        closing.close_due(sess, org_id, wait=True)
        sess.commit()
        now = proposals.db_now(sess)
        rows, more = split_page(proposals.page(sess, org_id, query["status"], query["before"],
                                               query["limit"], now), query["limit"])
        return {"proposals": proposals.render(sess, rows, p, now),
                "next_before": rows[-1].id if more else None}

    @blp.doc(security=auth.SECURITY)
    @blp.response(201, ProposalSchema)
    @auth.login_required
    @_admin_of_path_org
    @_rate_limited("propose", "GOVERNANCE_PROPOSALS_PER_WINDOW")
    @blp.arguments(ProposalInSchema)
    def post(self, data: dict[str, Any], org_id: uuid.UUID) -> Any:
        """Open a proposal (the cooperative's admins): a title, a plain-text body, 2 to 10
        options (one may carry an effect on the cooperative's settings), the voting window
        (from now or ``opens_at``, for at least an hour and at most 90 days) and the quorum.
        Every fisher and admin of the cooperative is told. It cannot be edited; it can be
        cancelled until someone votes."""
        sess = db.session()
        prop = proposals.create(sess, auth.current(), org_id, data, _limits())
        sess.commit()
        return _one(prop)


@blp.route("/proposals/<uuid:proposal_id>")
class OneProposal(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, ProposalSchema)
    @auth.login_required
    def get(self, proposal_id: uuid.UUID) -> Any:
        """A proposal with its status, how many have voted so far, whether you did, and,
        once closed, its result: electorate, turnout, quorum, votes per option, winner."""
        sess = db.session()
        prop = closing.fresh(sess, auth.current(), proposal_id)
        sess.commit()
        return _one(prop)


@blp.route("/proposals/<uuid:proposal_id>/cancel")
class Cancel(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, ProposalSchema)
    @auth.login_required
    def post(self, proposal_id: uuid.UUID) -> Any:
        """Cancel a proposal before anyone votes (the cooperative's admins)."""
        sess = db.session()
        prop = proposals.cancel(sess, auth.current(), proposal_id)
        sess.commit()
        return _one(prop)


@blp.route("/proposals/<uuid:proposal_id>/ballot")
class CastBallot(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(201, BallotSchema, description="Your first ballot.")
    @blp.alt_response(200, schema=BallotSchema, description="Your ballot replaced the earlier one.")
    @auth.login_required
    @_rate_limited("vote", "GOVERNANCE_VOTES_PER_WINDOW")
    @blp.arguments(VoteInSchema)
    def post(self, data: dict[str, Any], proposal_id: uuid.UUID) -> Any:
        """Vote (the cooperative's active fishers and admins), or change your vote while the
        window is open: only your last ballot counts. Each time you get a new receipt; keep
        it to check later that your ballot is the one counted. Nobody, administrators
        included, can see how you voted."""
        sess = db.session()
        out = ballots.cast(sess, auth.current(), proposal_id, data["option_id"], _secret())
        sess.commit()
        return out, 200 if out.replaced_earlier else 201


@blp.route("/proposals/<uuid:proposal_id>/receipts/verify")
class VerifyReceipt(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, ReceiptCheckSchema)
    @auth.login_required
    @blp.arguments(ReceiptInSchema)
    def post(self, data: dict[str, Any], proposal_id: uuid.UUID) -> Any:
        """Check a receipt: while the voting is open, whether it is your current ballot or
        one you replaced; after the close, whether it was counted."""
        sess = db.session()
        prop = closing.fresh(sess, auth.current(), proposal_id)
        sess.commit()
        return ballots.check(sess, prop.id, prop.org_id, prop.closed_at is not None,
                             data["receipt"])


@blp.route("/proposals/<uuid:proposal_id>/receipts")
class CountedReceipts(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, ReceiptListSchema)
    @auth.login_required
    def get(self, proposal_id: uuid.UUID) -> Any:
        """After the close: the SHA-256 of every counted receipt, with its option, in hash
        order. Find yours (the hash of your receipt without hyphens), recount the tally, and
        check ``digest`` against the result's ``receipts_digest``."""
        sess = db.session()
        prop = closing.fresh(sess, auth.current(), proposal_id)
        sess.commit()
        if prop.cancelled_at is not None:
            raise ApiError(409, "gov_proposal_cancelled")
        if prop.closed_at is None:
            raise ApiError(409, "gov_proposal_not_closed", at=proposals.when(prop.closes_at))
        rows = ballots.counted(sess, prop.org_id, prop.id)
        digest = hashlib.sha256(b"".join(bytes.fromhex(r["hash"]) for r in rows)).hexdigest()
        return {"proposal_id": prop.id, "count": len(rows), "digest": digest, "receipts": rows}


@blp.route("/organizations/<uuid:org_id>/settings")
class Settings(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, SettingsSchema)
    @auth.login_required
    def get(self, org_id: uuid.UUID) -> Any:
        """What the cooperative's members decided by vote: whether ratings are on, and with
        whom it shares pooled figures for which purpose; each with the proposal that set it."""
        sess = db.session()
        proposals.require_member(sess, auth.current(), org_id)
        return settings.read(sess, org_id)


@blp.route("/organizations/<uuid:org_id>/settings/history")
class SettingsHistory(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, SettingHistorySchema)
    @auth.login_required
    def get(self, org_id: uuid.UUID) -> Any:
        """Every change a result made to the settings, newest first (a record no one can
        rewrite)."""
        sess = db.session()
        proposals.require_member(sess, auth.current(), org_id)
        return {"changes": settings.history(sess, org_id)}
