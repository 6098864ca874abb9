"""Erasure requests: find the subject, erase every copy, compact, record what was done.

Idempotent: asking again for an erased subject (same reference, or its email or external id)
returns the first request. The identifiers are hashed onto the erased list so a later import or
tracking event cannot bring the person back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.privacy.erase_app import erase_subject
from tenure.privacy.erase_files import compact_app_db, erase_from_files, erase_from_warehouse
from tenure.privacy.models import ErasedIdentifier, PrivacyRequest
from tenure.privacy.subjects import Subject, digest, request_digest, resolve

ERASED_REASON = "erased at the person's request (privacy erasure); not imported again"


def request_view(row: PrivacyRequest) -> dict[str, Any]:
    """Return a request as a JSON-ready dict."""
    return {
        "id": row.id, "kind": row.kind, "subject": row.subject, "status": row.status,
        "requested_by": row.requested_by, "requested_at": row.requested_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "report": row.report,
    }  # fmt: skip


def erased_digests(session: Session, values: list[str]) -> set[str]:
    """Return which of some identifiers' digests are on the erased list."""
    wanted = {digest(v) for v in values if v}
    if not wanted:
        return set()
    query = sa.select(ErasedIdentifier.digest).where(ErasedIdentifier.digest.in_(wanted))
    return set(session.scalars(query))


def is_erased(session: Session, *values: str | None) -> bool:
    """Return whether any of some identifiers (email, external id) was erased."""
    return bool(erased_digests(session, [v for v in values if v]))


def _prior(session: Session, ref: str, key: str) -> PrivacyRequest | None:
    """Return an earlier erasure of the same reference or identifier, if any."""
    by_ref = sa.select(PrivacyRequest).where(
        PrivacyRequest.kind == "erasure", PrivacyRequest.subject_digest == key
    )
    found = session.scalars(by_ref.order_by(PrivacyRequest.requested_at)).first()
    if found is None and (erased := session.get(ErasedIdentifier, digest(ref))) is not None:
        found = session.get(PrivacyRequest, erased.request_id)
    return found


def _failed_for(session: Session, key: str) -> PrivacyRequest | None:
    """Return a failed erasure of a subject (asked for by another of its references)."""
    query = sa.select(PrivacyRequest).where(
        PrivacyRequest.kind == "erasure", PrivacyRequest.subject == key,
        PrivacyRequest.status == "failed",
    )  # fmt: skip
    return session.scalars(query.order_by(PrivacyRequest.requested_at)).first()


def start_erasure(
    engine: sa.Engine, *, actor: str, contact: str | None = None, account: str | None = None
) -> tuple[Subject | None, dict[str, Any]]:
    """Record an erasure request; return its subject and the request.

    An erased subject gives (None, the first request, repeated); a failed request is taken up
    again ("resume" when its app-DB step was done, so the subject is no longer found).
    """
    key = request_digest(contact=contact, account=account)
    with session_scope(engine) as session:
        prior = _prior(session, contact or account or "", key)
        if prior is not None and prior.status != "failed":
            return None, {**request_view(prior), "repeated": True}
        resume = prior is not None and "app_db" in (prior.report or {})
        subject = None if resume else resolve(session, contact=contact, account=account)
        if prior is None and subject is not None:
            prior = _failed_for(session, subject.key)
        row = prior or PrivacyRequest(
            id=str(uuid.uuid4()), kind="erasure", subject=subject.key, subject_digest=key,
            requested_by=actor[:255], requested_at=clock.now(), report={},
        )  # fmt: skip
        row.status = "running"
        session.add(row)
        session.flush()
        return subject, {**request_view(row), "resume": resume}


def _erase_app(engine: sa.Engine, subject: Subject, request_id: str, actor: str) -> dict:
    from tenure.auth.service import audit

    with session_scope(engine) as session:
        done = erase_subject(session, subject)
        now = clock.now()
        for kind, value in subject.digests():
            if session.get(ErasedIdentifier, value) is None:
                session.add(
                    ErasedIdentifier(digest=value, kind=kind, request_id=request_id, erased_at=now)
                )
        audit(session, actor=actor, action="privacy_erase", target=subject.key,
              detail={"request_id": request_id})  # fmt: skip
    return done


def _flag_retrain(settings: Settings, request_id: str) -> list[str]:
    """Tag every registered churn model as needing a retrain; return their names."""
    if not (settings.data_dir / "mlflow.db").exists():
        return []
    from tenure.churn.registry import _client

    client = _client(settings)
    names = [m.name for m in client.search_registered_models()]
    for name in names:
        client.set_registered_model_tag(name, "retrain_required", f"erasure {request_id}")
    return names


def _app_files(settings: Settings, engine: sa.Engine) -> set[Path]:
    paths = {settings.warehouse_path, settings.warehouse_path.with_name("warehouse.duckdb.wal")}
    if engine.dialect.name == "sqlite" and engine.url.database:
        db = Path(engine.url.database)
        paths |= {db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")}
    return {p.resolve() for p in paths}


def _touched_tables(app: dict) -> list[str]:
    tables = set(app.get("scrubbed", {})) | set(app.get("account_rows", {}))
    return sorted(tables | {"contact", "event_inbox", "message", "alert_delivery"})


def _steps(settings: Settings, engine: sa.Engine, subject: Subject | None, request_id: str,
           actor: str, report: dict[str, Any]) -> Iterator[tuple[str, Callable[[], Any]]]:  # fmt: skip
    """Yield the erasure's steps in order: those needing the subject come first."""
    if subject is not None:
        needles = subject.identifiers
        company = (subject.id, subject.external_id) if subject.kind == "account" else None
        yield "warehouse", lambda: erase_from_warehouse(settings, company, needles)
        skip = _app_files(settings, engine)
        yield "files", lambda: erase_from_files(settings, needles, skip)
        yield "app_db", lambda: _erase_app(engine, subject, request_id, actor)
    touched = _touched_tables(report.get("app_db", {}))
    yield "compaction", lambda: compact_app_db(engine, touched)
    yield "models_flagged_for_retrain", lambda: _flag_retrain(settings, request_id)


def run_erasure(
    settings: Settings, engine: sa.Engine, subject: Subject | None, request_id: str, actor: str
) -> dict[str, Any]:
    """Run the steps not yet done (warehouse, files, app DB, compaction, models); record each.

    The app DB goes after the warehouse and files, so a failure before it can be retried with
    the subject still known; after it, a retry runs only the steps left.
    """
    with session_scope(engine) as session:
        report = dict(session.get(PrivacyRequest, request_id).report or {})
    report.pop("error", None)
    status = "failed"
    try:
        for name, step in _steps(settings, engine, subject, request_id, actor, report):
            if name not in report:
                report[name] = step()
        status = "done"
    except Exception as exc:  # recorded on the request, then raised
        report["error"] = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with session_scope(engine) as session:
            row = session.get(PrivacyRequest, request_id)
            row.status, row.report, row.finished_at = status, report, clock.now()
    with session_scope(engine) as session:
        return request_view(session.get(PrivacyRequest, request_id))


def erase(
    settings: Settings, engine: sa.Engine, *, actor: str,
    contact: str | None = None, account: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Erase a contact or an account from every copy; return the request (with its report)."""
    subject, request = start_erasure(engine, actor=actor, contact=contact, account=account)
    if subject is None and not request.get("resume"):
        return request
    return run_erasure(settings, engine, subject, request["id"], actor)


def get_request(session: Session, request_id: str) -> dict[str, Any] | None:
    """Return a privacy request by id, or None."""
    row = session.get(PrivacyRequest, request_id)
    return None if row is None else request_view(row)
