"""Stored secrets: Fernet at rest, MultiFernet rotation, the `tenure secrets` commands."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from tenure.cli.main import app
from tenure.config import Settings
from tenure.db.session import get_engine, session_scope
from tenure.errors import ConfigError
from tenure.privacy.secrets import put_secret, reveal, rotate_secrets, with_stored_secrets

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _ciphertexts(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT name, ciphertext FROM stored_secret")).all())


def test_secrets_are_encrypted_and_rotation_moves_them_to_the_newest_key(engine, settings):
    old = settings.model_copy(update={"secret_keys": [OLD]})
    with session_scope(engine) as session:
        put_secret(session, old, name="ops", kind="webhook", value="hook-secret-1", public={})
        put_secret(session, old, name="smtp", kind="smtp", value="pw-2", public={"username": "u"})
    before = _ciphertexts(engine)
    assert Fernet(OLD).decrypt(before["ops"].encode()) == b"hook-secret-1"
    assert all("secret-1" not in text and "pw-2" not in text for text in before.values())
    both = settings.model_copy(update={"secret_keys": [NEW, OLD]})
    with session_scope(engine) as session:
        assert reveal(session, both, "ops") == "hook-secret-1"  # old key still decrypts
        assert rotate_secrets(session, both) == 2
    after = _ciphertexts(engine)
    assert Fernet(NEW).decrypt(after["smtp"].encode()) == b"pw-2"
    with pytest.raises(InvalidToken):
        Fernet(OLD).decrypt(after["ops"].encode())
    new_only = settings.model_copy(update={"secret_keys": [NEW]})
    merged = with_stored_secrets(engine, new_only)
    assert merged.alert_webhooks["ops"].secret == "hook-secret-1"
    assert (merged.smtp_username, merged.smtp_password) == ("u", "pw-2")
    with pytest.raises(ConfigError, match="not in TENURE_SECRET_KEYS"):
        with_stored_secrets(engine, old)
    with pytest.raises(ConfigError, match="TENURE_SECRET_KEYS"):
        with_stored_secrets(engine, settings)


def test_the_secrets_commands_store_list_and_rotate(cli, tmp_path):
    data = tmp_path / "data"
    base = ["--data-dir", str(data), "secrets"]
    env = {"TENURE_SECRET_KEYS": OLD, "TENURE_SECRET_VALUE": "whsec-cli-1"}
    stored = cli.invoke(
        app, [*base, "set-webhook", "ops", "--url", "https://example.com/h"], env=env
    )
    assert stored.exit_code == 0, stored.output
    listed = cli.invoke(app, [*base, "list", "--json"], env=env)
    [row] = json.loads(listed.output)
    assert row["name"] == "ops" and row["public"] == {"url": "https://example.com/h"}
    assert "whsec-cli-1" not in listed.output
    rotated = cli.invoke(app, [*base, "rotate"], env={"TENURE_SECRET_KEYS": f"{NEW},{OLD}"})
    assert rotated.exit_code == 0 and "1 stored secrets re-encrypted" in rotated.output
    engine = get_engine(Settings(data_dir=data))
    assert Fernet(NEW).decrypt(_ciphertexts(engine)["ops"].encode()) == b"whsec-cli-1"
    with engine.connect() as conn:
        actions = conn.scalars(sa.text("SELECT action FROM audit_log ORDER BY id")).all()
    assert actions == ["secret_set", "secrets_rotate"]
    engine.dispose()
    keyless = cli.invoke(app, [*base, "rotate"], env={"TENURE_SECRET_KEYS": ""})
    assert keyless.exit_code != 0 and "TENURE_SECRET_KEYS" in keyless.output
