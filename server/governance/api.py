"""HTTP API of governance."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("governance", __name__, url_prefix="/api/v1",
                description="One member, one vote: proposals, secret ballots, results.")
