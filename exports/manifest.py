"""The manifest of a report run: what was sent, for which period, and the files' hashes.

It is canonical JSON (sorted keys, two-space indent, UTF-8, trailing newline)
built only from its arguments, so the same run always yields the same bytes:
its SHA-256 identifies the run's content, and ``exports.push`` derives the
multipart boundary from it. ``period.end_exclusive`` is the first day *not*
covered; dates are ISO 8601 in the subscription's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

import orjson

from exports.storage import ArtifactNotFound, digest_stream

SCHEMA = "cardumen.report-manifest/1"
MEDIA_TYPE = "application/json"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """Bytes that are not a manifest this module understands."""


@dataclass(frozen=True, slots=True)
class ManifestFile:
    name: str
    media_type: str
    size: int
    sha256: str  # lowercase hex
    rows: int | None  # rows, features or notices; None where counting makes no sense


def build_manifest(*, run_id: str, subscription_id: str, format_name: str,
                   period_start: date, period_end: date, purpose: str, sequence: int,
                   amends: list[str], record_count: int, files: list[ManifestFile],
                   generator_version: str, counts: dict[str, int]) -> bytes:
    """The manifest's canonical bytes. ``period_end`` is exclusive.

    Files are listed by name, so the order an exporter happened to open them in
    does not change the bytes; ``amends`` keeps the caller's order (oldest first
    by convention).
    """
    if period_end <= period_start:
        raise ValueError("period_end must be after period_start (it is exclusive)")
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate file names in {names}")
    for f in files:
        if not _SHA256.match(f.sha256):
            raise ValueError(f"{f.name}: sha256 must be 64 lowercase hex digits")
        if f.size < 0 or (f.rows is not None and f.rows < 0):
            raise ValueError(f"{f.name}: negative size or rows")
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "run_id": run_id,
        "subscription_id": subscription_id,
        "format": format_name,
        "period": {"start": period_start.isoformat(), "end_exclusive": period_end.isoformat()},
        "purpose": purpose,
        "sequence": sequence,
        "amends": list(amends),
        "record_count": record_count,
        "counts": dict(counts),
        "generator_version": generator_version,
        "files": [
            {"name": f.name, "media_type": f.media_type, "size": f.size, "sha256": f.sha256,
             "rows": f.rows}
            for f in sorted(files, key=lambda f: f.name)
        ],
    }
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def load_manifest(manifest_bytes: bytes) -> dict[str, Any]:
    """The parsed manifest, after checking its schema and file entries."""
    try:
        doc = orjson.loads(manifest_bytes)
    except orjson.JSONDecodeError as e:
        raise ManifestError(f"not JSON: {e}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ManifestError(f"not a {SCHEMA} document")
    files = doc.get("files")
    if not isinstance(files, list):
        raise ManifestError("files must be a list")
    for f in files:
        if not (isinstance(f, dict) and isinstance(f.get("name"), str)
                and isinstance(f.get("size"), int) and isinstance(f.get("sha256"), str)):
            raise ManifestError(f"bad file entry: {f!r}")
    return doc


def verify_manifest(manifest_bytes: bytes, open_file: Callable[[str], BinaryIO]) -> list[str]:
    """Names of the listed files whose bytes differ from the manifest (or are missing).

    ``open_file(name)`` opens a file by its manifest name, e.g.
    ``lambda n: store.open(f"{prefix}/{n}")``; FileNotFoundError or
    ArtifactNotFound counts as a mismatch, any other error propagates.
    """
    bad = []
    for f in load_manifest(manifest_bytes)["files"]:
        try:
            with open_file(f["name"]) as stream:
                sha256, size = digest_stream(stream)
        except (FileNotFoundError, ArtifactNotFound):
            bad.append(f["name"])
            continue
        if sha256 != f["sha256"] or size != f["size"]:
            bad.append(f["name"])
    return bad
