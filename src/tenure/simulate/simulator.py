"""Run a whole simulation: population, day loop, streamed Parquet, CSVs and the manifest."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import tenure.simulate.catalog as cat
import tenure.simulate.outputs as out
from tenure.errors import InputError
from tenure.simulate.billing import Billing
from tenure.simulate.chain import MarkovChain
from tenure.simulate.config import MS_PER_DAY, SimulationConfig
from tenure.simulate.engine import Sinks, World, run_days, spawn_streams
from tenure.simulate.events import EventWriter
from tenure.simulate.population import Population, build_population
from tenure.simulate.support import Support
from tenure.simulate.truth import HORIZONS, TruthWriter, build_truth_tables
from tenure.simulate.writers import numbered

if TYPE_CHECKING:
    from tenure.simulate.loop import PlayLoop
    from tenure.simulate.loyalty import LoyaltyProgramme

FORMAT_VERSION = 1
GENERATOR = "tenure simulate"


@dataclass
class SimulationResult:
    """What a run wrote: row counts per file and the headline numbers."""

    out_dir: Path
    files: dict[str, int] = field(default_factory=dict)
    accounts: int = 0
    events: int = 0
    churn_events: int = 0
    churned_accounts: int = 0
    reactivations: int = 0
    churned_before_window: int = 0
    treatment: dict[str, object] | None = None
    loop: dict[str, object] | None = None
    loyalty: dict[str, object] | None = None

    def summary(self) -> str:
        """Return the one-line summary printed by the CLI (and the loop's, when one ran)."""
        line = (
            f"simulated {self.accounts:,} accounts: {self.events:,} events, "
            f"{self.churned_accounts:,} churned ({self.reactivations:,} reactivated), "
            f"{len(self.files)} files in {self.out_dir}"
        )
        if self.loyalty is not None:
            line += loyalty_line(self.loyalty)
        if not self.loop or not self.loop.get("treated"):
            return line
        loop = self.loop
        return line + (
            f"\nplays ({loop['ranking']}): {loop['treated']:,} treated, {loop['holdout']:,} "
            f"held out over {loop['decision_days']} decision days; expected MRR kept "
            f"{loop['expected_mrr_kept'] / 100:,.2f}, cost {loop['cost'] / 100:,.2f} (loop.json)"
        )


def loyalty_line(truth: dict[str, object]) -> str:
    """Return the summary's loyalty line: the arms at enrolment and the true effect."""
    effect = truth["true_effect"]
    shown = "n/a" if effect is None else f"{float(effect) * 100:+.2f} points"  # type: ignore[arg-type]
    return (
        f"\nloyalty (enrolled {truth['enrolled_on']}): {truth['members']:,} members, "
        f"{truth['holdout']:,} held out; true effect on 90-day churn {shown} (loyalty.csv)"
    )


def run_key(config: SimulationConfig) -> str:
    """Return 8 hex digits identifying the arguments, used to make message ids unique per run."""
    text = json.dumps(config.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def simulate(
    config: SimulationConfig, out_dir: Path, progress: Callable[[int], None] | None = None
) -> SimulationResult:
    """Write a simulated SaaS dataset with exact churn truth to out_dir; return the counts.

    Files are written to a hidden sibling folder first and moved into place at the end, so
    a failed or interrupted run leaves no half-written dataset. An existing out_dir is
    replaced only when it is empty or holds an earlier simulator output.
    """
    check_target(out_dir)
    staging = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        result = write_dataset(config, staging, progress)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    replace_dir(staging, out_dir)
    result.out_dir = out_dir
    return result


def check_target(out_dir: Path) -> None:
    """Refuse an out_dir that is a file or a non-empty folder the simulator did not write."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is a file; give a folder")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return
    manifest = out_dir / "manifest.json"
    try:
        ours = json.loads(manifest.read_text(encoding="utf-8")).get("generator") == GENERATOR
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise InputError(
            f"--out {out_dir} is not empty and holds no simulator manifest.json; "
            "choose an empty or new folder"
        )


def replace_dir(staging: Path, out_dir: Path) -> None:
    """Move the finished staging folder to out_dir, replacing an earlier output."""
    old = out_dir.with_name(f".{out_dir.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(old)
    staging.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def write_dataset(
    config: SimulationConfig, out_dir: Path, progress: Callable[[int], None] | None
) -> SimulationResult:
    """Run the simulation and write every file into out_dir."""
    rngs = spawn_streams(config.seed)
    chain = MarkovChain()
    pop = build_population(config, rngs["population"])
    ids = list(numbered("acc", len(pop)))
    contact_ids = list(numbered("con", len(pop.contacts.account)))
    end_ms = config.start_ms + config.n_days * MS_PER_DAY
    sinks = Sinks(
        events=EventWriter(out_dir / "events.parquet", ids, contact_ids, run_key(config)),
        truth=TruthWriter(out_dir / "truth.parquet", ids, chain.states),
        billing=Billing(pop, end_ms),
        support=Support(pop, end_ms),
    )
    effects = tuple(a.churn_effect for a in config.arms)
    tables = build_truth_tables(chain, pop.multiplier_values, effects)
    world = World(config, pop, chain, tables, rngs, sinks)
    world.loop = start_loop(config, sinks)
    world.programme = start_programme(config, ids)
    if world.programme is not None:
        world.programme.prepare(chain, pop.multiplier_values, world.churn_effects)
    try:
        run_days(world, progress)
    finally:
        sinks.events.close()
        sinks.truth.close()
    files = write_tables(out_dir, world, ids, contact_ids, end_ms)
    files["events.parquet"], files["truth.parquet"] = sinks.events.rows, sinks.truth.rows
    loyalty = None
    if world.programme is not None:
        files["loyalty.csv"] = world.programme.write(out_dir / "loyalty.csv", ids, world)
        loyalty = world.programme.summary(world)
    loop = None
    if world.loop is not None:
        from tenure.simulate.loop_report import write_loop_outputs

        written, loop = write_loop_outputs(out_dir, world.loop, ids, config.n_days)
        files.update(written)
    result = SimulationResult(
        out_dir=out_dir,
        files=files,
        accounts=len(pop),
        events=sinks.events.rows,
        churn_events=world.counts["churn_events"],
        churned_accounts=int(world.ever_churned.sum()),
        reactivations=world.counts["reactivations"],
        churned_before_window=world.counts["churned_before_window"],
        treatment=treatment_truth(world),
        loop=loop,
        loyalty=loyalty,
    )
    write_manifest(out_dir / "manifest.json", config, chain, pop, result)
    result.files["manifest.json"] = 1
    return result


def start_loop(config: SimulationConfig, sinks: Sinks) -> PlayLoop | None:
    """Return the closed loop of plays when the config has a policy (its history read)."""
    if config.policy is None:
        return None
    import pandas as pd  # the loop (pandas, scikit-learn) loads only when a policy runs

    from tenure.simulate.loop import PlayLoop
    from tenure.simulate.play_effects import kinds_named

    history = pd.read_parquet(config.policy.history) if config.policy.history else None
    loop = PlayLoop(config, config.policy, kinds_named(config.policy.plays), history)
    loop.attach(sinks)
    return loop


def start_programme(config: SimulationConfig, ids: list[str]) -> LoyaltyProgramme | None:
    """Return the loyalty programme when the config has one (its members hashed as Tenure does)."""
    start = config.resolved_loyalty_start
    if config.loyalty is None or start is None:
        return None
    from tenure.simulate.loyalty import LoyaltyProgramme

    return LoyaltyProgramme(config.loyalty, config.day_of(start), ids)


def write_tables(
    out_dir: Path, world: World, ids: list[str], contact_ids: list[str], end_ms: int
) -> dict[str, int]:
    """Write every CSV file and return its row count."""
    pop, sinks, config = world.pop, world.sinks, world.config
    files = {
        "accounts.csv": out.write_accounts(out_dir / "accounts.csv", pop, ids),
        "contacts.csv": out.write_contacts(out_dir / "contacts.csv", pop, ids, contact_ids),
        "subscriptions.csv": out.write_subscriptions(
            out_dir / "subscriptions.csv", pop, ids, sinks.billing
        ),
        "invoices.csv": out.write_invoices(out_dir / "invoices.csv", pop, ids, sinks.billing),
        "tickets.csv": out.write_tickets(
            out_dir / "tickets.csv", ids, contact_ids, sinks.support, end_ms
        ),
        "surveys.csv": out.write_surveys(out_dir / "surveys.csv", ids, contact_ids, sinks.support),
        "spend.csv": out.write_spend(
            out_dir / "spend.csv", pop, config.start_ms, end_ms, config.seed
        ),
    }
    if world.treatment_day is not None:
        files["assignments.csv"] = out.write_assignments(
            out_dir / "assignments.csv", pop, ids, world
        )
    return files


def write_manifest(
    path: Path,
    config: SimulationConfig,
    chain: MarkovChain,
    pop: Population,
    result: SimulationResult,
) -> None:
    """Write manifest.json: arguments, window, counts per file and the model's parameters."""
    manifest = {
        "generator": GENERATOR,
        "format_version": FORMAT_VERSION,
        "arguments": config.to_dict(),
        "seed": config.seed,
        "start": config.start.isoformat(),
        "end": config.end.isoformat(),
        "days": config.n_days,
        "files": dict(sorted(result.files.items())),
        "summary": {
            "accounts": result.accounts,
            "events": result.events,
            "churn_events": result.churn_events,
            "churned_accounts": result.churned_accounts,
            "reactivations": result.reactivations,
            "churned_before_window": result.churned_before_window,
        },
        "treatment": result.treatment,
        **({"loop": result.loop} if result.loop is not None else {}),
        **({"loyalty": result.loyalty} if result.loyalty is not None else {}),
        "chain": chain.to_dict(),
        "hazard_multipliers": hazard_multipliers(),
        "distinct_multipliers": len(pop.multiplier_values),
        "truth": {
            "horizons_days": list(HORIZONS),
            "definition": (
                "p_churn_H on date D = P(churn on one of days D … D+H−1 | state on day D, the "
                "account's multiplier, its treatment) = 1 − [Q_m^k · Q_m'^(H−k) · 1]_state with "
                "Q_m = diag(1 − m·h) · P; k = days before the treatment starts (H if never); "
                "loyalty members' hazards are m·h·(1 − CUT·e[state]) from the day after the "
                "programme's start (see loyalty.csv)"
            ),
            "rows": "one per account in the chain on D: signed up (or reactivated) before D, "
            "not churned before D",
        },
    }
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def treatment_truth(world: World) -> dict[str, object] | None:
    """Return the experiment's truth: per arm its effects, size and mean exact p_churn_90.

    The means are over every account exposed in the window, each arm's probability being the
    counterfactual "had every exposed account been in this arm", so arm − control is the true
    average effect (assignments.csv has the per-account values).
    """
    if world.treatment_day is None:
        return None
    exposed = world.exposed_day >= 0
    p90 = world.counterfactual_p90[exposed].astype(np.float64)
    arms = [("control", 1.0 - sum(a.fraction for a in world.config.arms), 0.0, 0.0)]
    arms += [(a.name, a.fraction, a.churn_effect, a.usage_effect) for a in world.config.arms]
    groups = world.arm_group[exposed]
    rows = []
    for i, (name, fraction, churn, usage) in enumerate(arms):
        mean = float(p90[:, i].mean()) if len(p90) else None
        rows.append(
            {
                "arm": name,
                "fraction": round(fraction, 12),
                "churn_effect": churn,
                "usage_effect": usage,
                "exposed_accounts": int((groups == i).sum()),
                "mean_p_churn_90": mean,
            }
        )
    start = world.config.start + timedelta(days=world.treatment_day)
    return {"start": start.isoformat(), "exposed_accounts": int(exposed.sum()), "arms": rows}


def hazard_multipliers() -> dict[str, dict[str, float]]:
    """Return the static per-account hazard multipliers by attribute."""
    tables = {
        "plan": (cat.PLANS, cat.PLAN_HAZARD),
        "employees": (cat.SIZE_BANDS, cat.SIZE_HAZARD),
        "billing_interval": (cat.BILLING_INTERVALS, cat.BILLING_HAZARD),
        "industry": (cat.INDUSTRIES, cat.INDUSTRY_HAZARD),
    }
    return {
        k: dict(zip(names, np.asarray(v).tolist(), strict=True)) for k, (names, v) in tables.items()
    }
