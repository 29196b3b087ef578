"""A demo fisheries office subscribed to the demo cooperatives' reports.

With it, ``cardumen up`` shows the whole path from a phone to a government file:
the worker makes the office's daily landing notices, monthly FAO statistics and
a monthly GeoPackage dataset on its first tick, and the office's staff account
(``cardumen demo accounts`` lists it) can list, download and acknowledge them.
Only the last weeks are subscribed, so the first tick stays short.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import new_id, utcnow
from server.demo.generator import DEMO_PREFIX
from server.members.models import Member, Membership, MembershipStatus, Organization, OrgKind, Role
from server.reports import periods, services
from server.reports.models import Subscription

OFFICE_NAME = DEMO_PREFIX + "Oficina de Pesca de Mazatlán (CONAPESCA)"
STAFF_PHONE = "+526699100100"  # a Mazatlán number, reserved for the demo office's staff
TZ = "America/Mazatlan"

SUBSCRIPTIONS: list[dict[str, Any]] = [
    {"name": "Avisos de arribo diarios", "format": "conapesca_aviso_csv", "period": "day",
     "schedule": "0 6 * * *", "delivery": "pull", "days_back": 14},
    {"name": "Avisos de arribo (formato impreso)", "format": "conapesca_aviso_pdf",
     "period": "week", "schedule": "0 7 * * 1", "delivery": "pull", "days_back": 14},
    {"name": "Estadística mensual FAO/CWP", "format": "fao_cwp_monthly", "period": "month",
     "schedule": "0 6 1 * *", "delivery": "pull", "days_back": 70},
    {"name": "Capturas del mes (GeoPackage)", "format": "dataset_gpkg", "period": "month",
     "schedule": "0 8 1 * *", "delivery": "pull", "days_back": 40},
]


def load(sess: Session, password_hash: str) -> dict[str, int]:
    """Create the office once (idempotent); due at once, so the worker reports right away."""
    if sess.scalar(select(Organization.id).where(Organization.name == OFFICE_NAME)):
        return {"authority": 0, "subscription": 0}
    from exports import base as registry

    coops = list(sess.scalars(select(Organization.id).where(
        Organization.kind == OrgKind.cooperative, Organization.name.startswith(DEMO_PREFIX))))
    auth = services.create_authority(sess, {
        "name": OFFICE_NAME, "office_key": "2501", "state": "Sinaloa", "timezone": TZ,
        "cooperative_ids": coops, "region": None}, None)
    staff = sess.scalar(select(Member).where(Member.phone == STAFF_PHONE))
    if staff is None:
        staff = Member(id=new_id(), phone=STAFF_PHONE, name="Lic. Marisol Osuna (oficina de pesca)",
                       password_hash=password_hash, locale="es")
        sess.add(staff)
        sess.flush()
    sess.add(Membership(org_id=auth.id, member_id=staff.id, role=Role.authority,
                        status=MembershipStatus.active))
    now = utcnow()
    today = now.astimezone(periods.ZoneInfo(TZ)).date()
    made = 0
    for spec in SUBSCRIPTIONS:
        if spec["format"] not in registry.names():
            continue
        body = {k: v for k, v in spec.items() if k != "days_back"}
        body["starts_on"] = periods.span_of(spec["period"],
                                            today - timedelta(days=spec["days_back"])).start
        sub, _ = services.create_subscription(sess, auth, body, by=None, now=now,
                                              allow_loopback_http=False)
        sub.next_run_at = now  # due now: the worker's first tick makes the runs
        made += 1
    sess.flush()
    assert sess.scalar(select(Subscription.id).where(Subscription.authority_id == auth.id))
    return {"authority": 1, "subscription": made}
