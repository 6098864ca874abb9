"""Arguments of one simulation run and the calendar window they imply."""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from tenure.errors import InputError

MS_PER_DAY = 86_400_000


def months_before(day: date, months: int) -> date:
    """Return the same day-of-month ``months`` earlier, clamped to the month's length."""
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate: population size, window, seed and an optional randomized treatment.

    The window is the ``months`` calendar months ending at ``end``: simulated days run from
    ``start`` to ``end − 1 day`` inclusive, so every timestamp is strictly before ``end``
    00:00 UTC; the truth table also has a row dated ``end`` (the state after the last day).
    """

    accounts: int
    months: int
    seed: int
    end: date
    treatment_fraction: float | None = None
    treatment_effect: float = 0.2
    treatment_start: date | None = None
    new_account_share: float | None = None
    events_per_seat_day: float = 0.18

    def __post_init__(self) -> None:
        """Refuse arguments that cannot describe a simulation."""
        if self.accounts < 1:
            raise InputError("--accounts must be at least 1")
        if not 1 <= self.months <= 120:
            raise InputError("--months must be between 1 and 120")
        if self.treatment_fraction is not None and not 0 < self.treatment_fraction <= 1:
            raise InputError("--treatment-fraction must be in (0, 1]")
        if not 0 <= self.treatment_effect < 1:
            raise InputError("--treatment-effect must be in [0, 1): it multiplies hazards by 1 − E")
        start = self.resolved_treatment_start
        if start is not None and not self.start <= start <= self.end:
            raise InputError(
                f"--treatment-start {start} is outside the window {self.start} … {self.end}"
            )

    @property
    def start(self) -> date:
        """Return the first simulated day."""
        return months_before(self.end, self.months)

    @property
    def n_days(self) -> int:
        """Return the number of simulated days (start … end − 1)."""
        return (self.end - self.start).days

    @property
    def start_ms(self) -> int:
        """Return the first day's 00:00 UTC as epoch milliseconds."""
        return int(datetime(*self.start.timetuple()[:3], tzinfo=UTC).timestamp() * 1000)

    @property
    def resolved_treatment_start(self) -> date | None:
        """Return the treatment start (the window's midpoint unless given), or None."""
        if self.treatment_fraction is None:
            return None
        if self.treatment_start is not None:
            return self.treatment_start
        return self.start + timedelta(days=self.n_days // 2)

    @property
    def resolved_new_account_share(self) -> float:
        """Return the share of accounts that sign up inside the window."""
        if self.new_account_share is not None:
            return self.new_account_share
        return min(0.5, max(0.02, 0.018 * self.months))

    def day_of(self, when: date) -> int:
        """Return the window day index of a date (0 = start)."""
        return (when - self.start).days

    def to_dict(self) -> dict[str, object]:
        """Return the arguments as JSON-ready values."""
        out = asdict(self)
        for key in ("end", "treatment_start"):
            out[key] = out[key].isoformat() if out[key] else None
        out["start"] = self.start.isoformat()
        resolved = self.resolved_treatment_start
        out["resolved_treatment_start"] = resolved.isoformat() if resolved else None
        return out
