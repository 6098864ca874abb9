"""Journey files: clear errors naming the file, journey and field; the packaged defaults load."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tenure.errors import InputError
from tenure.messaging.journeys_spec import parse_journeys, read_journeys_file
from tenure.messaging.journeys_store import DEFAULTS_PATH
from tenure.messaging.journeys_timing import (
    after_frequency_cap,
    after_quiet_hours,
    next_in_window,
    next_send_slot,
)

GOOD = {
    "key": "trial",
    "name": "Trial ending",
    "trigger": {"kind": "event", "event": "Trial Ending"},
    "steps": [{"id": "nudge", "kind": "send", "template": "t", "version": 2}],
}


def _error(journey: dict) -> str:
    with pytest.raises(InputError) as caught:
        parse_journeys({"journey": [journey]}, "journeys.toml")
    return str(caught.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"key": "Bad Key"}, "journeys.toml: journey[Bad Key].key: String should match pattern"),
        ({"trigger": {"kind": "webinar"}}, "journey[trial].trigger: Input tag 'webinar'"),
        ({"trigger": {"kind": "health_tier"}}, "give exactly one of `to` (a tier) or `score_below`"),
        ({"trigger": {"kind": "renewal", "days_before": -3}}, "trigger.days_before: Input should be greater than or equal to 0"),
        ({"steps": []}, "journey[trial].steps: List should have at least 1 item"),
        ({"steps": [{"id": "a", "kind": "send"}]}, "journey[trial].steps[0]: Value error, give either `template`"),
        ({"steps": [{"id": "w", "kind": "wait", "until_window": "9-11"}]}, "until_window must be HH:MM-HH:MM"),
        ({"steps": [{"id": "a", "kind": "send", "template": "t"}, {"id": "b", "kind": "branch",
          "condition": {"kind": "opened"}, "then": "a"}]}, "branch 'b' must go forward, not back to 'a'"),
        ({"steps": [{"id": "b", "kind": "branch", "condition": {"kind": "clicked"}, "then": "zz"}]},
         "branch 'b' goes to unknown step 'zz'"),
        ({"steps": [{"id": "a", "kind": "send", "variants": [{"key": "x", "template": "t"}]}]},
         "an A/B test needs two or more variants"),
        ({"reentry": "after"}, 'reentry = "after" needs reentry_after_days'),
        ({"holdout": 1.5}, "journey[trial].holdout: Input should be less than or equal to 0.9"),
        ({"colour": "red"}, "journey[trial].colour: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_a_bad_journey_names_file_journey_and_field(change, expected):
    assert expected in _error(GOOD | change)


def test_files_in_toml_and_json_and_their_syntax_errors(tmp_path):
    as_json = tmp_path / "j.json"
    as_json.write_text(json.dumps({"journey": [GOOD]}))
    (spec,) = read_journeys_file(as_json)
    assert (spec.key, spec.holdout, spec.reentry, spec.trigger.within_days) == (
        "trial",
        0.1,
        "never",
        7,
    )
    broken = tmp_path / "j.toml"
    broken.write_text("[[journey]]\nkey = 'a\n")
    with pytest.raises(InputError, match=r"j\.toml: not valid toml"):
        read_journeys_file(broken)
    with pytest.raises(InputError, match="cannot read the journeys file"):
        read_journeys_file(tmp_path / "missing.toml")
    with pytest.raises(InputError, match="journey keys must be unique"):
        parse_journeys({"journey": [GOOD, GOOD]}, "x")


def test_the_packaged_journeys_use_the_agreed_templates():
    onboarding, winback, *loyalty = read_journeys_file(DEFAULTS_PATH)
    sends = {s.template for j in (onboarding, winback) for s in j.steps if s.kind == "send"}
    assert sends == {"onboarding-welcome", "onboarding-first-report", "onboarding-invite-team",
                     "winback-checkin", "winback-offer"}  # fmt: skip
    triggers = {j.key: (j.trigger.kind, j.steps[0].template) for j in loyalty}
    assert triggers == {
        "loyalty-tier-up": ("loyalty_tier_up", "loyalty-tier-up"),
        "loyalty-points-expiring": ("loyalty_points_expiring", "loyalty-points-expiring"),
        "loyalty-badge-earned": ("loyalty_badge", "loyalty-badge-earned"),
        "loyalty-reward-approved": ("loyalty_reward_approved", "loyalty-reward-approved"),
    }
    assert onboarding.trigger.kind == "segment_entry" and winback.trigger.kind == "health_tier"
    assert {s.kind for s in onboarding.steps} >= {"send", "wait", "branch", "task"}


def test_local_windows_quiet_hours_and_the_frequency_cap():
    tokyo, utc = ZoneInfo("Asia/Tokyo"), ZoneInfo("UTC")
    at = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)  # 21:00 in Tokyo
    assert next_in_window(at, tokyo, "09:00-11:00") == datetime(2025, 7, 1, 0, 0, tzinfo=UTC)
    assert next_in_window(at, utc, "11:00-13:00") == at
    assert next_in_window(at, utc, "22:00-06:00") == datetime(2025, 6, 30, 22, 0, tzinfo=UTC)
    assert after_quiet_hours(at, tokyo, "21:00-08:00") == datetime(2025, 6, 30, 23, 0, tzinfo=UTC)
    assert after_quiet_hours(at, utc, "21:00-08:00") == at
    assert after_quiet_hours(at.replace(hour=3), utc, "21:00-08:00") == at.replace(hour=8)
    week = timedelta(days=7)
    sent = [at - timedelta(days=6), at - timedelta(days=2), at - timedelta(days=1)]
    assert after_frequency_cap(at, sent, 3, week) == at + timedelta(days=1)
    assert after_frequency_cap(at, sent, 4, week) == at
    # capped to 12:00 UTC tomorrow (21:00 Tokyo, quiet): the slot moves on to 23:00 UTC
    slot = next_send_slot(at, tokyo, "21:00-08:00", sent, 3, week)
    assert slot == datetime(2025, 7, 1, 23, 0, tzinfo=UTC)
