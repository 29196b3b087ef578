"""flask-smorest setup: OpenAPI 3.1, offline docs, and every domain's blueprint."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import swagger_ui_bundle
from flask import Flask, send_from_directory
from flask.typing import ResponseReturnValue
from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser

from server.http import NUL_REASON, has_nul


class OrjsonParser(FlaskParser):
    """Parse bodies with orjson: faster on sync batches, and NaN/Infinity are not JSON."""

    def _raw_load_json(self, req: Any) -> Any:
        data = req.get_data(cache=True)
        if not data:
            raise orjson.JSONDecodeError("empty", "", 0)
        value = orjson.loads(data)
        if has_nul(data):
            # Reported as malformed JSON (400) like any other unusable body.
            raise orjson.JSONDecodeError(NUL_REASON, data.decode("utf-8", "replace"), 0)
        return value


Blueprint.ARGUMENTS_PARSER = OrjsonParser()

DOCS_STATIC = "/api/docs/static/"

API_DESCRIPTION = """\
Cardumen: fishers log each catch once, from a phone, and the record feeds the
government reports, their own analytics, the cooperative's pooled figures and
the marketplace.

**Authentication**: `POST /api/v1/auth/login` returns a short-lived access token
(send it as `Authorization: Bearer <token>`) and a rotating refresh token.

**Errors** are `application/problem+json` (RFC 9457) with `errors[]` naming each
field at fault; texts in Spanish or English per `Accept-Language` (Spanish by default).

**Bodies** may be sent gzip-compressed (`Content-Encoding: gzip`).
"""


_NUMERIC_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def _decimal_bounds(_converter: Any, _field: Any, ret: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Decimal bounds (``Range(max=Decimal("10000000.00"))``) as JSON numbers: the
    JSON encoder would write them as strings, which makes the spec invalid.
    (An apispec attribute function: it is bound to the field converter.)"""
    return {k: float(ret[k]) for k in _NUMERIC_KEYWORDS if isinstance(ret.get(k), Decimal)}


def init_app(app: Flask) -> None:
    app.config.update(
        API_TITLE="Cardumen",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=DOCS_STATIC,
        API_SPEC_OPTIONS={
            "info": {"description": API_DESCRIPTION,
                     "license": {"name": "AGPL-3.0-or-later"}},
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        },
    )
    api = Api(app)
    api.ma_plugin.converter.add_attribute_function(_decimal_bounds)
    app.extensions["cardumen.api"] = api

    @app.get(DOCS_STATIC + "<path:filename>")
    def _docs_static(filename: str) -> ResponseReturnValue:
        # Swagger UI from the swagger-ui-bundle wheel: the docs work offline.
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)

    from server.analytics.api import blp as analytics_blp
    from server.catalog.api import blp as catalog_blp
    from server.catches.api import blp as catches_blp
    from server.consent.api import blp as consent_blp
    from server.fleet.api import blp as fleet_blp
    from server.forum.api import blp as forum_blp
    from server.governance.api import blp as governance_blp
    from server.health import blp as health_blp
    from server.market.api import blp as market_blp
    from server.market.api import short as lots_bp
    from server.members.api import auth_blp, orgs_blp
    from server.notifications.api import blp as notifications_blp
    from server.ogc.api import bp as ogc_bp
    from server.reports.api import blp as reports_blp

    for blp in (health_blp, auth_blp, orgs_blp, fleet_blp, catalog_blp, catches_blp, consent_blp,
                analytics_blp, reports_blp, market_blp, notifications_blp, forum_blp,
                governance_blp):
        api.register_blueprint(blp)
    app.register_blueprint(lots_bp)  # /p/<code>: a lot's short URL, for QR codes
    app.register_blueprint(ogc_bp)  # OGC API Features: its own documents, not flask-smorest's
