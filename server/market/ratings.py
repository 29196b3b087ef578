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


def summary_sql(org: str) -> str:
    """The pooled stars of the organization ``org`` (an SQL expression) as JSON, or NULL
    when it has fewer than ``:min_ratings`` or its members voted ratings off. One
    expression, so that a page of search results carries its sellers' ratings in the same
    query."""
    return f"""(SELECT json_build_object(
                    'count', count(*), 'average', round(avg(r.stars), 2),
                    'stars', json_build_object(
                        '1', count(*) FILTER (WHERE r.stars = 1),
                        '2', count(*) FILTER (WHERE r.stars = 2),
                        '3', count(*) FILTER (WHERE r.stars = 3),
                        '4', count(*) FILTER (WHERE r.stars = 4),
                        '5', count(*) FILTER (WHERE r.stars = 5)))
                FROM coop_rating r WHERE r.org_id = {org}
                  AND NOT EXISTS (SELECT 1 FROM coop_setting s
                                  WHERE s.org_id = {org} AND NOT s.ratings_enabled)
                HAVING count(*) >= :min_ratings)"""


def minimum(configured: int) -> int:
    return max(int(configured), MIN_RATINGS_FLOOR)


def summaries(sess: Session, org_ids: list[uuid.UUID], minimum_ratings: int) -> dict[uuid.UUID, Any]:
    """Per organization: {count, average, stars: {1..5: n}} when it has enough ratings and
    its members have not voted ratings off, else None."""
    rows = sess.execute(text(f"SELECT o, {summary_sql('o')} FROM unnest(CAST(:orgs AS uuid[])) o"),
                        {"orgs": list(set(org_ids)), "min_ratings": minimum(minimum_ratings)})
    found: dict[uuid.UUID, Any] = {o: r for o, r in rows}
    return {o: found.get(o) for o in org_ids}
