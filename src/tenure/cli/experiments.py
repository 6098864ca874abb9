"""`tenure experiments create|start|stop|reweight|load-exposures|list|show|report|analyze|simulated`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tenure.cli import experiments_simulated as simulated
from tenure.cli.context import AppContext, app_context
from tenure.errors import InputError

# The experiments modules and the app-DB session are imported inside the commands, so
# `tenure experiments --help` does not load SQLAlchemy, scipy or pydantic (start-up time).

experiments_app = typer.Typer(
    help="Experiments: assignment, global holdout, exposures and statistics.", no_args_is_help=True
)

Key = Annotated[str, typer.Argument(help="The experiment's key", show_default=False)]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]
Variants = Annotated[
    list[str] | None,
    typer.Option("--variant", help="KEY=WEIGHT, repeatable (default control=1 treatment=1)"),
]


def parse_variants(texts: list[str] | None) -> list[dict[str, Any]]:
    """Return [{key, weight}] from KEY=WEIGHT options."""
    variants = []
    for text in texts or ["control=1", "treatment=1"]:
        key, sep, weight = text.partition("=")
        try:
            variants.append({"key": key.strip(), "weight": float(weight) if sep else 1.0})
        except ValueError:
            raise InputError(f"--variant takes KEY=WEIGHT, got {text!r}") from None
    return variants


def parse_layer_range(text: str) -> tuple[float, float]:
    """Return (start, end) of a START:END layer range."""
    start, _, end = text.partition(":")
    try:
        return float(start), float(end)
    except ValueError:
        raise InputError(f"--layer-range takes START:END, e.g. 0:0.5, got {text!r}") from None


def _method(text: str) -> Any:
    """Return the inference Method named by --method."""
    from tenure.experiments.schemas import Method

    if text not in {m.value for m in Method}:
        raise InputError(f"--method must be frequentist, bayesian or sequential, got {text!r}")
    return Method(text)


def _targeting(segment: str | None, units_file: Path | None) -> dict[str, Any] | None:
    """Return the targeting of --segment or --units-file (one unit id per line)."""
    if segment and units_file:
        raise InputError("give either --segment or --units-file, not both")
    if units_file is not None:
        try:
            lines = units_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InputError(f"cannot read {units_file}: {exc}") from exc
        return {"units": [line.strip() for line in lines if line.strip()]}
    return {"segment": segment} if segment else None


def _spec(values: dict[str, Any]) -> Any:
    """Return the validated ExperimentSpec, bad values as an InputError naming the fields."""
    from pydantic import ValidationError

    from tenure.experiments.specs import ExperimentSpec

    try:
        return ExperimentSpec.model_validate(values)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'spec'}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(f"invalid experiment: {errors}") from None


@experiments_app.command("create")
def create_command(
    ctx: typer.Context,
    key: Key,
    name: Annotated[str, typer.Option("--name", help="A readable name")],
    variant: Variants = None,
    hypothesis: Annotated[str | None, typer.Option("--hypothesis")] = None,
    unit: Annotated[str, typer.Option("--unit", help="account or contact")] = "account",
    control: Annotated[str | None, typer.Option("--control", help="Default: first")] = None,
    layer: Annotated[str | None, typer.Option("--layer", help="Exclusion layer")] = None,
    layer_range: Annotated[str, typer.Option("--layer-range", help="START:END")] = "0:1",
    segment: Annotated[str | None, typer.Option("--segment", help="Target a segment")] = None,
    units_file: Annotated[Path | None, typer.Option("--units-file", help="Target ids")] = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", help="Repeatable")] = None,
    guardrail: Annotated[list[str] | None, typer.Option("--guardrail", help="Repeatable")] = None,
    target_units: Annotated[int | None, typer.Option("--target-units", help="Sample size")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who designed it")] = None,
) -> None:
    """Create a draft experiment (start it with `tenure experiments start KEY`)."""
    from tenure.db.session import session_scope
    from tenure.experiments import service

    start, end = parse_layer_range(layer_range)
    spec = _spec({
        "key": key, "name": name, "hypothesis": hypothesis, "unit": unit,
        "variants": parse_variants(variant), "control": control, "layer": layer,
        "layer_start": start, "layer_end": end, "targeting": _targeting(segment, units_file),
        "metrics": metric or [], "guardrails": guardrail or [], "target_units": target_units,
    })  # fmt: skip
    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as db_session:
        experiment = service.create_experiment(db_session=db_session, spec=spec, by=by)
        arms = ", ".join(f"{v['key']} ({v['weight']:g})" for v in experiment.variants)
    context.out.print(f"experiment {key}: draft, variants {arms}", highlight=False, markup=False)


@experiments_app.command("start")
def start_command(
    ctx: typer.Context,
    key: Key,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="When it really started (ISO date or time, UTC), for loaded exposures"
        ),
    ] = None,
) -> None:
    """Start a draft experiment: units are assigned from now on (or from --at)."""
    from tenure.db.session import session_scope
    from tenure.experiments import service

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as db_session:
        experiment = service.start_experiment(db_session=db_session, key=key, at=parse_when(at))
        started = experiment.started_at
    shown = f"experiment {key}: running since {started:%Y-%m-%d %H:%M} UTC"
    context.out.print(shown, highlight=False, markup=False)


def parse_when(text: str | None) -> Any:
    """Return an ISO date (midnight UTC) or date-time (UTC unless it says) as aware datetime."""
    from datetime import UTC, datetime

    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"--at {text!r} is not an ISO date or time") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@experiments_app.command("load-exposures")
def load_exposures_command(
    ctx: typer.Context,
    key: Key,
    path: Annotated[Path, typer.Argument(help="CSV with a header row", show_default=False)],
    unit: Annotated[str, typer.Option("--unit", help="Column of unit ids")] = "unit_id",
    variant: Annotated[str, typer.Option("--variant", help="Column of variants")] = "variant",
    exposed_at: Annotated[
        str, typer.Option("--exposed-at", help="Column of first exposure dates/times (UTC)")
    ] = "exposed_at",
) -> None:
    """Load exposures recorded elsewhere (one row per unit); bad rows are listed, the rest load."""
    from tenure import clock
    from tenure.db.session import session_scope
    from tenure.experiments import service
    from tenure.experiments.exposure_files import read_exposure_file

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as db_session:
        experiment = service.get_experiment(db_session=db_session, key=key)
        if experiment.started_at is None:
            raise InputError(f"experiment {key!r} is a draft: start it first (--at for the past)")
        found = read_exposure_file(
            path, unit=unit, variant=variant, exposed_at=exposed_at,
            variants=[v["key"] for v in experiment.variants],
            started_at=experiment.started_at, now=clock.now(),
        )  # fmt: skip
        loaded, clash = service.load_exposures(
            db_session=db_session, experiment=experiment, exposures=found.exposures
        )
    _report_load(context, key, loaded, len(found.exposures), found.rejected, clash, unit)


def _report_load(context, key, loaded, valid, rejected, clash, unit_column) -> None:
    """Print what loaded and each refused row (line, field, reason); exit 3 when any was."""
    out = context.out
    out.print(
        f"experiment {key}: {loaded} exposures recorded, {valid - loaded - len(clash)} already"
        f" there, {len(rejected) + len(clash)} rows refused",
        highlight=False, markup=False,
    )  # fmt: skip
    for line, field, reason in rejected[:10]:
        out.print(f"  line {line}, {field}: {reason}", highlight=False, markup=False)
    for unit_id, reason in clash[:10]:
        out.print(f"  {unit_column} {unit_id}: {reason}", highlight=False, markup=False)
    if rejected or clash:
        raise typer.Exit(3)


@experiments_app.command("stop")
def stop_command(ctx: typer.Context, key: Key) -> None:
    """Stop a running experiment: new calls get the control; recorded data stays."""
    _change(ctx, key, "stop_experiment")


def _change(ctx: typer.Context, key: str, action: str) -> None:
    from tenure.db.session import session_scope
    from tenure.experiments import service

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as db_session:
        experiment = getattr(service, action)(db_session=db_session, key=key)
        status = experiment.status
    context.out.print(f"experiment {key}: {status}", highlight=False, markup=False)


@experiments_app.command("reweight")
def reweight_command(ctx: typer.Context, key: Key, variant: Variants = None) -> None:
    """Change variant weights; units already assigned keep their variant."""
    from tenure.db.session import session_scope
    from tenure.experiments import service

    if not variant:
        raise InputError("give the new weights as --variant KEY=WEIGHT for every variant")
    weights = {v["key"]: v["weight"] for v in parse_variants(variant)}
    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as db_session:
        service.reweight_experiment(db_session=db_session, key=key, weights=weights)
    shown = ", ".join(f"{k} ({w:g})" for k, w in weights.items())
    context.out.print(f"experiment {key}: weights {shown}", highlight=False, markup=False)


@experiments_app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="draft|running|stopped")] = None,
    as_json: AsJson = False,
) -> None:
    """List experiments, newest first, with their status and units assigned."""
    from tenure.db.session import session_scope
    from tenure.experiments import results, service

    context: AppContext = app_context(ctx)
    if status is not None and status not in ("draft", "running", "stopped"):
        raise InputError(f"--status must be draft, running or stopped, got {status!r}")
    with session_scope(context.engine) as db_session:
        found = service.list_experiments(db_session=db_session, status=status)
        rows = [results.describe(e) for e in found]
    if as_json:
        context.out.print_json(json.dumps(rows))
        return
    table = Table("key", "name", "status", "unit", "variants", "layer", "started")
    for row in rows:
        arms = ", ".join(f"{v['key']}:{v['weight']:g}" for v in row["variants"])
        table.add_row(row["key"], row["name"], row["status"], row["unit"], arms,
                      row["layer"] or "—", (row["started_at"] or "—")[:10])  # fmt: skip
    context.out.print(table)


@experiments_app.command("show")
def show_command(ctx: typer.Context, key: Key, as_json: AsJson = False) -> None:
    """Show an experiment's design and its assigned and exposed units per variant."""
    from tenure.db.session import session_scope
    from tenure.experiments import results, service

    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as db_session:
        experiment = service.get_experiment(db_session=db_session, key=key)
        shown = results.describe(experiment)
        shown["units"] = service.variant_counts(db_session=db_session, experiment=experiment)
    if as_json:
        context.out.print_json(json.dumps(shown))
        return
    for name, value in shown.items():
        text = value if isinstance(value, str) else json.dumps(value)
        context.out.print(f"{name}: {text}", highlight=False, markup=False)


@experiments_app.command("report")
def report_command(
    ctx: typer.Context,
    key: Key,
    method: Annotated[str, typer.Option("--method", help="frequentist|bayesian|sequential")] = (
        "frequentist"
    ),
    as_json: AsJson = False,
) -> None:
    """Print lift and interval per metric, SRM, sample-size progress and the decision."""
    from tenure.cli.experiments_report import print_report
    from tenure.db.session import session_scope
    from tenure.experiments import results

    chosen = _method(method)
    context: AppContext = app_context(ctx)
    with session_scope(context.engine) as db_session:
        report = results.experiment_results(db_session=db_session, key=key, method=chosen)
    if as_json:
        context.out.print_json(json.dumps(report))
        return
    print_report(context.out, report)


@experiments_app.command("analyze")
def analyze_command(
    ctx: typer.Context,
    csv: Annotated[Path, typer.Option("--csv", help="CSV file, one row per unit")],
    variant: Annotated[str, typer.Option("--variant", help="Column naming each unit's variant")],
    metric: Annotated[list[str], typer.Option("--metric", help="Metric column (repeatable)")],
    control: Annotated[
        str | None, typer.Option("--control", help="Control variant (default: 'control')")
    ] = None,
    pre: Annotated[
        str | None, typer.Option("--pre", help="Pre-period covariate column (CUPED)")
    ] = None,
    method: Annotated[str, typer.Option("--method", help="frequentist|bayesian|sequential")] = (
        "frequentist"
    ),
    weights: Annotated[
        str | None, typer.Option("--weights", help="Expected split, e.g. a=50,b=50")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Analyse an experiment from a CSV of units: lifts, intervals, p-values, SRM, decision."""
    from tenure.cli.experiments_report import parse_weights, pick_control, print_result
    from tenure.experiments.csv_source import summarize_csv
    from tenure.experiments.engine import analyze_experiment
    from tenure.experiments.output import result_json

    context: AppContext = app_context(ctx)
    data = summarize_csv(csv, variant, metric, pre)
    variants = list(data.counts)
    result = analyze_experiment(
        data.summaries,
        data.kinds,
        pick_control(control, variants),
        counts=data.counts,
        weights=parse_weights(weights, variants),
        method=_method(method),
    )
    if as_json:
        typer.echo(json.dumps(result_json(result)))
    else:
        print_result(context, result)


simulated.register(experiments_app)  # `tenure experiments simulated BOOK_DIR`


def register(app: typer.Typer) -> None:
    """Add the `experiments` group to the root app."""
    app.add_typer(experiments_app, name="experiments")
