"""`tenure experiments analyze`: experiments and their statistics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.errors import InputError
from tenure.experiments.schemas import ExperimentResult, Method

# DuckDB, numpy and scipy load inside the command (start-up time of the other commands).

experiments_app = typer.Typer(
    help="Experiments: assignment, exposures and their statistics.", no_args_is_help=True
)


def parse_weights(text: str | None, variants: list[str]) -> dict[str, float] | None:
    """Return the expected split from `a=50,b=25,c=25`, naming every variant; None when absent."""
    if text is None:
        return None
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = -1.0
        if not sep or weight <= 0:
            raise InputError(
                f"--weights wants VARIANT=WEIGHT pairs with positive weights: {part!r}"
            )
        weights[name.strip()] = weight
    if set(weights) != set(variants):
        raise InputError(f"--weights must name every variant: {', '.join(variants)}")
    return weights


def pick_control(control: str | None, variants: list[str]) -> str:
    """Return --control, else `control` when present, else the first variant in sort order."""
    if control is None:
        return "control" if "control" in variants else sorted(variants)[0]
    if control not in variants:
        raise InputError(f"--control {control!r} is not a variant ({', '.join(variants)})")
    return control


def _cell(value: float | None, fmt: str) -> str:
    """Return a formatted number, or a dash."""
    return "—" if value is None else format(value, fmt)


def print_result(context: AppContext, result: ExperimentResult) -> None:
    """Print one table per metric, then the SRM check and the decision."""
    for metric in result.metrics:
        table = Table(title=f"{metric.metric} ({metric.kind})")
        for header in ("variant", "n", "mean", "lift", "95% interval", "p", "p (Holm)", "P(win)"):
            table.add_column(header)
        for row in metric.variants:
            interval = (
                "—"
                if row.lift_ci_low is None
                else f"{row.lift_ci_low:+.2%} … {row.lift_ci_high:+.2%}"
            )
            table.add_row(
                row.variant, str(row.n), _cell(row.mean, ".4g"), _cell(row.lift, "+.2%"),
                interval, _cell(row.p_value, ".3g"), _cell(row.p_value_adjusted, ".3g"),
                _cell(row.chance_to_win, ".1%"),
            )  # fmt: skip
        context.out.print(table)
    context.out.print(f"units: {result.units}, SRM p = {result.srm_p_value:.3g}")
    context.out.print(f"decision: {result.decision}", highlight=False)
    for reason in result.reasons:
        context.out.print(f"  {reason}", highlight=False, markup=False)


@experiments_app.command("analyze")
def analyze_command(
    ctx: typer.Context,
    csv: Annotated[Path, typer.Option("--csv", help="CSV file, one row per unit")],
    variant: Annotated[str, typer.Option("--variant", help="Column naming each unit's variant")],
    metric: Annotated[list[str], typer.Option("--metric", help="Metric column (repeatable)")],
    control: Annotated[
        str | None, typer.Option("--control", help="Control variant (default: 'control')")
    ] = None,
    pre: Annotated[
        str | None, typer.Option("--pre", help="Pre-period covariate column (CUPED)")
    ] = None,
    method: Annotated[Method, typer.Option("--method", help="Inference method")] = (
        Method.FREQUENTIST
    ),
    weights: Annotated[
        str | None, typer.Option("--weights", help="Expected split, e.g. a=50,b=50")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Analyse an experiment from a CSV of units: lifts, intervals, p-values, SRM, decision."""
    from tenure.experiments.csv_source import summarize_csv
    from tenure.experiments.engine import analyze_experiment
    from tenure.experiments.output import result_json

    context: AppContext = app_context(ctx)
    data = summarize_csv(csv, variant, metric, pre)
    variants = list(data.counts)
    result = analyze_experiment(
        data.summaries,
        data.kinds,
        pick_control(control, variants),
        counts=data.counts,
        weights=parse_weights(weights, variants),
        method=method,
    )
    if as_json:
        typer.echo(json.dumps(result_json(result)))
    else:
        print_result(context, result)


def register(app: typer.Typer) -> None:
    """Add the `experiments` group to the root app."""
    app.add_typer(experiments_app, name="experiments")
