"""Several treatment arms: randomized by fraction, with known effects on churn and on usage."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tenure.errors import InputError
from tenure.simulate import SimulationConfig, simulate
from tenure.simulate.config import TreatmentArm, parse_arm

START = date(2024, 11, 1)


@pytest.fixture(scope="module")
def arms_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return 800 accounts × 4 months: arm a cuts hazards 40 %, arm b cuts usage 60 %."""
    out = tmp_path_factory.mktemp("arms") / "out"
    arms = (parse_arm("a:0.3:0.4"), parse_arm("b:0.3:0:-0.6"))
    config = SimulationConfig(
        accounts=800, months=4, seed=13, end=date(2025, 2, 28),
        treatment_arms=arms, treatment_start=START,
    )  # fmt: skip
    simulate(config, out)
    return out


def test_parse_arm_and_refusals():
    assert parse_arm("a:0.25") == TreatmentArm("a", 0.25)
    assert parse_arm("b:0.1:0.3:-0.2") == TreatmentArm("b", 0.1, 0.3, -0.2)
    for bad, words in (("a", "expected"), ("a:x", "numbers"), ("control:0.2", "not 'control'"),
                       ("a:0.2:1.5", "churn effect"), ("a:0.2:0:-1", "usage effect")):  # fmt: skip
        with pytest.raises(InputError, match=words):
            parse_arm(bad)
    end = date(2025, 1, 31)
    with pytest.raises(InputError, match="add up"):
        SimulationConfig(100, 2, 1, end, treatment_arms=(parse_arm("a:0.6"), parse_arm("b:0.6")))
    with pytest.raises(InputError, match="not both"):
        SimulationConfig(
            100, 2, 1, end, treatment_fraction=0.5, treatment_arms=(parse_arm("a:0.5"),)
        )
    with pytest.raises(InputError, match="differ"):
        SimulationConfig(100, 2, 1, end, treatment_arms=(parse_arm("a:0.2"), parse_arm("a:0.2")))


def test_arms_follow_their_fractions(arms_dataset: Path):
    rows = pd.read_csv(arms_dataset / "assignments.csv")
    shares = rows["group"].value_counts(normalize=True)
    assert set(shares.index) == {"control", "a", "b"}
    for arm, share in (("control", 0.4), ("a", 0.3), ("b", 0.3)):
        assert abs(shares[arm] - share) < 4 * np.sqrt(share * (1 - share) / len(rows))
    assert set(rows[rows["group"] == "a"]["effect"]) == {0.4}
    assert set(rows[rows["group"] == "b"]["usage_effect"]) == {-0.6}


def test_counterfactual_truth_per_arm(arms_dataset: Path):
    rows = pd.read_csv(arms_dataset / "assignments.csv").dropna(subset=["exposed_on"])
    # Arm b leaves hazards alone; arm a cuts them, so its churn is lower for every account.
    assert np.allclose(rows["p_churn_90_b"], rows["p_churn_90_control"])
    assert (rows["p_churn_90_a"] < rows["p_churn_90_control"]).all()
    # Each account's own-arm column is the truth.parquet row of its exposure day.
    truth = pq.read_table(arms_dataset / "truth.parquet").to_pandas()
    truth["date"] = truth["date"].astype(str)
    merged = rows.merge(
        truth, left_on=["account_id", "exposed_on"], right_on=["account_id", "date"]
    )
    assert len(merged) == len(rows)
    own = merged.apply(lambda r: r[f"p_churn_90_{r['group']}"], axis=1)
    assert np.allclose(own, merged["p_churn_90"], atol=1e-6)
    manifest = json.loads((arms_dataset / "manifest.json").read_text())["treatment"]
    means = {a["arm"]: a["mean_p_churn_90"] for a in manifest["arms"]}
    assert means["a"] == pytest.approx(rows["p_churn_90_a"].mean(), rel=1e-5)
    assert means["a"] < means["b"] == pytest.approx(means["control"])


def test_usage_effect_scales_events_after_the_start(arms_dataset: Path):
    rows = pd.read_csv(arms_dataset / "assignments.csv")
    events = pq.read_table(arms_dataset / "events.parquet", columns=["account_id", "timestamp"])
    ev = events.to_pandas().merge(rows[["account_id", "group"]], on="account_id")
    day = (ev["timestamp"].dt.tz_localize(None) - pd.Timestamp(START)).dt.days
    before = ev[(day >= -30) & (day < 0)].groupby("group").size()
    after = ev[(day >= 0) & (day < 30)].groupby("group").size()
    ratio = (after / before) / (after / before)["control"]
    assert 0.3 < ratio["b"] < 0.5  # truth: 0.4
    assert 0.85 < ratio["a"] < 1.2  # no usage effect (slightly more from less churn)
