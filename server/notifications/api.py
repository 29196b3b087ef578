"""HTTP API of a member's notification feed."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from server import db, i18n
from server.members import auth
from server.notifications import services
from server.notifications.messages import text_of
from server.notifications.schemas import FeedQuery, FeedSchema, ReadInSchema, ReadSchema
from server.pages import split_page

blp = Blueprint("notifications", __name__, url_prefix="/api/v1",
                description="Your notification feed: matches of saved searches, orders, replies.")


@blp.route("/me/notifications")
class Feed(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, FeedSchema)
    @auth.login_required
    @blp.arguments(FeedQuery, location="query")
    def get(self, query: dict[str, Any]) -> Any:
        """Your notifications, newest first, with how many are unread."""
        rows, unread = services.page(db.session(), auth.current().member_id,
                                     unread=query["unread"], before=query["before"],
                                     limit=query["limit"])
        rows, more = split_page(rows, query["limit"])
        lang = i18n.locale()
        return {"notifications": [{"id": n.id, "kind": n.kind, "text": text_of(n.kind, n.data, lang),
                                   "data": n.data, "created_at": n.created_at,
                                   "read_at": n.read_at} for n in rows],
                "unread": unread, "next_before": rows[-1].id if more else None}


@blp.route("/me/notifications/read")
class Read(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, ReadSchema)
    @auth.login_required
    @blp.arguments(ReadInSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Mark notifications read: some ``ids``, or all ``up_to`` an id."""
        sess = db.session()
        n = services.mark_read(sess, auth.current().member_id, data["ids"], data["up_to"])
        sess.commit()
        return {"marked": n}
