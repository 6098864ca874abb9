"""Rules as data: validation with clear errors, the TOML file, the shipped defaults."""

from __future__ import annotations

import pytest

from tenure.alerts import service
from tenure.alerts.rules import DEFAULT_RULES, KINDS, read_rules_file, validate_rule
from tenure.db.session import session_scope
from tenure.errors import InputError, NotFound


def test_params_merge_over_kind_defaults():
    """Given params override the kind's defaults; the rest keep them; ints stay ints."""
    spec = validate_rule({"name": "drop", "kind": "score_drop", "params": {"points": 20}})
    assert spec["params"] == {"points": 20, "days": 7}
    assert (spec["route"], spec["channels"], spec["cooldown_hours"]) == ("owner", ["email"], 72)
    assert validate_rule({"name": "t", "kind": "ticket_spike"})["params"] == KINDS["ticket_spike"]


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"name": "x", "kind": "churn"}, "unknown kind 'churn'"),
        ({"name": "Bad Name", "kind": "no_login"}, "name must be"),
        ({"name": "x", "kind": "no_login", "params": {"dayz": 3}}, "unknown param 'dayz'"),
        ({"name": "x", "kind": "no_login", "params": {"days": -1}}, "whole number from 1 to 3650"),
        ({"name": "x", "kind": "no_login", "params": {"days": 2.5}}, "whole number"),
        ({"name": "x", "kind": "tier_change", "params": {"to": ""}}, "non-empty text"),
        ({"name": "x", "kind": "no_login", "severity": "urgent"}, "severity must be"),
        ({"name": "x", "kind": "no_login", "route": "bob"}, "route 'bob'"),
        ({"name": "x", "kind": "no_login", "channels": ["sms"]}, "unknown channel 'sms'"),
        ({"name": "x", "kind": "no_login", "cooldown_hours": "1d"}, "cooldown_hours"),
        ({"name": "x", "kind": "no_login", "escalate_after_hours": 0}, "escalate_after_hours"),
        ({"name": "x", "kind": "no_login", "colour": "red"}, "unknown field 'colour'"),
    ],
)
def test_bad_rules_say_what_is_wrong(spec, message):
    """Each mistake raises InputError naming the rule and the field."""
    with pytest.raises(InputError, match=message):
        validate_rule(spec)


def test_shipped_defaults_cover_every_kind():
    """The default rules are valid and cover each of the kinds."""
    assert {validate_rule(spec)["kind"] for spec in DEFAULT_RULES} == set(KINDS)


def test_rules_file(tmp_path):
    """A TOML file of [[rule]] tables loads; errors give the file and rule number."""
    good = tmp_path / "rules.toml"
    good.write_text(
        '[[rule]]\nname = "quiet"\nkind = "no_login"\nroute = "team:cs@example.com"\n'
        'channels = ["email", "slack", "webhook:ops"]\n[rule.params]\ndays = 21\n'
    )
    [spec] = read_rules_file(good)
    assert spec["params"] == {"days": 21} and spec["channels"][2] == "webhook:ops"
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nname = "a"\nkind = "no_login"\n[[rule]]\nname = "b"\nkind = "x"\n')
    with pytest.raises(InputError, match=r"bad.toml: rule #2: alert rule 'b': unknown kind"):
        read_rules_file(bad)
    twice = tmp_path / "twice.toml"
    twice.write_text('[[rule]]\nname = "a"\nkind = "no_login"\n' * 2)
    with pytest.raises(InputError, match="defined twice"):
        read_rules_file(twice)
    for path, message in ((tmp_path / "none.toml", "does not exist"), (tmp_path, "cannot read")):
        with pytest.raises(InputError, match=message):
            read_rules_file(path)
    (tmp_path / "empty.toml").write_text("x = 1\n")
    with pytest.raises(InputError, match="no \\[\\[rule\\]\\] tables"):
        read_rules_file(tmp_path / "empty.toml")


def test_rule_service_round_trip(any_engine):
    """save_rule upserts by name, list_rules lists, delete_rule deletes or raises NotFound."""
    with session_scope(any_engine) as session:
        assert service.ensure_default_rules(session) == len(DEFAULT_RULES)
        assert service.ensure_default_rules(session) == 0
        service.save_rule(
            session,
            {"name": "no-login", "kind": "no_login", "enabled": False, "params": {"days": 30}},
        )
    with session_scope(any_engine) as session:
        rule = service.get_rule(session, "no-login")
        assert (rule.enabled, rule.params, rule.severity) == (False, {"days": 30}, "medium")
        service.delete_rule(session, "no-login")
        assert "no-login" not in [r.name for r in service.list_rules(session)]
        with pytest.raises(NotFound, match="no alert rule named 'nope'"):
            service.delete_rule(session, "nope")
