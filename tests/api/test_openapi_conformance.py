"""Schemathesis over every operation with its conformance checks on: the OpenAPI document is true.

The run is schemathesis' own engine (the phases and checks its CLI runs: examples, coverage,
fuzzing and stateful; not_a_server_error, status code / content type / response schema / header
conformance, positive data acceptance, negative data rejection, use-after-free, resource
availability, missing required header, ignored auth, unsupported method, Allow header) against
the ASGI app, authenticated, with a fixed seed. Any failure fails the test with the whole list.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import duckdb
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.engine.statistic import Statistic

from tenure import clock
from tenure.alerts import service as alerts_service
from tenure.api.app import create_app
from tenure.auth import service
from tenure.billing.stripe import sign
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope

from .conftest import add_account, api_settings

pytestmark = pytest.mark.slow

WEBHOOK_SECRET = "whsec_conformance"
TRACKING = (
    "/v1/track",
    "/v1/identify",
    "/v1/group",
    "/v1/alias",
    "/v1/page",
    "/v1/screen",
    "/v1/batch",
)
STRIPE = "/v1/webhooks/stripe"
SIGNATURE = re.compile(r"^t=[0-9]{1,12},v1=[0-9a-f]{64}$")
# What schemathesis counts as a rejection, plus 413: a batch over its maxItems is refused by
# the body-size limit before it is parsed, which is a rejection too.
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
# Scorecards, alert rules and message templates are definitions the domain validates
# (tenure.health.scorecards, tenure.alerts.rules, tenure.messaging.validation) with rules JSON
# Schema cannot state: thresholds and tier maxima that increase, a set that keeps a catch-all,
# params that depend on the kind, a template that parses and names only known variables. A
# schema-valid definition can still be refused there, with a 400 or 422 naming the field.
DEFINITIONS = ["PUT /v1/scorecards/{name}", "PUT /v1/alert-rules/{name}", "POST /v1/templates"]
ACCEPTANCE = ["2xx", "3xx", "401", "403", "404", "409", "429"]
CONFIG = {
    "seed": 20261207,
    "continue-on-failure": True,
    # A batch of thousands of messages can take over the 10 s default on a busy CI machine.
    "request-timeout": 60,
    "generation": {"max-examples": 4, "deterministic": True},
    "checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}},
    "phases": {"stateful": {"max-steps": 20}},
    "operations": [
        {
            "include-name": DEFINITIONS,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*ACCEPTANCE, "400", "422"]}
            },
        },
        # Mailgun signs inside the body (signature.timestamp + token): a generated body never
        # carries a valid signature, so the webhook answers 400 (the served app has a key).
        {
            "include-name": ["POST /v1/webhooks/email/mailgun"],
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*ACCEPTANCE, "400", "503"]}
            },
        },
    ],
}

# Event times the import rules accept run from 1900 to now (a bound that moves, so no static
# schema can state it): valid cases are drawn from that range; invalid ones still send anything.
schemathesis.openapi.format(
    "date-time",
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2024, 12, 31)).map(
        lambda moment: moment.replace(tzinfo=UTC).isoformat()
    ),
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Build one app with an account, an admin, a write key and the default alert rules."""
    settings = api_settings(
        tmp_path_factory.mktemp("conformance") / "data",
        stripe_webhook_secret=WEBHOOK_SECRET,
        mailgun_webhook_signing_key="mailgun-conformance-key",  # on: bad signatures are a 400
    )
    engine = get_engine(settings)
    migrate(engine)
    duckdb.connect(str(settings.warehouse_path)).close()  # ready: /readyz answers 200
    with session_scope(engine) as session:
        add_account(session, "acme", health=(72.0, "yellow"), churn=(0.2, "low"))
        admin = service.create_user(session, "admin@example.com", "a long password 1", "admin")
        _, key = service.create_write_key(session, "conformance")
        alerts_service.ensure_default_rules(session)
    app = create_app(settings, dashboard=False)
    yield {
        "app": app,
        "engine": engine,
        "settings": settings,
        "principal": service.user_principal(admin),
        "key": key,
    }
    app.state.engine.dispose()
    engine.dispose()


def _as_sent(body: Any) -> bytes | None:
    """Return the bytes the test transport sends for a body (None: not a JSON body)."""
    if isinstance(body, bytes):
        return body
    try:
        return json.dumps(body).encode()
    except TypeError:  # no body, or one JSON cannot carry
        return None


def _signed(case: Any) -> None:
    """Sign a webhook body whose Stripe-Signature has the documented shape (leave others)."""
    headers = case.headers or {}
    if isinstance(headers.get("Stripe-Signature"), str) and SIGNATURE.match(
        headers["Stripe-Signature"]
    ):
        stamp = int(clock.now().timestamp())
        payload = _as_sent(case.body)
        if payload is None:
            return
        signature = sign(payload, WEBHOOK_SECRET, stamp)
        case.headers = {**headers, "Stripe-Signature": f"t={stamp},v1={signature}"}


def _schema(served: dict[str, Any]) -> Any:
    """Load the app's document with the run's settings and its three kinds of credentials."""
    config = SchemathesisConfig.from_dict(CONFIG)
    schema = schemathesis.openapi.from_asgi("/openapi.json", served["app"], config=config)

    @schema.auth(refresh_interval=None)  # a fresh token per case: logout revokes the one it gets
    class Credentials:
        def get(self, case: Any, ctx: Any) -> str:
            if case.path in TRACKING:
                return "Basic " + base64.b64encode(f"{served['key']}:".encode()).decode()
            if case.path == STRIPE:
                return "signature"
            with session_scope(served["engine"]) as session:
                tokens = service.issue_tokens(served["settings"], session, served["principal"])
            return "Bearer " + tokens["access_token"]

        def set(self, case: Any, data: str, ctx: Any) -> None:
            if case.path == STRIPE:
                _signed(case)
            else:
                case.headers = {**(case.headers or {}), "Authorization": data}

    return schema


def _run(schema: Any) -> tuple[Statistic, Counter[str], list[str]]:
    """Run every phase; return the statistics, answers by status class, and run errors."""
    statistic, answers, errors = Statistic(), Counter(), []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            statistic.on_scenario_finished(event.recorder)
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    answers[f"{interaction.response.status_code // 100}xx"] += 1
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            errors.append(f"engine: {event.exception!r}")
    return statistic, answers, errors


def _failures(statistic: Statistic) -> list[str]:
    """Return one line per failure: operation, check failure kind, status, first lines."""
    lines = []
    for label, grouped in sorted(statistic.failures.items()):
        for entry in grouped.values():
            response = entry.response
            status = response.status_code if response is not None else None
            answer = response.content[:200].decode("utf-8", "replace") if response else ""
            for failure in entry.failures:
                text = " | ".join(failure.message.splitlines()[:3])
                lines.append(f"{label} [{status}] {type(failure).__name__}: {text} -> {answer}")
    return lines


def test_the_document_is_true(served: dict[str, Any]) -> None:
    """Every phase and check of schemathesis passes on every operation."""
    statistic, answers, errors = _run(_schema(served))
    assert (errors, _failures(statistic)) == ([], [])
    assert len(statistic.tested_operations) >= 39
    assert answers["2xx"] > 100, answers  # the credentials worked: many requests were served
    assert answers["5xx"] == 0
