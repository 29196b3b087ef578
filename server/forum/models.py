"""Tables of forum (filled by the governance work)."""

from __future__ import annotations
