"""Erasure reaches every copy: a distinctive person is seeded through every path (import,
tracking API, Stripe webhook, survey, ticket, journey send, loyalty earning), the pipeline and
a model training run, the person is erased, and no file under the data dir (nor, on
PostgreSQL, the database dump) holds their email, name, external id or phone any more."""

from __future__ import annotations

import csv
import json
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tenure.accounts.models import Account, Contact
from tenure.api.app import create_app
from tenure.auth.service import create_write_key
from tenure.billing.stripe import sign
from tenure.cli.main import app
from tenure.clock import FrozenClock, use_clock
from tenure.config import Settings
from tenure.db.session import get_engine, session_scope
from tenure.experiments.holdout import in_global_holdout
from tenure.messaging.journeys_enrol import journey_arm
from tenure.simulate import SimulationConfig, simulate

from .. import pg_switch

PERSON = {
    "contact_id": "zq-probe-7731",
    "email": "zelda.quistorp@erasure-probe.example",
    "name": "Zelda Quistorp",
    "phone": "+44 20 7946 0958",
}
STRIPE = Path(__file__).parents[1] / "api" / "fixtures" / "stripe" / "01_customer_created.json"
WHSEC = "whsec_erasure_scan"
END = date(2025, 7, 1)


def _invoke(cli, data: Path, *args: str, ok: tuple[int, ...] = (0,)) -> str:
    result = cli.invoke(app, ["--data-dir", str(data), *args])
    assert result.exit_code in ok, (args, result.output)
    return result.stdout


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _treated_account(settings: Settings) -> str:
    """Return a simulated account whose contacts the onboarding journey treats."""
    engine = get_engine(settings)
    with session_scope(engine) as session:
        ids = session.scalars(sa.select(Account.external_id).order_by(Account.id)).all()
    engine.dispose()
    return next(
        i for i in ids
        if journey_arm("onboarding", i, 0.1) == "treated" and not in_global_holdout(i, settings)
    )  # fmt: skip


def _seed_files(cli, data: Path, root: Path, account: str) -> None:
    """Import the person, a ticket and a survey answer that name them."""
    person = {"contact_id": PERSON["contact_id"], "account_id": account, "email": PERSON["email"],
              "name": PERSON["name"], "role": "admin", "created_at": "2024-08-01T09:00:00Z",
              "consent_email": "true", "consent_sms": "false"}  # fmt: skip
    ticket = {"ticket_id": "tkt_probe", "account_id": account, "contact_id": PERSON["contact_id"],
              "subject": f"{PERSON['name']} cannot log in (call {PERSON['phone']})",
              "opened_at": "2025-06-01T10:00:00Z", "closed_at": "2025-06-02T10:00:00Z",
              "priority": "high", "status": "closed", "csat": "4"}  # fmt: skip
    survey = {"response_id": "rsp_probe", "account_id": account,
              "contact_id": PERSON["contact_id"], "kind": "nps", "score": "9",
              "responded_at": "2025-06-03T10:00:00Z",
              "comment": f"Great support, thanks - {PERSON['name']} ({PERSON['email']})"}  # fmt: skip
    _invoke(cli, data, "import", "contacts", str(_write_csv(root / "people.csv", [person])))
    _invoke(cli, data, "import", "tickets", str(_write_csv(root / "tickets.csv", [ticket])))
    _invoke(cli, data, "import", "surveys", str(_write_csv(root / "surveys.csv", [survey])))


def _seed_api(settings: Settings, account: str, now: int) -> None:
    """Track two events for the person and deliver a signed Stripe customer naming them."""
    engine = get_engine(settings)
    with session_scope(engine) as session:
        _, key = create_write_key(session, "scan")
    engine.dispose()
    stripe = json.loads(STRIPE.read_text())
    customer = stripe["data"]["object"]
    customer.update(email=PERSON["email"], phone=PERSON["phone"], name=f"{account} billing")
    customer["metadata"] = {"account_id": account}
    payload = json.dumps(stripe).encode()
    traits = {"email": PERSON["email"], "name": PERSON["name"], "phone": PERSON["phone"]}
    with TestClient(create_app(settings)) as client:
        for n, event in enumerate(("login", "report_viewed")):
            sent = client.post("/v1/track", auth=(key, ""), json={
                "type": "track", "event": event, "userId": PERSON["contact_id"],
                "messageId": f"probe-{n}", "timestamp": "2025-06-29T10:00:00Z",
                "context": {"groupId": account, "traits": traits}, "properties": traits,
            })  # fmt: skip
            assert sent.status_code == 200 and sent.json()["accepted"] == 1, sent.text
        header = f"t={now},v1={sign(payload, WHSEC, now)}"
        hook = client.post("/v1/webhooks/stripe", content=payload,
                           headers={"Stripe-Signature": header})  # fmt: skip
        assert hook.status_code == 200, hook.text


def _scan(data: Path, extra: bytes = b"") -> dict[str, list[str]]:
    """Return, per identifier, the files (and dump) that still hold it."""
    found: dict[str, list[str]] = {}
    blobs = [(str(p), p.read_bytes().lower()) for p in data.rglob("*") if p.is_file()]
    blobs.append(("pg_dump", extra.lower()))
    for value in PERSON.values():
        where = [name for name, blob in blobs if value.lower().encode() in blob]
        if where:
            found[value] = where
    return found


def _pg_dump(settings: Settings) -> bytes:
    if not settings.database_url:
        return b""
    url = settings.database_url.replace("+psycopg", "")
    schema = url.split("search_path%3D")[1]
    url = url.split("?")[0]
    return subprocess.run(["pg_dump", "--schema", schema, url], check=True,
                          capture_output=True).stdout  # fmt: skip


def _seed_everything(cli, settings: Settings, root: Path, now: int) -> None:
    data = settings.data_dir
    simulate(SimulationConfig(accounts=300, months=12, seed=31, end=END), root / "sim")
    _invoke(cli, data, "init")
    _invoke(cli, data, "import", "simulated", str(root / "sim"), ok=(0, 3))  # 3: a few late rows
    account = _treated_account(settings)
    _seed_files(cli, data, root, account)
    _seed_api(settings, account, now)
    for step in (
        ("messages", "templates", "load", "--defaults"),
        ("journeys", "load", "--defaults"),
        ("loyalty", "program", "load", "--defaults"),
    ):
        _invoke(cli, data, *step)  # fmt: skip
    _invoke(cli, data, "pipeline", "run")
    _invoke(cli, data, "model", "train")
    engine = get_engine(settings)
    with session_scope(engine) as session:
        contact_id = session.scalar(
            sa.select(Contact.id).where(Contact.external_id == PERSON["contact_id"])
        )
    engine.dispose()
    enrolled = _invoke(cli, data, "journeys", "enrol", "onboarding", "--contact", str(contact_id))
    assert "arm treated" in enrolled


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scan_settings(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Return settings on SQLite and, in a second run, on PostgreSQL (the CLI's too)."""
    if request.param == "sqlite" and pg_switch.ENABLED:
        pytest.skip("TENURE_TEST_DATABASE=postgres: the postgres run covers it")
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    if url:
        monkeypatch.setenv("TENURE_DATABASE_URL", url)
    return Settings(data_dir=tmp_path / "data", database_url=url, stripe_webhook_secret=WHSEC)


@pytest.mark.slow
def test_erasure_leaves_no_copy(cli, scan_settings: Settings, tmp_path: Path) -> None:
    """Every identifier of the person is present before the erasure and gone after it."""
    clock = FrozenClock(datetime(2025, 6, 30, 12, tzinfo=UTC))
    with use_clock(clock):
        _seed_everything(cli, scan_settings, tmp_path, int(clock.now().timestamp()))
        before = _scan(scan_settings.data_dir, _pg_dump(scan_settings))
        assert set(before) == set(PERSON.values()), before
        erased = json.loads(_invoke(cli, scan_settings.data_dir, "privacy", "erase",
                                    "--contact", PERSON["email"], "--json"))  # fmt: skip
        assert erased["status"] == "done", erased
        after = _scan(scan_settings.data_dir, _pg_dump(scan_settings))
    assert after == {}, (after, erased["report"])
