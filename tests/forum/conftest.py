"""Helpers of the forum tests: a cooperative with members, threads and replies made
through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from server.members.models import Organization, Role
from tests.conftest import Factory, Person

THREADS = "/api/v1/forum/threads"
POSTS = "/api/v1/forum/posts"
FEED = "/api/v1/me/notifications"


@dataclass
class Forum:
    org: Organization
    admin: Person
    fisher: Person
    other: Person  # another fisher of the same cooperative
    outsider: Person  # a fisher of another cooperative


@pytest.fixture
def forum(factory: Factory) -> Forum:
    org = factory.org()
    return Forum(org, factory.person(org, Role.admin), factory.person(org, Role.fisher),
                 factory.person(org, Role.fisher), factory.person(factory.org(), Role.fisher))


def thread_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"category": "gear_boats", "title": "Se descompuso la máquina de hielo",
                            "body": "La máquina de hielo del muelle no enfría desde el lunes."}
    body.update(over)
    return body


def open_thread(person: Person, **over: Any) -> dict[str, Any]:
    r = person.api.post(THREADS, thread_body(**over))
    assert r.status_code == 201, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


def reply(person: Person, thread_id: str, body: str = "A nosotros nos pasó igual.",
          **over: Any) -> dict[str, Any]:
    r = person.api.post(f"{THREADS}/{thread_id}/posts", {"body": body, **over})
    assert r.status_code == 201, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


def replies(person: Person, thread_id: str, **q: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    while True:
        r = person.api.get(f"{THREADS}/{thread_id}/posts",
                           query_string={"limit": 2, **q} | ({"after": after} if after else {}))
        assert r.status_code == 200, r.get_json()
        items += r.get_json()["items"]
        after = r.get_json()["next_cursor"]
        if after is None:
            return items


def find(person: Person, lang: str | None = None, **q: Any) -> dict[str, Any]:
    r = person.api.get(THREADS, query_string=q, lang=lang)
    assert r.status_code == 200, r.get_json()
    out: dict[str, Any] = r.get_json()
    return out


def ids(page: dict[str, Any]) -> list[str]:
    return [i["id"] for i in page["items"]]


def feed(person: Person) -> list[dict[str, Any]]:
    r = person.api.get(FEED, query_string={"limit": 200})
    assert r.status_code == 200, r.get_json()
    out: list[dict[str, Any]] = r.get_json()["notifications"]
    return out


def moderate(person: Person, kind: str, target: str, action: str,
             reason: str = "Viola las reglas del foro") -> Any:
    base = THREADS if kind == "thread" else POSTS
    return person.api.post(f"{base}/{target}/moderation", {"action": action, "reason": reason})
