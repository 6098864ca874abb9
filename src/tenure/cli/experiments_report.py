"""Text output of `tenure experiments report` and `analyze`, and analyze's option parsing."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from tenure.cli.context import AppContext
from tenure.errors import InputError
from tenure.experiments.schemas import ExperimentResult


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1%}"


def _p(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def metric_table(metrics: list[dict[str, Any]]) -> Table:
    """Return one row per metric × treatment: mean, lift, interval, p-values, chance to win."""
    table = Table("metric", "variant", "n", "mean", "lift", "interval", "p", "p (Holm)", "P(win)")
    for metric in metrics:
        name = metric["metric"] + (" (guardrail)" if metric.get("guardrail") else "")
        for row in metric["variants"]:
            interval = (
                f"[{_pct(row['lift_ci_low'])}, {_pct(row['lift_ci_high'])}]"
                if row.get("lift_ci_low") is not None
                else "—"
            )
            win = row.get("chance_to_win")
            table.add_row(
                name, row["variant"], f"{row['n']:,}", f"{row['mean']:.4g}", _pct(row.get("lift")),
                interval, _p(row.get("p_value")), _p(row.get("p_value_adjusted")),
                "—" if win is None else f"{win:.0%}",
            )  # fmt: skip
    return table


def print_report(out: Console, report: dict[str, Any]) -> None:
    """Print an experiment's results report."""
    experiment, analysis = report["experiment"], report["analysis"]
    out.print(f"{experiment['key']}: {experiment['name']} ({experiment['status']})", markup=False)
    units = ", ".join(f"{v} {c['exposed']:,}/{c['assigned']:,}" for v, c in report["units"].items())
    out.print(f"exposed/assigned: {units}", highlight=False, markup=False)
    progress = report["progress"]
    if progress is not None:
        target = experiment["target_units"]
        out.print(f"sample size: {report['exposed']:,} of {target:,} ({progress:.0%})")
    srm = "ok" if report["srm_ok"] else "MISMATCH: check assignment and exposure logging"
    out.print(f"SRM p = {analysis['srm_p_value']:.4f}: {srm}", highlight=False, markup=False)
    if analysis["metrics"]:
        out.print(f"metrics as of {report['as_of']} ({analysis['method']}):")
        out.print(metric_table(analysis["metrics"]))
    winner = f" ({analysis['winner']})" if analysis.get("winner") else ""
    out.print(f"decision: {analysis['decision']}{winner}", highlight=False, markup=False)
    for reason in analysis["reasons"]:
        out.print(f"  - {reason}", highlight=False, markup=False)


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
