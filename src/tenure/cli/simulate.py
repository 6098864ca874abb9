"""`tenure simulate`: write a realistic B2B SaaS dataset whose churn probabilities are known."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tenure import clock
from tenure.cli.context import app_context
from tenure.cli.options import parse_date

if TYPE_CHECKING:
    from tenure.simulate import SimulationConfig, SimulationResult

# The simulator (NumPy, PyArrow) is imported inside the functions that use it, so
# `tenure simulate --help` and the other commands do not load it (start-up time).


def simulate_command(
    ctx: typer.Context,
    accounts: Annotated[int, typer.Option("--accounts", help="Number of accounts")] = 1000,
    months: Annotated[int, typer.Option("--months", help="Months of history to simulate")] = 12,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same bytes)")] = 42,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: <data-dir>/simulated)")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Last date of the window, YYYY-MM-DD (today UTC)")
    ] = None,
    treatment_fraction: Annotated[
        float | None,
        typer.Option("--treatment-fraction", help="Share of accounts randomized to treatment"),
    ] = None,
    treatment_effect: Annotated[
        float, typer.Option("--treatment-effect", help="Treated hazards are multiplied by 1 − E")
    ] = 0.2,
    treatment_start: Annotated[
        str | None,
        typer.Option("--treatment-start", help="YYYY-MM-DD (default: middle of the window)"),
    ] = None,
    arm: Annotated[
        list[str] | None,
        typer.Option(
            "--arm",
            help="A treatment arm NAME:FRACTION[:CHURN_EFFECT[:USAGE_EFFECT]], e.g. a:0.3:0.2:0.1 "
            "(repeat for more arms; instead of --treatment-fraction)",
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="Run the closed loop of plays with this TOML policy (ranking, budget, holdout, "
            "cadence); writes play_truth.parquet and loop.json",
        ),
    ] = None,
    loyalty_effect: Annotated[
        float | None,
        typer.Option(
            "--loyalty-effect",
            help="Simulate the loyalty programme: engaged members' hazards × (1 − CUT) from the "
            "day after --loyalty-start (0: a programme that does nothing); writes loyalty.csv",
        ),
    ] = None,
    loyalty_start: Annotated[
        str | None,
        typer.Option(
            "--loyalty-start",
            help="YYYY-MM-DD Tenure enrols on (its pipeline's --as-of; default: mid-window)",
        ),
    ] = None,
    loyalty_holdout: Annotated[
        float, typer.Option("--loyalty-holdout", help="The programme's holdout_fraction")
    ] = 0.2,
) -> None:
    """Write accounts, contacts, billing, tickets, surveys, events and the churn ground truth."""
    from tenure.simulate import SimulationConfig
    from tenure.simulate.config import LoyaltyEffect, parse_arm
    from tenure.simulate.policy import read_policy

    context = app_context(ctx)
    loyalty = None
    if loyalty_effect is not None:
        loyalty = LoyaltyEffect(
            cut=loyalty_effect,
            start=parse_date(loyalty_start, "--loyalty-start"),
            holdout_fraction=loyalty_holdout,
            global_holdout=context.settings.holdout_fraction,
        )
    config = SimulationConfig(
        accounts=accounts,
        months=months,
        seed=seed,
        end=parse_date(end, "--end") or clock.now().date(),
        treatment_fraction=treatment_fraction,
        treatment_effect=treatment_effect,
        treatment_start=parse_date(treatment_start, "--treatment-start"),
        treatment_arms=tuple(parse_arm(text) for text in arm or ()),
        policy=read_policy(policy) if policy is not None else None,
        loyalty=loyalty,
    )
    target = out if out is not None else context.settings.data_dir / "simulated"
    result = run_with_progress(config, target, context.console)
    typer.echo(result.summary())


def run_with_progress(config: SimulationConfig, target: Path, console: Console) -> SimulationResult:
    """Run the simulation with a progress bar over simulated days on the given console."""
    from tenure.simulate import simulate

    columns = (
        TextColumn("simulating {task.fields[window]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        window = f"{config.start} … {config.end}"
        task = bar.add_task("simulate", total=config.n_days, window=window)
        return simulate(config, target, progress=lambda days: bar.advance(task, days))


def register(app: typer.Typer) -> None:
    """Add `simulate` to the root app."""
    app.command("simulate")(simulate_command)
