"""Dashboard fixtures: a seeded book per module (simulated data plus scores, alerts and users),
the app on it, a logged-in test client and a live uvicorn server for the browser tests."""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account
from tenure.alerts.models import Alert
from tenure.api.app import create_app
from tenure.auth.service import create_user
from tenure.churn.models import ChurnScore
from tenure.config import Settings
from tenure.db.migrate import migrate
from tenure.db.session import get_engine, session_scope
from tenure.experiments import results as experiment_results
from tenure.experiments import service as experiment_service
from tenure.experiments.schemas import MetricKind, MetricSummary
from tenure.experiments.specs import ExperimentSpec
from tenure.health.models import HealthScore
from tenure.ingest.simulated import import_simulated
from tenure.metrics.serving import materialise
from tenure.plays import service as plays_service
from tenure.simulate import SimulationConfig, simulate

PASSWORD = "correct horse battery"
ADMIN = "admin@example.com"
CSM = "csm@example.com"
VIEWER = "viewer@example.com"
TIERS = ((50, "red"), (75, "yellow"), (101, "green"))


def tier_of(score: float) -> str:
    """Return the default health tier of a score."""
    return next(name for cut, name in TIERS if score < cut)


def risk_of(probability: float) -> str:
    """Return the churn risk tier of a probability."""
    return "high" if probability >= 0.3 else "medium" if probability >= 0.1 else "low"


def _scores(session: Session, ids: list[int], today: date, rng: random.Random) -> None:
    now = clock.now()
    for account_id in ids:
        base = rng.uniform(20, 95)
        probability = min(0.95, max(0.01, (100 - base) / 120 + rng.uniform(-0.05, 0.05)))
        for back in (60, 30, 7, 0):
            score = max(0.0, min(100.0, base + back / 10 * rng.uniform(-3, 3)))
            measures = {
                "login_recency": {"value": rng.uniform(0, 20), "score": score, "weight": 0.4},
                "usage_trend": {
                    "value": rng.uniform(-0.5, 0.5),
                    "score": 100 - score / 2,
                    "weight": 0.6,
                },
            }
            session.add(
                HealthScore(
                    account_id=account_id, as_of=today - timedelta(days=back), scorecard="default",
                    score=score, tier=tier_of(score), measures=measures, reason="usage_trend",
                    change_7d=rng.uniform(-8, 8), change_30d=rng.uniform(-15, 15), updated_at=now,
                )
            )  # fmt: skip
            p = min(0.99, max(0.0, probability + back / 600))
            reasons = [
                {"feature": "logins_30d", "value": 3.0, "contribution": 0.8,
                 "text": "logins down 60 % vs previous 30 days"},
                {"feature": "failed_payments", "value": 0.0, "contribution": -0.2,
                 "text": "no failed payments"},
            ]  # fmt: skip
            session.add(
                ChurnScore(
                    account_id=account_id, as_of=today - timedelta(days=back), horizon_days=90,
                    model_version="test-1", probability=p, risk_tier=risk_of(p), reasons=reasons,
                    scored_at=now,
                )
            )  # fmt: skip


def _alerts(session: Session, accounts: list[Account]) -> None:
    now = clock.now()
    for i, account in enumerate(accounts):
        session.add(
            Alert(
                account_id=account.id, rule="health_drop", kind="score_drop",
                severity=("high", "medium", "low")[i % 3], owner=CSM if i % 2 == 0 else ADMIN,
                status="open", message=f"{account.name}: health fell 18 points in 7 days",
                facts={}, open_key=f"{account.id}:health_drop",
                opened_at=now - timedelta(hours=i), updated_at=now,
            )
        )  # fmt: skip


EXPERIMENT = "onboarding-call"


def _experiment(session: Session, settings: Settings, accounts: list[Account]) -> None:
    """Run an onboarding-call experiment on the book with exposures and stored summaries."""
    spec = ExperimentSpec(
        key=EXPERIMENT, name="Onboarding call", hypothesis="A call in week one keeps accounts",
        variants=[{"key": "control", "weight": 1}, {"key": "call", "weight": 1}],
        metrics=["renewed"], guardrails=["tickets"], target_units=200,
    )  # fmt: skip
    experiment = experiment_service.create_experiment(db_session=session, spec=spec)
    experiment_service.start_experiment(db_session=session, key=EXPERIMENT)
    for account in accounts:
        experiment_service.assign(
            db_session=session, key=EXPERIMENT, unit_id=account.external_id, settings=settings,
            expose=True,
        )  # fmt: skip
    summaries = {
        "renewed": {"control": MetricSummary(80, 60, 60), "call": MetricSummary(80, 72, 72)},
        "tickets": {"control": MetricSummary(40, 60, 150), "call": MetricSummary(40, 64, 170)},
    }
    kinds = {"renewed": MetricKind.BINARY, "tickets": MetricKind.MEAN}
    experiment_results.store_summaries(
        db_session=session, experiment=experiment, as_of=clock.now().date(),
        summaries=summaries, kinds=kinds, lower_is_better=frozenset({"tickets"}),
    )  # fmt: skip


def seed_book(root: Path, *, accounts: int = 80, months: int = 6) -> Settings:
    """Simulate and import a small book under root, add scores, alerts and users; return settings."""
    settings = Settings(data_dir=root / "data", secure_cookies=False, secret_key="k" * 48)
    today = clock.now().date()
    out = root / "sim"
    simulate(SimulationConfig(accounts=accounts, months=months, seed=5, end=today), out)
    engine = get_engine(settings)
    migrate(engine)
    import_simulated(out, settings=settings, engine=engine)
    materialise(engine, settings, today)  # the pipeline's metrics stage: months and cohorts
    rng = random.Random(3)
    with session_scope(engine) as session:
        listed = list(session.scalars(sa.select(Account).order_by(Account.id)))
        _scores(session, [a.id for a in listed], today, rng)
        _alerts(session, listed[:6])
        _experiment(session, settings, listed)
        plays_service.load_plays(session, None)
        plays_service.run_plays(session, settings, today)
        create_user(session, ADMIN, PASSWORD, "admin")
        create_user(session, CSM, PASSWORD, "csm")
        create_user(session, VIEWER, PASSWORD, "viewer")
    engine.dispose()
    return settings


@pytest.fixture(scope="session")
def book(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Return settings of a seeded data dir (80 simulated accounts with scores and alerts)."""
    return seed_book(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="module")
def app(book: Settings) -> Iterator[FastAPI]:
    """Return the whole app (API + dashboard) on the seeded book."""
    application = create_app(book)
    yield application
    application.state.engine.dispose()


def csrf_of(html: str) -> str:
    """Return the first CSRF token of a rendered form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@dataclass(frozen=True)
class People:
    """The seeded staff users and their shared password."""

    admin: str = ADMIN
    csm: str = CSM
    viewer: str = VIEWER
    password: str = PASSWORD


@pytest.fixture(scope="session")
def people() -> People:
    """Return the seeded users' emails and password."""
    return People()


@pytest.fixture
def login(app: FastAPI) -> Callable[[str], TestClient]:
    """Return a function giving a test client logged in (through the form) as an email."""

    def log_in(email: str, password: str = PASSWORD) -> TestClient:
        client = TestClient(app)
        token = csrf_of(client.get("/login").text)
        response = client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token, "next": "/"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return client

    return log_in


@pytest.fixture(scope="session")
def csrf() -> Callable[[str], str]:
    """Return the function reading the first CSRF token of a page."""
    return csrf_of


@dataclass
class LiveServer:
    """A uvicorn server running the app in a thread of the test process."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    """Serve the app on a free loopback port for the module's browser tests."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", server, thread)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def shots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Return the test's screenshot folder (under its tmp dir)."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder
