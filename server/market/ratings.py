"""Buyers' stars for cooperatives: one per completed order, shown only pooled, and only
once a cooperative has at least ``MARKET_MIN_RATINGS`` of them (so no single
buyer's rating can be read off, and no fisher is singled out).

A cooperative whose members voted ratings off (server/governance/settings.py) takes no
new rating and shows no stars; the stars it had are kept, and shown again if a later
vote turns ratings back on."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.errors import ApiError
from server.governance import settings as coop_settings
from server.market import messages as msg
from server.market import orders
from server.market.models import OrderStatus, Rating
from server.members.auth import Principal

MIN_RATINGS_FLOOR = 3


def rate(sess: Session, p: Principal, order_id: uuid.UUID, stars: int) -> Rating:
    order = orders.visible(sess, p, order_id, lock=True)
    if order.buyer_id != p.member_id:
        raise ApiError(403, "not_your_step", party=msg.party("buyer"), to_status=msg.state("rated"))
    if order.status != OrderStatus.completed:
        raise ApiError(409, "order_not_completed")
    if not coop_settings.ratings_enabled(sess, [order.org_id])[order.org_id]:
        raise ApiError(409, "gov_ratings_off")
    if sess.get(Rating, (order.org_id, order.id)) is not None:
        raise ApiError(409, "already_rated")
    r = Rating(org_id=order.org_id, order_id=order.id, buyer_id=p.member_id, stars=stars)
    sess.add(r)
    sess.flush()
    return r


def summaries(sess: Session, org_ids: list[uuid.UUID], minimum: int) -> dict[uuid.UUID, Any]:
    """Per organization: {count, average, stars: {1..5: n}} when it has enough ratings and
    its members have not voted ratings off, else None."""
    minimum = max(minimum, MIN_RATINGS_FLOOR)
    rows = sess.execute(text("""
        SELECT org_id, count(*) AS n, avg(stars) AS avg,
               count(*) FILTER (WHERE stars = 1), count(*) FILTER (WHERE stars = 2),
               count(*) FILTER (WHERE stars = 3), count(*) FILTER (WHERE stars = 4),
               count(*) FILTER (WHERE stars = 5)
        FROM coop_rating r WHERE org_id = ANY(:orgs)
          -- in the same query, not another round trip: every search card asks
          AND NOT EXISTS (SELECT 1 FROM coop_setting s
                          WHERE s.org_id = r.org_id AND NOT s.ratings_enabled)
        GROUP BY org_id HAVING count(*) >= :min"""),
        {"orgs": list(set(org_ids)), "min": minimum}).all()
    out: dict[uuid.UUID, Any] = {o: None for o in org_ids}
    for r in rows:
        out[r[0]] = {"count": int(r[1]), "average": round(float(r[2]), 2),
                     "stars": {str(i + 1): int(r[3 + i]) for i in range(5)}}
    return out
