"""Arguments of one simulation run and the calendar window they imply."""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from tenure.errors import InputError
from tenure.simulate.policy import LoopPolicy

MS_PER_DAY = 86_400_000
CONTROL = "control"


@dataclass(frozen=True)
class TreatmentArm:
    """One randomized arm: its share of accounts and its true effects once the treatment starts.

    Treated hazards are multiplied by 1 − churn_effect; event rates by 1 + usage_effect.
    """

    name: str
    fraction: float
    churn_effect: float = 0.0
    usage_effect: float = 0.0

    def check(self) -> None:
        """Refuse an arm that cannot be simulated."""
        if not self.name.isidentifier() or self.name == CONTROL:
            raise InputError(f"arm name {self.name!r}: use letters, digits, _ (not {CONTROL!r})")
        if not 0 < self.fraction <= 1:
            raise InputError(f"arm {self.name}: fraction must be in (0, 1]")
        if not 0 <= self.churn_effect < 1:
            raise InputError(f"arm {self.name}: churn effect must be in [0, 1)")
        if not -1 < self.usage_effect <= 10:
            raise InputError(f"arm {self.name}: usage effect must be in (-1, 10]")


@dataclass(frozen=True)
class LoyaltyEffect:
    """The loyalty programme's hidden effect: members who engage churn less from the day after start.

    Members are the accounts Tenure enrols (its hashing, under the programme's holdout fraction
    and the global holdout); a member's daily hazard is multiplied by 1 − cut·engagement[state]
    (`tenure.simulate.loyalty`). A cut of 0 simulates a programme that does nothing.
    """

    cut: float
    start: date | None = None  # the day Tenure enrols (its pipeline's --as-of); None: midpoint
    holdout_fraction: float = 0.2  # the packaged programme's holdout_fraction
    global_holdout: float = 0.05  # the global holdout_fraction setting

    def check(self) -> None:
        """Refuse a programme that cannot be simulated."""
        if not 0 <= self.cut < 1:
            raise InputError("--loyalty-effect must be in [0, 1): member hazards × (1 − CUT)")
        if not 0 <= self.holdout_fraction < 1:
            raise InputError("--loyalty-holdout must be in [0, 1)")
        if not 0 <= self.global_holdout <= 0.5:
            raise InputError("the global holdout fraction must be in [0, 0.5]")


def parse_arm(text: str) -> TreatmentArm:
    """Return the arm of "NAME:FRACTION[:CHURN_EFFECT[:USAGE_EFFECT]]", e.g. "a:0.3:0.2:0.1"."""
    parts = [p.strip() for p in text.split(":")]
    if not 2 <= len(parts) <= 4:
        raise InputError(f"--arm {text!r}: expected NAME:FRACTION[:CHURN_EFFECT[:USAGE_EFFECT]]")
    try:
        numbers = [float(p) for p in parts[1:]]
    except ValueError:
        raise InputError(f"--arm {text!r}: fraction and effects must be numbers") from None
    arm = TreatmentArm(parts[0], *numbers)
    arm.check()
    return arm


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
    treatment_arms: tuple[TreatmentArm, ...] = ()
    policy: LoopPolicy | None = None  # the closed loop of plays (off by default)
    loyalty: LoyaltyEffect | None = None  # the loyalty programme's hidden effect (off by default)

    def __post_init__(self) -> None:
        """Refuse arguments that cannot describe a simulation."""
        self._check_arms()
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
        self._check_loyalty()

    def _check_loyalty(self) -> None:
        if self.loyalty is None:
            return
        self.loyalty.check()
        start = self.resolved_loyalty_start
        if start is not None and not self.start <= start < self.end:
            raise InputError(
                f"--loyalty-start {start} is outside the window {self.start} … {self.end} "
                "(it must leave at least one simulated day after it)"
            )

    def _check_arms(self) -> None:
        if not self.treatment_arms:
            return
        if self.treatment_fraction is not None:
            raise InputError("give either --treatment-fraction or --arm, not both")
        for arm in self.treatment_arms:
            arm.check()
        names = [a.name for a in self.treatment_arms]
        if len(set(names)) != len(names):
            raise InputError("--arm names must differ")
        if sum(a.fraction for a in self.treatment_arms) > 1 + 1e-9:
            raise InputError("--arm fractions add up to more than 1")

    @property
    def arms(self) -> tuple[TreatmentArm, ...]:
        """Return the treatment arms (the old single-arm options give one arm, "treated")."""
        if self.treatment_arms:
            return self.treatment_arms
        if self.treatment_fraction is None:
            return ()
        return (TreatmentArm("treated", self.treatment_fraction, self.treatment_effect),)

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
        if not self.arms:
            return None
        if self.treatment_start is not None:
            return self.treatment_start
        return self.start + timedelta(days=self.n_days // 2)

    @property
    def resolved_loyalty_start(self) -> date | None:
        """Return the loyalty programme's start (the window's midpoint unless given), or None."""
        if self.loyalty is None:
            return None
        if self.loyalty.start is not None:
            return self.loyalty.start
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
        if not self.treatment_arms:
            del out["treatment_arms"]  # keeps the run key (message ids) of single-arm runs
        if self.policy is None:
            del out["policy"]  # keeps the run key of runs without plays
        else:
            out["policy"] = self.policy.model_dump()
        if self.loyalty is None:
            del out["loyalty"]  # keeps the run key of runs without a loyalty programme
        else:
            out["loyalty"]["start"] = self.resolved_loyalty_start.isoformat()  # type: ignore[union-attr]
        for key in ("end", "treatment_start"):
            out[key] = out[key].isoformat() if out[key] else None
        out["start"] = self.start.isoformat()
        resolved = self.resolved_treatment_start
        out["resolved_treatment_start"] = resolved.isoformat() if resolved else None
        return out
