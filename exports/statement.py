"""Signed catch-history statements: a document a bank or a buyer can check on their own.

A statement is a JSON object. Its signature covers the object's canonical form
(UTF-8 JSON, keys sorted, no spaces; everything but ``signature``), signed with
Ed25519. ``signature`` names the key (``key_id``: the first 16 hex digits of the
SHA-256 of the raw public key), so a verifier takes the key from the service's
published key set (a JWK Set, RFC 8037 OKP keys) and checks the bytes; any
change of any figure, date or name breaks it. No Flask, no database.

Numbers in a statement are decimal strings or integers, never floats: the
canonical bytes must not depend on how a JSON library prints a float.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG = "Ed25519"
KIND = "cardumen.catch_history_statement"
VERSION = 1


class StatementError(ValueError):
    """Why a statement does not verify (a stable code, for translated messages)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(doc: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the document without its signature, keys sorted."""
    body = {k: v for k, v in doc.items() if k != "signature"}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


def jwk(public: Ed25519PublicKey) -> dict[str, str]:
    """The public key as a JWK (RFC 8037)."""
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(_raw(public)), "kid": key_id(public),
            "alg": "EdDSA", "use": "sig"}


def public_from_jwk(key: Mapping[str, Any]) -> Ed25519PublicKey:
    if key.get("kty") != "OKP" or key.get("crv") != "Ed25519" or not isinstance(key.get("x"), str):
        raise StatementError("key_unsupported")
    try:
        return Ed25519PublicKey.from_public_bytes(_unb64(key["x"]))
    except ValueError as exc:
        raise StatementError("key_unsupported") from exc


def sign(doc: Mapping[str, Any], private: Ed25519PrivateKey) -> dict[str, Any]:
    """The document with its ``signature``."""
    public = private.public_key()
    value = private.sign(canonical(doc))
    return {**{k: v for k, v in doc.items() if k != "signature"},
            "signature": {"alg": ALG, "key_id": key_id(public), "value": _b64(value)}}


def verify(doc: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> str:
    """The key id that signed the statement; StatementError when it does not verify."""
    sig = doc.get("signature")
    if not isinstance(sig, Mapping) or not all(isinstance(sig.get(k), str)
                                               for k in ("alg", "key_id", "value")):
        raise StatementError("signature_missing")
    if sig["alg"] != ALG:
        raise StatementError("key_unsupported")
    public = keys.get(sig["key_id"])
    if public is None:
        raise StatementError("key_unknown")
    try:
        public.verify(_unb64(sig["value"]), canonical(doc))
    except (InvalidSignature, ValueError) as exc:
        raise StatementError("signature_invalid") from exc
    return str(sig["key_id"])


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The service's signing key from a PEM file (PKCS#8), made on first use (0600)."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise StatementError("key_unsupported")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    # Written whole beside it, then linked into place (fails if it exists): two
    # processes starting at once keep one key, and none reads half a file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return load_or_create_key(path)
    finally:
        tmp.unlink()
    return key
