"""Alert webhooks whose secret is stored encrypted in the app DB (tenure.privacy.secrets)."""

from __future__ import annotations

import sqlalchemy as sa
from cryptography.fernet import Fernet

from tenure.alerts.channels import verify_signature
from tenure.alerts.delivery import deliver_due
from tenure.db.session import session_scope
from tenure.privacy.secrets import put_secret

from .test_delivery import open_alert

SECRET = "whsec-stored-9876543210"


def test_a_webhook_stored_in_the_db_is_signed_with_its_decrypted_secret(
    engine, book, settings, http_sink, frozen_clock
):
    settings = settings.model_copy(update={"secret_keys": [Fernet.generate_key().decode()]})
    with session_scope(engine) as session:
        put_secret(
            session,
            settings,
            name="crm",
            kind="webhook",
            value=SECRET,
            public={"url": http_sink.url + "/crm"},
        )
    with engine.connect() as conn:
        stored = conn.scalar(sa.text("SELECT ciphertext FROM stored_secret"))
    assert SECRET not in stored
    # Routing sees the stored webhook only through the stored secrets.
    from tenure.privacy.secrets import with_stored_secrets

    open_alert(engine, with_stored_secrets(engine, settings), book.account("a1"), ["webhook:crm"])
    assert deliver_due(engine, settings).sent == 1
    [hook] = http_sink.requests
    assert hook["path"] == "/hook/crm"
    assert verify_signature(SECRET, hook["headers"]["Tenure-Signature"], hook["body"])
