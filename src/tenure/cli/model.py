"""`tenure model`: evaluate any churn table; train, list, promote and report the churn model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tenure.cli.context import AppContext, app_context
from tenure.errors import InputError

# Every command imports tenure.churn.* inside its body: those load pandas, scikit-learn,
# XGBoost or MLflow (seconds), which `tenure model --help` and every other command would
# otherwise pay at start-up. It is start-up time, not an import cycle.

model_app = typer.Typer(
    help="Churn models: evaluate, train, list, promote, report.", no_args_is_help=True
)


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
        str,
        typer.Option(
            "--model",
            help="auto (chosen per fold by inner CV), ensemble, xgboost, logistic, both "
            "(xgboost + logistic) or all (best AUC on top)",
        ),
    ] = "auto",
    objective: Annotated[
        str, typer.Option("--threshold-for", help="Threshold maximises accuracy or f1")
    ] = "accuracy",
    keep: Annotated[
        list[str] | None,
        typer.Option("--keep", help="Keep this column even if it looks like a leak (repeatable)"),
    ] = None,
    drop: Annotated[
        list[str] | None, typer.Option("--drop", help="Drop this column (repeatable)")
    ] = None,
) -> None:
    """Cross-validate churn models on a CSV: AUC, PR-AUC, Brier, accuracy and F1."""
    from tenure.churn.evaluation import OBJECTIVES, evaluate_churn_model
    from tenure.churn.tabular import churn_table, read_table

    context: AppContext = app_context(ctx)
    names = _model_names(model)
    if objective not in OBJECTIVES:
        raise InputError(f"--threshold-for must be one of {', '.join(OBJECTIVES)}")
    frame = read_table(csv_path)
    table = churn_table(
        frame, target=target, positive=positive, id_column=id_column, keep=keep or (),
        drop=drop or (),
    )  # fmt: skip
    results = [
        evaluate_churn_model(table, name, folds=folds, seed=seed, objective=objective)
        for name in names
    ]
    report = _report(results, table.numeric + table.categorical, table.dropped, table.positive)
    for warning in report["warnings"]:
        context.console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    context.out.print(_table(report, csv_path))


def _model_names(model: str) -> tuple[str, ...]:
    """Return the models that --model asks for."""
    from tenure.churn.estimators import MODEL_NAMES

    groups = {"both": ("xgboost", "logistic"), "all": MODEL_NAMES}
    if model in groups:
        return groups[model]
    if model not in (*MODEL_NAMES, "auto"):
        choices = ", ".join(("auto", *MODEL_NAMES, *groups))
        raise InputError(f"--model must be one of {choices}, not {model!r}")
    return (model,)


def _report(
    results: list[dict[str, Any]], features: list[str], dropped: dict[str, str], positive: str
) -> dict[str, Any]:
    """Return one JSON-able object: the best model by mean AUC on top, every model listed."""
    best = max(results, key=lambda result: result["auc"])
    report = {key: value for key, value in best.items() if key != "fold_metrics"}
    used = [name for name in features if name not in best["leaks"]]
    report.update(
        positive_value=positive, features=used, dropped_columns={**dropped, **best["leaks"]}
    )
    if len(results) > 1:
        report["selected_by"] = "highest mean CV AUC among the models listed"
        report["selection_note"] = (
            "the best model is chosen on the same folds whose scores it reports, so its scores "
            "are optimistic; pick a model with --model for an unbiased estimate"
        )
        report["models"] = results
    else:
        report["fold_metrics"] = best["fold_metrics"]
    return report


def _table(report: dict[str, Any], csv_path: Path) -> Table:
    """Return a Rich table: one row per metric, one column per model (mean ± std)."""
    from tenure.churn.evaluation import METRICS

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
    table.caption = f"dropped: {dropped}; model: {report['model']}"
    if "selection_note" in report:
        table.caption += " (best by AUC, chosen on these same folds, so optimistic)"
    if "chosen_models" in report:
        table.caption += "; chosen per fold by inner CV: " + _choices(report)
    if report["suspicious"]:
        table.caption += "; suspicious: AUC of 0.99 or more, see the warnings"
    return table


def _choices(report: dict[str, Any]) -> str:
    """Return each fold's nested choice with its inner AUCs, e.g. "1 xgboost (x .861, ...)"."""
    parts = []
    for number, fold in enumerate(report["fold_metrics"], start=1):
        aucs = ", ".join(f"{name} {auc:.3f}" for name, auc in fold["inner_auc"].items())
        parts.append(f"fold {number} {fold['model']} ({aucs})")
    return "; ".join(parts)


@model_app.command("train")
def train_command(
    ctx: typer.Context,
    horizon: Annotated[
        int | None, typer.Option("--horizon", help="Label horizon in days: 30 or 90 (settings)")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Model seed")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Train out of time on warehouse snapshots, log to MLflow, promote if it beats the champion."""
    from tenure.churn.flows import finite, train_churn_model

    context: AppContext = app_context(ctx)
    result = train_churn_model(context.settings, context.engine, horizon=horizon, seed=seed)
    if as_json:
        typer.echo(json.dumps(finite(result), indent=2, default=str))
        return
    context.out.print(_train_summary(result), highlight=False)


def _train_summary(result: dict[str, Any]) -> str:
    """Return a few lines: version, promotion, headline metrics, Bayes ratio."""
    m, base, window = result["metrics"], result["baseline_logistic_metrics"], result["data_window"]
    why = (result.get("champion_comparison") or {}).get("reason", "champion is better")
    lines = [
        f"{result['model']} v{result['version']} ({result.get('served_model', 'xgboost')}): "
        + ("promoted to champion" if result["promoted"] else f"not promoted ({why})"),
        f"out-of-time validation on {window['validate']} ({m['rows']} accounts, churn rate "
        f"{m['churn_rate']:.1%}): AUC {m['auc']:.3f}, PR-AUC {m['pr_auc']:.3f}, Brier "
        f"{m['brier']:.4f}, ECE {m['ece']:.4f}, accuracy {m['accuracy']:.3f}, F1 {m['f1']:.3f} at "
        f"{m['threshold']:.2f}, top-decile lift {m['top_decile_lift']:.1f}",
        f"logistic baseline AUC {base['auc']:.3f}",
    ]
    skill = result.get("skill_check")
    if skill:
        lines.append(skill["verdict"])
    capacity = result.get("capacity")
    if capacity:
        lines.append(
            f"xgboost capacity for this book: {capacity['setting']} (inner validation on "
            f"{capacity['chosen_on']}; xgboost AUC {result['selection']['xgboost_auc']:.3f})"
        )
    bayes = result.get("bayes_optimal")
    if bayes:
        lines.append(
            f"simulated truth: Bayes-optimal AUC {bayes['bayes_optimal_auc']:.3f}, "
            f"ratio {bayes['ratio']:.3f}"
        )
    return "\n".join(lines)


@model_app.command("list")
def list_command(
    ctx: typer.Context,
    horizon: Annotated[int | None, typer.Option("--horizon", help="30 or 90 (settings)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array")] = False,
) -> None:
    """List the registered churn model versions, newest first."""
    from tenure.churn import registry

    context: AppContext = app_context(ctx)
    name = registry.model_name(horizon or context.settings.churn_horizon_days)
    versions = registry.list_versions(context.settings, name)
    if as_json:
        typer.echo(json.dumps(versions, indent=2))
        return
    table = Table(title=f"registered model {name}")
    for column in ("version", "champion", "trained", "validated on", "AUC", "PR-AUC", "Brier"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            v["version"], "yes" if v["champion"] else "", str(v["created"]), str(v["validate_as_of"]),
            *(f"{v[k]:.3f}" if v[k] is not None else "" for k in ("auc", "pr_auc", "brier")),
        )  # fmt: skip
    context.out.print(table)


@model_app.command("promote")
def promote_command(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="Version to make the champion")],
    horizon: Annotated[int | None, typer.Option("--horizon", help="30 or 90 (settings)")] = None,
) -> None:
    """Make a registered version the champion that daily scoring uses."""
    from tenure.churn import registry

    context: AppContext = app_context(ctx)
    name = registry.model_name(horizon or context.settings.churn_horizon_days)
    registry.promote(context.settings, name, version)
    context.out.print(f"{name} v{version} is now the champion", highlight=False)


@model_app.command("report")
def report_command(
    ctx: typer.Context,
    version: Annotated[
        str | None, typer.Option("--version", help="Model version (default: the champion)")
    ] = None,
    horizon: Annotated[int | None, typer.Option("--horizon", help="30 or 90 (settings)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    html_path: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML report")
    ] = None,
) -> None:
    """Show a model's out-of-time metrics, calibration, lift, importance, window and drift."""
    from tenure.churn import registry
    from tenure.churn.drift import drift_for_version
    from tenure.churn.flows import finite
    from tenure.churn.report import render_html

    context: AppContext = app_context(ctx)
    name = registry.model_name(horizon or context.settings.churn_horizon_days)
    loaded = registry.load_version(context.settings, name, version)
    report = {
        "model": name,
        "version": loaded.version,
        "horizon_days": loaded.card["horizon_days"],
        **loaded.report,
        "drift": drift_for_version(context.settings, loaded.version),
    }
    if html_path is not None:
        html_path.write_text(render_html(report), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(finite(report), indent=2, default=str))
    elif html_path is None:
        promoted = report.get("champion_comparison", {}).get("promoted", False)
        context.out.print(_train_summary({**report, "promoted": promoted}), highlight=False)


def register(app: typer.Typer) -> None:
    """Add the `model` group to the root app."""
    app.add_typer(model_app, name="model")
