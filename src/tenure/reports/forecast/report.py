"""The forecast report: per future month and series the chosen method's point and intervals."""

from __future__ import annotations

from typing import Any

from threadpoolctl import threadpool_limits

from tenure.reports.forecast.backtest import MAX_ORIGINS, backtest
from tenure.reports.forecast.calibration import calibrated_band
from tenure.reports.forecast.history import SERIES, History
from tenure.reports.forecast.methods import all_bands
from tenure.reports.forecast.model import MIN_MONTHS

BAND_KEYS = ("point", "lo80", "hi80", "lo95", "hi95")
HISTORY_SHOWN = 24  # months of actuals carried for the charts


def _next_months(last: str, count: int) -> list[str]:
    """Return the count months after LAST (YYYY-MM)."""
    year, month = (int(part) for part in last.split("-"))
    out = []
    for _ in range(count):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        out.append(f"{year:04d}-{month:02d}")
    return out


def _cell(bands: dict, method: str, k: int, series: str, scales: dict) -> dict[str, Any]:
    """Return one series' calibrated forecast at horizon index k by the chosen method (≥ 0)."""
    band = calibrated_band(bands[method], scales.get(method))
    values = {key: max(float(band[key][k]), 0.0) for key in BAND_KEYS}
    if series != "mrr":
        values = {key: round(v, 1) for key, v in values.items()}
    return {"method": method} | values


def _recent(history: History, count: int = HISTORY_SHOWN) -> list[dict[str, Any]]:
    """Return the last COUNT months' actual values of every series (for the charts)."""
    start = max(0, len(history) - count)
    return [
        {"month": history.months[i]} | {n: float(history.series(n)[i]) for n in SERIES}
        for i in range(start, len(history))
    ]


def forecast_report(
    history: History, months: int = 12, currency: str = "USD", max_origins: int = MAX_ORIGINS
) -> dict[str, Any]:
    """Return the forecast for MONTHS ahead with its rolling-origin backtest."""
    if len(history) < MIN_MONTHS:
        raise ValueError(f"{len(history)} months of history; the forecast needs {MIN_MONTHS}")
    # Small BLAS calls inside the ETS optimiser: one thread avoids oversubscription (3× faster
    # measured on a loaded 2-core machine).
    with threadpool_limits(limits=1, user_api="blas"):
        tested = backtest(history, months, max_origins)
        bands = all_bands(history, months)
    rows = []
    for k, month in enumerate(_next_months(history.months[-1], months)):
        row: dict[str, Any] = {"month": month, "horizon": k + 1}
        for name in SERIES:
            method = tested[name][k]["method"]
            method = method if method in bands[name] else "model"
            scales = tested["calibration"].get(name, {})
            row[name] = _cell(bands[name], method, k, name, scales)
        rows.append(row)
    return {
        "last_month": history.months[-1],
        "history_months": len(history),
        "months": months,
        "currency": currency,
        "forecast": rows,
        "history": _recent(history),
        "method_rule": "per series and horizon, the model where its backtest MAPE is at most "
        "the naive and seasonal-naive baselines', else the better baseline",
        "interval_rule": "each band scaled about its point so the backtest's misses are "
        "covered at 80 %/95 % (backtest.calibration: scales, coverage before/after out of time)",
        "backtest": tested,
    }
