"""Turn measured figures into scored checks and an overall data-quality score (pure).

A figure is what the gatherers measure: a `Ratio` (good rows out of all rows) or a `Recency`
(the newest record of a table). Scores are percentages 0–100:

- ratio checks score `100 × good / total`;
- freshness scores 100 while the newest record is at most one cadence old and falls linearly
  to 0 at `FRESHNESS_ZERO_AT` cadences (4 × cadence by default);
- a figure over zero rows is `no_data`: shown, never scored, left out of the overall score;
- the overall score is the mean of the scored checks weighted by `rules.WEIGHTS`, and is
  `None` when no check could be scored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from tenure.quality.rules import BAR, CHECK_ORDER, FRESHNESS_ZERO_AT, TABLE_ORDER, WEIGHTS

PASS = "pass"
BELOW_BAR = "below_bar"
NO_DATA = "no_data"
INFO = "info"


@dataclass(frozen=True)
class Ratio:
    """A measured share: `good` rows out of `total` rows pass one check."""

    table: str
    check: str
    good: int
    total: int
    detail: str = ""
    source: str | None = None
    rule: str | None = None


@dataclass(frozen=True)
class Recency:
    """The newest record of a table (or of one source of it) and how often records arrive."""

    table: str
    newest: datetime | None
    rows: int
    cadence: timedelta
    source: str | None = None


Figure = Ratio | Recency


@dataclass(frozen=True)
class CheckResult:
    """One scored check of one table (and source)."""

    table: str
    check: str
    score: float | None
    status: str
    detail: str
    weight: float
    source: str | None = None
    rule: str | None = None
    rows: int | None = None
    impact: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the check as a JSON-ready dict, scores rounded to 2 decimals."""
        return {
            "table": self.table,
            "source": self.source,
            "check": self.check,
            "rule": self.rule,
            "score": None if self.score is None else round(self.score, 2),
            "status": self.status,
            "rows": self.rows,
            "weight": self.weight,
            "impact": round(self.impact, 2),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class QualityReport:
    """Every check, the overall score and the checks under the bar."""

    generated_at: datetime
    checks: tuple[CheckResult, ...]
    overall_score: float | None
    bar: float = BAR
    weights: Mapping[str, float] = field(default_factory=lambda: dict(WEIGHTS))
    # The churn model's drift (tenure.quality.drift.model_drift_summary): shown, never scored.
    model_drift: Mapping[str, Any] | None = None

    @property
    def status(self) -> str:
        """Return `pass`, `below_bar` or `no_data` for the report as a whole."""
        if self.overall_score is None:
            return NO_DATA
        return PASS if self.overall_score >= self.bar else BELOW_BAR

    @property
    def below_bar(self) -> tuple[CheckResult, ...]:
        """Return the scored checks under the bar, the biggest drag on the overall first."""
        below = [check for check in self.checks if check.status == BELOW_BAR]
        return tuple(sorted(below, key=lambda check: (-check.impact, check.score or 0.0)))

    @property
    def table_rows(self) -> dict[str, int]:
        """Return the row count of each table, from its completeness checks."""
        rows: dict[str, int] = {}
        for check in self.checks:
            if check.check == "completeness":
                rows[check.table] = rows.get(check.table, 0) + (check.rows or 0)
        return rows

    @property
    def no_data_tables(self) -> list[str]:
        """Return the tables that hold no rows at all."""
        return [table for table, rows in self.table_rows.items() if rows == 0]

    def to_dict(self) -> dict[str, Any]:
        """Return the report as one JSON-ready dict."""
        overall = self.overall_score
        return {
            "generated_at": self.generated_at.isoformat(),
            "overall_score": None if overall is None else round(overall, 2),
            "bar": self.bar,
            "status": self.status,
            "weights": dict(self.weights),
            "tables": self.table_rows,
            "no_data_tables": self.no_data_tables,
            "below_bar": [check.to_dict() for check in self.below_bar],
            "checks": [check.to_dict() for check in self.checks],
            "model_drift": None if self.model_drift is None else dict(self.model_drift),
        }


def freshness_score(
    age: timedelta, cadence: timedelta, *, zero_at: float = FRESHNESS_ZERO_AT
) -> float:
    """Return 100 within one cadence, falling linearly to 0 at `zero_at` cadences."""
    if cadence <= timedelta(0):
        raise ValueError(f"cadence must be positive, got {cadence}")
    ratio = age / cadence
    if ratio <= 1:
        return 100.0
    return max(0.0, 100.0 * (zero_at - ratio) / (zero_at - 1))


def describe_age(age: timedelta) -> str:
    """Return an age in days (or hours under a day), for details."""
    hours = age.total_seconds() / 3600
    if abs(hours) < 24:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def describe_missing(missing: Mapping[str, int]) -> str:
    """Return `priority 2, status 1` for the fields that are missing, or `none missing`."""
    parts = [f"{name} {count}" for name, count in missing.items() if count]
    return "missing: " + ", ".join(parts) if parts else "none missing"


def status_for(score: float | None, weight: float, *, bar: float = BAR) -> str:
    """Return the status of a check from its score and weight."""
    if score is None:
        return NO_DATA
    if weight == 0:
        return INFO
    return PASS if score >= bar else BELOW_BAR


def score_ratio(figure: Ratio, *, bar: float = BAR) -> CheckResult:
    """Score a ratio figure: the share of rows that pass, or no data over zero rows."""
    weight = WEIGHTS[figure.check]
    score = None if figure.total == 0 else 100.0 * figure.good / figure.total
    detail = figure.detail if figure.total else "no rows"
    return CheckResult(
        table=figure.table,
        check=figure.check,
        score=score,
        status=status_for(score, weight, bar=bar),
        detail=detail,
        weight=weight,
        source=figure.source,
        rule=figure.rule,
        rows=figure.total,
    )


def score_recency(figure: Recency, *, now: datetime, bar: float = BAR) -> CheckResult:
    """Score how recent the newest record is against the table's cadence."""
    weight = WEIGHTS["freshness"]
    expected = f"expected within {describe_age(figure.cadence)}"
    if figure.rows == 0 or figure.newest is None:
        score, detail = None, "no rows" if figure.rows == 0 else "no timestamps"
    else:
        age = now - figure.newest
        score = freshness_score(age, figure.cadence)
        when = figure.newest.isoformat(timespec="seconds")
        if age < timedelta(0):
            detail = f"newest {when} is {describe_age(-age)} in the future; {expected}"
        else:
            detail = f"newest {when}, {describe_age(age)} old; {expected}"
    return CheckResult(
        table=figure.table,
        check="freshness",
        score=score,
        status=status_for(score, weight, bar=bar),
        detail=detail,
        weight=weight,
        source=figure.source,
        rows=figure.rows,
    )


def overall_score(checks: Iterable[CheckResult]) -> float | None:
    """Return the weighted mean of the scored checks, or None when none was scored."""
    scored = [c for c in checks if c.score is not None and c.weight > 0]
    total_weight = sum(c.weight for c in scored)
    if not scored or total_weight == 0:
        return None
    return sum(c.weight * c.score for c in scored) / total_weight  # type: ignore[operator]


def with_impact(checks: list[CheckResult]) -> list[CheckResult]:
    """Attach to each scored check the points it takes off the overall score."""
    total_weight = sum(c.weight for c in checks if c.score is not None and c.weight > 0)
    if total_weight == 0:
        return checks
    result = []
    for check in checks:
        if check.score is None or check.weight == 0:
            result.append(check)
            continue
        impact = check.weight * (100.0 - check.score) / total_weight
        result.append(replace(check, impact=impact))
    return result


def report_order(check: CheckResult) -> tuple[int, int, str, str]:
    """Return the sort key of a check: table, check kind, source, rule."""

    def position(order: tuple[str, ...], name: str) -> int:
        return order.index(name) if name in order else len(order)

    return (
        position(TABLE_ORDER, check.table),
        position(CHECK_ORDER, check.check),
        check.source or "",
        check.rule or "",
    )


def build_report(figures: Iterable[Figure], *, now: datetime, bar: float = BAR) -> QualityReport:
    """Score every figure and assemble the report as of `now`."""
    checks = [
        score_recency(f, now=now, bar=bar) if isinstance(f, Recency) else score_ratio(f, bar=bar)
        for f in figures
    ]
    checks = with_impact(sorted(checks, key=report_order))
    return QualityReport(
        generated_at=now, checks=tuple(checks), overall_score=overall_score(checks), bar=bar
    )
