"""Journey results: the per-step funnel by arm (`tenure journeys show KEY --json`), the goal-rate
difference against an independent computation, and the list, pause, resume and enrol commands."""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats

from tenure.cli.main import app
from tenure.db.session import session_scope
from tenure.messaging.journeys_enrol import enrol_manually, journey_arm
from tenure.messaging.journeys_results import goal_comparison
from tenure.messaging.journeys_store import get_journey
from tenure.messaging.models import ContactConsent

from ..factories import add_account, add_contact
from .journey_helpers import add_journey, add_template, enrollments, messages


def _welch_reference(g1: int, n1: int, g0: int, n0: int) -> tuple[float, float, float]:
    """Return (low, high, p) by hand: Welch interval of p1 − p0 and the pooled z-test."""
    p1, p0 = g1 / n1, g0 / n0
    v1, v0 = p1 * (1 - p1) / n1, p0 * (1 - p0) / n0
    dof = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))
    half = stats.t.ppf(0.975, dof) * math.sqrt(v1 + v0)
    pooled = (g1 + g0) / (n1 + n0)
    z = (p1 - p0) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    return p1 - p0 - half, p1 - p0 + half, 2 * stats.norm.sf(abs(z))


def test_goal_difference_matches_an_independent_computation():
    result = goal_comparison((30, 100), (20, 100))
    low, high, p = _welch_reference(30, 100, 20, 100)
    assert result["difference"] == pytest.approx(0.10)
    assert result["ci_low"] == pytest.approx(low, abs=1e-9)
    assert result["ci_high"] == pytest.approx(high, abs=1e-9)
    assert result["p_value"] == pytest.approx(p, abs=1e-9)
    assert result["p_value"] == pytest.approx(0.1025, abs=5e-4)  # z = 1.633
    thin = goal_comparison((2, 40), (1, 10))  # under 5 goals per arm: rates only
    assert thin["difference"] == pytest.approx(-0.05) and thin["ci_low"] is None


def _invoke(cli, settings, *args):
    return cli.invoke(app, ["--data-dir", str(settings.data_dir), "journeys", *args])


def test_show_json_counts_each_step_per_arm(cli, engine, settings, frozen_clock):
    settings = settings.model_copy(update={"holdout_fraction": 0.0})
    with session_scope(engine) as session:
        add_template(session, "hello")
        add_journey(session, holdout=0.5, goals=[{"kind": "event", "event": "upgrade"}],
                    steps=[{"id": "hello", "kind": "send", "template": "hello", "version": 1},
                           {"id": "rest", "kind": "wait", "days": 1}])  # fmt: skip
        ids = []
        for i in range(10):
            account = add_account(session, external_id=f"res-{i}")
            contact = add_contact(session, account, consent={"email": True})
            ids.append(contact.id)
        journey = get_journey(session, "j1")
        for contact_id in ids[:9]:
            enrol_manually(session, settings, journey, contact_id, "t")
    treated = sum(journey_arm("j1", f"res-{i}", 0.5) == "treated" for i in range(9))
    assert _invoke(cli, settings, "tick").exit_code == 0
    with session_scope(engine) as session:
        first, second = messages(session)[:2]
        first.status, first.first_opened_at, first.first_clicked_at = (
            "sent",
            frozen_clock.now(),
            frozen_clock.now(),
        )
        second.status, second.first_opened_at = "sent", frozen_clock.now()
        session.add(ContactConsent(contact_id=second.contact_id, channel="email", purpose="marketing",
                                   granted=False, source="unsubscribe", at=frozen_clock.now()))  # fmt: skip
        enrollments(session)[0].status = "goal"
    shown = _invoke(cli, settings, "show", "j1", "--json")
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.stdout)
    hello = report["steps"][0]
    assert hello["step"] == "hello"
    assert hello["treated"] | hello["holdout"] and hello["treated"]["entered"] == treated
    assert hello["holdout"]["entered"] == 9 - treated and hello["holdout"]["sent"] == 0
    assert hello["treated"]["sent"] == treated
    assert (
        hello["treated"]["delivered"],
        hello["treated"]["opened"],
        hello["treated"]["clicked"],
    ) == (2, 2, 1)
    assert hello["treated"]["unsubscribed"] == 1
    assert sum(hello[arm]["goal_reached"] for arm in ("treated", "holdout")) == 1
    assert report["arms"]["treated"]["entered"] + report["arms"]["holdout"]["entered"] == 9
    assert set(report["goal"]) == {
        "treated_rate",
        "holdout_rate",
        "difference",
        "ci_low",
        "ci_high",
        "p_value",
    }

    listed = json.loads(_invoke(cli, settings, "list", "--json").stdout)
    assert [(j["key"], j["entered"], j["sent"]) for j in listed] == [("j1", 9, treated)]
    assert _invoke(cli, settings, "pause", "j1").exit_code == 0
    refused = _invoke(cli, settings, "enrol", "j1", "--contact", str(ids[9]))
    assert refused.exit_code == 2 and "is paused" in refused.output
    assert _invoke(cli, settings, "resume", "j1").exit_code == 0
    enrolled = _invoke(cli, settings, "enrol", "j1", "--contact", str(ids[9]))
    assert enrolled.exit_code == 0 and "enrolled in j1" in enrolled.stdout
    again = _invoke(cli, settings, "enrol", "j1", "--contact", str(ids[9]))
    assert again.exit_code == 2 and "already enrolled" in again.output
    missing = _invoke(cli, settings, "show", "nope")
    assert missing.exit_code == 4 and "no journey 'nope'" in missing.output
