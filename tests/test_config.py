"""The development secret of the embedded default: made once, kept, readable by its owner."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import server


def test_the_local_secret_is_made_once_and_kept(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARDUMEN_HOME", str(tmp_path / "state"))
    first = server._local_secret()
    assert len(first) >= 32
    assert server._local_secret() == first  # a restart keeps it
    key = tmp_path / "state" / "secret-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert [p.name for p in key.parent.iterdir()] == ["secret-key"]  # no temporary left
    monkeypatch.setenv("CARDUMEN_HOME", str(tmp_path / "other"))
    assert server._local_secret() != first
