"""The closed loop: on decision days Tenure scores the book, picks plays, the simulator applies them.

Each decision day: the churn score of every account in the chain (the exact no-play 90-day churn
probability, standing in for a perfectly calibrated churn model), the top ``at_risk_share`` of the
book that is not cooling down is at risk; a holdout is drawn among them before any selection;
uplift per (account, play) comes from the policy's ranking; `recommend` picks one play per
account under the period's budget; chosen accounts outside the holdout get the play's hidden
hazard cut after its delay, for its duration. Held-out accounts the recommender chose are that
play's holdout (same selection rule, never treated), so treated vs holdout per play is randomised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tenure.plays.nba import (
    HOLDOUT,
    candidate_frame,
    fit_play_models,
    pooled_options,
    posterior_counts,
    predict_uplift,
)
from tenure.plays.recommend import Budget, draw_holdout, recommend, remaining_lifetime_months
from tenure.simulate.config import SimulationConfig
from tenure.simulate.loop_signals import FEATURES, UsageCounter, effect_modifiers, observe
from tenure.simulate.play_effects import REASONS, PlayKind, hazard_cuts, true_uplift
from tenure.simulate.policy import LoopPolicy
from tenure.simulate.truth import HORIZONS

if TYPE_CHECKING:
    from tenure.simulate.engine import Sinks, World

# The rules a churn-only ranking uses to pick a play: the first reason present wins.
REASON_PLAYS = {"failed_payment": "dunning", "urgent_ticket": "support_escalation",
                "usage_drop": "adoption_journey"}  # fmt: skip
FALLBACK_PLAY = "csm_call"
CHURN_RANKING_SAVES = 0.2  # the churn ranking assumes every play removes a fifth of the risk
REFIT_GROWTH = 1.1  # refit the uplift models once the runs with known outcomes grew by 10 %
RANDOM_UPLIFT_MAX = 1.0  # large enough that costs barely tilt the random choice of play


class PlayLoop:
    """Plays in force on the simulated book, the decisions taken, and the churns seen."""

    def __init__(
        self,
        config: SimulationConfig,
        policy: LoopPolicy,
        kinds: tuple[PlayKind, ...],
        history: pd.DataFrame | None = None,
    ) -> None:
        n = config.accounts
        self.config, self.policy, self.kinds = config, policy, kinds
        self.names = [k.name for k in kinds]
        self.rng = np.random.default_rng([config.seed, 0x9A75])  # own stream: others unchanged
        self.kind = np.full(n, -1, dtype=np.int16)
        self.start = np.zeros(n, dtype=np.int64)
        self.end = np.zeros(n, dtype=np.int64)
        self.cut = np.zeros(n)
        self.locked_until = np.zeros(n, dtype=np.int64)
        self.churns: list[tuple[np.ndarray, int]] = []
        self.decisions: list[pd.DataFrame] = []
        self.history = history
        self.models: tuple[int, Any] | None = None  # (runs they were fitted on, models)
        self.usage: UsageCounter | None = None

    def attach(self, sinks: Sinks) -> None:
        """Count each account's events on their way to the writer (the loop's usage signal)."""
        self.usage = UsageCounter(sinks.events, self.config.accounts)
        sinks.events = self.usage

    def hazard_factor(self, day: int, accounts: np.ndarray) -> np.ndarray:
        """Return 1 − E for accounts whose play is in force today, else 1."""
        on = (self.start[accounts] <= day) & (day < self.end[accounts]) & (self.kind[accounts] >= 0)
        return np.where(on, 1.0 - self.cut[accounts], 1.0)

    def on_churn(self, day: int, accounts: np.ndarray) -> None:
        """Remember who churned on a day (outcomes of past decisions)."""
        if len(accounts):
            self.churns.append((accounts.copy(), day))

    def is_decision_day(self, day: int) -> bool:
        """Return whether the policy decides on this window day."""
        first = self.policy.first_decision_day
        return day >= first and (day - first) % self.policy.cadence_days == 0

    def on_day(self, world: World, day: int, alive: np.ndarray, states: np.ndarray) -> None:
        """Decide on decision days, before the day's churn draw."""
        if self.is_decision_day(day) and len(alive):
            self.decide(world, day, alive, states)

    def at_risk(self, world: World, day: int, alive: np.ndarray, states: np.ndarray):
        """Return (accounts, states, churn scores) at risk and free to start a play today."""
        table = world.tables[HORIZONS.index(90)][0]
        score = table.untreated[world.pop.multiplier_index[alive], states]
        threshold = np.quantile(score, 1.0 - self.policy.at_risk_share)
        pick = (score >= threshold) & (self.locked_until[alive] <= day)
        return alive[pick], states[pick], score[pick]

    def decide(self, world: World, day: int, alive: np.ndarray, states: np.ndarray) -> None:
        """Score, draw the holdout, estimate uplift, recommend under budget, start the plays."""
        accounts, states, score = self.at_risk(world, day, alive, states)
        if len(accounts) == 0:
            return
        features, reasons = observe(world, self.usage, accounts, day, score)
        plans = world.pop.plan[accounts]
        cuts = hazard_cuts(self.kinds, states, plans, reasons)
        truth = true_uplift(world.chain, world.pop.multiplier_values,
                            world.pop.multiplier_index[accounts], states, cuts, self.kinds,
                            self.policy.horizon_days)  # fmt: skip
        mrr = features[:, FEATURES.index("mrr")]
        held = draw_holdout(len(accounts), self.policy.holdout_share, self.rng)
        frame = self.candidates(accounts, features, reasons, score, truth, mrr, day)
        frame["holdout"] = np.repeat(held, len(self.kinds))
        factor = 1.0 / (1.0 - self.policy.holdout_share)  # treated rows spend about the budget
        chosen = recommend(frame, Budget(*self.policy.budget.scaled(factor)), self.rng)
        self.start_plays(chosen, accounts, cuts, day)
        self.locked_until[accounts[held]] = day + self.policy.cooldown_days
        self.record(day, accounts, states, features, reasons, score, held, truth, chosen)

    def candidates(self, accounts, features, reasons, score, truth, mrr, day) -> pd.DataFrame:
        """Return the recommender's (account × play) input under the policy's ranking."""
        k = len(self.kinds)
        minutes = np.array([kd.csm_minutes for kd in self.kinds], dtype=float)
        offer = np.outer(mrr, [kd.offer_mrr_months for kd in self.kinds])
        emails = np.array([kd.emails for kd in self.kinds], dtype=float)
        hours = np.broadcast_to(minutes / 60.0, (len(accounts), k))
        cost = hours * self.policy.csm_hourly_rate + offer + emails * self.policy.email_cost
        uplift, posterior = self.estimate(features, reasons, score, truth, day)
        lifetime = remaining_lifetime_months(score, 90)
        costs = {"cost": cost, "csm_hours": hours, "offer_spend": offer}
        return candidate_frame(accounts, self.names, uplift, mrr, lifetime, costs, posterior)

    def estimate(self, features, reasons, score, truth, day):
        """Return (uplift matrix, posterior counts) as the policy's ranking sees them."""
        n, k = truth.shape
        ranking = self.policy.ranking
        if ranking == "oracle":
            return truth, None
        if ranking == "random":
            return self.rng.uniform(0.0, RANDOM_UPLIFT_MAX, (n, k)), None
        if ranking == "churn":
            uplift = np.full((n, k), -1.0)
            uplift[np.arange(n), self.rule_plays(reasons)] = CHURN_RANKING_SAVES * score
            return uplift, None
        past = self.past(day)
        if past is None:
            return np.full((n, k), np.nan), np.zeros((k, 4))
        x, kept, play = past
        if self.models is None or len(kept) > REFIT_GROWTH * self.models[0]:
            fitted = fit_play_models(x, kept, play, k, self.policy.min_rows, self.config.seed,
                                     learner_options(self.policy.learner))  # fmt: skip
            self.models = (len(kept), fitted)
        return predict_uplift(self.models[1], features, k), posterior_counts(kept, play, k)

    def rule_plays(self, reasons: np.ndarray) -> np.ndarray:
        """Return the play index the reason rules give each account."""
        fallback = self.names.index(FALLBACK_PLAY) if FALLBACK_PLAY in self.names else 0
        out = np.full(len(reasons), fallback)
        for r in reversed(range(len(REASONS))):
            play = REASON_PLAYS[REASONS[r]]
            if play in self.names:
                out = np.where(reasons[:, r], self.names.index(play), out)
        return out

    def past(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Return (features, retained, play or HOLDOUT) of runs with a known outcome by day."""
        frames = [] if self.history is None else [self.history]
        if self.decisions:
            mine = outcomes(self, pd.concat(self.decisions, ignore_index=True), day)
            frames.append(mine)
        if not frames:
            return None
        runs = pd.concat(frames, ignore_index=True)
        runs = runs[runs["retained"].notna() & (runs["treated"] | runs["held_out"])]
        index = {name: i for i, name in enumerate(self.names)}
        play = np.where(runs["held_out"], HOLDOUT, runs["play"].map(index).fillna(-2)).astype(int)
        keep = play >= HOLDOUT
        if not keep.any():
            return None
        x = runs.loc[keep, list(FEATURES)].to_numpy(float)
        return x, runs.loc[keep, "retained"].to_numpy(float), play[keep]

    def start_plays(self, chosen: pd.DataFrame, accounts, cuts, day: int) -> None:
        """Start the chosen plays on accounts outside the holdout; lock them for the cool-down."""
        treat = chosen[chosen["treat"].to_numpy(bool)]
        who = treat["account_id"].to_numpy(np.int64)
        kind = treat["play_index"].to_numpy(np.int64)
        row = np.searchsorted(accounts, who)
        delay = np.array([k.delay_days for k in self.kinds])[kind]
        duration = np.array([k.duration_days for k in self.kinds])[kind]
        self.kind[who], self.cut[who] = kind, cuts[row, kind]
        self.start[who] = day + delay
        self.end[who] = day + delay + duration
        self.locked_until[who] = day + self.policy.cooldown_days

    def record(self, day, accounts, states, features, reasons, score, held, truth, chosen) -> None:
        """Keep the day's at-risk rows: features, arm, chosen play, true effect of every play."""
        frame = pd.DataFrame(features, columns=list(FEATURES))
        frame.insert(0, "account", accounts)
        frame.insert(1, "day", day)
        frame["state"] = states
        for r, name in enumerate(REASONS):
            frame[f"reason_{name}"] = reasons[:, r]
        frame["held_out"] = held
        pos = np.searchsorted(accounts, chosen["account_id"].to_numpy(np.int64))
        for column in ("play", "uplift", "ev", "source", "cost", "csm_hours", "offer_spend"):
            values = np.full(len(accounts), None, dtype=object)
            values[pos] = chosen[column].to_numpy()
            frame[column if column != "uplift" else "estimated_uplift"] = values
        frame["chosen"] = frame["play"].notna()
        frame["treated"] = frame["chosen"] & ~frame["held_out"]
        for j, name in enumerate(self.names):
            frame[f"true_effect_{name}"] = truth[:, j]
        self.decisions.append(frame)


def learner_options(learner: str) -> dict[str, Any] | None:
    """Return fit_play_models' pooled options for the loop's features (None: shared control)."""
    if learner != "pooled":
        return None
    return pooled_options(FEATURES.index("churn_score"), effect_modifiers)


def outcomes(loop: PlayLoop, frame: pd.DataFrame, day: int) -> pd.DataFrame:
    """Add ``churned_day`` (first churn on or after the decision) and ``retained`` (NaN if unknown).

    A row's outcome is known once its horizon has passed by ``day``.
    """
    horizon = loop.policy.horizon_days
    if loop.churns:
        who = np.concatenate([a for a, _ in loop.churns])
        when = np.concatenate([np.full(len(a), d) for a, d in loop.churns])
    else:
        who = when = np.array([], dtype=np.int64)
    key = np.sort(who.astype(np.int64) * 100_000 + when)
    mine = frame["account"].to_numpy(np.int64) * 100_000 + frame["day"].to_numpy(np.int64)
    nxt = np.append(key, np.iinfo(np.int64).max)[np.searchsorted(key, mine)]
    same = nxt // 100_000 == frame["account"].to_numpy(np.int64)
    churned = np.where(same, nxt % 100_000, -1)
    frame = frame.copy()
    frame["churned_day"] = np.where(churned >= 0, churned, np.nan)
    known = frame["day"].to_numpy() + horizon <= day
    lost = (churned >= 0) & (churned < frame["day"].to_numpy() + horizon)
    frame["retained"] = np.where(known, (~lost).astype(float), np.nan)
    return frame
