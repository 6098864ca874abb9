"""Explanation → play: the mapping, matching an account's reasons, expected value and ranking."""

from __future__ import annotations

import math

import pytest

from tenure.errors import InputError
from tenure.plays.definitions import DEFAULTS_FILE, read_plays
from tenure.plays.next_play import (
    NOT_MEASURED,
    AccountSignals,
    PlayValue,
    has_positive_play,
    play_cost,
    rank,
    read_play_map,
    recommended,
)

MAP = read_play_map()  # the packaged defaults
USAGE_DOWN = {"feature": "events_trend", "text": "product usage down 60 %", "contribution": 0.4}
FAILED = {"feature": "failed_payments_30d", "text": "2 failed payments", "contribution": 0.3}
LOWERS = {"feature": "urgent_tickets_90d", "text": "0 urgent tickets", "contribution": -0.2}


def values(**effects: tuple[float, float] | None) -> dict[str, PlayValue]:
    """Return every default play, measured (effect, lifetime) where given, 50.00 cost each."""
    keys = ("dunning", "support-escalation", "high-risk-renewal", "adoption-nudge")
    out = {}
    for key in (*keys, "red-health-call"):
        measured = effects.get(key.replace("-", "_"))
        effect, lifetime = measured if measured else (None, None)
        out[key] = PlayValue(key, key.title(), effect, lifetime, 50.0)
    return out


def test_the_packaged_map_names_the_issue_defaults_in_order():
    plays = [e.play for e in MAP.entries]
    assert plays == ["dunning", "support-escalation", "high-risk-renewal", "adoption-nudge",
                     "red-health-call"]  # fmt: skip
    packaged = {p.key for p in read_plays(DEFAULTS_FILE)}
    assert set(plays) <= packaged  # every mapped play ships in default_plays.toml


def test_drivers_and_conditions_match_and_a_risk_lowering_reason_does_not():
    signals = AccountSignals(1, mrr=200.0, churn_reasons=[USAGE_DOWN, LOWERS],
                             health_tier="yellow", days_to_renewal=30,
                             health_measures={"support_load": {"score": 80.0}})  # fmt: skip
    found = rank(signals, MAP, values())
    assert [c.play for c in found] == ["high-risk-renewal", "adoption-nudge"]
    assert found[0].reasons == ["health tier yellow", "renewal in 30 days"]
    assert found[1].reasons == ["product usage down 60 %"]
    assert all(c.note == NOT_MEASURED and c.expected_value is None for c in found)


def test_weak_health_measures_and_open_alerts_are_drivers():
    signals = AccountSignals(2, mrr=100.0, health_tier="red",
                             health_measures={"billing_health": {"score": 20.0},
                                              "usage_depth": {"score": 90.0}},
                             alerts=[("ticket_spike", "alert: 9 tickets in 7 days")])  # fmt: skip
    found = {c.play: c.reasons for c in rank(signals, MAP, values())}
    assert found["dunning"] == ["health: billing health scored 20"]
    assert found["support-escalation"] == ["alert: 9 tickets in 7 days"]
    assert found["red-health-call"] == ["health tier red"]
    assert "adoption-nudge" not in found  # usage depth scores 90: not weak


def test_expected_value_ranks_measured_plays_and_unmeasured_follow_the_map():
    signals = AccountSignals(3, mrr=400.0, churn_reasons=[USAGE_DOWN, FAILED],
                             health_tier="red")  # fmt: skip
    # adoption: 0.05 × 400 × 12 − 50 = 190; red call: −0.01 × 400 × 10 − 50 = −90.
    table = values(adoption_nudge=(0.05, 12.0), red_health_call=(-0.01, 10.0))
    found = rank(signals, MAP, table)
    assert [c.play for c in found] == ["adoption-nudge", "dunning", "red-health-call"]
    assert math.isclose(found[0].expected_value, 0.05 * 400 * 12 - 50)
    assert math.isclose(found[2].expected_value, -0.01 * 400 * 10 - 50)
    assert found[1].expected_value is None and found[1].note == NOT_MEASURED
    assert recommended(found).play == "adoption-nudge" and has_positive_play(found)


def test_no_positive_play_and_unloaded_plays_are_said_so():
    signals = AccountSignals(4, mrr=10.0, churn_reasons=[FAILED])
    only_negative = values(dunning=(0.01, 2.0))  # 0.01 × 10 × 2 − 50 < 0
    found = rank(signals, MAP, only_negative)
    assert recommended(found) is None and not has_positive_play(found)
    unloaded = rank(signals, MAP, {})
    assert unloaded[0].loaded is False and "no play 'dunning' is loaded" in unloaded[0].note
    assert recommended(unloaded) is None


def test_play_cost_counts_csm_time_offers_and_emails():
    definition = {
        "cost": {"csm_hourly_rate": 6000, "email": 2},
        "actions": [
            {"kind": "task", "minutes": 30},
            {"kind": "offer", "value": 20000},
            {"kind": "journey", "emails": 3},
            {"kind": "webhook", "endpoint": "crm"},
        ],
    }
    assert play_cost(definition) == 3000 + 20000 + 6


def test_a_bad_map_file_names_the_field(tmp_path):
    path = tmp_path / "map.toml"
    path.write_text('[[map]]\nwhen = "x"\nplay = "Bad Key"\n')
    with pytest.raises(InputError, match=r"map\.0\.play"):
        read_play_map(path)
    with pytest.raises(InputError, match="no such play map file"):
        read_play_map(tmp_path / "missing.toml")
