"""Property-based run of the app's own OpenAPI schema: no response is ever a 5xx."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import duckdb
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tenure.alerts import service as alerts_service
from tenure.api.app import create_app
from tenure.auth import service
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope

EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 4}
# Valid date-times are those the import rules accept (1900-01-01 up to now): positive cases of
# the tracking calls stay valid; negative cases still send anything.
schemathesis.openapi.format(
    "date-time",
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2024, 12, 31)).map(
        lambda moment: moment.replace(tzinfo=UTC).isoformat()
    ),
)
TRACKING = (
    "/v1/track",
    "/v1/identify",
    "/v1/group",
    "/v1/alias",
    "/v1/page",
    "/v1/screen",
    "/v1/batch",
)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Build one app for the whole run, with data, an admin and a write key."""
    from tenure.config import Settings

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz") / "data",
        secret_key="fuzz-signing-key-" + "y" * 32,
        secure_cookies=False,
        stripe_webhook_secret="whsec_fuzz",
    )
    engine = get_engine(settings)
    migrate(engine)
    duckdb.connect(str(settings.warehouse_path)).close()  # ready: /readyz answers 200
    with session_scope(engine) as session:
        admin = service.create_user(session, "admin@example.com", "a long password 1", "admin")
        principal = service.user_principal(admin)
        _, key = service.create_write_key(session, "fuzz")
        alerts_service.ensure_default_rules(session)
    app = create_app(settings, dashboard=False)
    yield {"app": app, "engine": engine, "settings": settings, "principal": principal, "key": key}
    app.state.engine.dispose()
    engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzzed: dict[str, Any]) -> Any:
    """Return the schema loaded from the app's /openapi.json."""
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed["app"])


def _bearer(fuzzed: dict[str, Any]) -> dict[str, str]:
    """Return a fresh admin token (logout revokes the one it is given)."""
    with session_scope(fuzzed["engine"]) as session:
        tokens = service.issue_tokens(fuzzed["settings"], session, fuzzed["principal"])
    return {"Authorization": "Bearer " + tokens["access_token"]}


def _headers(case: Any, fuzzed: dict[str, Any]) -> dict[str, str]:
    if case.path in TRACKING:
        key = base64.b64encode(f"{fuzzed['key']}:".encode()).decode()
        return {"Authorization": f"Basic {key}"}
    return _bearer(fuzzed)


def _run(operation: Any, mode: GenerationMode, fuzzed: dict[str, Any], seen: list) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        response = case.call(headers=_headers(case, fuzzed))
        seen.append((operation.label, mode.value, response.status_code))
        assert response.status_code < 500, (case.method, case.formatted_path, response.text)

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (e.g. no parameters): positive covers it
        assert mode is GenerationMode.NEGATIVE, operation.label


def test_no_server_errors(api_schema: Any, fuzzed: dict[str, Any]) -> None:
    """Every generated request, valid (positive) or not (negative), is answered below 500."""
    seen: list[tuple[str, str, int]] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 39
    for operation in operations:
        for mode in EXAMPLES:
            _run(operation, mode, fuzzed, seen)
    assert all(status < 500 for _, _, status in seen)
    answered = {label for label, _, status in seen if status < 400}
    assert len(answered) > 20, "too few operations ever accepted a generated request"
