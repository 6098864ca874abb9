"""Segment-compatible tracking: write keys, field mapping, durable dedupe, size limit."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tenure import clock
from tenure.auth import service
from tenure.db.session import session_scope
from tenure.events.models import InboxEvent
from tenure.notifications import get_bus


@pytest.fixture
def write_key(app_engine: Any) -> str:
    """Return a fresh write key."""
    with session_scope(app_engine) as session:
        _, key = service.create_write_key(session, "website")
    return key


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def _inbox(engine: Any) -> list[InboxEvent]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(InboxEvent).order_by(InboxEvent.id)))


def test_track_is_stored_before_ack_and_deduplicated(
    client: TestClient, app_engine: Any, write_key: str
) -> None:
    """A track call lands in the inbox; the same messageId again is accepted and ignored."""
    message = {
        "type": "track",
        "messageId": "ajs-msg-1",
        "event": "Report Exported",
        "userId": "user-7",
        "properties": {"format": "csv", "account_id": "ACME"},
        "timestamp": "2025-06-30T09:15:00+02:00",
    }
    first = client.post("/v1/track", json=message, headers=_auth(write_key))
    assert first.json() == {
        "success": True,
        "accepted": 1,
        "duplicates": 0,
        "held": 0,
        "rejected": [],
    }
    again = client.post("/v1/track", json=message, headers=_auth(write_key))
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 1)
    [event] = _inbox(app_engine)
    assert (event.message_id, event.name, event.account_external_id) == (
        "ajs-msg-1",
        "Report Exported",
        "ACME",
    )
    assert event.contact_external_id == "user-7" and event.source == "segment"
    assert event.ts.isoformat() == "2025-06-30T07:15:00+00:00"
    assert event.properties == {"format": "csv", "account_id": "ACME"}


def test_batch_maps_every_call_type(client: TestClient, app_engine: Any, write_key: str) -> None:
    """identify → traits, group → groupId, page → page_viewed; duplicates in a batch count once."""
    batch = {
        "batch": [
            {"type": "identify", "messageId": "m1", "userId": "u1", "traits": {"account_id": "A"}},
            {
                "type": "group",
                "messageId": "m2",
                "userId": "u1",
                "groupId": "B",
                "traits": {"seats": 4},
            },
            {"type": "page", "messageId": "m3", "anonymousId": "anon-1", "name": "Pricing"},
            {"type": "track", "messageId": "m3", "event": "dup", "userId": "u1"},
        ],
        "context": {"groupId": "C"},
    }
    response = client.post("/v1/batch", json=batch, headers=_auth(write_key))
    assert response.status_code == 200
    answer = response.json()
    assert (answer["accepted"], answer["duplicates"], answer["held"]) == (3, 1, 0)
    rows = {e.message_id: e for e in _inbox(app_engine)}
    assert (rows["m1"].name, rows["m1"].account_external_id) == ("identify", "C")
    assert (rows["m2"].name, rows["m2"].properties) == ("group", {"seats": 4})
    assert (rows["m3"].name, rows["m3"].contact_external_id) == ("page_viewed", "anon-1")
    assert rows["m3"].properties == {"name": "Pricing"}


def test_group_call_uses_group_id_when_no_context(
    client: TestClient, app_engine: Any, write_key: str
) -> None:
    """Without context.groupId a group call's groupId names the account."""
    body = {"messageId": "g1", "userId": "u", "groupId": "ACC-9", "traits": {"name": "Acme"}}
    assert client.post("/v1/group", json=body, headers=_auth(write_key)).status_code == 200
    assert _inbox(app_engine)[0].account_external_id == "ACC-9"


def test_a_bad_message_is_rejected_alone_and_a_malformed_batch_is_400(
    client: TestClient, app_engine: Any, write_key: str
) -> None:
    """Bad messages are listed with their reason, the rest land; only a bad batch is a 400."""
    batch = {
        "batch": [
            {"type": "track", "messageId": "ok", "event": "e", "context": {"groupId": "A"}},
            {"type": "track", "messageId": "nameless", "userId": "u"},
            {"messageId": "untyped", "event": "e", "userId": "u"},
            {"type": "track", "messageId": "when", "event": "e", "userId": "u", "timestamp": "x"},
            {"type": "track", "messageId": "nobody", "event": "e"},
            {"type": "track", "messageId": "held", "event": "e", "userId": "stranger"},
        ]
    }
    response = client.post("/v1/batch", json=batch, headers=_auth(write_key))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["accepted"], answer["held"]) == (2, 1)
    reasons = {r["message_id"]: (r["index"], r["reason"]) for r in answer["rejected"]}
    assert reasons["nameless"] == (1, "message 1 (nameless): a track call needs an event name")
    assert "needs a type" in reasons["untyped"][1]
    assert reasons["when"][1].startswith("timestamp:")
    assert "no account and no user" in reasons["nobody"][1]
    assert {e.message_id: e.account_external_id for e in _inbox(app_engine)} == {
        "ok": "A",
        "held": None,
    }
    for malformed in ({"batch": "no"}, {"batch": [1, 2]}, [{"type": "track"}]):
        bad = client.post("/v1/batch", json=malformed, headers=_auth(write_key))
        assert bad.status_code == 400, bad.text
        assert bad.json()["detail"].startswith("malformed request: ")
        assert bad.headers["content-type"] == "application/problem+json"
    nameless = client.post("/v1/track", json={"groupId": "A"}, headers=_auth(write_key))
    assert nameless.status_code == 400
    assert len(_inbox(app_engine)) == 2


def test_write_key_required(client: TestClient, write_key: str) -> None:
    """No key or an unknown key is a 401 with a Basic challenge, even for a bad message."""
    body = {"event": "e", "context": {"groupId": "A"}}
    for headers in ({}, _auth("wk_unknown")):
        bad = client.post("/v1/track", json={"userId": "u"}, headers=headers)
        assert bad.status_code == 401, bad.text
        response = client.post("/v1/track", json=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic")


def test_oversized_batch_is_413(
    client: TestClient, app_engine: Any, write_key: str, app_settings: Any
) -> None:
    """A body past max_request_bytes is refused with 413 problem+json, by header or by stream."""
    message = {"type": "track", "event": "e", "context": {"groupId": "A"}, "properties": {}}
    message["properties"]["blob"] = "x" * 1000
    count = app_settings.max_request_bytes // 1000 + 10
    body = json.dumps({"batch": [{**message, "messageId": str(i)} for i in range(count)]})
    response = client.post(
        "/v1/batch",
        content=body,
        headers={**_auth(write_key), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert str(app_settings.max_request_bytes) in response.json()["detail"]

    def chunks():  # no Content-Length: the limit applies while reading
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536].encode()

    streamed = client.post(
        "/v1/batch",
        content=chunks(),
        headers={**_auth(write_key), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert _inbox(app_engine) == []


def test_known_accounts_get_a_live_notification(
    client: TestClient, app_engine: Any, write_key: str, make_account: Any
) -> None:
    """After the events are stored, subscribers hear events_recorded for each known account."""
    with session_scope(app_engine) as session:
        account_id = make_account(session, "LIVE").id
    with get_bus().subscribe() as subscription:
        body = {"event": "Login", "userId": "u", "context": {"groupId": "LIVE"}}
        client.post("/v1/track", json=body, headers=_auth(write_key))
        notes = [n for n in subscription.drain() if n.kind == "events_recorded"]
    assert [(n.account_id, n.payload["count"]) for n in notes] == [(account_id, 1)]


def test_track_with_year_one_is_a_400(client: TestClient, app_engine: Any, write_key: str) -> None:
    """A year-1 timestamp (out of range once shifted to UTC) is a 400 naming it, not a 500."""
    message = {
        "type": "track",
        "event": "x",
        "userId": "u",
        "properties": {"account_id": "ACME"},
        "timestamp": "0001-01-01T00:30:00+01:00",
    }
    answer = client.post("/v1/track", json=message, headers=_auth(write_key))
    assert answer.status_code == 400, answer.text
    assert "timestamp" in answer.json()["detail"]
    far = client.post(
        "/v1/track", json={**message, "timestamp": "9999-12-31T00:00:00Z"}, headers=_auth(write_key)
    )
    assert far.status_code == 400 and "in the future" in far.json()["detail"]
    assert _inbox(app_engine) == []


def _nested(depth: int) -> dict[str, Any]:
    """Return an object nesting `depth` levels of objects (itself being the first)."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_deep_or_large_json_is_400_naming_the_field_and_nothing_lands(
    client: TestClient, app_engine: Any, write_key: str
) -> None:
    """properties/traits/context nested past 32 levels or over 32 KB are refused on every call.

    In a batch the message is rejected by itself (200, listed in `rejected`).
    """
    base = {"messageId": "m-deep", "userId": "u", "context": {"groupId": "A"}}
    cases = [
        ("/v1/track", {**base, "event": "e", "properties": _nested(260)}, "properties"),
        ("/v1/page", {**base, "properties": _nested(33)}, "properties"),
        ("/v1/identify", {**base, "traits": {"x": [_nested(40)]}}, "traits"),
        ("/v1/group", {**base, "groupId": "A", "context": _nested(33)}, "context"),
        ("/v1/track", {**base, "event": "e", "properties": {"x": "y" * 33_000}}, "properties"),
        (
            "/v1/batch",
            {"batch": [{**base, "type": "track", "event": "e"}], "context": _nested(40)},
            "context",
        ),
    ]
    deep_screen = {"batch": [{**base, "type": "screen", "properties": _nested(50)}]}
    answer = client.post("/v1/batch", json=deep_screen, headers=_auth(write_key)).json()
    assert answer["accepted"] == 0
    assert answer["rejected"][0]["reason"].startswith("properties of message m-deep")
    for path, body, field in cases:
        response = client.post(path, json=body, headers=_auth(write_key))
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"].startswith(field), response.json()["detail"]
    assert _inbox(app_engine) == []
    at_limit = {**base, "event": "e", "properties": _nested(32)}
    assert client.post("/v1/track", json=at_limit, headers=_auth(write_key)).status_code == 200


def test_an_account_with_the_deepest_accepted_properties_is_still_served(
    client: TestClient, app_engine: Any, write_key: str, make_account: Any, role_headers: Any
) -> None:
    """What ingestion accepts, GET /v1/accounts/{id} can serve (issue 18 §1.4: was 500)."""
    with session_scope(app_engine) as session:
        account_id = make_account(session, "DEEP").id
    for depth in (32, 260):
        body = {"event": "e", "userId": "u", "context": {"groupId": "DEEP"}}
        body["properties"] = _nested(depth)
        client.post("/v1/track", json=body, headers=_auth(write_key))
    response = client.get(f"/v1/accounts/{account_id}", headers=role_headers["admin"])
    assert response.status_code == 200, response.text


def test_a_deep_row_stored_before_the_bounds_is_withheld_not_a_500(
    client: TestClient, app_engine: Any, make_account: Any, role_headers: Any
) -> None:
    """The 360 serves an inbox row too deep to serialise with a note in place of its properties."""
    with session_scope(app_engine) as session:
        account = make_account(session, "OLDDEEP")
        now = clock.now()
        session.add(
            InboxEvent(
                message_id="legacy-deep",
                account_external_id="OLDDEEP",
                account_id=account.id,
                name="e",
                ts=now,
                properties=_nested(260),
                source="api",
                received_at=now,
            )
        )
        account_id = account.id
    response = client.get(f"/v1/accounts/{account_id}", headers=role_headers["admin"])
    assert response.status_code == 200, response.text
    (event,) = [e for e in response.json()["recent_events"] if e["message_id"] == "legacy-deep"]
    assert "nested more than 32 levels" in event["properties"]["_withheld"]


def test_ids_are_strings_or_whole_numbers(
    client: TestClient, app_engine: Any, write_key: str
) -> None:
    """A whole number (even sent as 12.0) names an account; a bool, a fraction or a time in
    seconds is refused: a single call with 400, a batch message alone in `rejected`."""
    whole = client.post("/v1/group", json={"groupId": 12.0}, headers=_auth(write_key))
    assert whole.status_code == 200, whole.text
    assert [e.account_external_id for e in _inbox(app_engine)] == ["12"]
    bad = ({"groupId": True}, {"groupId": 1.5}, {"groupId": "A", "timestamp": 0})
    for body in bad:
        refused = client.post("/v1/group", json=body, headers=_auth(write_key))
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["detail"].startswith("malformed request: body.")
    nested = {"traits": {"account_id": 2.5}}  # not an id: the message names no account
    assert client.post("/v1/identify", json=nested, headers=_auth(write_key)).status_code == 400
    batch = {"batch": [{"type": "group", **body} for body in bad]}
    answer = client.post("/v1/batch", json=batch, headers=_auth(write_key)).json()
    reasons = [(r["index"], r["reason"].split(":")[0]) for r in answer["rejected"]]
    assert reasons == [(0, "groupId.str"), (1, "groupId.str"), (2, "timestamp")]
    assert answer["accepted"] == 0
    assert len(_inbox(app_engine)) == 1


def test_identify_page_and_group_of_a_new_user_in_one_batch_land_together(
    client: TestClient, app_engine: Any, write_key: str, make_account: Any
) -> None:
    """The issue's lost batch: identify (no group) of a new user, page, then its group call."""
    with session_scope(app_engine) as session:
        make_account(session, "ACME")
    batch = {
        "batch": [
            {"type": "identify", "messageId": "i", "userId": "u9", "traits": {"plan": "pro"}},
            {"type": "page", "messageId": "p", "userId": "u9", "name": "Billing"},
            {"type": "group", "messageId": "g", "userId": "u9", "groupId": "ACME"},
        ]
    }
    answer = client.post("/v1/batch", json=batch, headers=_auth(write_key)).json()
    assert (answer["accepted"], answer["held"], answer["rejected"]) == (3, 0, [])
    rows = {e.message_id: (e.name, e.account_external_id) for e in _inbox(app_engine)}
    assert rows == {"i": ("identify", "ACME"), "p": ("page_viewed", "ACME"), "g": ("group", "ACME")}
    assert all(e.account_id is not None for e in _inbox(app_engine))
