"""Logins and refreshes under real concurrency: threads against a uvicorn server on SQLite/PG."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from argon2 import PasswordHasher

from tenure.api.app import create_app
from tenure.auth import service
from tenure.auth.models import AuditEntry, User
from tenure.config import Settings
from tenure.db.session import session_scope

PASSWORD = "a long password 1"
EMAIL = "ann@example.com"
VERIFIED = ("login", "login_failed", "login_locked")  # audit actions of a checked password


@dataclass
class Served:
    """A uvicorn server running the API in a thread of the test process, and a client of it."""

    url: str
    engine: sa.Engine
    http: httpx.Client

    def post(self, path: str, **form: str) -> httpx.Response:
        """POST a form and return the response (a stall answers late, it does not hang)."""
        return self.http.post(self.url + path, data=form)

    def token(self, **form: str) -> httpx.Response:
        """POST to the token endpoint."""
        return self.post("/v1/auth/token", **form)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve(any_settings: Settings, any_engine: sa.Engine) -> Iterator[Callable[..., Served]]:
    """Return a function that serves the API on any_settings (with overrides) on a free port."""
    running: list[tuple[uvicorn.Server, threading.Thread, Any]] = []
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    http = httpx.Client(timeout=60, limits=limits)  # one client: 40 threads share its pool

    def start(**overrides: Any) -> Served:
        values = {"secret_key": "race-signing-key-" + "r" * 32, "secure_cookies": False}
        settings = any_settings.model_copy(update={**values, **overrides})
        app = create_app(settings, dashboard=False)
        port = _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread, app))
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return Served(f"http://127.0.0.1:{port}", any_engine, http)

    yield start
    http.close()
    for server, thread, app in running:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def _user(engine: sa.Engine, email: str = EMAIL, role: str = "analyst") -> str:
    with session_scope(engine) as session:
        service.create_user(session, email, PASSWORD, role)
    return email


def _together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run calls in threads released at the same moment; return their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_simultaneous_refreshes_let_at_most_one_through(serve: Callable[..., Served]) -> None:
    """Two refreshes with one token at once: one wins, the other is reuse and ends the login."""
    served = serve()
    email = _user(served.engine)
    for _ in range(10):
        login = served.token(grant_type="password", username=email, password=PASSWORD).json()
        old = login["refresh_token"]
        race = [lambda old=old: served.token(grant_type="refresh_token", refresh_token=old)] * 2
        answers = _together(race)
        assert sorted(a.status_code for a in answers) == [200, 401], [a.text for a in answers]
        child = next(a for a in answers if a.status_code == 200).json()["refresh_token"]
        after = served.token(grant_type="refresh_token", refresh_token=child)
        assert after.status_code == 401  # the login was revoked as a reuse
    with session_scope(served.engine) as session:
        reuses = session.scalar(
            sa.select(sa.func.count()).where(AuditEntry.action == "refresh_token_reuse")
        )
    assert reuses == 20  # each race's loser, then each revoked child


def test_parallel_guesses_check_at_most_the_allowed_passwords(
    serve: Callable[..., Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guesses in parallel: at most login_max_failures passwords are checked, then it locks.

    The right password comes last, once the wrong guesses are counted: it is refused.
    """
    monkeypatch.setattr(service, "_HASHER", PasswordHasher(time_cost=2, memory_cost=16384))
    limit = 3
    served = serve(login_max_failures=limit, login_throttle_per_username=100)
    email = _user(served.engine)
    guesses = [
        lambda i=i: served.token(grant_type="password", username=email, password=f"no {i}")
        for i in range(6)
    ]
    with ThreadPoolExecutor(1) as late:
        pending = late.submit(_right_guess_once_counted, served, email, limit)
        answers = _together(guesses)
        right = pending.result(timeout=60)
    with session_scope(served.engine) as session:
        actions = session.scalars(sa.select(AuditEntry.action)).all()
        locked_until = session.scalar(sa.select(User.locked_until).where(User.email == email))
    assert sum(action in VERIFIED for action in actions) <= limit, actions
    assert "login" not in actions and locked_until is not None
    assert {a.status_code for a in answers} == {401}
    assert right.status_code == 401 and right.json() == answers[0].json()


def _right_guess_once_counted(served: Served, email: str, limit: int) -> httpx.Response:
    """Send the right password once limit attempts are counted (or the user is locked)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with session_scope(served.engine) as session:
            user = session.scalar(sa.select(User).where(User.email == email))
        if user.failed_logins >= limit or user.locked_until is not None:
            break
        time.sleep(0.005)
    return served.token(grant_type="password", username=email, password=PASSWORD)


def test_a_login_flood_neither_stalls_nor_fails_the_api(serve: Callable[..., Served]) -> None:
    """40 failed logins at once answer 401/429 quickly, and other requests go on meanwhile."""
    served = serve()
    email = _user(served.engine)
    access = served.token(grant_type="password", username=email, password=PASSWORD).json()
    me_headers = {"Authorization": f"Bearer {access['access_token']}"}

    def failed_login(i: int) -> tuple[float, httpx.Response]:
        started = time.monotonic()
        who = email if i % 2 else f"nobody{i}@example.com"
        answer = served.token(grant_type="password", username=who, password=f"wrong {i}")
        return time.monotonic() - started, answer

    def meanwhile() -> list[tuple[float, httpx.Response]]:
        time.sleep(0.05)
        timed = []
        for path in ("/healthz", "/v1/auth/me"):
            started = time.monotonic()
            answer = served.http.get(served.url + path, headers=me_headers)
            timed.append((time.monotonic() - started, answer))
        return timed

    with ThreadPoolExecutor(1) as other:
        during = other.submit(meanwhile)
        flood = _together([lambda i=i: failed_login(i) for i in range(40)])
        others = during.result(timeout=120)
    statuses = sorted(answer.status_code for _, answer in flood)
    assert set(statuses) <= {401, 429}, statuses
    assert max(seconds for seconds, _ in flood) < 10, [round(s, 2) for s, _ in flood]
    throttled = [answer for _, answer in flood if answer.status_code == 429]
    assert throttled and all(int(a.headers["retry-after"]) > 0 for a in throttled)
    for seconds, answer in others:
        assert answer.status_code == 200 and seconds < 10, (answer.text, seconds)
