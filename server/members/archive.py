"""Everything of one member's, gathered for their archive (exports/archive.py writes it).

Their profile and memberships; the vessels their trips used; their trips with
every earlier revision; every version of every catch they logged (corrections
and cancellations included); every report run item that carried one of those
versions (which authority, which period, why); their consents and the history
of them; their listings (with the catches they draw on and every price), the
orders they placed or received with each step, the ratings they gave, their saved
searches and notifications; the forum threads and posts they wrote (hidden ones
included), their votes, follows and flags.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from exports.archive import Table

_QUERIES: dict[str, str] = {
    "profile": """SELECT id, phone, name, locale, created_at FROM member WHERE id = :m""",
    "memberships": """
        SELECT ms.org_id, o.name AS org_name, o.kind AS org_kind, o.rnpa, ms.role, ms.status
        FROM membership ms JOIN organization o ON o.id = ms.org_id
        WHERE ms.member_id = :m ORDER BY o.name, ms.org_id""",
    "vessels": """
        SELECT v.org_id, v.id, v.name, v.registration, v.rnp, v.length_m, v.engine_hp
        FROM vessel v
        WHERE (v.org_id, v.id) IN (SELECT t.org_id, t.vessel_id FROM trip t WHERE t.member_id = :m)
           OR v.owner_member_id = :m
        ORDER BY v.name, v.id""",
    "trips": """
        SELECT org_id, id, version, vessel_id, gear_code, departed_at, returned_at,
               departure_port_id, return_port_id, zero_catch, costs, ST_AsText(track) AS track_wkt,
               notes, status, device_id, received_at, updated_at
        FROM trip WHERE member_id = :m ORDER BY departed_at, id""",
    "trip_revisions": """
        SELECT r.org_id, r.trip_id, r.version, r.data, r.replaced_at, r.replaced_by
        FROM trip_revision r
        WHERE (r.org_id, r.trip_id) IN (SELECT org_id, id FROM trip WHERE member_id = :m)
        ORDER BY r.trip_id, r.version""",
    "catches": """
        SELECT org_id, id, version, trip_id, species_code, gear_code, landed_kg, live_kg, count,
               presentation, disposition, unit_price, currency, ST_X(position) AS lon,
               ST_Y(position) AS lat, caught_at, fao_area, zone_ids, quality_flags, notes,
               status, superseded_at, device_id, received_at
        FROM catch WHERE member_id = :m ORDER BY caught_at, id, version""",
    "reports": """
        SELECT i.catch_id, i.catch_version, i.action, r.id AS run_id, a.name AS authority,
               r.format, r.period_start, r.period_end, r.purpose, r.created_at
        FROM report_run_item i
        JOIN report_run r ON r.id = i.run_id
        JOIN organization a ON a.id = r.authority_id
        WHERE (i.org_id, i.catch_id) IN (SELECT DISTINCT org_id, id FROM catch WHERE member_id = :m)
        ORDER BY r.created_at, r.id, i.catch_id""",
    "consents": """
        SELECT c.purpose, c.recipient_org_id, o.name AS recipient_name, c.granted, c.changed_at
        FROM consent c JOIN organization o ON o.id = c.recipient_org_id
        WHERE c.member_id = :m ORDER BY c.purpose, o.name""",
    "consent_history": """
        SELECT id, purpose, recipient_org_id, granted, at, by_member_id, note
        FROM consent_event WHERE member_id = :m ORDER BY id""",
    "listings": """
        SELECT org_id, id, short_code, kind, category, title, description, species_code,
               presentation, preservation, unit, quantity, reserved, sold, unit_price, currency,
               port_id, ST_X(location::geometry) AS pickup_lon, ST_Y(location::geometry) AS pickup_lat,
               available_from, available_until, status, created_at, updated_at
        FROM listing WHERE seller_id = :m ORDER BY created_at, id""",
    "listing_catches": """
        SELECT lc.org_id, lc.listing_id, lc.catch_id, lc.position, lc.quantity
        FROM listing_catch lc JOIN listing l ON l.org_id = lc.org_id AND l.id = lc.listing_id
        WHERE l.seller_id = :m ORDER BY lc.listing_id, lc.position""",
    "listing_prices": """
        SELECT p.org_id, p.listing_id, p.seq, p.unit_price, p.currency, p.set_at
        FROM listing_price p JOIN listing l ON l.org_id = p.org_id AND l.id = p.listing_id
        WHERE l.seller_id = :m ORDER BY p.listing_id, p.seq""",
    "orders": """
        SELECT org_id, id, listing_id, CASE WHEN buyer_id = :m THEN 'buyer' ELSE 'seller' END AS as,
               buyer_id, seller_id, buyer_org_id, quantity, unit, unit_price, currency, total,
               status, note, placed_at, expires_at, completed_at
        FROM market_order WHERE buyer_id = :m OR seller_id = :m ORDER BY placed_at, id""",
    "order_events": """
        SELECT e.org_id, e.order_id, e.seq, e.status, e.at, e.by_member_id, e.reason
        FROM market_order_event e JOIN market_order o ON o.org_id = e.org_id AND o.id = e.order_id
        WHERE o.buyer_id = :m OR o.seller_id = :m ORDER BY e.order_id, e.seq""",
    "ratings_given": """
        SELECT org_id, order_id, stars, created_at FROM coop_rating WHERE buyer_id = :m
        ORDER BY created_at""",
    "saved_searches": """
        SELECT id, name, q, kind, category, species_code, presentation, preservation, min_price,
               max_price, currency, ST_X(near::geometry) AS lon, ST_Y(near::geometry) AS lat,
               radius_m, ST_AsText(bbox) AS bbox_wkt, seller_org_id, created_at
        FROM saved_search WHERE member_id = :m ORDER BY created_at""",
    "notifications": """
        SELECT id, kind, data, created_at, read_at FROM notification WHERE member_id = :m
        ORDER BY id""",
    "forum_threads": """
        SELECT id, category, title, visible_org_id, array_to_string(species_codes, ' ') AS species,
               array_to_string(gear_codes, ' ') AS gear, array_to_string(zone_ids, ' ') AS zones,
               ST_X(location::geometry) AS lon, ST_Y(location::geometry) AS lat,
               solution_post_id, locked_at, hidden_at, created_at
        FROM forum_thread WHERE author_id = :m ORDER BY created_at, id""",
    # Their own posts, hidden ones too: a moderator hides a post from readers, not from
    # the one who wrote it.
    "forum_posts": """
        SELECT id, thread_id, opening, format, body, useful_count, created_at, edited_at,
               hidden_at
        FROM forum_post WHERE author_id = :m ORDER BY created_at, id""",
    "forum_votes": """SELECT post_id, at FROM forum_vote WHERE member_id = :m ORDER BY at""",
    "forum_follows": """
        SELECT thread_id, at FROM forum_follow WHERE member_id = :m ORDER BY at""",
    "forum_flags": """
        SELECT post_id, reason, note, created_at, resolved_at FROM forum_flag
        WHERE member_id = :m ORDER BY created_at""",
}


def gather(sess: Session, member_id: uuid.UUID) -> tuple[dict[str, Any], list[Table]]:
    """The archive's meta and tables. Read statement by statement: a sync arriving in
    between at worst shows a catch whose report item comes in the next archive."""
    tables = []
    for name, sql in _QUERIES.items():
        result = sess.execute(text(sql), {"m": member_id})
        columns = tuple(result.keys())
        rows = [dict(r) for r in result.mappings()]
        tables.append(Table(name, columns, rows,
                            points=("lon", "lat") if name == "catches" else None,
                            numeric=("landed_kg", "live_kg", "unit_price", "version", "count")
                            if name == "catches" else ()))
    meta = {"member_id": str(member_id),
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "format": "cardumen.member_archive", "version": 1}
    return meta, tables
