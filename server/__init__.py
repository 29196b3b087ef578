"""Cardumen: the Flask application factory."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask

from server import config as config_mod


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    cfg = config_mod.load(overrides)
    app = Flask(__name__)
    app.config.update(cfg)
    if not app.config["SECRET_KEY"]:
        # Development only (production refuses to start without one). On the embedded
        # default the key is kept beside the cluster, so a restart neither logs everyone
        # out nor stops members from changing a vote (ballot keys derive from it);
        # against a given database a throwaway key dies with the process.
        app.config["SECRET_KEY"] = (_local_secret() if not app.config["DATABASE_URL"]
                                    else secrets.token_urlsafe(32))
    if not app.config["DATABASE_URL"]:
        from server import localdb

        cluster = localdb.ensure_cluster()
        localdb.ensure_database(cluster.conninfo(), "cardumen")
        app.config["DATABASE_URL"] = cluster.url("cardumen")
    app.json.sort_keys = False  # type: ignore[attr-defined]

    import geo.messages
    from server import api, db, errors, http, i18n
    from server.analytics import messages as analytics_messages
    from server.consent import messages as consent_messages
    from server.forum import messages as forum_messages
    from server.governance import messages as governance_messages
    from server.market import messages as market_messages
    from server.reports import messages as report_messages

    i18n.register(geo.messages.MESSAGES)
    i18n.register(report_messages.MESSAGES)
    i18n.register(consent_messages.MESSAGES)
    i18n.register(analytics_messages.MESSAGES)
    i18n.register(market_messages.MESSAGES)
    i18n.register(forum_messages.MESSAGES)
    i18n.register(governance_messages.MESSAGES)
    db.init_app(app, app.config["DATABASE_URL"])
    http.init_app(app)
    api.init_app(app)
    errors.register(app)  # after flask-smorest, whose own handler it replaces
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    return app


def _local_secret() -> str:
    """The development key of the embedded default, made once (readable by its owner only)."""
    import os

    from server import localdb

    path = localdb.state_dir() / "secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"secret-key.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
        try:
            os.link(tmp, path)  # whole or not at all; the first of two processes wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
