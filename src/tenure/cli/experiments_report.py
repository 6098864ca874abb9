"""The text form of `tenure experiments report`: units, SRM, progress, lifts and decision."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


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
