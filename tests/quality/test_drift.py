"""Churn-model drift in `tenure dq report`: written by the real scoring code, read back, flagged."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from tenure.churn import drift
from tenure.churn.scoring import save_drift
from tenure.cli.main import app
from tenure.quality.drift import model_drift_summary

DAY = date(2025, 6, 29)  # the day before the frozen clock (2025-06-30 12:00 UTC)
NUMERIC, CATEGORICAL = ["logins_30d", "seats"], ["plan"]


def accounts(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Return n accounts' model features drawn from one fixed distribution."""
    return pd.DataFrame(
        {
            "logins_30d": rng.poisson(20, n).astype(float),
            "seats": rng.integers(1, 50, n).astype(float),
            "plan": rng.choice(["basic", "pro", "enterprise"], n, p=[0.5, 0.4, 0.1]),
        }
    )


def write_drift(settings, day: date, *, login_shift: float = 0.0, drop: tuple[str, ...] = ()):
    """Measure drift with drift.drift_report on a fresh day (logins shifted) and save it."""
    rng = np.random.default_rng(day.toordinal())
    training = accounts(rng, 1000)
    references = drift.build_references(training, NUMERIC, CATEGORICAL)
    score_reference = drift.numeric_reference(pd.Series(rng.beta(2, 8, 1000)))
    current = accounts(rng, 1000)
    current["logins_30d"] += login_shift
    report = drift.drift_report(
        references, score_reference, current.drop(columns=list(drop)), rng.beta(2, 8, 1000)
    )
    report.update(as_of=day.isoformat(), model="churn-90d", model_version="3")
    save_drift(settings, day, report)
    return report


@pytest.fixture
def dq(cli, settings, engine, frozen_clock):
    """Return a function running `tenure dq report ARGS` on the test's data dir."""
    engine.dispose()

    def run(*args: str):
        argv = ["--data-dir", str(settings.data_dir), "dq", "report", *args]
        result = cli.invoke(app, argv)
        assert result.exit_code == 0, result.output
        return result

    return run


def strict_json(text: str) -> dict:
    """Parse JSON refusing NaN and Infinity, which other JSON readers reject."""
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON output"))


def test_without_a_scored_day_model_drift_is_null(dq, settings):
    assert drift.latest_drift(settings) is None
    assert strict_json(dq("--json").stdout)["model_drift"] is None
    assert "Churn model drift: no scored day yet" in dq().stdout


def test_shifted_day_is_flagged_drifted_in_json_text_and_html(dq, settings, tmp_path):
    written = write_drift(settings, DAY, login_shift=30, drop=("seats",))
    assert drift.latest_drift(settings)["drifted_features"] == written["drifted_features"]
    section = strict_json(dq("--json").stdout)["model_drift"]
    assert section["drifted"] is True and section["status"] == "drifted"
    assert section["drifted_features"] == ["logins_30d"]
    assert (section["as_of"], section["model"], section["model_version"]) == (
        "2025-06-29",
        "churn-90d",
        "3",
    )
    worst = section["worst_features"]
    assert [row["feature"] for row in worst] == ["logins_30d", "plan", "seats"]
    assert worst[0]["psi"] > drift.DRIFTED and worst[0]["status"] == "drifted"
    assert worst[-1] == {"feature": "seats", "psi": None, "status": "missing"}
    assert section["score_status"] == "stable" and section["score_psi"] < drift.MODERATE
    assert section["stale"] is False and section["age_days"] == 1

    out = dq().stdout
    assert (
        "Churn model drift (churn-90d v3, scored 2025-06-29): drifted: 1 feature (logins_30d)"
        in out
    )
    assert "worst features: logins_30d" in out

    page_path = tmp_path / "dq.html"
    dq("--html", str(page_path))
    page = page_path.read_text(encoding="utf-8")
    assert '<section class="alert"><h2>Churn model drift</h2>' in page
    assert '<span class="drifted">drifted: 1 feature (logins_30d)</span>' in page
    assert '<tr class="missing"><td>seats</td>' in page


def test_stable_day_is_not_flagged(dq, settings, tmp_path):
    write_drift(settings, DAY)
    section = strict_json(dq("--json").stdout)["model_drift"]
    assert section["drifted"] is False and section["status"] == "stable"
    assert section["drifted_features"] == []
    assert all(row["psi"] < drift.MODERATE for row in section["worst_features"])
    out = dq().stdout
    assert "Churn model drift (churn-90d v3, scored 2025-06-29): stable" in out
    assert "drifted:" not in out
    page_path = tmp_path / "dq.html"
    dq("--html", str(page_path))
    page = page_path.read_text(encoding="utf-8")
    assert '<section class="ok"><h2>Churn model drift</h2>' in page
    assert 'class="alert"' not in page


def test_drift_leaves_every_check_and_the_overall_score_alone(dq, settings, factory):
    account = factory.account()
    for i in range(4):
        factory.ticket(account, priority="" if i == 0 else "high")
    before = strict_json(dq("--json").stdout)
    write_drift(settings, DAY, login_shift=30)
    after = strict_json(dq("--json").stdout)
    assert after["model_drift"]["drifted"] is True
    assert before["overall_score"] is not None and before["overall_score"] < 100
    assert {k: v for k, v in after.items() if k != "model_drift"} == {
        k: v for k, v in before.items() if k != "model_drift"
    }


def test_newest_day_wins_and_an_old_one_is_stale(dq, settings):
    write_drift(settings, date(2025, 6, 10), login_shift=30)
    write_drift(settings, date(2025, 6, 20))
    section = strict_json(dq("--json").stdout)["model_drift"]
    assert (section["as_of"], section["status"]) == ("2025-06-20", "stable")
    assert section["stale"] is True and section["age_days"] == 10
    assert "10 days old" in section["note"]
    assert "stale: the newest drift report is 10 days old" in dq().stdout


@pytest.mark.parametrize(("age", "stale"), [(7, False), (8, True)])
def test_stale_means_older_than_seven_days(settings, frozen_clock, age, stale):
    day = date.fromordinal(frozen_clock.now().date().toordinal() - age)
    write_drift(settings, day)
    section = model_drift_summary(settings, now=frozen_clock.now())
    assert (section["age_days"], section["stale"]) == (age, stale)


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe\x00", b"[1, 2]", b'{"score_psi": 0.1}'],
    ids=["bad-json", "bad-utf8", "not-an-object", "missing-keys"],
)
def test_unreadable_drift_file_is_a_note_not_a_crash(dq, settings, capsys, tmp_path, content):
    write_drift(settings, date(2025, 6, 28), login_shift=30)  # an older, readable day
    folder = settings.data_dir / "churn"
    (folder / "drift-20250629.json").write_bytes(content)

    assert drift.latest_drift(settings) is None
    logged = capsys.readouterr()
    assert "drift_report_unreadable" in logged.out + logged.err

    section = strict_json(dq("--json").stdout)["model_drift"]
    assert section["status"] == "unreadable" and section["drifted"] is None
    assert section["as_of"] == "2025-06-29"
    assert "drift report drift-20250629.json" in section["note"]
    assert "--only scores" in section["note"]
    assert "Churn model drift: unreadable — drift report drift-20250629.json" in dq().stdout
    page_path = tmp_path / "dq.html"
    dq("--html", str(page_path))
    page = page_path.read_text(encoding="utf-8")
    assert '<section class="warn"><h2>Churn model drift</h2>' in page
    assert "drift report drift-20250629.json" in page


def test_feature_names_are_escaped_in_console_and_html(dq, settings, tmp_path):
    name = "logins [bold]30d[/bold] <b>"
    training = pd.DataFrame({name: np.arange(200, dtype=float)})
    report = drift.drift_report(
        drift.build_references(training, [name], []),
        drift.numeric_reference(pd.Series(np.linspace(0, 1, 200))),
        training + 1000,
        np.linspace(0, 1, 200),
    )
    save_drift(settings, DAY, report)
    assert f"drifted: 1 feature ({name})" in dq().stdout  # Rich markup not interpreted
    page_path = tmp_path / "dq.html"
    dq("--html", str(page_path))
    page = page_path.read_text(encoding="utf-8")
    assert "logins [bold]30d[/bold] &lt;b&gt;" in page and "<b>" not in page
    assert "Model unknown model, scored day 2025-06-29" in page


def test_moderate_shift_is_moderate_not_drifted(dq, settings, tmp_path):
    write_drift(settings, DAY, login_shift=2)
    section = strict_json(dq("--json").stdout)["model_drift"]
    top = section["worst_features"][0]
    assert top["feature"] == "logins_30d" and drift.MODERATE < top["psi"] <= drift.DRIFTED
    assert (section["status"], section["drifted"]) == ("moderate", False)
    assert "scored 2025-06-29): moderate; score PSI" in dq().stdout
    page_path = tmp_path / "dq.html"
    dq("--html", str(page_path))
    assert '<section class="warn"><h2>Churn model drift</h2>' in page_path.read_text("utf-8")


def test_files_not_named_after_a_day_are_ignored(settings, frozen_clock):
    write_drift(settings, DAY, login_shift=30)
    folder = settings.data_dir / "churn"
    for name in ("drift-20251399.json", "drift-latest.json", "drift-20250630.json.tmp"):
        (folder / name).write_text("{}")
    assert [p.name for p in drift.drift_files(settings)] == ["drift-20250629.json"]
    assert model_drift_summary(settings, now=frozen_clock.now())["status"] == "drifted"


def test_a_minor_drifted_feature_reads_moderate_without_flagging_the_model() -> None:
    """Drift below the importance share lists the feature; the section is moderate, not drifted."""
    from tenure.quality.drift import drift_status

    report = {
        "drifted": False,
        "score_status": "stable",
        "features": [
            {"feature": "days_since_last_event", "psi": 1.2, "status": "drifted"},
            {"feature": "events_30d", "psi": 0.01, "status": "stable"},
        ],
    }
    assert drift_status(report) == "moderate"
    assert drift_status({**report, "drifted": True}) == "drifted"
    calm = {**report, "features": report["features"][1:]}
    assert drift_status(calm) == "stable"
