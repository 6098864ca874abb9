"""A segment stored before the rule limits existed is skipped and reported; the others work."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tenure.api.app import create_app
from tenure.auth.service import create_user
from tenure.cli import segments
from tenure.cli.main import app as cli_app
from tenure.config import Settings
from tenure.db.session import session_scope
from tenure.pipeline import run_day, select_stages
from tenure.segments import service
from tenure.segments.models import Segment
from tenure.stage import StageContext

from .conftest import AS_OF

HUGE_RULE = " or ".join(f"mrr = {i}" for i in range(1_000))  # 12,886 characters
DEEP_RULE = "(" * 1_500 + "mrr > 1" + ")" * 1_500
PASSWORD = "correct horse battery"
CREATED = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def legacy(engine, book):
    """Store a good segment and two that the limits would refuse, as an old version could."""
    with session_scope(engine) as session:
        service.create_segment(db_session=session, name="retail", rule='industry = "retail"')
        for name, rule in (("huge", HUGE_RULE), ("deep", DEEP_RULE)):
            session.add(Segment(name=name, rule=rule, kind="rule", created_at=CREATED))
    return book


def test_evaluate_skips_and_reports_the_broken_segments(engine, legacy):
    with session_scope(engine) as session:
        evaluation = service.evaluate_segments(db_session=session, as_of=AS_OF)
    assert evaluation.counts == {"retail": 1}
    assert sorted(evaluation.errors) == ["deep", "huge"]
    assert "at most 4,000 characters" in evaluation.errors["huge"]
    with session_scope(engine) as session:
        retail = service.get_segment(db_session=session, name="retail")
        stored = service.stored_members(db_session=session, segment=retail, as_of=AS_OF)
    assert stored == [legacy["a3"]]


def test_reports_and_detail_show_the_error_on_that_segment_only(engine, legacy, frozen_clock):
    with session_scope(engine) as session:
        reports = {r["name"]: r for r in service.segment_reports(db_session=session, as_of=AS_OF)}
        detail = service.segment_detail(db_session=session, name="deep", as_of=AS_OF)
    assert reports["retail"]["accounts"] == 1 and reports["retail"]["error"] is None
    assert reports["huge"]["accounts"] is None and "rule error" in reports["huge"]["error"]
    assert "16 levels deep" in detail["error"] and detail["members_sample"] == []


def test_pipeline_stage_evaluates_the_others(settings, engine, legacy):
    context = StageContext(settings=settings, engine=engine, as_of=AS_OF)
    ((name, summary),) = list(run_day(context, select_stages(only=["segments"])))
    assert name == "segments" and (summary["segments"], summary["memberships"]) == (1, 1)
    assert summary["skipped"] == 2


@pytest.fixture
def run(cli, settings, legacy, frozen_clock):
    """Return a function that runs `tenure --data-dir … ARGS` on the legacy book."""
    if "segments" not in {group.name for group in cli_app.registered_groups}:
        segments.register(cli_app)

    def invoke(*args: str, code: int = 0):
        result = cli.invoke(cli_app, ["--data-dir", str(settings.data_dir), *args])
        assert result.exit_code == code, result.output
        return result.output

    return invoke


def test_cli_evaluate_and_list_report_the_broken_segments(run):
    evaluated = run("segments", "evaluate", "--as-of", "2025-06-30")
    assert "retail: 1 accounts" in evaluated and "huge: skipped, rule error" in evaluated
    assert "1 rule segments as of 2025-06-30, 2 skipped" in evaluated
    listed = run("segments", "list", "--as-of", "2025-06-30")
    assert "rule error" in listed and "deep: rule error at position 17" in listed
    assert "skipped: rule error" in run("segments", "show", "huge")


def test_cli_load_refuses_oversized_rules_with_exit_2(run, tmp_path):
    for rule in (HUGE_RULE, "(" * 17 + "mrr > 1" + ")" * 17, DEEP_RULE[:3_900]):
        path = tmp_path / "segments.toml"
        path.write_text(f"[[segment]]\nname = 'x'\nrule = '{rule}'\n")
        output = run("segments", "load", str(path), code=2)
        assert "segment 'x': rule error at position" in output and "at most" in output


def test_cli_delete_removes_a_segment_and_its_history(run):
    run("segments", "evaluate", "--as-of", "2025-06-30")
    assert "segments delete: huge deleted" in run("segments", "delete", "huge")
    assert "segments delete: retail deleted" in run("segments", "delete", "retail")
    assert "no segment named 'retail'; known segments: deep" in run(
        "segments", "delete", "retail", code=2
    )
    assert "no segment named 'huge'" in run("segments", "show", "huge", code=4)
    assert "2 skipped" not in run("segments", "evaluate", "--as-of", "2025-06-30")


@pytest.fixture
def served(legacy, engine, settings, frozen_clock):
    """Return settings for the app on the legacy book, with an admin user."""
    served = Settings(data_dir=settings.data_dir, secret_key="k" * 48, secure_cookies=False)
    with session_scope(engine) as session:
        create_user(session, "admin@example.com", PASSWORD, "admin")
    return served


def test_api_and_dashboard_list_the_other_segments(served):
    application = create_app(served)
    with TestClient(application) as client:
        token = client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": "admin@example.com", "password": PASSWORD},
        ).json()["access_token"]
        response = client.get("/v1/segments", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        found = {r["name"]: r for r in response.json()}
        assert found["retail"]["accounts"] == 1 and "16 levels" in found["deep"]["error"]
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        form = {"email": "admin@example.com", "password": PASSWORD, "next": "/"}
        client.post("/login", data=form | {"csrf_token": csrf.group(1)}, follow_redirects=False)
        page = client.get("/segments")
    application.state.engine.dispose()
    assert page.status_code == 200 and page.text.count("Skipped: rule error") == 2
