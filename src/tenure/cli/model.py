"""`tenure model evaluate`: cross-validated churn models on any tabular churn data set."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tenure.churn.estimators import MODEL_NAMES
from tenure.churn.evaluation import METRICS, OBJECTIVES, evaluate_churn_model
from tenure.churn.tabular import churn_table, read_table
from tenure.cli.context import AppContext, app_context
from tenure.errors import InputError

model_app = typer.Typer(help="Churn models: evaluate.", no_args_is_help=True)


@model_app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    csv_path: Annotated[Path, typer.Option("--csv", help="CSV file (.csv or .csv.gz)")],
    target: Annotated[str, typer.Option("--target", help="Churn label column")],
    positive: Annotated[
        str | None, typer.Option("--positive", help="Label value meaning churn (default: detect)")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id", help="Id column to drop (default: detect)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    folds: Annotated[int, typer.Option("--folds", help="Stratified CV folds")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed for folds and models")] = 0,
    model: Annotated[
        str, typer.Option("--model", help="xgboost, logistic or both (best AUC on top)")
    ] = "both",
    objective: Annotated[
        str, typer.Option("--threshold-for", help="Threshold maximises accuracy or f1")
    ] = "accuracy",
) -> None:
    """Cross-validate churn models on a CSV: AUC, PR-AUC, Brier, accuracy and F1."""
    context: AppContext = app_context(ctx)
    names = _model_names(model)
    if objective not in OBJECTIVES:
        raise InputError(f"--threshold-for must be one of {', '.join(OBJECTIVES)}")
    frame = read_table(csv_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = churn_table(frame, target=target, positive=positive, id_column=id_column)
    for warning in caught:
        context.console.print(f"[yellow]warning:[/] {warning.message}", highlight=False)
    results = [
        evaluate_churn_model(table, name, folds=folds, seed=seed, objective=objective)
        for name in names
    ]
    report = _report(results, table.numeric + table.categorical, table.dropped, table.positive)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    context.out.print(_table(report, csv_path))


def _model_names(model: str) -> tuple[str, ...]:
    """Return the models that --model asks for."""
    if model == "both":
        return MODEL_NAMES
    if model not in MODEL_NAMES:
        raise InputError(f"--model must be xgboost, logistic or both, not {model!r}")
    return (model,)


def _report(
    results: list[dict[str, Any]], features: list[str], dropped: dict[str, str], positive: str
) -> dict[str, Any]:
    """Return one JSON-able object: the best model by mean AUC on top, every model listed."""
    best = max(results, key=lambda result: result["auc"])
    report = {key: value for key, value in best.items() if key != "fold_metrics"}
    report.update(positive_value=positive, features=features, dropped_columns=dropped)
    if len(results) > 1:
        report["selected_by"] = "highest mean CV AUC among the models listed"
        report["models"] = results
    else:
        report["fold_metrics"] = best["fold_metrics"]
    return report


def _table(report: dict[str, Any], csv_path: Path) -> Table:
    """Return a Rich table: one row per metric, one column per model (mean ± std)."""
    results = report.get("models", [report])
    title = (
        f"{csv_path.name}: {report['n_rows']:,} rows, churn rate {report['positive_rate']:.1%}, "
        f"{report['folds']}-fold stratified CV"
    )
    table = Table(title=title)
    table.add_column("metric")
    for result in results:
        table.add_column(result["model"], justify="right")
    for metric in (*METRICS, "threshold"):
        cells = [f"{r[metric]:.3f} ± {r[f'{metric}_std']:.3f}" for r in results]
        table.add_row(metric, *cells)
    dropped = ", ".join(f"{k} ({v})" for k, v in report["dropped_columns"].items()) or "none"
    table.caption = f"dropped: {dropped}; best by AUC: {report['model']}"
    return table


def register(app: typer.Typer) -> None:
    """Add the `model` group to the root app."""
    app.add_typer(model_app, name="model")
