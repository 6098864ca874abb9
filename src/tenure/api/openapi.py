"""The OpenAPI document, made true: every error an operation can answer, as problem+json.

Routes name the errors their own code raises with `responses=errors.responses(404, ...)`;
dependencies name theirs with `answers(...)` (the caller check answers 401, a permission
check 403); an operation with a request body can answer 400 (FastAPI cannot read it) and 413
(the body-size middleware). A route class with `validation_status` (e.g. tracking's 400) answers
schema breaks with that status, so FastAPI's 422 is not documented for it.
`install_openapi` collects all of them and documents each error once, with the Problem schema
under `application/problem+json`, in place of FastAPI's JSON validation error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from tenure.api.errors import DESCRIPTIONS, PROBLEM, Problem

REF = "#/components/schemas/{model}"
PROBLEM_REF = {"$ref": REF.format(model="Problem")}
HEADERS = {
    401: {"WWW-Authenticate": "The authentication scheme to use (Bearer or Basic)"},
    429: {"Retry-After": "Seconds to wait before trying again"},
    503: {"Retry-After": "Seconds to wait before trying again (when the outage is passing)"},
}
UNUSED = ("HTTPValidationError", "ValidationError")


def answers(*statuses: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a dependency with the error statuses it can answer (documented on its routes)."""

    def mark(dependency: Callable[..., Any]) -> Callable[..., Any]:
        dependency.error_statuses = statuses  # type: ignore[attr-defined]
        return dependency

    return mark


def reads_body(model: type[BaseModel]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark an endpoint that reads its JSON body itself (e.g. after a signature check) as model."""

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        endpoint.body_model = model  # type: ignore[attr-defined]
        return endpoint

    return mark


def _body_model(route: Any) -> type[BaseModel] | None:
    return getattr(route.endpoint, "body_model", None)


def _dependency_statuses(dependant: Dependant) -> Iterator[int]:
    """Yield the error statuses marked on a route's dependencies, however deep."""
    for sub in dependant.dependencies:
        yield from getattr(sub.call, "error_statuses", ())
        yield from _dependency_statuses(sub)


def route_error_statuses(route: Any) -> set[int]:
    """Return every error status a route can answer: its own, its dependencies', its body's."""
    statuses = {int(code) for code in route.responses if str(code).isdigit()}
    statuses = {code for code in statuses if code >= 400}
    statuses.update(_dependency_statuses(route.dependant))
    if route.body_field is not None or _body_model(route) is not None:
        statuses.update((400, 413))  # a body that is not text (FastAPI), or too large
    return statuses


def problem_response(status: int) -> dict[str, Any]:
    """Return the OpenAPI response object of one error status."""
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {PROBLEM: {"schema": PROBLEM_REF}},
    }
    if status in HEADERS:
        response["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in HEADERS[status].items()
        }
    return response


def _document_errors(operation: dict[str, Any], statuses: set[int]) -> None:
    """Replace the operation's error responses with problem+json ones, one per status."""
    responses = operation.setdefault("responses", {})
    statuses |= {int(code) for code in responses if code.isdigit() and int(code) >= 400}
    for status in sorted(statuses):
        responses[str(status)] = problem_response(status)
    operation["responses"] = dict(sorted(responses.items()))


def _json_body(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    """Return a required JSON request body of model; add its schemas to the components."""
    _, definitions = models_json_schema([(model, "validation")], ref_template=REF)
    schemas.update(definitions.get("$defs", {}))
    ref = {"$ref": REF.format(model=model.__name__)}
    return {"required": True, "content": {"application/json": {"schema": ref}}}


def _operations(app: FastAPI) -> Iterator[tuple[Any, str]]:
    """Yield each documented route (as included: prefix, router responses) and its methods."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in sorted(route.methods):
                yield route, method.lower()


def build_document(app: FastAPI) -> dict[str, Any]:
    """Return the app's OpenAPI document with every error response documented."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for route, method in _operations(app):
        operation = document["paths"][route.path_format][method]
        if getattr(route.original_route, "validation_status", 422) != 422:
            operation["responses"].pop("422", None)  # the route answers schema breaks otherwise
        _document_errors(operation, route_error_statuses(route))
        model = _body_model(route)
        if model is not None:
            operation["requestBody"] = _json_body(model, schemas)
    for name in UNUSED:
        schemas.pop(name, None)
    schemas["Problem"] = Problem.model_json_schema()
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the document build_document returns (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
