"""The default segments shipped with Tenure: the file, its rules, and books that lack a field."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

from tenure.db.session import session_scope
from tenure.segments import service
from tenure.segments.frame import BASE_FIELDS
from tenure.segments.rules import validate_rule

from .conftest import AS_OF

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_defaults_file_ships_and_every_rule_validates():
    entries = service.read_segments_file(service.DEFAULTS_PATH)
    names = [e["name"] for e in entries]
    assert 5 <= len(entries) <= 8 and len(set(names)) == len(names)
    for entry in entries:
        assert entry["description"] and entry["rule"]
        validate_rule(entry["rule"], [*BASE_FIELDS, "attributes.employees"])
    package_data = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"]
    shipped = service.DEFAULTS_PATH.relative_to(service.DEFAULTS_PATH.parents[1]).as_posix()
    assert any(fnmatch(shipped, pattern) for pattern in package_data["tenure"]), shipped


def test_a_book_without_the_attribute_loads_and_evaluates_the_other_defaults(engine):
    with session_scope(engine) as db_session:
        result = service.load_default_segments(db_session=db_session)
    assert list(result.skipped) == ["large-companies"]
    assert "unknown field 'attributes.employees'" in result.skipped["large-companies"]
    assert "known fields" not in result.skipped["large-companies"]
    assert len(result.loaded) == 6 and "enterprise" in result.loaded
    with session_scope(engine) as db_session:
        evaluation = service.evaluate_segments(db_session=db_session, as_of=AS_OF)
    assert set(evaluation.counts) == set(result.loaded) and not evaluation.errors


def test_a_default_whose_attribute_holds_other_values_fails_alone(engine, book):
    # the hand-built book's `employees` are head counts (numbers), not the simulator's bands
    with session_scope(engine) as db_session:
        result = service.load_default_segments(db_session=db_session)
        evaluation = service.evaluate_segments(db_session=db_session, as_of=AS_OF)
    assert "large-companies" in result.loaded and not result.skipped
    assert list(evaluation.errors) == ["large-companies"]
    assert "cannot compare" in evaluation.errors["large-companies"]
    assert evaluation.counts["enterprise"] == 1  # a2, the enterprise plan
    assert evaluation.counts["new-accounts"] == 1  # a5, signed up ten days before
    with session_scope(engine) as db_session:
        again = service.load_default_segments(db_session=db_session)  # updates, no duplicates
        assert len(service.list_segments(db_session=db_session)) == 7
    assert again.loaded == result.loaded
