"""`tenure uplift`: evaluate uplift models on a randomised data set."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

uplift_app = typer.Typer(
    help="Uplift models: cross-fitted Qini, AUUC and uplift at k on randomised data."
)

MODELS = ("x_learner", "t_learner")


def _number(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.4f}"


def result_table(result: dict[str, Any]) -> Table:
    """Return each model's cross-fitted ranking figures."""
    table = Table(title=f"uplift, {result['folds']}-fold cross-fitted", box=box.SIMPLE)
    for name in ("model", "qini_auc", "auuc", "uplift_at_10", "uplift_at_30"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for name, figures in result["models"].items():
        marker = " (chosen)" if name == result["model"] else ""
        table.add_row(name + marker, *(_number(figures[k]) for k in list(figures)))
    return table


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


@uplift_app.command("evaluate")
def evaluate_command(
    csv: Annotated[Path, typer.Option("--csv", help="CSV of a randomised comparison")],
    treatment: Annotated[str, typer.Option("--treatment", help="Column naming each row's arm")],
    control: Annotated[str, typer.Option("--control", help="The control arm's value")],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome column (0/1 or a number)")],
    id_column: Annotated[str | None, typer.Option("--id", help="Id column (not a feature)")] = None,
    treated: Annotated[
        str | None, typer.Option("--treated", help="Keep only this treated arm (default: all)")
    ] = None,
    model: Annotated[str, typer.Option("--model", help="x_learner or t_learner")] = "x_learner",
    folds: Annotated[int, typer.Option("--folds", min=2, max=20)] = 5,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Cross-fit T- and X-learners; print Qini, AUUC, uplift at 10/30 % and the average effect."""
    from tenure.errors import InputError
    from tenure.plays.uplift_evaluation import evaluate, load_randomised

    if model not in MODELS:
        raise InputError(f"--model must be one of {', '.join(MODELS)}, not {model!r}")
    table = load_randomised(
        csv, treatment=treatment, control=control, outcome=outcome, id_column=id_column,
        treated_value=treated,
    )  # fmt: skip
    result = _json_safe(evaluate(table, model, folds, seed))
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    console = Console()
    console.print(result_table(result))
    console.print(
        f"{result['n_rows']:,} rows; average effect {result['ate']:+.4f} "
        f"(95 % CI {result['ate_ci_low']:+.4f} … {result['ate_ci_high']:+.4f})"
    )


def register(app: typer.Typer) -> None:
    """Add the `uplift` group to the root app."""
    app.add_typer(uplift_app, name="uplift")
