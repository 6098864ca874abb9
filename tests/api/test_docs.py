"""/docs is Swagger UI served from the app's own static files, under a CSP with no CDN."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.web.assets import VENDOR_DIR


def test_docs_page_loads_only_local_assets(app_settings, app_engine):
    """Every script and stylesheet of /docs is a /static path the app serves; CSP names no host."""
    if not (VENDOR_DIR / "swagger-ui-bundle.js").is_file():
        pytest.skip("vendor assets not installed: run python -m tenure.web.assets")
    with TestClient(create_app(app_settings)) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets and all(url.startswith("/static/") for url in assets)
        for url in assets:
            assert client.get(url).status_code == 200, url
        csp = page.headers["content-security-policy"]
        assert "http" not in csp and "script-src 'self'" in csp
        assert client.get("/openapi.json").json()["info"]["title"] == "Tenure"
