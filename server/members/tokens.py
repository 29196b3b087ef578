"""Passwords (argon2id), short-lived access tokens (JWT) and rotating refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 defaults
# A real hash to verify against when the phone is unknown, so the answer takes
# as long as for a known phone and does not reveal who is registered.
_DUMMY_HASH = _hasher.hash("not-a-password")
ALGORITHM = "HS256"
ISSUER = "cardumen"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class AccessClaims:
    member_id: uuid.UUID
    family_id: uuid.UUID


def issue_access(secret: str, member_id: uuid.UUID, family_id: uuid.UUID,
                 now: datetime, ttl: int) -> str:
    payload = {
        "iss": ISSUER, "sub": str(member_id), "fam": str(family_id),
        "iat": int(now.timestamp()), "exp": int((now + timedelta(seconds=ttl)).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


def decode_access(secret: str, token: str) -> AccessClaims:
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                             options={"require": ["exp", "iat", "sub", "iss"]})
        return AccessClaims(uuid.UUID(payload["sub"]), uuid.UUID(payload["fam"]))
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired from exc
    except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
        raise TokenInvalid from exc


def new_refresh_token() -> tuple[str, bytes]:
    """The token the device keeps, and the hash the server stores."""
    token = secrets.token_urlsafe(32)
    return token, refresh_hash(token)


def refresh_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
