"""Scorecards as data: defaults, validation with clear errors, the stored set, TOML files."""

from __future__ import annotations

import pytest

from tenure.db.session import session_scope
from tenure.errors import InputError, NotFound, StateConflict
from tenure.health import scorecards as sc
from tenure.health.defaults import DEFAULT_SCORECARDS_TOML

SIMPLE = {
    "name": "simple",
    "measure": [{"name": "nps", "weight": 1, "thresholds": [[0, 0], [10, 100]]}],
}


def test_defaults_ship_onboarding_renewal_and_a_catch_all():
    cards = sc.default_scorecards()
    assert [c.name for c in cards] == ["onboarding", "renewal", "standard"]
    assert cards[0].applies_to.lifecycle == ["onboarding"]
    assert cards[-1].applies_to.is_catch_all
    assert {m.kind for m in cards[-1].measures} == set(sc.MEASURE_KINDS)
    assert [(t.name, t.max) for t in cards[-1].tiers] == [
        ("red", 50),
        ("yellow", 75),
        ("green", 100),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"measure": [{"name": "nope", "weight": 1, "percentile": True}]}, "unknown measure kind"),
        ({"measure": [{"name": "nps", "weight": 0, "percentile": True}]}, "measure.0.weight"),
        ({"measure": [{"name": "nps", "weight": 1}]}, "either thresholds or percentile"),
        (
            {"measure": [{"name": "nps", "weight": 1, "thresholds": [[5, 0], [1, 100]]}]},
            "threshold values must increase",
        ),
        ({"tier": [{"name": "x", "max": 50}]}, "last must be 100"),
        ({"applies_to": {"lifecycle": ["teen"]}}, "applies_to.lifecycle.0"),
    ],
)
def test_invalid_definitions_say_what_and_where(change, message):
    with pytest.raises(InputError, match=message):
        sc.parse_definition({**SIMPLE, **change})


def test_stored_set_starts_from_the_defaults_and_round_trips(engine):
    with session_scope(engine) as s:
        assert [c.name for c in sc.list_scorecards(s)] == ["onboarding", "renewal", "standard"]
        sc.save_scorecard(s, {**SIMPLE, "priority": 5, "applies_to": {"segment": "enterprise"}})
    with session_scope(engine) as s:
        names = [c.name for c in sc.list_scorecards(s)]
        assert names == ["simple", "onboarding", "renewal", "standard"]
        assert sc.get_scorecard(s, "simple").applies_to.segment == "enterprise"
        sc.delete_scorecard(s, "renewal")
    with session_scope(engine) as s:
        assert [c.name for c in sc.list_scorecards(s)] == ["simple", "onboarding", "standard"]
        with pytest.raises(NotFound):
            sc.get_scorecard(s, "renewal")


def test_the_last_catch_all_cannot_be_deleted(engine):
    with pytest.raises(InputError, match="every account"), session_scope(engine) as s:
        sc.delete_scorecard(s, "standard")
    with session_scope(engine) as s:  # rolled back: still there
        assert sc.get_scorecard(s, "standard").name == "standard"


def test_deleting_every_stored_scorecard_is_refused(engine):
    """An emptied set would read as the defaults again: the last deletion is a conflict."""
    with session_scope(engine) as s:
        sc.delete_scorecard(s, "onboarding")
        sc.delete_scorecard(s, "renewal")
    with pytest.raises(StateConflict, match="every account"), session_scope(engine) as s:
        sc.delete_scorecard(s, "standard")
    with session_scope(engine) as s:
        assert [c.name for c in sc.list_scorecards(s)] == ["standard"]
        with pytest.raises(NotFound):
            sc.get_scorecard(s, "onboarding")


def test_toml_file_loads_and_bad_toml_is_refused(engine, tmp_path):
    path = tmp_path / "cards.toml"
    path.write_text(DEFAULT_SCORECARDS_TOML.replace('name = "standard"', 'name = "mine"'))
    with session_scope(engine) as s:
        loaded = sc.load_scorecards_file(s, path)
    assert [c.name for c in loaded] == ["onboarding", "renewal", "mine"]
    path.write_text("[[scorecard]\nname=")
    with pytest.raises(InputError, match="not valid TOML"), session_scope(engine) as s:
        sc.load_scorecards_file(s, path)
