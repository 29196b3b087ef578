"""Tables of governance (filled by the governance work)."""

from __future__ import annotations
