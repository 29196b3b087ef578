"""The run manifest: canonical bytes, and a check of the files it lists."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import pytest

from exports.manifest import SCHEMA, ManifestError, ManifestFile, build_manifest, verify_manifest
from exports.storage import LocalStore

FILES = {"avisos.csv": b"a,b\r\n1,2\r\n", "resumen.json": b'{"total": 2}\n'}


def mfile(name: str, data: bytes, media_type: str = "text/csv", rows: int | None = 1) -> ManifestFile:
    return ManifestFile(name, media_type, len(data), hashlib.sha256(data).hexdigest(), rows)


def args(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(
        run_id="01HRUN", subscription_id="01HSUB", format_name="conapesca_aviso_csv",
        period_start=date(2026, 12, 1), period_end=date(2027, 1, 1), purpose="amendment",
        sequence=2, amends=["01HRUN0"], record_count=2,
        files=[mfile("resumen.json", FILES["resumen.json"], "application/json", None),
               mfile("avisos.csv", FILES["avisos.csv"])],
        generator_version="cardumen 0.1.0", counts={"original": 1, "correction": 1})
    base.update(over)
    return base


def test_bytes_are_canonical_and_deterministic() -> None:
    a = build_manifest(**args())
    b = build_manifest(**args(files=list(reversed(args()["files"])),
                              counts={"correction": 1, "original": 1}))
    assert a == b  # file order and dict order do not matter
    assert a.endswith(b"}\n") and b"\n  " in a  # indented, trailing newline
    doc = orjson.loads(a)
    assert orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n" == a
    assert doc["schema"] == SCHEMA
    assert doc["period"] == {"start": "2026-12-01", "end_exclusive": "2027-01-01"}
    assert doc["amends"] == ["01HRUN0"]
    assert [f["name"] for f in doc["files"]] == ["avisos.csv", "resumen.json"]
    assert doc["files"][1] == {"name": "resumen.json", "media_type": "application/json",
                               "size": len(FILES["resumen.json"]),
                               "sha256": hashlib.sha256(FILES["resumen.json"]).hexdigest(),
                               "rows": None}
    assert build_manifest(**args(sequence=3)) != a


@pytest.mark.parametrize("over", [
    {"period_end": date(2026, 12, 1)},
    {"files": [mfile("a.csv", b"x"), mfile("a.csv", b"y")]},
    {"files": [ManifestFile("a.csv", "text/csv", 1, "ABC", 1)]},
    {"files": [ManifestFile("a.csv", "text/csv", -1, "0" * 64, 1)]},
])
def test_refuses_inconsistent_input(over: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        build_manifest(**args(**over))


def opener(files: dict[str, bytes]) -> Any:
    def open_file(name: str) -> BinaryIO:
        if name not in files:
            raise FileNotFoundError(name)
        return io.BytesIO(files[name])
    return open_file


def test_verify_accepts_the_files_it_lists() -> None:
    assert verify_manifest(build_manifest(**args()), opener(FILES)) == []


def test_verify_detects_tampering_truncation_and_absence() -> None:
    manifest = build_manifest(**args())
    tampered = dict(FILES, **{"avisos.csv": b"a,b\r\n1,3\r\n"})  # same size, other bytes
    assert verify_manifest(manifest, opener(tampered)) == ["avisos.csv"]
    truncated = dict(FILES, **{"resumen.json": FILES["resumen.json"][:-1]})
    assert verify_manifest(manifest, opener(truncated)) == ["resumen.json"]
    assert verify_manifest(manifest, opener({})) == ["avisos.csv", "resumen.json"]


def test_verify_against_a_store(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    prefix = "runs/2026/12/01HRUN"
    for name, data in FILES.items():
        with store.writer(f"{prefix}/{name}") as w:
            w.write(data)
    manifest = build_manifest(**args())
    assert verify_manifest(manifest, lambda n: store.open(f"{prefix}/{n}")) == []
    assert verify_manifest(manifest, lambda n: store.open(f"runs/other/{n}")) == [
        "avisos.csv", "resumen.json"]


@pytest.mark.parametrize("junk", [b"not json", b"[]", b'{"schema": "other/1", "files": []}',
                                  orjson.dumps({"schema": SCHEMA, "files": [{"name": 1}]})])
def test_verify_refuses_what_is_not_a_manifest(junk: bytes) -> None:
    with pytest.raises(ManifestError):
        verify_manifest(junk, opener(FILES))
