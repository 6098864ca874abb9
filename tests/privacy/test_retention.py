"""The retention stage: quarantine files and rows, outbox bodies, import-log lines, audit log."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from tenure import pipeline
from tenure.alerts.models import AlertDelivery
from tenure.auth.service import audit
from tenure.db.session import session_scope
from tenure.ingest.flows import import_file
from tenure.ingest.models import QuarantinedRow
from tenure.privacy.audit import verify_chain
from tenure.privacy.retention import expired_personal_data
from tenure.stage import StageContext

CONTACTS = "contact_id,account_id,email,name\nc1,missing-account,{email},Pat Doe\n"


def _import(settings, engine, tmp_path, email: str):
    path = tmp_path / f"{email.split('@')[0]}.csv"
    path.write_text(CONTACTS.format(email=email))
    return import_file("contacts", path, settings=settings, engine=engine)


def _delivery(session, key: str, status: str, created) -> None:
    session.add(
        AlertDelivery(
            purpose="opened", channel="email", target="csm@example.com", idempotency_key=key,
            subject="s", body=f"body of {key}", payload={"k": key}, status=status,
            next_attempt_at=created, created_at=created,
        )
    )  # fmt: skip


def test_the_retention_stage_expires_each_kind_past_its_setting(
    settings, engine, tmp_path, frozen_clock
):
    settings = settings.model_copy(update={"audit_retention_days": 60})
    start = frozen_clock.now()
    old = _import(settings, engine, tmp_path, "old.person@example.com")
    with session_scope(engine) as session:
        _delivery(session, "old-sent", "sent", start)
        _delivery(session, "old-pending", "pending", start)
        audit(session, actor="ann@example.com", action="login")
    frozen_clock.advance(timedelta(days=100))
    new = _import(settings, engine, tmp_path, "new.person@example.com")
    with session_scope(engine) as session:
        _delivery(session, "new-sent", "sent", frozen_clock.now())
        audit(session, actor="ann@example.com", action="login")
    assert old.quarantine_csv and new.quarantine_csv

    context = StageContext(settings=settings, engine=engine, as_of=frozen_clock.now().date())
    summary = expired_personal_data(context)
    assert summary == {
        "quarantine_files": 1, "quarantined_rows": 1, "outbox_bodies": 1,
        "import_log_lines": 1, "audit_entries": 1,
    }  # fmt: skip
    files = sorted(p.name for p in settings.imports_dir.glob("*-quarantine.csv"))
    assert files == [new.quarantine_csv.rsplit("/", 1)[-1]]
    log = (settings.imports_dir / "import.log").read_text()
    assert "new.person.csv" in log and "old.person.csv" not in log
    with session_scope(engine) as session:
        raws = session.scalars(sa.select(QuarantinedRow.raw)).all()
        rows = session.execute(sa.select(AlertDelivery.idempotency_key, AlertDelivery.body))
        bodies = {key: body for key, body in rows}
        assert verify_chain(session).intact
    assert len(raws) == 1 and "new.person" in raws[0]
    assert bodies == {
        "old-sent": "",
        "old-pending": "body of old-pending",
        "new-sent": "body of new-sent",
    }
    assert expired_personal_data(context)["quarantine_files"] == 0  # idempotent
    assert pipeline.STAGES[-1] is expired_personal_data
