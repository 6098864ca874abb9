"""The OpenAPI document names every error an operation answers, as problem+json."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tenure.api.errors import PROBLEM, Problem

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture
def document(app: FastAPI) -> dict[str, Any]:
    """Return the app's OpenAPI document."""
    return app.openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _errors(operation: dict[str, Any]) -> set[int]:
    return {int(code) for code in operation["responses"] if int(code) >= 400}


def test_every_error_response_is_a_documented_problem(document: dict[str, Any]) -> None:
    """Each 4xx/5xx response has only problem+json content with the Problem schema."""
    ref = {"$ref": "#/components/schemas/Problem"}
    for label, operation in _operations(document):
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                assert response["content"] == {PROBLEM: {"schema": ref}}, (label, code)
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["Problem"]["required"] == ["title", "status", "detail"]


def test_every_operation_documents_the_errors_it_can_answer(document: dict[str, Any]) -> None:
    """Credentials → 401; roles → 403; a body → 400 and 413; checked parameters → 422."""
    operations = _operations(document)
    assert len(operations) >= 39
    for label, operation in operations:
        errors = _errors(operation)
        security = str(operation.get("security", ""))
        if security:
            assert 401 in errors, label
        if "OAuth2PasswordBearer" in security and "/v1/auth/" not in label:
            assert 403 in errors, label  # every bearer route outside auth checks a permission
        if "requestBody" in operation:
            assert {400, 413} <= errors, label
        if any(p["in"] in ("path", "query") for p in operation.get("parameters", [])):
            assert 422 in errors, label
    by_label = dict(operations)
    assert {403, 404} <= _errors(by_label["GET /v1/accounts/{account_id}/score"])
    assert {401, 403, 404} <= _errors(by_label["GET /v1/alerts/{alert_id}"])
    assert {409} <= _errors(by_label["DELETE /v1/scorecards/{name}"])
    assert {429} <= _errors(by_label["POST /v1/auth/token"])
    assert {503} <= _errors(by_label["POST /v1/track"]) & _errors(by_label["GET /readyz"])


def test_answers_match_the_problem_schema(client: TestClient) -> None:
    """Real 401, 404, 405 and 422 answers validate against the documented Problem model."""
    answers = [
        client.get("/v1/accounts"),
        client.get("/no-such-path"),
        client.delete("/v1/users"),
        client.post("/v1/scores:batch", json={"ids": ["x"]}),
    ]
    assert [a.status_code for a in answers] == [401, 404, 405, 401]
    for answer in answers:
        assert answer.headers["content-type"] == PROBLEM
        problem = Problem.model_validate(answer.json())
        assert problem.status == answer.status_code and problem.detail


def test_method_not_allowed_lists_every_method_of_the_path(client: TestClient) -> None:
    """A 405 names in Allow all methods some route serves at that path, not just one route's."""
    assert client.delete("/v1/users").headers["allow"] == "GET, POST"
    assert client.post("/v1/scorecards/standard").headers["allow"] == "DELETE, GET, PUT"


def test_tracking_documents_its_400s_and_lets_a_user_alone_name_a_message(
    document: dict[str, Any],
) -> None:
    """Tracking answers schema breaks with 400 (no 422); a batch item is any object."""
    tracking = [
        operation for label, operation in _operations(document) if "tracking" in operation["tags"]
    ]
    assert len(tracking) == 7
    for operation in tracking:
        assert {400, 401, 413} <= _errors(operation) and 422 not in _errors(operation)
    schemas = document["components"]["schemas"]
    items = schemas["SegmentBatch"]["properties"]["batch"]["items"]
    assert items["type"] == "object" and "required" not in items and "anyOf" not in items
    someone = schemas["SegmentMessage"]["anyOf"]
    assert {k: v for k, v in someone[0].items() if k != "properties"} == {
        "type": "object",
        "required": ["userId"],
    }
    assert schemas["AliasMessage"]["required"] == ["userId", "previousId"]
