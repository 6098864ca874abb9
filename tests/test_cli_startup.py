"""`tenure --help` and a group's `--help` import no heavy library; lazy groups stay complete."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer.main

from tenure.cli.lazy import load_commands
from tenure.cli.main import COMMANDS, app

HEAVY = (
    "pandas", "numpy", "pyarrow", "scipy", "duckdb", "ibis", "sklearn", "xgboost", "mlflow",
    "lifelines", "huey", "fastapi", "uvicorn", "sqlalchemy", "alembic", "plotly",
)  # fmt: skip

PROBE = """
import json, sys
argv = sys.argv[1:]
if argv:
    from tenure.cli.main import main
    sys.argv = ["tenure", *argv]
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code
else:
    import tenure.cli.main
heavy = json.loads(sys.stdin.read())
print(json.dumps(sorted(name for name in heavy if name in sys.modules)))
"""


def heavy_modules_after(*argv: str) -> list[str]:
    """Run the CLI (or only import it) in a fresh interpreter; return the heavy modules loaded."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        input=json.dumps(HEAVY),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "argv", [(), ("--help",), ("model", "--help"), ("import", "--help")], ids=" ".join
)
def test_start_up_imports_no_heavy_library(argv):
    assert heavy_modules_after(*argv) == []


def test_every_lazy_entry_matches_what_its_module_registers():
    registered: dict[str, str] = {}
    for module in sorted({entry.module for entry in COMMANDS}):
        for name, command in load_commands(module).items():
            registered[name] = (command.help or "").strip().splitlines()[0]
    assert registered == {entry.name: entry.help for entry in COMMANDS}


def test_groups_load_on_lookup_and_keep_their_sub_commands():
    root = typer.main.get_command(app)
    assert list(root.list_commands(None))[:4] == ["init", "simulate", "worker", "serve"]
    model = root.get_command(None, "model")
    assert {"evaluate", "train", "list", "promote", "report"} <= set(model.commands)
    assert root.get_command(None, "no-such-command") is None


def test_root_help_lists_every_command_with_its_help(cli):
    result = cli.invoke(app, ["--help"])
    assert result.exit_code == 0
    for entry in COMMANDS:
        assert entry.name in result.output
    assert "Churn models: evaluate, train, list, promote, report." in result.output


def test_unknown_command_is_a_usage_error(cli):
    result = cli.invoke(app, ["modle"])
    assert result.exit_code == 2
    assert "No such command" in result.output + result.stderr
