"""Alert notifications published on the bus only once (and if) the session commits."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from tenure.notifications import Notification, get_bus


def _publish_pending(session: Session) -> None:
    pending = session.info.pop("alert_notifications", [])
    for note in pending:
        get_bus().publish(note)


def _drop_pending(session: Session) -> None:
    session.info.pop("alert_notifications", None)


def notify_after_commit(session: Session, note: Notification) -> None:
    """Publish note on the bus when (and only if) the session commits."""
    pending = session.info.setdefault("alert_notifications", [])
    if not pending:
        event.listen(session, "after_commit", _publish_pending, once=True)
        event.listen(session, "after_rollback", _drop_pending, once=True)
    pending.append(note)
