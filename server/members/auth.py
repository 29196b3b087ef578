"""Who is calling: the bearer token, the member behind it and their roles."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request
from sqlalchemy import text

from server import db
from server.errors import ApiError
from server.members import tokens
from server.members.models import (
    MembershipStatus,
    Organization,
    Role,
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Principal:
    member_id: uuid.UUID
    family_id: uuid.UUID
    is_platform_admin: bool
    roles: dict[uuid.UUID, str] = field(default_factory=dict)  # active memberships only

    def role_in(self, org_id: uuid.UUID) -> str | None:
        return self.roles.get(org_id)

    def orgs_with(self, *roles: str) -> list[uuid.UUID]:
        return [org for org, role in self.roles.items() if role in roles]

    def can_log_catches_in(self, org_id: uuid.UUID) -> bool:
        return self.roles.get(org_id) in (Role.fisher, Role.admin)

    def is_admin_of(self, org_id: uuid.UUID) -> bool:
        return self.is_platform_admin or self.roles.get(org_id) == Role.admin


# One round trip on every request: the member still allowed in (so a logged-out device's
# access token dies at once), its refresh family live, and its active memberships. Plain
# SQL made once: building the Core statement and its cache key cost 1 ms a request.
_PRINCIPAL = text(f"""
    SELECT m.is_platform_admin,
           (SELECT json_object_agg(ms.org_id, ms.role) FROM membership ms
            WHERE ms.member_id = m.id AND ms.status = '{MembershipStatus.active.value}')
    FROM member m
    WHERE m.id = :member AND m.disabled_at IS NULL
      AND EXISTS (SELECT 1 FROM refresh_token r
                  WHERE r.family_id = :family AND r.revoked_at IS NULL)""")


def _load() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "token_missing", headers={"WWW-Authenticate": "Bearer"})
    try:
        claims = tokens.decode_access(current_app.config["SECRET_KEY"], token.strip())
    except tokens.TokenExpired as exc:
        raise ApiError(401, "token_expired",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc
    except tokens.TokenInvalid as exc:
        raise ApiError(401, "token_invalid",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc
    row = db.session().execute(_PRINCIPAL, {"member": claims.member_id,
                                             "family": claims.family_id}).first()
    if row is None:
        raise ApiError(401, "token_invalid", headers={"WWW-Authenticate": "Bearer"})
    return Principal(claims.member_id, claims.family_id, row[0],
                     {uuid.UUID(org): role for org, role in (row[1] or {}).items()})


def current() -> Principal:
    principal: Principal | None = g.get("principal")
    if principal is None:
        principal = _load()
        g.principal = principal
    return principal


def login_required(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current()
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def platform_admin_required(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current().is_platform_admin:
            raise ApiError(403, "forbidden")
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def require_role(org_id: uuid.UUID, roles: Iterable[str]) -> Principal:
    """404 to outsiders (an organization's data does not reveal it exists to them),
    403 to members whose role does not allow the action."""
    p = current()
    if p.is_platform_admin:
        # Platform admins may act in any organization, but only in one that exists:
        # otherwise a write would reach the database and fail on a foreign key.
        if db.session().get(Organization, org_id) is None:
            raise ApiError(404, "not_found")
        return p
    role = p.role_in(org_id)
    if role is None:
        raise ApiError(404, "not_found")
    if role not in set(roles):
        raise ApiError(403, "forbidden")
    return p


SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]
