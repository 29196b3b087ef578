"""A member's archive holds their forum life: the threads and posts they wrote (hidden
ones included: hidden from readers, not from their author), votes, follows and flags;
and nothing of anyone else's."""

from __future__ import annotations

import csv
import io

from tests.forum.conftest import POSTS, THREADS, Forum, moderate, open_thread, reply
from tests.test_archive import archive


def _csv(z, name):  # type: ignore[no-untyped-def]
    return list(csv.DictReader(io.StringIO(z.read(f"{name}.csv").decode())))


def test_forum_data_in_the_archive(forum: Forum) -> None:
    t = open_thread(forum.fisher, visible_org_id=str(forum.org.id), species=["LJS"],
                    location={"type": "Point", "coordinates": [-106.4, 23.2]})
    mine = reply(forum.fisher, t["id"], "Mi respuesta, que luego ocultan")
    theirs = reply(forum.other, t["id"], "Respuesta de otro socio")
    assert forum.fisher.api.put(f"{POSTS}/{theirs['id']}/vote").status_code == 200
    assert forum.fisher.api.post(f"{POSTS}/{theirs['id']}/flags",
                                 {"reason": "spam"}).status_code == 201
    assert moderate(forum.admin, "post", mine["id"], "hide").status_code == 201
    assert forum.other.api.put(f"{THREADS}/{t['id']}/follow").status_code == 200

    z = archive(forum.fisher.api)
    (thread,) = _csv(z, "forum_threads")
    assert thread["id"] == t["id"] and thread["species"] == "LJS"
    assert float(thread["lon"]) == -106.4
    posts = {p["id"]: p for p in _csv(z, "forum_posts")}
    assert set(posts) == {t["opening"]["id"], mine["id"]}  # not the other member's
    assert posts[mine["id"]]["hidden_at"] != "" and posts[mine["id"]]["body"].startswith("Mi")
    assert [v["post_id"] for v in _csv(z, "forum_votes")] == [theirs["id"]]
    assert [f["post_id"] for f in _csv(z, "forum_flags")] == [theirs["id"]]
    assert [f["thread_id"] for f in _csv(z, "forum_follows")] == [t["id"]]
    other = archive(forum.other.api)
    assert [p["id"] for p in _csv(other, "forum_posts")] == [theirs["id"]]
    assert _csv(other, "forum_threads") == []
