"""The day loop: one vectorised step over all accounts per simulated day."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np

from tenure.simulate.billing import Billing
from tenure.simulate.chain import (
    ENTRY_STATE_P,
    MarkovChain,
    cumulative_transitions,
    draw_churn,
    draw_next_states,
    quasi_stationary,
)
from tenure.simulate.config import MS_PER_DAY, SimulationConfig
from tenure.simulate.events import WEEKEND_FACTOR, EventWriter, daily_events
from tenure.simulate.population import Population, draw_rows
from tenure.simulate.support import Support
from tenure.simulate.truth import HORIZONS, TruthTable, TruthWriter, lookup_arms

if TYPE_CHECKING:
    from tenure.simulate.loop import PlayLoop
    from tenure.simulate.loyalty import LoyaltyProgramme

REACTIVATION_GAP_DAYS = 30
REACTIVATION_DAILY_P = 0.0006
# Share of pre-window signups that had already churned when the window starts.
HISTORICAL_CHURN_SHARE = 0.15
NEVER = np.iinfo(np.int64).max
STREAMS = ("population", "chain", "events", "billing", "support", "lifecycle", "treatment")


def spawn_streams(seed: int) -> dict[str, np.random.Generator]:
    """Return one independent generator per concern, all derived from the seed."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(c) for name, c in zip(STREAMS, children, strict=True)}


@dataclass
class Sinks:
    """Where the loop sends what it produces."""

    events: EventWriter
    truth: TruthWriter
    billing: Billing
    support: Support


class World:
    """Mutable per-account state of the simulation and the step that advances it one day."""

    def __init__(
        self,
        config: SimulationConfig,
        pop: Population,
        chain: MarkovChain,
        tables: tuple[tuple[TruthTable, ...], ...],
        rngs: dict[str, np.random.Generator],
        sinks: Sinks,
    ) -> None:
        n = len(pop)
        self.config, self.pop, self.chain, self.tables = config, pop, chain, tables
        self.rng, self.sinks = rngs, sinks
        self.hazards = np.asarray(chain.hazards)
        self.cumulative = cumulative_transitions(chain)
        self.state = np.zeros(n, dtype=np.int8)
        self.active = np.zeros(n, dtype=bool)
        self.in_chain = np.zeros(n, dtype=bool)
        self.churn_day = np.full(n, -1, dtype=np.int64)
        self.cutoff = np.full(n, NEVER, dtype=np.int64)
        self.counts = {"churn_events": 0, "reactivations": 0, "churned_before_window": 0}
        self.ever_churned = np.zeros(n, dtype=bool)
        self.eligible = np.zeros(n, dtype=bool)
        start = config.resolved_treatment_start
        self.treatment_day = config.day_of(start) if start is not None else None
        self.loop: PlayLoop | None = None  # the closed loop of plays, when a policy runs
        self.programme: LoyaltyProgramme | None = None  # the loyalty programme, when simulated
        self.init_arms(n)

    def init_arms(self, n: int) -> None:
        """Prepare the arm arrays: 0 = control, a = config.arms[a − 1]."""
        arms = self.config.arms
        self.churn_effects = np.array([0.0, *(a.churn_effect for a in arms)])
        self.usage_factors = np.array([1.0, *(1.0 + a.usage_effect for a in arms)])
        self.arm_group = np.zeros(n, dtype=np.int8)
        self.arm_flag = np.zeros(n, dtype=np.int8)
        # First day each eligible account is in the chain under the experiment, and its exact
        # 90-day churn probability from then in every arm (counterfactuals; NaN if never).
        self.exposed_day = np.full(n, -1, dtype=np.int64)
        self.counterfactual_p90 = np.full((n, len(arms) + 1), np.nan, dtype=np.float32)

    def begin(self) -> None:
        """Place pre-window accounts: some churned long ago, the rest in quasi-stationary states."""
        pop, rng = self.pop, self.rng["lifecycle"]
        before = np.flatnonzero(pop.created_day < 0)
        gone = rng.random(len(before)) < HISTORICAL_CHURN_SHARE
        self.churn_before_window(before[gone])
        alive = before[~gone]
        qs = quasi_stationary(self.chain, pop.multiplier_values, 600)
        self.state[alive] = draw_rows(rng, qs, pop.multiplier_index[alive])
        self.active[alive] = self.in_chain[alive] = True
        self.sinks.billing.open(alive, pop.created_ms[alive])
        if self.treatment_day is not None:
            self.arm_group = self.draw_arms(len(pop))
            self.arm_flag = self.arm_group.copy()

    def draw_arms(self, n: int) -> np.ndarray:
        """Randomize accounts to arms by their fractions (one uniform draw each)."""
        bounds = np.cumsum([a.fraction for a in self.config.arms])
        slot = np.searchsorted(bounds, self.rng["treatment"].random(n), side="right")
        return np.where(slot < len(bounds), slot + 1, 0).astype(np.int8)

    def churn_before_window(self, accounts: np.ndarray) -> None:
        """Give accounts that churned before the window one subscription that ended then.

        They carry history for cohort and MRR reports but no events, invoices or truth rows,
        and they never reactivate.
        """
        created = self.pop.created_ms[accounts]
        room = np.maximum(self.config.start_ms - MS_PER_DAY - created, MS_PER_DAY)
        ended = created + MS_PER_DAY + (self.rng["lifecycle"].random(len(accounts)) * room)
        billing = self.sinks.billing
        billing.open(accounts, created)
        billing.close(accounts, np.minimum(ended.astype(np.int64), self.config.start_ms - 1))
        self.counts["churned_before_window"] += len(accounts)

    def step(self, day: int) -> None:
        """Advance one day: signups, truth, hazard, signals, billing, churn, transitions."""
        day_ms = self.config.start_ms + day * MS_PER_DAY
        if day == self.treatment_day:
            self.start_treatment(day)
        self.sign_up(day)
        alive = np.flatnonzero(self.in_chain)
        states = self.state[alive]
        self.record_truth(day, alive, states)
        self.record_loyalty(day, alive, states)
        if self.loop is not None:
            self.loop.on_day(self, day, alive, states)
        churned = draw_churn(
            self.rng["chain"], self.hazards, states, self.hazard_multipliers(day, alive)
        )
        self.cutoff[alive[churned]] = day_ms + self.rng["chain"].integers(
            0, MS_PER_DAY, churned.sum()
        )
        self.emit_signals(day, day_ms, alive, states)
        self.bill(day, day_ms, alive[~churned], states[~churned])
        self.churn(day, alive[churned])
        survivors = alive[~churned]
        self.state[survivors] = draw_next_states(
            self.rng["chain"], self.cumulative, states[~churned]
        )
        self.reactivate(day, day_ms)
        self.in_chain = self.active.copy()

    def hazard_multipliers(self, day: int, accounts: np.ndarray) -> np.ndarray:
        """Return today's hazard multipliers: m, times (1 − E) for treated accounts once started.

        A play in force (closed loop) multiplies them by its own 1 − E as well, and the loyalty
        programme those of engaged members by 1 − CUT·e[state].
        """
        m = self.pop.multiplier[accounts]
        if self.loop is not None:
            m = m * self.loop.hazard_factor(day, accounts)
        if self.programme is not None:
            m = m * self.programme.hazard_factor(day, accounts, self.state[accounts])
        if self.treatment_day is None or day < self.treatment_day:
            return m
        return m * (1.0 - self.churn_effects[self.arm_flag[accounts]])

    def usage_boost(self, day: int, accounts: np.ndarray) -> np.ndarray | None:
        """Return today's event-rate factors (1 + U of the arm once started), or None if all 1."""
        if self.treatment_day is None or day < self.treatment_day:
            return None
        if np.all(self.usage_factors == 1.0):
            return None
        return self.usage_factors[self.arm_flag[accounts]]

    def start_treatment(self, day: int) -> None:
        """Make alive accounts and all later signups eligible; treat the treated group among them."""
        self.eligible = self.active | (self.pop.created_day >= day)
        self.arm_flag = np.where(self.eligible, self.arm_group, 0).astype(np.int8)

    def sign_up(self, day: int) -> None:
        """Open the subscriptions and first invoices of today's new accounts."""
        lo, hi = np.searchsorted(self.pop.created_day, [day, day + 1])
        new = np.arange(lo, hi)
        if len(new) == 0:
            return
        self.start_accounts(new, self.pop.created_ms[new], day)

    def start_accounts(self, accounts: np.ndarray, at_ms: np.ndarray, day: int) -> None:
        """Start accounts on a day: entry state, open subscription, first invoice."""
        entry = np.broadcast_to(np.array(ENTRY_STATE_P), (1, len(ENTRY_STATE_P)))
        self.state[accounts] = draw_rows(self.rng["lifecycle"], entry, np.zeros(len(accounts), int))
        self.active[accounts] = True
        billing = self.sinks.billing
        billing.open(accounts, at_ms)
        billing.invoice(self.rng["billing"], accounts, self.state[accounts], at_ms + 60_000, day)

    def record_truth(self, day: int, alive: np.ndarray, states: np.ndarray) -> None:
        """Write the state and the exact churn probabilities of every account in the chain."""
        mult = self.pop.multiplier_index[alive]
        arm = self.arm_flag[alive]
        to_start = (self.treatment_day - day) if self.treatment_day is not None else 0
        probs = [lookup_arms(t, mult, states, arm, to_start) for t in self.tables]
        if self.programme is not None:
            started = self.treatment_day is not None and day >= self.treatment_day
            now = arm if started else np.zeros_like(arm)
            probs = self.programme.truth_rows(day, alive, mult, states, now, probs)
        self.sinks.truth.add(self.config.start + timedelta(days=day), alive, states, probs)
        if self.treatment_day is not None and day >= self.treatment_day:
            self.record_counterfactuals(day, alive, mult, states, to_start)

    def record_loyalty(self, day: int, alive: np.ndarray, states: np.ndarray) -> None:
        """On the day after the programme's start, keep the exact truth of its effect."""
        programme = self.programme
        if programme is None or day != programme.truth_day:
            return
        mult = self.pop.multiplier[alive]
        if self.treatment_day is not None and day >= self.treatment_day:
            mult = mult * (1.0 - self.churn_effects[self.arm_flag[alive]])
        programme.record(self.chain, alive, states, mult)
        # A treatment starting inside the 90 days, or plays, change hazards the truth ignores.
        late = self.treatment_day is not None and day < self.treatment_day < day + 90
        programme.exact = self.loop is None and not late

    def record_counterfactuals(
        self, day: int, alive: np.ndarray, mult: np.ndarray, states: np.ndarray, to_start: int
    ) -> None:
        """On an eligible account's first day under the experiment, keep p_churn_90 per arm."""
        first = self.eligible[alive] & (self.exposed_day[alive] < 0)
        if not first.any():
            return
        who, tables = alive[first], self.tables[HORIZONS.index(90)]
        self.exposed_day[who] = day
        for a in range(self.counterfactual_p90.shape[1]):
            arm = np.full(len(who), a, dtype=np.int8)
            self.counterfactual_p90[who, a] = lookup_arms(
                tables, mult[first], states[first], arm, to_start
            )

    def emit_signals(self, day: int, day_ms: int, alive: np.ndarray, states: np.ndarray) -> None:
        """Draw product events, tickets and survey answers for the day."""
        billing, support = self.sinks.billing, self.sinks.support
        weekday = (day_ms // MS_PER_DAY + 3) % 7
        scale = self.config.events_per_seat_day * (WEEKEND_FACTOR if weekday >= 5 else 1.0)
        events = daily_events(
            self.rng["events"],
            self.pop,
            day_ms,
            alive,
            states,
            billing.seats,
            scale,
            self.cutoff,
            boost=self.usage_boost(day, alive),
        )
        self.sinks.events.add(events)
        support.open_tickets(self.rng["support"], alive, states, billing.seats, day_ms, self.cutoff)
        support.answer_surveys(self.rng["support"], alive, states, day_ms, self.cutoff)

    def bill(self, day: int, day_ms: int, accounts: np.ndarray, states: np.ndarray) -> None:
        """Invoice the accounts due today, then change seats (churning accounts excluded)."""
        billing, rng = self.sinks.billing, self.rng["billing"]
        date = self.config.start + timedelta(days=day)
        due = billing.due(accounts, day, date.day, date.month)
        at_ms = day_ms + rng.integers(2 * 3_600_000, 4 * 3_600_000, due.sum())
        billing.invoice(rng, accounts[due], states[due], at_ms, day)
        billing.change_seats(rng, accounts, states, day_ms)

    def churn(self, day: int, accounts: np.ndarray) -> None:
        """End the subscriptions of today's churners at their churn time."""
        if len(accounts) == 0:
            return
        self.sinks.billing.churn(self.rng["billing"], accounts, self.cutoff[accounts])
        self.cutoff[accounts] = NEVER
        self.active[accounts] = False
        self.churn_day[accounts] = day
        self.ever_churned[accounts] = True
        if self.loop is not None:
            self.loop.on_churn(day, accounts)
        self.counts["churn_events"] += len(accounts)

    def reactivate(self, day: int, day_ms: int) -> None:
        """Bring back a few accounts that churned at least a month ago."""
        gap_over = (self.churn_day >= 0) & (self.churn_day <= day - REACTIVATION_GAP_DAYS)
        candidates = np.flatnonzero(gap_over & ~self.active)
        rng = self.rng["lifecycle"]
        back = candidates[rng.random(len(candidates)) < REACTIVATION_DAILY_P]
        if len(back) == 0:
            return
        billing = self.sinks.billing
        shrink = rng.uniform(0.5, 1.0, len(back))
        billing.seats[back] = np.maximum(1, np.round(billing.seats[back] * shrink)).astype(np.int32)
        billing.reanchor(back, np.full(len(back), day_ms // MS_PER_DAY))
        at_ms = day_ms + rng.integers(9 * 3_600_000, 18 * 3_600_000, len(back))
        self.start_accounts(back, at_ms, day)
        self.counts["reactivations"] += len(back)

    def finish(self) -> None:
        """Write the truth rows dated at the end of the window (state after the last day)."""
        day = self.config.n_days
        if day == self.treatment_day:
            self.start_treatment(day)
        alive = np.flatnonzero(self.in_chain)
        self.record_truth(day, alive, self.state[alive])
        self.record_loyalty(day, alive, self.state[alive])


def run_days(world: World, progress: Callable[[int], None] | None = None) -> None:
    """Run the whole window, reporting each finished day to progress."""
    world.begin()
    for day in range(world.config.n_days):
        world.step(day)
        if progress is not None:
            progress(1)
    world.finish()
