"""`tenure --help` and a group's `--help` import no heavy library; lazy groups stay complete."""

from __future__ import annotations

import json
import subprocess
import sys

import typer.main

from tenure.cli.lazy import load_commands
from tenure.cli.main import COMMANDS, app

HEAVY = (
    "pandas", "numpy", "pyarrow", "scipy", "duckdb", "ibis", "sklearn", "xgboost", "mlflow",
    "lifelines", "huey", "fastapi", "uvicorn", "sqlalchemy", "alembic", "plotly", "structlog",
    "pydantic_settings",
)  # fmt: skip

# `init` imports the warehouse (DuckDB) at the top (tests patch `tenure.cli.init.open_warehouse`);
# every other command's help must load no heavy library.
HEAVY_HELP_ALLOWED = {"init"}

PROBE = """
import json, sys
request = json.loads(sys.stdin.read())
from tenure.cli.main import main
for argv in request["runs"]:
    sys.argv = ["tenure", *argv]
    try:
        main()
    except SystemExit as exc:
        assert exc.code in (0, None), (argv, exc.code)
print(json.dumps(sorted(name for name in request["heavy"] if name in sys.modules)))
"""


def heavy_modules_after(*runs: list[str]) -> list[str]:
    """Import the CLI and run it with each argv in one fresh interpreter; return heavy modules."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=json.dumps({"runs": runs, "heavy": HEAVY}),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_cli_imports_no_heavy_library():
    assert heavy_modules_after() == []


def test_root_help_imports_no_heavy_library():
    assert heavy_modules_after(["--help"]) == []


def test_model_help_imports_no_heavy_library():
    assert heavy_modules_after(["model", "--help"]) == []


def test_every_group_help_imports_no_heavy_library():
    groups = [entry.name for entry in COMMANDS if entry.name not in HEAVY_HELP_ALLOWED]
    assert heavy_modules_after(*([name, "--help"] for name in groups)) == []


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
