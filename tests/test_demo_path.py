"""The demo path end to end: simulate, import, sync, data-quality report, journeys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from tenure import clock
from tenure.accounts.models import Account, Contact
from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine, session_scope
from tenure.experiments.holdout import in_global_holdout
from tenure.loyalty.engagement_models import LoyaltyStreak
from tenure.messaging.journeys_enrol import journey_arm
from tenure.messaging.models import MessageTemplate


@pytest.mark.usefixtures("frozen_clock")
def test_simulate_import_sync_and_report(cli, tmp_path):
    data, out = str(tmp_path / "data"), str(tmp_path / "sim")

    simulated = cli.invoke(
        app,
        [
            "simulate",
            "--accounts",
            "150",
            "--months",
            "3",
            "--seed",
            "11",
            "--out",
            out,
            "--end",
            "2025-06-30",
        ],
    )
    assert simulated.exit_code == 0, simulated.output

    imported = cli.invoke(app, ["--data-dir", data, "import", "simulated", out])
    assert imported.exit_code == 0, imported.output
    for kind in ("accounts", "subscriptions", "invoices", "tickets", "surveys", "events"):
        assert f"{kind}: " in imported.stdout
    assert "0 quarantined" in imported.stdout

    again = cli.invoke(app, ["--data-dir", data, "import", "simulated", out])
    assert again.exit_code == 0, again.output
    assert "(0 new" in again.stdout

    loyalty = cli.invoke(app, ["--data-dir", data, "loyalty", "program", "load", "--defaults"])
    assert loyalty.exit_code == 0, loyalty.output
    synced = cli.invoke(app, ["--data-dir", data, "pipeline", "run"])
    assert synced.exit_code == 0, synced.output
    _loyalty_streaks(data)

    report = cli.invoke(app, ["--data-dir", data, "dq", "report", "--json"])
    assert report.exit_code == 0, report.output
    body = json.loads(report.stdout)
    assert body["overall_score"] >= 95
    assert {"table", "check", "score", "detail"} <= set(body["checks"][0])
    scored = {(c["table"], c["check"]) for c in body["checks"] if c["score"] is not None}
    assert ("events", "referential") in scored

    _journeys_send(cli, data)


def _loyalty_streaks(data: str) -> None:
    """The loyalty stage counted streaks of the simulated book's active weeks."""
    engine = get_engine(Settings(data_dir=Path(data)))
    with session_scope(engine) as session:
        weeks = session.scalars(sa.select(LoyaltyStreak.current_weeks)).all()
    engine.dispose()
    assert weeks and max(weeks) >= 2


DEMO_TEMPLATES = (
    "onboarding-welcome",
    "onboarding-first-report",
    "onboarding-invite-team",
    "winback-checkin",
    "winback-offer",
    "loyalty-tier-up",
    "loyalty-points-expiring",
    "loyalty-badge-earned",
    "loyalty-reward-approved",
)


def _journeys_send(cli, data: str) -> None:
    """Load the default journeys on the demo book, tick them, enrol a contact: its email is queued.

    The templates are stored directly here; `tenure messages templates load --defaults` (the
    templates slice of issue 20) is the demo's way.
    """
    settings = Settings(data_dir=Path(data))
    engine = get_engine(settings)
    with session_scope(engine) as session:
        for name in DEMO_TEMPLATES:
            session.add(MessageTemplate(name=name, version=1, subject=f"{name} for {{{{ account.name }}}}",
                                        body="<p>Hi {{ contact.name }}</p>", purpose="marketing",
                                        created_at=clock.now()))  # fmt: skip
        contacts = session.execute(
            sa.select(Contact.id, Account.external_id).join(Account).order_by(Contact.id)
        ).all()
        chosen = next(
            contact_id
            for contact_id, external_id in contacts
            if journey_arm("onboarding", external_id, 0.1) == "treated"
            and not in_global_holdout(external_id, settings)
            and session.get(Contact, contact_id).consent.get("email")
        )
    engine.dispose()
    loaded = cli.invoke(app, ["--data-dir", data, "journeys", "load", "--defaults"])
    assert loaded.exit_code == 0 and "onboarding: created" in loaded.stdout, loaded.output
    assert "warning" not in loaded.stdout
    ticked = cli.invoke(app, ["--data-dir", data, "journeys", "tick"])
    assert ticked.exit_code == 0, ticked.output
    enrolled = cli.invoke(
        app, ["--data-dir", data, "journeys", "enrol", "onboarding", "--contact", str(chosen)]
    )
    assert enrolled.exit_code == 0 and "arm treated" in enrolled.stdout, enrolled.output
    listed = json.loads(cli.invoke(app, ["--data-dir", data, "journeys", "list", "--json"]).stdout)
    onboarding = next(j for j in listed if j["key"] == "onboarding")
    assert onboarding["entered"] >= 1 and onboarding["sent"] >= 1
