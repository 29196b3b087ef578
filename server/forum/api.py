"""HTTP API of the forum: threads, replies, votes, follows, solutions, search, flags and
moderation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from server import db, pages
from server.forum import access, moderation, search, threads
from server.forum.models import Category, ModerationLog
from server.forum.schemas import (
    ActionOutSchema,
    AuditQuery,
    AuditSchema,
    CategoriesSchema,
    FlagInSchema,
    FlagOutSchema,
    FlagQueueQuery,
    FlagQueueSchema,
    ModeratorInSchema,
    ModeratorOutSchema,
    ModeratorsSchema,
    PostInSchema,
    PostModerationSchema,
    PostOutSchema,
    PostPageSchema,
    PostPatchSchema,
    PostsQuery,
    ScopeQuery,
    SolutionInSchema,
    ThreadInSchema,
    ThreadModerationSchema,
    ThreadOutSchema,
    ThreadPageSchema,
    ThreadPatchSchema,
    ThreadQuery,
)
from server.members import auth, ratelimit
from server.members.models import Member
from server.pages import keyset_encode, keyset_typed

blp = Blueprint("forum", __name__, url_prefix="/api/v1",
                description="The problem-solving forum: threads, replies, solutions, search, "
                            "moderation.")

SEC = {"security": auth.SECURITY}


def _limit(kind: str) -> None:
    """Posting and voting are counted per member in a window (429 with Retry-After)."""
    cfg = current_app.config
    limit = cfg["FORUM_POSTS_PER_WINDOW"] if kind == "post" else cfg["FORUM_VOTES_PER_WINDOW"]
    ratelimit.check(db.engine(), [(f"forum-{kind}:{auth.current().member_id}", int(limit))],
                    int(cfg["FORUM_RATE_WINDOW"]))


def _thread(thread_id: uuid.UUID) -> dict[str, Any]:
    sess = db.session()
    p = auth.current()
    return threads.thread_out(sess, p, access.readable_thread(sess, p, thread_id))


@blp.route("/forum/categories")
class Categories(MethodView):
    @blp.doc(**SEC)
    @blp.response(200, CategoriesSchema)
    @auth.login_required
    def get(self) -> Any:
        """The forum's categories, in their order."""
        rows = db.session().scalars(select(Category).order_by(Category.position))
        return {"categories": [{"code": c.code, "name_es": c.name_es, "name_en": c.name_en}
                               for c in rows]}


@blp.route("/forum/threads")
class Threads(MethodView):
    @blp.doc(**SEC)
    @blp.response(200, ThreadPageSchema)
    @auth.login_required
    @blp.arguments(ThreadQuery, location="query")
    def get(self, query: dict[str, Any]) -> Any:
        """Threads you may read: search words (Spanish; accents, plurals, word families
        and near misses forgiven) across titles and replies, filter by category, tag,
        solved or not, cooperative, author and distance; sorted by relevance (newer
        posts first among equals), last reply or distance; keyset pages."""
        page = search.search(db.session(), auth.current(), query)
        # Written by orjson: the cards are plain values already, and ThreadPageSchema's
        # dump of them took a third of a search's Python (tests/forum/test_search.py
        # holds the two equal).
        return Response(pages.dumps(page), mimetype="application/json")

    @blp.doc(**SEC)
    @blp.response(201, ThreadOutSchema)
    @auth.login_required
    @blp.arguments(ThreadInSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Open a thread: a category, a title, the problem (plain text or Markdown), tags
        (species, gear, zones), an optional point on the map, and who sees it (everyone,
        or only one of your organizations). You follow it; those you mention are told."""
        _limit("post")
        sess = db.session()
        thread = threads.create(sess, auth.current(), data)
        sess.commit()
        return _thread(thread.id)


@blp.route("/forum/threads/<uuid:thread_id>")
class OneThread(MethodView):
    @blp.doc(**SEC)
    @blp.response(200, ThreadOutSchema)
    @auth.login_required
    def get(self, thread_id: uuid.UUID) -> Any:
        """A thread with its opening post and accepted solution (replies: /posts)."""
        return _thread(thread_id)

    @blp.doc(**SEC)
    @blp.response(200, ThreadOutSchema)
    @auth.login_required
    @blp.arguments(ThreadPatchSchema)
    def patch(self, data: dict[str, Any], thread_id: uuid.UUID) -> Any:
        """Change your thread's title, category, tags or point (not once it is locked)."""
        _limit("post")
        sess = db.session()
        threads.patch(sess, auth.current(), thread_id, data)
        sess.commit()
        return _thread(thread_id)


@blp.route("/forum/threads/<uuid:thread_id>/posts")
class Replies(MethodView):
    @blp.doc(**SEC)
    @blp.response(200, PostPageSchema)
    @auth.login_required
    @blp.arguments(PostsQuery, location="query")
    def get(self, query: dict[str, Any], thread_id: uuid.UUID) -> Any:
        """A thread's replies, oldest first (hidden ones are gone)."""
        sess = db.session()
        p = auth.current()
        thread = access.readable_thread(sess, p, thread_id)
        after = None
        if query["after"]:
            after = tuple(keyset_typed(query["after"], datetime.fromisoformat, uuid.UUID))
        items, more = threads.replies(sess, p, thread, after, query["limit"])
        nxt = (keyset_encode(items[-1]["created_at"].isoformat(), items[-1]["id"])
               if more and items else None)
        return {"items": items, "next_cursor": nxt}

    @blp.doc(**SEC)
    @blp.response(201, PostOutSchema)
    @auth.login_required
    @blp.arguments(PostInSchema)
    def post(self, data: dict[str, Any], thread_id: uuid.UUID) -> Any:
        """Reply (not to a locked thread). Followers and the thread's author are told;
        so are those you mention. You follow the thread from then on."""
        _limit("post")
        sess = db.session()
        p = auth.current()
        post = threads.reply(sess, p, thread_id, data)
        sess.commit()
        return threads.post_out(sess, p, post.id)


@blp.route("/forum/posts/<uuid:post_id>")
class OnePost(MethodView):
    @blp.doc(**SEC)
    @blp.response(200, PostOutSchema)
    @auth.login_required
    def get(self, post_id: uuid.UUID) -> Any:
        sess = db.session()
        p = auth.current()
        post, _ = access.readable_post(sess, p, post_id)
        return threads.post_out(sess, p, post.id)

    @blp.doc(**SEC)
    @blp.response(200, PostOutSchema)
    @auth.login_required
    @blp.arguments(PostPatchSchema)
    def patch(self, data: dict[str, Any], post_id: uuid.UUID) -> Any:
        """Correct your post (not in a locked thread); it is marked edited."""
        _limit("post")
        sess = db.session()
        p = auth.current()
        threads.edit(sess, p, post_id, data)
        sess.commit()
        return threads.post_out(sess, p, post_id)


@blp.route("/forum/posts/<uuid:post_id>/vote")
class PostVote(MethodView):
    @blp.doc(**SEC)
    @blp.response(200, PostOutSchema)
    @auth.login_required
    def put(self, post_id: uuid.UUID) -> Any:
        """Find a post useful (once; again changes nothing). Not your own."""
        return self._vote(post_id, True)

    @blp.doc(**SEC)
    @blp.response(200, PostOutSchema)
    @auth.login_required
    def delete(self, post_id: uuid.UUID) -> Any:
        """Take your vote back."""
        return self._vote(post_id, False)

    @staticmethod
    def _vote(post_id: uuid.UUID, useful: bool) -> Any:
        _limit("vote")
        sess = db.session()
        p = auth.current()
        threads.vote(sess, p, post_id, useful)
        sess.commit()
        return threads.post_out(sess, p, post_id)


@blp.route("/forum/threads/<uuid:thread_id>/follow")
class ThreadFollow(MethodView):
    @blp.doc(**SEC)
    @blp.response(200, ThreadOutSchema)
    @auth.login_required
    def put(self, thread_id: uuid.UUID) -> Any:
        """Be told of every reply and of the solution."""
        sess = db.session()
        threads.follow(sess, auth.current(), thread_id, True)
        sess.commit()
        return _thread(thread_id)

    @blp.doc(**SEC)
    @blp.response(204)
    @auth.login_required
    def delete(self, thread_id: uuid.UUID) -> Any:
        """Stop following. Needs no right to read the thread any more (one who left a
        cooperative may still stop its notifications), and answers alike for any id."""
        sess = db.session()
        threads.follow(sess, auth.current(), thread_id, False)
        sess.commit()
        return None


@blp.route("/forum/threads/<uuid:thread_id>/solution")
class Solution(MethodView):
    @blp.doc(**SEC)
    @blp.response(200, ThreadOutSchema)
    @auth.login_required
    @blp.arguments(SolutionInSchema)
    def put(self, data: dict[str, Any], thread_id: uuid.UUID) -> Any:
        """Mark a reply as the solution: the thread's author or a moderator. Its author
        and the followers are told."""
        sess = db.session()
        threads.accept(sess, auth.current(), thread_id, data["post_id"])
        sess.commit()
        return _thread(thread_id)

    @blp.doc(**SEC)
    @blp.response(200, ThreadOutSchema)
    @auth.login_required
    def delete(self, thread_id: uuid.UUID) -> Any:
        """The thread is unsolved again."""
        sess = db.session()
        threads.accept(sess, auth.current(), thread_id, None)
        sess.commit()
        return _thread(thread_id)


@blp.route("/forum/posts/<uuid:post_id>/flags")
class Flags(MethodView):
    @blp.doc(**SEC)
    @blp.response(201, FlagOutSchema)
    @auth.login_required
    @blp.arguments(FlagInSchema)
    def post(self, data: dict[str, Any], post_id: uuid.UUID) -> Any:
        """Report a post to the moderators (spam, abuse, illegal, privacy, other); once
        per post, not your own, not one already hidden."""
        _limit("vote")
        sess = db.session()
        f = moderation.flag(sess, auth.current(), post_id, data["reason"], data["note"])
        sess.commit()
        return {"id": f.id, "post_id": f.post_id, "reason": f.reason, "note": f.note,
                "created_at": f.created_at}


def _action(entry: ModerationLog) -> dict[str, Any]:
    return {"id": entry.id, "moderator_id": entry.moderator_id, "action": entry.action,
            "scope_org_id": entry.scope_org_id, "thread_id": entry.thread_id,
            "post_id": entry.post_id, "subject_member_id": entry.subject_member_id,
            "reason": entry.reason, "at": entry.at, "thread_title": entry.thread_title,
            "post_body": entry.post_body}


@blp.route("/forum/threads/<uuid:thread_id>/moderation")
class ThreadModeration(MethodView):
    @blp.doc(**SEC)
    @blp.response(201, ActionOutSchema)
    @auth.login_required
    @blp.arguments(ThreadModerationSchema)
    def post(self, data: dict[str, Any], thread_id: uuid.UUID) -> Any:
        """Moderators: hide or restore a thread, lock or unlock it, with a reason (kept
        in the audit)."""
        sess = db.session()
        entry = moderation.on_thread(sess, auth.current(), thread_id, data["action"],
                                     data["reason"])
        sess.commit()
        return _action(entry)


@blp.route("/forum/posts/<uuid:post_id>/moderation")
class PostModeration(MethodView):
    @blp.doc(**SEC)
    @blp.response(201, ActionOutSchema)
    @auth.login_required
    @blp.arguments(PostModerationSchema)
    def post(self, data: dict[str, Any], post_id: uuid.UUID) -> Any:
        """Moderators: hide or restore a post (the opening post stands for its thread),
        or dismiss its flags, with a reason (kept in the audit)."""
        sess = db.session()
        entry = moderation.on_post(sess, auth.current(), post_id, data["action"],
                                   data["reason"])
        sess.commit()
        return _action(entry)


@blp.route("/forum/moderation/actions")
class Audit(MethodView):
    @blp.doc(**SEC)
    @blp.response(200, AuditSchema)
    @auth.login_required
    @blp.arguments(AuditQuery, location="query")
    def get(self, query: dict[str, Any]) -> Any:
        """Moderators: every action taken in a cooperative (org_id) or on the platform,
        newest first, with the posts as they were written."""
        items, nxt = moderation.audit(db.session(), auth.current(), query["org_id"],
                                      query["before"], query["limit"])
        return {"items": items, "next_before": nxt}


@blp.route("/forum/moderation/flags")
class FlagQueue(MethodView):
    @blp.doc(**SEC)
    @blp.response(200, FlagQueueSchema)
    @auth.login_required
    @blp.arguments(FlagQueueQuery, location="query")
    def get(self, query: dict[str, Any]) -> Any:
        """Moderators: the posts with open flags, most flagged first."""
        return {"items": moderation.flag_queue(db.session(), auth.current(), query["org_id"],
                                               query["limit"])}


@blp.route("/forum/moderators")
class Moderators(MethodView):
    @blp.doc(**SEC)
    @blp.response(200, ModeratorsSchema)
    @auth.login_required
    @blp.arguments(ScopeQuery, location="query")
    def get(self, query: dict[str, Any]) -> Any:
        """The appointed moderators of a cooperative (org_id) or of the platform."""
        return {"items": moderation.moderators(db.session(), auth.current(), query["org_id"])}

    @blp.doc(**SEC)
    @blp.response(200, ModeratorOutSchema)
    @auth.login_required
    @blp.arguments(ModeratorInSchema)
    def put(self, data: dict[str, Any]) -> Any:
        """Appoint a moderator: a cooperative's admin among its members; a platform admin
        for the platform (no org_id) or any cooperative."""
        sess = db.session()
        m = moderation.appoint(sess, auth.current(), data["member_id"], data["org_id"])
        sess.commit()
        name = sess.scalar(select(Member.name).where(Member.id == m.member_id))
        return {"member_id": m.member_id, "name": name, "org_id": m.scope_org_id,
                "appointed_by": m.appointed_by, "appointed_at": m.appointed_at}

    @blp.doc(**SEC)
    @blp.response(204)
    @auth.login_required
    @blp.arguments(ModeratorInSchema)
    def delete(self, data: dict[str, Any]) -> Any:
        """End an appointment (the same rights as appointing)."""
        sess = db.session()
        moderation.remove(sess, auth.current(), data["member_id"], data["org_id"])
        sess.commit()
        return None
