"""`tenure segments` through the CLI on the hand-built book."""

from __future__ import annotations

import json

import pytest

from tenure.cli import segments
from tenure.cli.main import app

SEGMENTS_TOML = """
[[segment]]
name = "big-software"
rule = 'plan in ("pro", "enterprise") and mrr >= 500 and industry = "software"'
description = "Paying software accounts on pro or enterprise"

[[segment]]
name = "retail"
rule = 'industry = "retail"'
"""


@pytest.fixture
def run(cli, settings, book, tmp_path, frozen_clock):
    """Return a function that runs `tenure --data-dir … ARGS` on the book's data dir."""
    if "segments" not in {group.name for group in app.registered_groups}:
        segments.register(app)

    def invoke(*args: str, code: int = 0):
        result = cli.invoke(app, ["--data-dir", str(settings.data_dir), *args])
        assert result.exit_code == code, result.output
        return result

    return invoke


def test_load_evaluate_list_show(run, tmp_path):
    path = tmp_path / "segments.toml"
    path.write_text(SEGMENTS_TOML)
    assert "2 segments (big-software, retail)" in run("segments", "load", str(path)).output
    evaluated = run("segments", "evaluate", "--as-of", "2025-06-30").output
    assert "big-software: 2 accounts as of 2025-06-30" in evaluated
    listed = json.loads(run("segments", "list", "--json", "--as-of", "2025-06-30").output)
    big = {r["name"]: r for r in listed}["big-software"]
    assert (big["accounts"], big["mrr"], big["nrr"]) == (2, 1600.0, pytest.approx(1600 / 2100))
    assert big["logo_churn_rate"] == pytest.approx(1 / 3)
    shown = json.loads(run("segments", "show", "big-software", "--json").output)  # clock: 06-30
    assert [m["external_id"] for m in shown["members_sample"]] == ["a1", "a2"]
    assert shown["history"] == ["2025-06-30"]
    table = run("segments", "list").output
    assert "big-software" in table and "33.3%" in table and "76.2%" in table
    assert "logo churn 33.3%" in run("segments", "show", "big-software").output


def test_errors_are_clear(run, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[segment]]\nname = "x"\nrule = "mrr >= 5 and helth = 1"\n')
    result = run("segments", "load", str(path), code=2)
    assert "position 14" in result.output and "unknown field 'helth'" in result.output
    assert "no segment named 'nope'" in run("segments", "show", "nope", code=4).output
    assert "--as-of must be a date" in run("segments", "list", "--as-of", "June", code=2).output


def test_cluster_and_grid_commands(run):
    first = json.loads(run("segments", "cluster", "--k-max", "3", "--seed", "0", "--json").output)
    again = json.loads(run("segments", "cluster", "--k-max", "3", "--seed", "0", "--json").output)
    assert first == again and first["k"] in (2, 3)
    grid = run("segments", "grid").output
    assert "value-high-risk-high: 1 accounts" in grid and "proxy" in grid
    names = {r["name"]: r["kind"] for r in json.loads(run("segments", "list", "--json").output)}
    assert names["cluster-0"] == "cluster" and names["rfm-champions"] == "grid"


def test_load_defaults(run, tmp_path):
    loaded = run("segments", "load", "--defaults").output
    assert "segments load: 7 segments (enterprise, at-risk-high-value," in loaded
    evaluated = run("segments", "evaluate", "--as-of", "2025-06-30").output
    assert "enterprise: 1 accounts" in evaluated and "large-companies: skipped" in evaluated
    path = tmp_path / "segments.toml"
    path.write_text(SEGMENTS_TOML)
    assert "give either a segments file or --defaults" in run("segments", "load", code=2).output
    run("segments", "load", str(path), "--defaults", code=2)
