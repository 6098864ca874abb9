"""Webhook and SMTP secrets stored in the app DB, Fernet-encrypted with keys from the environment.

TENURE_SECRET_KEYS holds Fernet keys, newest first: the newest encrypts, all of them decrypt
(MultiFernet), and `rotate_secrets` re-encrypts every stored secret with the newest.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tenure import clock
from tenure.config import AlertWebhook, Settings
from tenure.db.session import session_scope
from tenure.errors import ConfigError, InputError
from tenure.privacy.models import StoredSecret

SMTP_NAME = "smtp"
KINDS = ("webhook", "smtp")


def new_key() -> str:
    """Return a fresh Fernet key (for TENURE_SECRET_KEYS)."""
    return Fernet.generate_key().decode("ascii")


def keyring(settings: Settings) -> MultiFernet:
    """Return the MultiFernet of settings.secret_keys; raise ConfigError when none is usable."""
    if not settings.secret_keys:
        raise ConfigError(
            "no key to encrypt stored secrets: set TENURE_SECRET_KEYS (newest first,"
            " comma-separated; `tenure secrets new-key` prints one)"
        )
    try:
        return MultiFernet([Fernet(key.encode("ascii")) for key in settings.secret_keys])
    except (ValueError, UnicodeEncodeError) as exc:
        raise ConfigError(
            f"TENURE_SECRET_KEYS holds a key that is not a Fernet key: {exc}"
        ) from None


def _decrypt(ring: MultiFernet, row: StoredSecret) -> str:
    try:
        return ring.decrypt(row.ciphertext.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise ConfigError(
            f"stored secret {row.name!r} was encrypted with a key not in TENURE_SECRET_KEYS"
        ) from None


def put_secret(
    session: Session,
    settings: Settings,
    *,
    name: str,
    kind: str,
    value: str,
    public: dict[str, Any] | None = None,
) -> StoredSecret:
    """Store (or replace) a secret, encrypted with the newest key."""
    if kind not in KINDS:
        raise InputError(f"a stored secret's kind is one of {', '.join(KINDS)}, got {kind!r}")
    if not name.strip() or not value:
        raise InputError("a stored secret needs a name and a value")
    token = keyring(settings).encrypt(value.encode("utf-8")).decode("ascii")
    row = session.scalar(select(StoredSecret).where(StoredSecret.name == name.strip()))
    if row is None:
        row = StoredSecret(name=name.strip(), kind=kind, created_at=clock.now())
        session.add(row)
    row.kind, row.public, row.ciphertext, row.rotated_at = kind, public or {}, token, None
    session.flush()
    return row


def reveal(session: Session, settings: Settings, name: str) -> str | None:
    """Return the plaintext of a stored secret, None when there is none of that name."""
    row = session.scalar(select(StoredSecret).where(StoredSecret.name == name))
    return None if row is None else _decrypt(keyring(settings), row)


def rotate_secrets(session: Session, settings: Settings) -> int:
    """Re-encrypt every stored secret with the newest key; return how many."""
    rows = session.scalars(select(StoredSecret).order_by(StoredSecret.id)).all()
    if not rows:
        return 0
    ring, now = keyring(settings), clock.now()
    for row in rows:
        try:
            row.ciphertext = ring.rotate(row.ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise ConfigError(
                f"stored secret {row.name!r} was encrypted with a key not in TENURE_SECRET_KEYS"
            ) from None
        row.rotated_at = now
    session.flush()
    return len(rows)


def list_secrets(session: Session) -> list[dict[str, Any]]:
    """Return the stored secrets' names, kinds and public parts (never the secret)."""
    rows = session.scalars(select(StoredSecret).order_by(StoredSecret.name)).all()
    return [
        {
            "name": row.name,
            "kind": row.kind,
            "public": row.public,
            "created_at": row.created_at.isoformat(),
            "rotated_at": row.rotated_at.isoformat() if row.rotated_at else None,
        }
        for row in rows
    ]


def with_stored_secrets(engine: Engine, settings: Settings) -> Settings:
    """Return settings with the DB's webhooks and SMTP login merged in (the DB's win)."""
    with session_scope(engine) as session:
        rows = session.scalars(select(StoredSecret)).all()
    if not rows:
        return settings
    ring = keyring(settings)
    webhooks = dict(settings.alert_webhooks)
    update: dict[str, Any] = {}
    for row in rows:
        if row.kind == "webhook":
            url = str(row.public.get("url", ""))
            webhooks[row.name] = AlertWebhook(url=url, secret=_decrypt(ring, row))
        elif row.kind == "smtp":
            update["smtp_username"] = row.public.get("username") or settings.smtp_username
            update["smtp_password"] = _decrypt(ring, row)
    return settings.model_copy(update={**update, "alert_webhooks": webhooks})
