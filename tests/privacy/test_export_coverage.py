"""Subject access reaches the tables added since the export was written.

The person of the masking walk (masking_world) is seeded into plays and CSM tasks, the loyalty
leaderboard, ledger and scores, journeys and messages; this adds the rest (tier changes, score
history, a report schedule mailing them, experiment membership, usage, identity links, a journey
step, an outbox row) and checks both the person's and the account's export list each one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from tenure import clock
from tenure.alerts.outbox import add_delivery
from tenure.auth import service
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.events.models import IdentityLink
from tenure.experiments import service as experiments
from tenure.experiments.models import ExperimentAssignment, ExperimentExposure
from tenure.experiments.specs import ExperimentSpec, VariantSpec
from tenure.health.models import UsageDailyUser
from tenure.history.models import ScoreWeek
from tenure.loyalty.engagement_models import LoyaltyTierChange
from tenure.messaging.models import JourneyEnrollment, JourneyStepRun, Message
from tenure.privacy.export import collect
from tenure.privacy.subjects import resolve
from tenure.reports.scheduled.models import ReportSchedule

from .masking_world import EMAIL, NAME, Ids, seed


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, sa.Engine, Ids]]:
    """Yield settings, engine and ids of a book holding the person everywhere."""
    patch = pytest.MonkeyPatch()
    patch.setattr(service, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    settings = Settings(data_dir=tmp_path_factory.mktemp("export") / "data")
    engine = get_engine(settings)
    migrate(engine)
    with session_scope(engine) as session:
        ids = seed(session)
        _more(session, ids)
    yield settings, engine, ids
    engine.dispose()
    patch.undo()


def _more(session, ids: Ids) -> None:
    now, today = clock.now(), clock.now().date()
    session.add(LoyaltyTierChange(account_id=ids.account, from_tier=None, to_tier="silver",
                                  promoted=True, changed_on=today, recorded_at=now))  # fmt: skip
    session.add(ScoreWeek(account_id=ids.account, week=today - timedelta(days=today.weekday()),
                          health_days=1, health_score=70.0, health_tier="yellow"))  # fmt: skip
    session.add(ReportSchedule(name="board", cadence="monthly", recipients=[EMAIL, "ceo@x.io"],
                               updated_at=now))  # fmt: skip
    spec = ExperimentSpec(key="onboarding-copy", name="Copy", unit="contact",
                          variants=[VariantSpec(key="a", weight=1), VariantSpec(key="b", weight=1)])  # fmt: skip
    experiment = experiments.create_experiment(db_session=session, spec=spec)
    session.add(ExperimentAssignment(experiment_id=experiment.id, unit_id=EMAIL, variant="a",
                                     assigned_at=now))  # fmt: skip
    session.add(ExperimentExposure(experiment_id=experiment.id, unit_id=EMAIL, variant="a",
                                   first_exposed_at=now))  # fmt: skip
    session.add(UsageDailyUser(account_id=ids.account, day=today, user=EMAIL))
    session.add(IdentityLink(user_id=EMAIL, account_external_id="acme-privacy", updated_at=now))
    enrolment = session.scalar(sa.select(JourneyEnrollment))
    session.add(JourneyStepRun(enrollment_id=enrolment.id, step_id="welcome", status="done",
                               outcome={"to": EMAIL}, at=now))  # fmt: skip
    message = session.scalar(sa.select(Message))
    add_delivery(session, "email", EMAIL, "privacy-delivery", f"Welcome, {NAME}", "hi", {},
                 None, "journey", message_id=message.id)  # fmt: skip


def _tables(rows: list[dict]) -> set[str]:
    return {row["table"] for row in rows}


def test_a_persons_export_lists_every_table_that_holds_or_names_them(book):
    settings, engine, _ = book
    with session_scope(engine) as session:
        records = collect(session, settings, resolve(session, contact=EMAIL))
    for kind in ("contact", "messages", "journey_memberships", "journey_steps", "outbox",
                 "recent_events", "inbox_events", "daily_usage", "identity_links",
                 "experiment_assignments", "experiment_exposures", "loyalty_leaderboard_choice",
                 "loyalty_contact_scores"):  # fmt: skip
        assert len(records[kind]) == 1, kind
    assert records["loyalty_contact_scores"][0]["points"] == 40
    # Rows elsewhere naming them: the task, the alert, the ticket, the ledger, the schedule.
    named = _tables(records["mentions"])
    assert {"csm_task", "alert", "ticket", "loyalty_movement", "loyalty_redemption",
            "report_schedule"} <= named  # fmt: skip
    assert "auth_user" not in named and "audit_log" not in named


def test_an_accounts_export_lists_the_tables_added_this_session(book):
    settings, engine, ids = book
    with session_scope(engine) as session:
        records = collect(session, settings, resolve(session, account=str(ids.account)))
    for table in ("play_run", "csm_task", "loyalty_tier_change", "loyalty_leaderboard_optin",
                  "loyalty_contact_score", "loyalty_movement", "score_week", "message",
                  "journey_enrollment", "journey_step_run", "event_inbox", "identity_link",
                  "alert", "ticket"):  # fmt: skip
        assert records.get(table), table
    assert len(records["csm_task"]) == 2
    assert [r["name"] for r in records["mentions"] if r["table"] == "report_schedule"] == ["board"]
    # Rows about its contacts that no foreign key ties to the account come with its people.
    assert [r["unit_id"] for r in records["experiment_assignment"]] == [EMAIL]
    assert len(records["alert_delivery"]) == 1 and len(records["usage_daily_user"]) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("any_settings", ["postgres"], indirect=True)
def test_exports_find_the_same_on_postgresql(any_settings, any_engine, monkeypatch):
    monkeypatch.setattr(service, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024,
                                                           parallelism=1))  # fmt: skip
    with session_scope(any_engine) as session:
        ids = seed(session)
        _more(session, ids)
    with session_scope(any_engine) as session:
        person = collect(session, any_settings, resolve(session, contact=EMAIL))
        account = collect(session, any_settings, resolve(session, account=str(ids.account)))
    assert len(person["loyalty_contact_scores"]) == 1 and len(person["outbox"]) == 1
    assert {"csm_task", "alert", "ticket", "report_schedule"} <= _tables(person["mentions"])
    assert len(account["csm_task"]) == 2 and account["score_week"]
    assert [r["unit_id"] for r in account["experiment_assignment"]] == [EMAIL]
