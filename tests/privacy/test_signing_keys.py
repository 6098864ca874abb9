"""Token and cookie signing-key rotation: the old key verifies for a grace period."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from tenure.auth import service
from tenure.auth.keys import rotate_signing_key, signing_key
from tenure.auth.tokens import AuthenticationFailed, decode_access_token, principal_from_token
from tenure.db.session import session_scope
from tenure.errors import ConfigError
from tenure.web.session import SESSION_COOKIE, read_viewer, start_session

OLD, NEW, STRANGER = "o" * 40, "n" * 40, "s" * 40


def _token(settings, engine) -> str:
    with session_scope(engine) as session:
        user = service.create_user(session, "ann@example.com", "a long password 1", "admin")
        return service.issue_tokens(settings, session, service.user_principal(user))["access_token"]


def _cookie(settings, engine) -> str:
    response = SimpleNamespace(cookies={})
    response.set_cookie = lambda name, value, **_: response.cookies.__setitem__(name, value)
    response.delete_cookie = lambda *_, **__: None
    with session_scope(engine) as session:
        user = session.get(service.User, 1)
        start_session(settings, response, user)
    return response.cookies[SESSION_COOKIE]


def _viewer(settings, engine, cookie: str):
    with session_scope(engine) as session:
        return read_viewer(settings, SimpleNamespace(cookies={SESSION_COOKIE: cookie}), session)


def test_tokens_of_the_previous_key_verify_and_unknown_keys_do_not(settings, engine, frozen_clock):
    old = settings.model_copy(update={"signing_keys": [OLD]})
    token, cookie = _token(old, engine), _cookie(old, engine)
    rotated = settings.model_copy(update={"signing_keys": [NEW, OLD]})
    with session_scope(engine) as session:
        assert principal_from_token(rotated, session, token).subject == "ann@example.com"
    assert _viewer(rotated, engine, cookie).email == "ann@example.com"
    assert decode_access_token(rotated, _token_of(rotated, engine)).subject == "ann@example.com"
    stranger = settings.model_copy(update={"signing_keys": [STRANGER]})
    forged = _token_of(stranger, engine)
    with pytest.raises(AuthenticationFailed):
        decode_access_token(rotated, forged)
    assert _viewer(rotated, engine, _cookie(stranger, engine)) is None
    retired = settings.model_copy(update={"signing_keys": [NEW]})  # grace period over
    with pytest.raises(AuthenticationFailed):
        decode_access_token(retired, token)
    assert _viewer(retired, engine, cookie) is None


def _token_of(settings, engine) -> str:
    with session_scope(engine) as session:
        user = session.get(service.User, 1)
        return service.issue_tokens(settings, session, service.user_principal(user), refresh=False)[
            "access_token"
        ]


def test_the_key_file_rotates_and_retired_keys_lapse_after_the_grace(
    settings, engine, frozen_clock
):
    settings = settings.model_copy(update={"signing_key_grace_hours": 1.0})
    first = signing_key(settings)
    token = _token(settings, engine)
    cookie = _cookie(settings, engine)
    assert rotate_signing_key(settings) == 1
    assert signing_key(settings) != first
    assert decode_access_token(settings, _token_of(settings, engine)).subject
    frozen_clock.advance(timedelta(minutes=10))  # the access token lives 15 minutes
    assert decode_access_token(settings, token).subject == "ann@example.com"
    assert _viewer(settings, engine, cookie).email == "ann@example.com"
    frozen_clock.advance(timedelta(hours=1))  # the cookie lives 8 hours, the grace 1 hour
    assert _viewer(settings, engine, cookie) is None
    assert _viewer(settings, engine, _cookie(settings, engine)).email == "ann@example.com"
    with pytest.raises(ConfigError, match="TENURE_SIGNING_KEYS"):
        rotate_signing_key(settings.model_copy(update={"signing_keys": [NEW]}))
