"""Privacy requests through the API: an export archive, an erasure followed by id, repeats."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tenure.accounts.models import Contact
from tenure.db.session import session_scope
from tenure.privacy.audit import verify_chain

from ..factories import add_account, add_contact, add_ticket


def _person(app_engine: Any) -> int:
    with session_scope(app_engine) as session:
        account = add_account(session, "acct-api")
        person = add_contact(session, account, external_id="cn-api", email="ines.api@probe.example")
        add_ticket(session, account, contact_id=person.id, subject="Ines cannot export")
        return person.id


def test_export_is_a_zip_of_json_per_kind(client: TestClient, role_headers, app_engine) -> None:
    person = _person(app_engine)
    response = client.post("/v1/privacy/exports", json={"contact": "ines.api@probe.example"},
                           headers=role_headers["admin"])  # fmt: skip
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert json.loads(archive.read("contact.json"))[0]["id"] == person
    assert json.loads(archive.read("tickets.json"))[0]["subject"] == "Ines cannot export"
    assert "| tickets.json | 1 |" in archive.read("README.md").decode()


def test_erasure_is_followed_by_id_and_repeats_give_the_first(
    client: TestClient, role_headers, app_engine
) -> None:
    _person(app_engine)
    admin = role_headers["admin"]
    started = client.post("/v1/privacy/erasures", json={"contact": "cn-api"}, headers=admin)
    assert started.status_code == 202, started.text
    followed = client.get(f"/v1/privacy/erasures/{started.json()['id']}", headers=admin).json()
    assert followed["status"] == "done" and followed["report"]["app_db"]["contacts"] == 1
    again = client.post("/v1/privacy/erasures", json={"contact": "ines.api@probe.example"},
                        headers=admin)  # fmt: skip
    assert again.json()["id"] == started.json()["id"] and again.json()["repeated"] is True
    with session_scope(app_engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 0
        assert verify_chain(session).intact


def test_bad_requests_are_4xx(client: TestClient, role_headers) -> None:
    admin = role_headers["admin"]
    both = client.post("/v1/privacy/erasures", json={"contact": "a", "account": "b"}, headers=admin)
    neither = client.post("/v1/privacy/exports", json={}, headers=admin)
    nobody = client.post("/v1/privacy/exports", json={"account": "no-such"}, headers=admin)
    unknown = client.get("/v1/privacy/erasures/no-such-id", headers=admin)
    statuses = (both.status_code, neither.status_code, nobody.status_code, unknown.status_code)
    assert statuses == (422, 422, 404, 404)
    # exactly one of the two keys: each accepted shape refuses the other key, by name
    assert "ContactSubject.account" in both.text and "AccountSubject.contact" in both.text
    assert "ContactSubject.contact" in neither.text and "AccountSubject.account" in neither.text
