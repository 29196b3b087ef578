"""Configuration: defaults, then environment (``CARDUMEN_*`` and ``DATABASE_URL``), then overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    "ENV": "development",
    "SECRET_KEY": None,  # required in production; a per-process random key otherwise
    "DATABASE_URL": None,  # None: the embedded cluster (server.localdb)
    "DB_POOL_SIZE": 10,
    # PostgreSQL's parallel workers per query on the web app's connections (None: the
    # server's own setting). Jobs and the CLI keep the server's.
    "DB_PARALLEL_WORKERS": 0,
    "ACCESS_TOKEN_TTL": 15 * 60,
    "REFRESH_TOKEN_TTL": 60 * 24 * 3600,
    # Body limits: the wire size (maybe gzip) and the decoded size.
    "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
    "MAX_DECODED_LENGTH": 16 * 1024 * 1024,
    "SYNC_MAX_ITEMS": 1000,
    "SYNC_MAX_BYTES": 8 * 1024 * 1024,
    "FEED_PAGE_SIZE": 500,
    "MAX_CATCH_KG": 20_000.0,
    "MAX_CATCH_COUNT": 1_000_000,
    "CLOCK_SKEW_SECONDS": 10 * 60,
    "MAX_TRIP_DAYS": 60,
    # Login/registration attempts per window, per phone number and per client address.
    "RATE_LIMIT_WINDOW": 300,
    "RATE_LIMIT_PER_PHONE": 10,
    "RATE_LIMIT_PER_ADDRESS": 60,
    "TRUSTED_PROXIES": 0,
    "PORT": 8000,
    "BIND": "127.0.0.1:8000",
    "WORKERS": 2,
    "THREADS": 8,
    "DEFAULT_LOCALE": "es",
    # Reports (issue 3). ARTIFACTS: a directory or file:// URL; None: .cardumen/artifacts.
    "ARTIFACTS": None,
    "SCHEDULER_CRON": "* * * * *",  # how often the worker looks for due reports
    "PUSH_TIMEOUT": 30.0,
    "PUSH_BACKOFF_BASE": 30.0,  # seconds before the 2nd attempt; doubles each time
    "PUSH_MAX_ATTEMPTS": 12,
    # Push to http://127.0.0.1 (tests and local receivers only; never in production).
    "ALLOW_LOOPBACK_HTTP": 0,
    # Aggregated map for authorities (OGC API Features): cells with fewer distinct
    # vessels are suppressed; never below 3, whatever is set.
    "OGC_MIN_VESSELS": 3,
    # Cooperatives' pooled dashboards: the same rule, with secondary suppression.
    "ANALYTICS_MIN_VESSELS": 3,
    # The Ed25519 key that signs catch-history statements (PEM, PKCS#8); made on first
    # use. None: .cardumen/statement-key.pem (CARDUMEN_HOME). Keep it: statements signed
    # with a lost key can no longer be verified against the published key set.
    "STATEMENT_KEY_FILE": None,
    # Marketplace (issue 5). A placed order the seller has not accepted in this many
    # hours expires, and an accepted one not completed in this many days; their stock
    # returns to the listing.
    "MARKET_ACCEPT_HOURS": 24.0,
    "MARKET_COMPLETE_DAYS": 7.0,
    # Cooperatives' ratings are shown pooled, from this many on (never below 3).
    "MARKET_MIN_RATINGS": 3,
    "MARKET_PHOTO_MAX_BYTES": 2 * 1024 * 1024,
    "MARKET_MAX_PHOTOS": 6,
    # Forum (issue 6): posts (threads, replies, edits) and votes (useful votes, flags) per
    # member in a window of FORUM_RATE_WINDOW seconds.
    "FORUM_POSTS_PER_WINDOW": 20,
    "FORUM_VOTES_PER_WINDOW": 120,
    "FORUM_RATE_WINDOW": 600,
    # Governance (issue 6): votes per member and proposals per admin (each one notifies
    # every member) in a window of GOVERNANCE_RATE_WINDOW seconds; a proposal's voting
    # window lasts from GOVERNANCE_MIN_WINDOW_MINUTES to GOVERNANCE_MAX_WINDOW_DAYS.
    "GOVERNANCE_VOTES_PER_WINDOW": 30,
    "GOVERNANCE_PROPOSALS_PER_WINDOW": 20,
    "GOVERNANCE_RATE_WINDOW": 3600,
    "GOVERNANCE_MIN_WINDOW_MINUTES": 60.0,
    "GOVERNANCE_MAX_WINDOW_DAYS": 90.0,
    # The address printed in lots' QR codes (https://example.org); None: the request's host.
    "PUBLIC_URL": None,
}

_INT_KEYS = {k for k, v in DEFAULTS.items() if isinstance(v, int) and not isinstance(v, bool)}
_FLOAT_KEYS = {k for k, v in DEFAULTS.items() if isinstance(v, float)}


class ConfigError(RuntimeError):
    pass


def load(overrides: Mapping[str, Any] | None = None,
         environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    cfg = dict(DEFAULTS)
    for key in DEFAULTS:
        raw = env.get(f"CARDUMEN_{key}")
        if raw is None:
            continue
        try:
            cfg[key] = int(raw) if key in _INT_KEYS else float(raw) if key in _FLOAT_KEYS else raw
        except ValueError as exc:
            raise ConfigError(f"CARDUMEN_{key}={raw!r} is not a number") from exc
    if env.get("DATABASE_URL"):
        cfg["DATABASE_URL"] = env["DATABASE_URL"]
    cfg.update(overrides or {})
    if cfg["DATABASE_URL"]:
        cfg["DATABASE_URL"] = normalize_db_url(cfg["DATABASE_URL"])
    if cfg["ENV"] == "production" and cfg["ALLOW_LOOPBACK_HTTP"]:
        raise ConfigError("CARDUMEN_ALLOW_LOOPBACK_HTTP must not be set in production")
    if cfg["ENV"] == "production" and not cfg["SECRET_KEY"]:
        raise ConfigError("CARDUMEN_SECRET_KEY must be set in production")
    return cfg


def normalize_db_url(url: str) -> str:
    """Accept the libpq forms (postgres://, postgresql://) and pin the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
