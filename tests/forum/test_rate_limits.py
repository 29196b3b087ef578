"""Posting and voting are limited per member in a window: a 429 with Retry-After, and
nothing written beyond the limit."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server import create_app
from server.forum.models import Post
from server.members.models import Role
from tests.conftest import Factory, problem
from tests.forum.conftest import POSTS, THREADS, thread_body


@pytest.fixture(scope="module")
def tight(database_url: str, artifacts_dir: Any) -> Flask:
    return create_app({"DATABASE_URL": database_url, "ENV": "test",
                       "SECRET_KEY": "tight-" + secrets.token_hex(16),
                       "ARTIFACTS": str(artifacts_dir),
                       "FORUM_POSTS_PER_WINDOW": 3, "FORUM_VOTES_PER_WINDOW": 2,
                       "FORUM_RATE_WINDOW": 3600})


def test_posting_is_limited(tight: Flask, db: Session) -> None:
    f = Factory(tight, db)
    org = f.org()
    writer = f.person(org, Role.fisher)
    t = writer.api.post(THREADS, thread_body())
    assert t.status_code == 201
    tid = t.get_json()["id"]
    assert writer.api.post(f"{THREADS}/{tid}/posts", {"body": "uno"}).status_code == 201
    assert writer.api.post(f"{THREADS}/{tid}/posts", {"body": "dos"}).status_code == 201
    r = writer.api.post(f"{THREADS}/{tid}/posts", {"body": "tres"})
    problem(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) > 0
    problem(writer.api.post(THREADS, thread_body()), 429, "rate_limited")
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Post).where(
        Post.author_id == writer.member.id)) == 3
    # Another member has a window of their own; reading is not limited.
    other = f.person(org, Role.fisher)
    assert other.api.post(f"{THREADS}/{tid}/posts", {"body": "yo sí"}).status_code == 201
    for _ in range(5):
        assert writer.api.get(f"{THREADS}/{tid}").status_code == 200


def test_voting_and_flagging_are_limited(tight: Flask, db: Session) -> None:
    f = Factory(tight, db)
    org = f.org()
    writer, voter = f.person(org, Role.fisher), f.person(org, Role.fisher)
    tid = writer.api.post(THREADS, thread_body()).get_json()["id"]
    posts = [writer.api.post(f"{THREADS}/{tid}/posts", {"body": f"r{i}"}).get_json()["id"]
             for i in range(2)]
    assert voter.api.put(f"{POSTS}/{posts[0]}/vote").status_code == 200
    assert voter.api.post(f"{POSTS}/{posts[1]}/flags", {"reason": "spam"}).status_code == 201
    problem(voter.api.put(f"{POSTS}/{posts[1]}/vote"), 429, "rate_limited")
    assert voter.api.get(f"{POSTS}/{posts[1]}").get_json()["useful_count"] == 0
