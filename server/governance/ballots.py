"""Secret ballots: casting, changing, and checking a receipt.

A member's ballot is found again by its *ballot key*, HMAC-SHA256 of (proposal id, member
id) under a key derived from the app's SECRET_KEY. The ballot table holds that key, the
option and the SHA-256 of a receipt, never the member: reading the database does not tell
who chose what, but whoever holds SECRET_KEY can recompute every member's ballot key while
the proposal is open (that is how a vote is replaced). The close erases the keys
(server/governance/closing.py), after which nobody can link a ballot to a member from the
data.

Each cast or change hands the voter a fresh random receipt; only its hash is stored. The
receipt tells its holder that this ballot is the one counted (or superseded by a later
change) and, after the close, that it was in the tally, whose counted receipt hashes are
published. It also shows the choice to whoever the voter shows it: it proves how one
voted, so it does not protect against coercion or vote buying.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from server.errors import ApiError, FieldError
from server.governance import proposals
from server.governance.models import Ballot, ProposalOption, Receipt, Voter
from server.members.auth import Principal

RECEIPT_BYTES = 15  # 120 random bits: 24 base32 characters
_RECEIPT = re.compile(r"^[A-Z2-7]{24}$")
_KEY_CONTEXT = b"cardumen/governance/ballot-key/v1"


def ballot_secret(secret_key: str) -> bytes:
    """A key of its own for ballots, derived from SECRET_KEY (so tokens and ballots never
    share one)."""
    return hmac.new(secret_key.encode(), _KEY_CONTEXT, hashlib.sha256).digest()


def ballot_key(secret: bytes, proposal_id: uuid.UUID, member_id: uuid.UUID) -> bytes:
    return hmac.new(secret, proposal_id.bytes + member_id.bytes, hashlib.sha256).digest()


def new_receipt() -> str:
    """Groups of four, easy to copy by hand: ABCD-EFGH-…"""
    raw = base64.b32encode(os.urandom(RECEIPT_BYTES)).decode()
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def normalize_receipt(text: str) -> str | None:
    normal = re.sub(r"[\s-]", "", text).upper()
    return normal if _RECEIPT.match(normal) else None


def receipt_hash(receipt: str) -> bytes:
    """SHA-256 of the receipt as typed or without hyphens, upper case: what is published."""
    normal = normalize_receipt(receipt)
    if normal is None:
        raise ValueError("not a receipt")
    return hashlib.sha256(normal.encode("ascii")).digest()


@dataclass(frozen=True)
class Cast:
    proposal_id: uuid.UUID
    option_id: uuid.UUID
    receipt: str
    receipt_hash: str
    replaced_earlier: bool


def cast(sess: Session, p: Principal, proposal_id: uuid.UUID, option_id: uuid.UUID,
         secret: bytes) -> Cast:
    """Cast the member's ballot, or replace it. Flushes, does not commit.

    The proposal row is held FOR SHARE: voters do not wait for each other, but a close
    (FOR UPDATE) waits for every vote in flight, and a vote arriving during the close
    finds it closed. The voter row serialises one member's votes."""
    prop = proposals.visible(sess, p, proposal_id, lock="share")
    if not proposals.can_vote(p, prop.org_id):
        raise ApiError(403, "gov_not_eligible")
    now = proposals.db_now(sess)
    if prop.cancelled_at is not None:
        raise ApiError(409, "gov_proposal_cancelled")
    if prop.closed_at is not None or now >= prop.closes_at:
        raise ApiError(409, "gov_proposal_closed", at=proposals.when(prop.closes_at))
    if now < prop.opens_at:
        raise ApiError(409, "gov_proposal_not_open", at=proposals.when(prop.opens_at))
    if sess.get(ProposalOption, (prop.org_id, prop.id, option_id)) is None:
        raise ApiError(422, "validation_error", errors=[
            FieldError("option_id", "gov_option_unknown", {"id": str(option_id)})])

    first = sess.execute(insert(Voter).values(
        org_id=prop.org_id, proposal_id=prop.id, member_id=p.member_id)
        .on_conflict_do_nothing().returning(Voter.member_id)).first() is not None
    if not first:
        sess.execute(select(Voter.member_id).where(
            Voter.org_id == prop.org_id, Voter.proposal_id == prop.id,
            Voter.member_id == p.member_id).with_for_update())
    key = ballot_key(secret, prop.id, p.member_id)
    replaced = sess.execute(update(Ballot).where(
        Ballot.org_id == prop.org_id, Ballot.proposal_id == prop.id, Ballot.ballot_key == key,
        Ballot.current.is_(True)).values(current=False).returning(Ballot.receipt_hash)).all()
    if not first and not replaced:
        # The member voted, but not under this key: SECRET_KEY changed since. A new
        # ballot would count them twice; their first one stands.
        raise ApiError(409, "gov_ballot_key_changed")
    receipt = new_receipt()
    digest = receipt_hash(receipt)
    sess.add(Ballot(org_id=prop.org_id, proposal_id=prop.id, receipt_hash=digest,
                    ballot_key=key, option_id=option_id, current=True))
    sess.flush()
    return Cast(prop.id, option_id, receipt, digest.hex(), not first)


def check(sess: Session, proposal_id: uuid.UUID, org_id: uuid.UUID, closed: bool,
          receipt: str) -> dict[str, Any]:
    """What a receipt says: current or superseded while open; counted or superseded after
    the close (from the published archive, keys gone)."""
    digest = receipt_hash(receipt)
    if closed:
        row = sess.get(Receipt, (org_id, proposal_id, digest))
        if row is None:
            return {"proposal_id": proposal_id, "state": "unknown", "option_id": None,
                    "in_tally": False}
        return {"proposal_id": proposal_id, "state": "counted" if row.counted else "superseded",
                "option_id": row.option_id, "in_tally": row.counted}
    ballot = sess.get(Ballot, (org_id, proposal_id, digest))
    if ballot is None:
        return {"proposal_id": proposal_id, "state": "unknown", "option_id": None,
                "in_tally": None}
    return {"proposal_id": proposal_id, "state": "current" if ballot.current else "superseded",
            "option_id": ballot.option_id, "in_tally": None}


def counted(sess: Session, org_id: uuid.UUID, proposal_id: uuid.UUID) -> list[dict[str, Any]]:
    """The counted receipts of a closed proposal, by hash: anyone in the cooperative can find
    theirs and recount the tally."""
    rows = sess.execute(select(Receipt.receipt_hash, Receipt.option_id).where(
        Receipt.org_id == org_id, Receipt.proposal_id == proposal_id, Receipt.counted.is_(True))
        .order_by(Receipt.receipt_hash)).all()
    return [{"hash": h.hex(), "option_id": o} for h, o in rows]
