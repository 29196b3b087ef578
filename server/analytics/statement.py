"""A member's catch-history statement, made from the logbook and signed by the service.

Read from the logbook itself (the member's current catch versions and trips),
not from the rollup: a statement a bank relies on must be exact at the moment
it is issued, not a minute behind. Figures are decimal strings (see
exports/statement.py for why).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.orm import Session

from exports import statement
from server.analytics.services import Window
from server.analytics.stats import SEA_DAYS
from server.db import new_id
from server.ogc.models import ROLLUP_TZ

BASIS = {
    "es": "Versiones vigentes de las capturas al emitirse; ingreso = kg desembarcados × precio "
          "de primera venta registrado (solo MXN).",
    "en": "Catch versions current when issued; income = landed kg × the logged first-sale price "
          "(MXN only).",
}
_keys: dict[Path, Ed25519PrivateKey] = {}


def signing_key(path: Path) -> Ed25519PrivateKey:
    key = _keys.get(path)
    if key is None:
        key = _keys[path] = statement.load_or_create_key(path)
    return key


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _dec(v: Decimal | None, places: str) -> str:
    return str((v or Decimal(0)).quantize(Decimal(places)))


def build(sess: Session, member_id: uuid.UUID, org_ids: list[uuid.UUID], w: Window,
          lang: str) -> dict[str, Any]:
    """The unsigned statement of the member's catch in these cooperatives and months."""
    p = {"m": member_id, "orgs": org_ids, "tz": ROLLUP_TZ,
         "d0": w.first, "d1": _next_month(w.last)}
    in_window = """{col} >= (CAST(:d0 AS timestamp) AT TIME ZONE :tz)
                   AND {col} < (CAST(:d1 AS timestamp) AT TIME ZONE :tz)"""
    species = sess.execute(text(f"""
        SELECT c.species_code, s.name_es, s.name_en, sum(c.landed_kg),
               coalesce(sum(c.landed_kg * c.unit_price)
                        FILTER (WHERE c.unit_price IS NOT NULL AND c.currency = 'MXN'), 0)
        FROM catch c JOIN species s ON s.code = c.species_code
        WHERE c.member_id = :m AND c.org_id = ANY(CAST(:orgs AS uuid[]))
          AND c.superseded_at IS NULL AND c.status = 'active'
          AND {in_window.format(col="c.caught_at")}
        GROUP BY 1, 2, 3 ORDER BY 1"""), p).all()
    trips, days = sess.execute(text(f"""
        SELECT count(*),
               (SELECT count(DISTINCT d) FROM trip u, {SEA_DAYS} AS d
                WHERE u.member_id = :m AND u.org_id = ANY(CAST(:orgs AS uuid[]))
                  AND u.status = 'active' AND {in_window.format(col="u.departed_at")})
        FROM trip t
        WHERE t.member_id = :m AND t.org_id = ANY(CAST(:orgs AS uuid[])) AND t.status = 'active'
          AND {in_window.format(col="t.departed_at")}"""), p).one()
    member = sess.execute(text("SELECT name FROM member WHERE id = :m"), p).scalar_one()
    coops = sess.execute(text("""
        SELECT id, name, rnpa FROM organization WHERE id = ANY(CAST(:orgs AS uuid[]))
        ORDER BY name, id"""), p).all()
    total = sum((r[3] for r in species), Decimal(0))
    income = sum((r[4] for r in species), Decimal(0))
    return {
        "kind": statement.KIND, "version": statement.VERSION, "statement_id": str(new_id()),
        "issued_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "issuer": "Cardumen",
        "member": {"id": str(member_id), "name": member},
        "cooperatives": [{"id": str(i), "name": n, "rnpa": r} for i, n, r in coops],
        "period": {"from": w.first.isoformat(),
                   "to": date.fromordinal(_next_month(w.last).toordinal() - 1).isoformat(),
                   "timezone": ROLLUP_TZ},
        "trips": int(trips), "days_at_sea": int(days or 0),
        "landed_kg_by_species": [
            {"species_code": code, "name": name_es if lang == "es" else name_en,
             "landed_kg": _dec(kg, "0.001"), "income_mxn": _dec(value, "0.01")}
            for code, name_es, name_en, kg, value in species],
        "landed_kg_total": _dec(total, "0.001"),
        "income_mxn": _dec(income, "0.01"),
        "basis": BASIS["es" if lang == "es" else "en"],
    }
