"""Liveness and readiness for load balancers and compose health checks."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server import db, migrate
from server.errors import ApiError

blp = Blueprint("health", __name__, description="Liveness and readiness probes.")


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200)
    def get(self) -> dict[str, Any]:
        """The process is up (does not touch the database)."""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200)
    def get(self) -> dict[str, Any]:
        """The database answers and its schema is at the migrations' head."""
        try:
            with db.engine().connect() as conn:
                conn.execute(text("SELECT 1"))
                current = migrate.current_revisions(conn)
        except SQLAlchemyError as exc:
            raise ApiError(503, "service_unavailable",
                           reason=type(exc).__name__) from exc
        head = migrate.head_revisions()
        if current != head:
            raise ApiError(503, "service_unavailable",
                           reason=f"migrations at {sorted(current)}, head is {sorted(head)}")
        return {"status": "ready", "database": "ok", "migration": sorted(current)}
