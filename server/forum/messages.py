"""Error and field messages of the forum, in Spanish and English."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {}
