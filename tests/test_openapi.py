"""The OpenAPI document and the offline Swagger UI."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.conftest import Api

MAIN_PATHS = {
    "/api/v1/sync/push": "post",
    "/api/v1/sync/changes": "get",
    "/api/v1/auth/login": "post",
    "/api/v1/auth/register": "post",
    "/api/v1/auth/refresh": "post",
    "/api/v1/me": "get",
    "/api/v1/catalog/species": "get",
    "/api/v1/catalog/gear": "get",
    "/api/v1/catalog/ports": "get",
    "/api/v1/catalog/zones": "post",
    "/api/v1/catalog/zones/{zone_id}": "delete",
    "/api/v1/catalog/changes": "get",
    "/api/v1/organizations": "get",
    "/api/v1/organizations/{org_id}/vessels": "get",
    "/api/v1/catches/{catch_id}": "patch",
    "/healthz": "get",
    "/readyz": "get",
}


@pytest.fixture(scope="module")
def spec(app: Flask) -> dict[str, Any]:
    r = app.test_client().get("/api/openapi.json")
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    body: dict[str, Any] = r.get_json()
    return body


def test_is_openapi_3_1(spec: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.1\.\d+", spec["openapi"]), spec["openapi"]
    assert spec["info"]["title"] == "Cardumen"
    assert spec["info"]["version"] == "v1"
    assert spec["info"]["license"]["name"] == "AGPL-3.0-or-later"
    assert "application/problem+json" in spec["info"]["description"]


@pytest.mark.parametrize(("path", "method"), sorted(MAIN_PATHS.items()))
def test_lists_main_paths(spec: dict[str, Any], path: str, method: str) -> None:
    assert path in spec["paths"], sorted(spec["paths"])
    assert method in spec["paths"][path]


def test_bearer_security_scheme(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    # Protected operations say so; public ones do not.
    assert spec["paths"]["/api/v1/sync/push"]["post"]["security"] == [{"bearer": []}]
    assert spec["paths"]["/api/v1/catalog/zones"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in spec["paths"]["/api/v1/auth/login"]["post"]
    assert "security" not in spec["paths"]["/api/v1/catalog/species"]["get"]


def test_zone_upload_documents_geojson_body(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/api/v1/catalog/zones"]["post"]["requestBody"]
    assert body["required"] is True
    assert "application/geo+json" in body["content"]


def test_numeric_bounds_are_numbers(spec: dict[str, Any]) -> None:
    """Decimal bounds must not be rendered as strings (that makes the spec invalid)."""
    bad = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") and \
                        not isinstance(v, int | float):
                    bad.append(f"{where}.{k}={v!r}")
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}.{i}")

    walk(spec, "")
    assert bad == []


def test_spec_validates(spec: dict[str, Any]) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(spec)


def test_docs_page_is_offline(anon: Api) -> None:
    r = anon.get("/api/docs")
    assert r.status_code == 200
    assert r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert re.findall(r"https?://", html) == []  # nothing from a CDN, no absolute URLs
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/api/docs/static/swagger-ui-bundle.js" in assets
    assert "/api/docs/static/swagger-ui.css" in assets
    assert '"/api/openapi.json"' in html


def test_docs_assets_are_served(anon: Api) -> None:
    html = anon.get("/api/docs").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) >= 2
    for asset in assets:
        r = anon.get(asset)
        assert r.status_code == 200, asset
        assert len(r.get_data()) > 1000, asset
        r.close()
    js = anon.get("/api/docs/static/swagger-ui-bundle.js")
    assert js.mimetype in ("text/javascript", "application/javascript")
    assert b"SwaggerUIBundle" in js.get_data()
    js.close()
    css = anon.get("/api/docs/static/swagger-ui.css")
    assert css.mimetype == "text/css"
    css.close()


def test_docs_static_does_not_escape_its_folder(anon: Api) -> None:
    r = anon.get("/api/docs/static/../../../../etc/passwd")
    assert r.status_code == 404
    assert r.mimetype == "application/problem+json"
    r = anon.get("/api/docs/static/missing.js")
    assert r.status_code == 404
    assert r.mimetype == "application/problem+json"
