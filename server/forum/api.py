"""HTTP API of the forum."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("forum", __name__, url_prefix="/api/v1",
                description="The problem-solving forum: threads, replies, solutions, search, "
                            "moderation.")
