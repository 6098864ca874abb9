"""The server shell: problem+json errors, security headers, health, readiness, metrics, docs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tenure.api.app import create_app
from tenure.db.session import session_scope


def test_errors_are_problem_json(client: TestClient, role_headers: dict[str, Any]) -> None:
    """Unknown routes, missing accounts and bad parameters answer problem+json 4xx."""
    admin = role_headers["admin"]
    cases = {
        "/nowhere": 404,
        "/v1/accounts/987654": 404,
        "/v1/accounts/not-a-number": 422,
        "/v1/accounts?limit=0": 422,
        "/v1/accounts?sort=shoe-size": 422,
        "/v1/accounts?segment=ghosts": 404,
        "/v1/metrics/summary?month=2025-13": 422,
    }
    for url, status in cases.items():
        response = client.get(url, headers=admin)
        assert response.status_code == status, (url, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == status and body["detail"]
    validation = client.get("/v1/accounts?limit=0", headers=admin).json()
    assert validation["errors"][0]["loc"] == "query.limit"
    assert (
        client.get("/v1/accounts/987654", headers=admin).json()["detail"]
        == "no account with id 987654"
    )


def test_malformed_json_body_is_422_not_500(client: TestClient, role_headers: Any) -> None:
    """A body that is not JSON is a validation problem."""
    response = client.post(
        "/v1/scores:batch",
        content=b"{ids: [1,",
        headers={**role_headers["admin"], "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_security_headers_on_every_response(client: TestClient) -> None:
    """CSP without inline script, nosniff, no framing, a referrer policy — on errors too."""
    for url in ("/healthz", "/nowhere"):
        headers = client.get(url).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "strict-transport-security" not in headers  # plain-HTTP test settings


def test_hsts_only_over_https(app_settings: Any, app_engine: Any) -> None:
    """With secure cookies, HSTS goes with HTTPS responses only (TLS or a trusted proxy's word)."""
    secure = {"secure_cookies": True, "trusted_proxies": ["testclient"]}
    app = create_app(app_settings.model_copy(update=secure), dashboard=False)
    with TestClient(app, base_url="https://testserver") as client:
        assert "max-age" in client.get("/healthz").headers["strict-transport-security"]
    with TestClient(app) as client:
        assert "strict-transport-security" not in client.get("/healthz").headers
        proxied = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert "max-age" in proxied.headers["strict-transport-security"]
    untrusted = create_app(
        app_settings.model_copy(update={"secure_cookies": True}), dashboard=False
    )
    with TestClient(untrusted) as client:
        forged = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in forged.headers
    app.state.engine.dispose()
    untrusted.state.engine.dispose()


def test_readiness_follows_the_warehouse(client: TestClient, app_settings: Any) -> None:
    """Not ready without a warehouse file; ready once it exists and the DB answers."""
    missing = client.get("/readyz")
    assert missing.status_code == 503 and "warehouse" in missing.json()["detail"]
    duckdb.connect(str(app_settings.warehouse_path)).close()
    assert client.get("/readyz").json() == {"status": "ready"}
    assert client.get("/healthz").json() == {"status": "ok"}


def test_metrics_count_requests_by_route_template(client: TestClient, role_headers: Any) -> None:
    """/metrics counts requests per route template (not per id) and reports serving gauges."""
    for account_id in (1, 2, 3):
        client.get(f"/v1/accounts/{account_id}/score", headers=role_headers["viewer"])
    text = client.get("/metrics").text
    line = 'tenure_http_requests_total{method="GET",route="/v1/accounts/{account_id}/score",'
    assert line + 'status="404"} 3.0' in text
    assert "tenure_http_request_seconds_bucket" in text
    assert 'tenure_last_pipeline_run_timestamp_seconds{table="health_score"} 0.0' in text
    assert "tenure_event_inbox_backlog 0.0" in text
    assert "tenure_task_queue_depth 0.0" in text


def test_metrics_report_pipeline_runs(client: TestClient, app_engine: Any) -> None:
    """The newest finished run of each stage shows up by stage and status."""
    from tenure.warehouse.models import PipelineRun

    with session_scope(app_engine) as session:
        for day, status in ((date(2025, 6, 29), "ok"), (date(2025, 6, 30), "failed")):
            at = datetime(day.year, day.month, day.day, 3, tzinfo=UTC)
            session.add(
                PipelineRun(
                    as_of=day,
                    stage="health",
                    status=status,
                    started_at=at,
                    finished_at=at,
                    summary={},
                )
            )
    samples = {
        (s.name, s.labels.get("stage"), s.labels.get("status")): s.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for s in family.samples
    }
    finished = "tenure_pipeline_stage_finished_timestamp_seconds"
    as_of = "tenure_pipeline_stage_as_of_timestamp_seconds"
    assert samples[(finished, "health", "ok")] == datetime(2025, 6, 29, 3, tzinfo=UTC).timestamp()
    assert samples[(as_of, "health", "failed")] == datetime(2025, 6, 30, tzinfo=UTC).timestamp()


def test_openapi_and_docs(client: TestClient) -> None:
    """The OpenAPI schema lists the v1 routes and /docs serves Swagger UI."""
    schema = client.get("/openapi.json").json()
    assert "/v1/accounts/{account_id}/score" in schema["paths"]
    assert schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]["type"] == "oauth2"
    assert "swagger-ui" in client.get("/docs").text


def test_dashboard_is_included_when_present(app_settings: Any, app_engine: Any) -> None:
    """create_app includes the web package's router and static files, under the same headers."""
    pytest.importorskip("tenure.web.routes")
    app = create_app(app_settings)
    with TestClient(app) as client:
        schema_paths = set(client.get("/openapi.json").json()["paths"])
        login = client.get("/login")
        assert login.status_code == 200 and "text/html" in login.headers["content-type"]
        assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
        assert client.get("/static/does-not-exist.css").status_code == 404
    assert "/v1/accounts" in schema_paths
    app.state.engine.dispose()
