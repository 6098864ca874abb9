"""The success scorecard's grading rule and period figures (pure; docs/reports.md writes it out).

A criterion with a target range [low, high] is graded on its relative change:
  A  change ≥ high            (the top of the range reached)
  B  low ≤ change < high      (inside the range)
  C  low / 2 ≤ change < low   (at least half the way to the range)
  D  0 < change < low / 2     (better, but far from the range)
  F  change ≤ 0               (no better, or worse)
A criterion with a floor (revenue retention ≥ 95 %) is graded on its current level:
  A ≥ floor, B ≥ floor − 2 points, C ≥ floor − 5 points, D ≥ floor − 10 points, else F.
Without the figures a grade needs, the grade is "n/a" and the evidence says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

NA = "n/a"
FLOOR_STEPS = ((0.0, "A"), (0.02, "B"), (0.05, "C"), (0.10, "D"))


@dataclass
class Criterion:
    """One line of the scorecard: the figures, the target, the grade and what it rests on."""

    criterion: str
    baseline: float | None
    current: float | None
    change: float | None
    target: list[float]
    grade: str
    evidence: str
    source: str = "baseline period"  # or "holdout"

    def as_dict(self) -> dict[str, Any]:
        """Return the criterion as JSON-ready values."""
        return asdict(self)


def grade_change(change: float | None, low: float, high: float) -> str:
    """Return the A–F grade of a relative change against a target range (n/a without one)."""
    if change is None:
        return NA
    if change >= high:
        return "A"
    if change >= low:
        return "B"
    if change >= low / 2:
        return "C"
    return "D" if change > 0 else "F"


def grade_floor(level: float | None, floor: float) -> str:
    """Return the A–F grade of a level against a floor (n/a without one)."""
    if level is None:
        return NA
    for below, grade in FLOOR_STEPS:
        if level >= floor - below - 1e-12:
            return grade
    return "F"


def relative_change(baseline: float | None, current: float | None, *, lower_is_better=False):
    """Return (current − baseline) / baseline, sign flipped when lower is better (None if 0)."""
    if baseline is None or current is None or baseline == 0:
        return None
    change = (current - baseline) / abs(baseline)
    return -change if lower_is_better else change


def period_mean(values: Sequence[float | None]) -> float | None:
    """Return the mean of the months that have the figure (None when none has it)."""
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def annualised(monthly_rate: float | None) -> float | None:
    """Return a monthly retention rate compounded over 12 months."""
    return None if monthly_rate is None else monthly_rate**12


def grade_scorecard(
    baseline: dict[str, float | None], current: dict[str, float | None],
    targets: dict[str, list[float]], holdout: dict[str, float | None] | None = None,
    evidence: dict[str, str] | None = None,
) -> list[Criterion]:  # fmt: skip
    """Grade each criterion: a range target on its change (the holdout's when given), a floor on
    its current level. `baseline` and `current` hold each criterion's figure per period."""
    holdout, evidence = holdout or {}, evidence or {}
    lines = []
    for name, target in targets.items():
        base, now = baseline.get(name), current.get(name)
        note = evidence.get(name, "")
        if len(target) == 1:
            grade = grade_floor(now, target[0])
            lines.append(Criterion(name, base, now, relative_change(base, now), target, grade,
                                   note or f"current level vs floor {target[0]:.0%}"))  # fmt: skip
            continue
        lower = name == "churn_reduction"
        change = relative_change(base, now, lower_is_better=lower)
        source = "baseline period"
        if holdout.get(name) is not None:
            change, source = holdout[name], "holdout"
        lines.append(Criterion(name, base, now, change, target,
                               grade_change(change, target[0], target[1]), note, source))  # fmt: skip
    return lines
