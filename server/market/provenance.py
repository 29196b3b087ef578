"""A lot's public story: what fish, caught when, in which FAO area and zone, with which
gear, by which vessel and cooperative. Never where exactly: no position, no cell,
no track leaves this module, and a catch is dated by day, not by the minute."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from server.market.search import CARD, CARD_FROM

CATCHES = """
    SELECT lc.quantity, c.species_code, sp.name_es, sp.name_en, sp.scientific_name,
           (c.caught_at AT TIME ZONE 'America/Mexico_City')::date AS caught_on, c.fao_area,
           c.presentation, coalesce(c.gear_code, t.gear_code) AS gear_code,
           g.name_es AS gear_es, g.name_en AS gear_en, v.name AS vessel_name,
           v.registration AS vessel_registration,
           (la.landed_at AT TIME ZONE 'America/Mexico_City')::date AS landed_on,
           lp.name AS landing_port,
           ARRAY(SELECT z.name FROM zone z WHERE z.id = ANY(c.zone_ids)
                 AND z.kind IN ('fishing_zone', 'concession', 'protected_area', 'inland_water')
                 ORDER BY z.name) AS zones
    FROM listing_catch lc
    JOIN catch c ON c.org_id = lc.org_id AND c.id = lc.catch_id AND c.superseded_at IS NULL
    JOIN trip t ON t.org_id = c.org_id AND t.id = c.trip_id
    JOIN species sp ON sp.code = c.species_code
    LEFT JOIN gear g ON g.code = coalesce(c.gear_code, t.gear_code)
    LEFT JOIN vessel v ON v.org_id = t.org_id AND v.id = t.vessel_id
    LEFT JOIN landing la ON la.org_id = t.org_id AND la.trip_id = t.id
    LEFT JOIN port lp ON lp.id = la.port_id
    WHERE lc.org_id = :org AND lc.listing_id = :id AND lc.quantity > 0
    ORDER BY lc.position"""


def lot(sess: Session, code: str) -> dict[str, Any] | None:
    # Codes are unique per organization; one matching two (1 in 30^10 per pair) is
    # refused rather than guessed.
    rows = sess.execute(text(f"SELECT {CARD}, o.rnpa, o.state {CARD_FROM} "
                             "WHERE l.short_code = :c LIMIT 2"), {"c": code}).mappings().all()
    if len(rows) != 1:
        return None
    card = dict(rows[0])
    catches = [dict(r) for r in sess.execute(text(CATCHES),
                                             {"org": card["org_id"], "id": card["id"]}).mappings()]
    return {"card": card, "catches": catches}
