"""Risk checks that read Tenure's own state as of a day and return findings (risk_rules.Finding).

Each check reads only what existed on the day (imports started, scores made, messages created
on or before it), so a backfill reproduces the register it would have shown then.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure.accounts.mrr import instant_after
from tenure.accounts.schemas import Money
from tenure.accounts.service import mrr_in_force_query
from tenure.churn.models import ChurnScore
from tenure.config import Settings
from tenure.experiments.models import Experiment, ExperimentExposure
from tenure.ingest.models import ImportRun
from tenure.messaging.models import Message
from tenure.messaging.provider_models import EmailProviderEvent
from tenure.plays.actions import UNASSIGNED
from tenure.plays.models import CsmTask, PlayRun
from tenure.reports.risk_rules import Finding, account_exposure, overloaded_csms, rate_over
from tenure.warehouse.models import PipelineRun

DATA_OWNER = "data team"
CS_OWNER = "head of customer success"
DELIVERABILITY_DAYS = 30
POWER_GRACE_DAYS = 28


def latest_score_day(session: Session, day: date) -> date | None:
    """Return the newest churn-score day on or before day."""
    return session.scalar(sa.select(sa.func.max(ChurnScore.as_of)).where(ChurnScore.as_of <= day))


def _active_plays(session: Session, ids: list[int]) -> dict[int, str]:
    """Return account id -> key of a play it is in now (treated arm, still running)."""
    from tenure.plays.models import Play

    query = (
        sa.select(PlayRun.account_id, Play.key)
        .join(Play, Play.id == PlayRun.play_id)
        .where(PlayRun.account_id.in_(ids), PlayRun.status == "active", PlayRun.arm == "treated")
    )
    return dict(session.execute(query).all())


def account_risks(
    session: Session, settings: Settings, day: date, best_play: str | None
) -> list[Finding]:
    """Return the accounts most exposed to churn (probability ≥ the setting), most exposed first."""
    score_day = latest_score_day(session, day)
    if score_day is None:
        return []
    money = Money.from_settings(settings)
    mrr = mrr_in_force_query(db_session=session, day=day, money=money).subquery()
    from tenure.accounts.models import Account

    query = (
        sa.select(Account.id, Account.name, Account.owner, ChurnScore.probability,
                  ChurnScore.horizon_days, mrr.c.mrr)
        .join(ChurnScore, (ChurnScore.account_id == Account.id) & (ChurnScore.as_of == score_day))
        .join(mrr, mrr.c.account_id == Account.id)
        .where(ChurnScore.probability >= settings.risk_churn_probability, mrr.c.mrr > 0)
        .order_by((ChurnScore.probability * mrr.c.mrr).desc(), Account.id)
        .limit(settings.risk_accounts_max * 3)
    )  # fmt: skip
    rows = session.execute(query).all()
    in_play = _active_plays(session, [r[0] for r in rows])
    found = []
    for account_id, name, owner, p, horizon, minor in rows:
        impact, exposure = account_exposure(p, money.major(minor), horizon)
        play = in_play.get(account_id, best_play)
        found.append(Finding(
            f"account:{account_id}", "account", "churn", f"{name} may churn",
            owner or settings.alert_fallback_owner,
            f"run the play {play}" if play else "CSM review: no play has a measured effect yet",
            account_id, round(p, 4), round(impact, 2), round(exposure, 2), play,
            {"in_play": account_id in in_play, "score_day": score_day.isoformat()},
        ))  # fmt: skip
    found.sort(key=lambda f: -(f.exposure or 0))
    return found[: settings.risk_accounts_max]


def source_risks(session: Session, settings: Settings, day: date) -> list[Finding]:
    """Return imports whose latest run failed, or that brought nothing new for too long."""
    end = instant_after(day)
    latest = (
        sa.select(ImportRun.kind, sa.func.max(ImportRun.started_at).label("at"))
        .where(ImportRun.started_at < end)
        .group_by(ImportRun.kind)
        .subquery()
    )
    query = sa.select(ImportRun.kind, ImportRun.status, ImportRun.started_at, ImportRun.error).join(
        latest, (latest.c.kind == ImportRun.kind) & (latest.c.at == ImportRun.started_at)
    )
    found = []
    stale_after = timedelta(days=settings.risk_source_stale_days)
    for kind, status, started_at, error in session.execute(query):
        if status == "failed":
            found.append(Finding(
                f"source:{kind}:failing", "programme", "data_source",
                f"the latest {kind} import failed", DATA_OWNER,
                "fix the file named in `tenure dq report` and re-run the import",
                detail={"error": (error or "")[:500], "at": started_at.isoformat()},
            ))  # fmt: skip
        elif end - started_at > stale_after + timedelta(days=1):
            age = (end - started_at).days
            found.append(Finding(
                f"source:{kind}:stale", "programme", "data_source",
                f"no {kind} import for {age} days", DATA_OWNER,
                f"check the {kind} export and schedule its import",
                detail={"last_import": started_at.isoformat(), "days": age},
            ))  # fmt: skip
    return found


def pipeline_risks(session: Session, day: date) -> list[Finding]:
    """Return pipeline stages whose latest run for a day up to this one failed."""
    latest = (
        sa.select(PipelineRun.stage, sa.func.max(PipelineRun.id).label("id"))
        .where(PipelineRun.as_of <= day, PipelineRun.status != "running")
        .group_by(PipelineRun.stage)
        .subquery()
    )
    query = sa.select(PipelineRun).join(latest, latest.c.id == PipelineRun.id)
    return [
        Finding(
            f"pipeline:{run.stage}",
            "programme",
            "data_source",
            f"pipeline stage {run.stage} failed on {run.as_of}",
            DATA_OWNER,
            f"read the error and re-run `tenure pipeline run --as-of {run.as_of} "
            f"--only {run.stage}`",
            detail={"error": (run.error or "")[:500]},
        )
        for run in session.scalars(query)
        if run.status == "failed"
    ]


def deliverability_risks(session: Session, settings: Settings, day: date) -> list[Finding]:
    """Return bounce and complaint rates of the last 30 days' email above their settings."""
    end = instant_after(day)
    start = end - timedelta(days=DELIVERABILITY_DAYS)
    window = (Message.created_at >= start) & (Message.created_at < end)
    counts = dict(session.execute(
        sa.select(Message.status, sa.func.count()).where(window).group_by(Message.status)
    ).all())  # fmt: skip
    attempted = sum(counts.get(s, 0) for s in ("sent", "bounced", "failed"))
    complaints = session.scalar(
        sa.select(sa.func.count()).where(
            EmailProviderEvent.event == "complained",
            EmailProviderEvent.received_at >= start, EmailProviderEvent.received_at < end,
        )
    ) or 0  # fmt: skip
    found = []
    bounce = rate_over(counts.get("bounced", 0), attempted, settings.risk_bounce_rate)
    if bounce is not None:
        found.append(Finding(
            "deliverability:bounces", "programme", "deliverability",
            f"{bounce:.1%} of email bounced in {DELIVERABILITY_DAYS} days", CS_OWNER,
            "clean the contact list (suppress hard bounces) and check the sending domain",
            detail={"bounced": counts.get("bounced", 0), "attempted": attempted},
        ))  # fmt: skip
    complaint = rate_over(int(complaints), attempted, settings.risk_complaint_rate)
    if complaint is not None:
        found.append(Finding(
            "deliverability:complaints", "programme", "deliverability",
            f"{complaint:.2%} of email drew a spam complaint", CS_OWNER,
            "lower journey frequency and check consent and unsubscribe links",
            detail={"complaints": int(complaints), "attempted": attempted},
        ))  # fmt: skip
    return found


def power_risks(session: Session, day: date) -> list[Finding]:
    """Return running experiments without a planned sample size, or short of it after 28 days."""
    end = instant_after(day)
    exposures = dict(session.execute(
        sa.select(ExperimentExposure.experiment_id, sa.func.count())
        .where(ExperimentExposure.first_exposed_at < end)
        .group_by(ExperimentExposure.experiment_id)
    ).all())  # fmt: skip
    found = []
    running = sa.select(Experiment).where(
        Experiment.status == "running", Experiment.started_at < end
    )
    for experiment in session.scalars(running):
        n = exposures.get(experiment.id, 0)
        days = (end - experiment.started_at).days
        if experiment.target_units is None:
            title = f"experiment {experiment.key} has no planned sample size"
        elif n < experiment.target_units and days > POWER_GRACE_DAYS:
            title = f"experiment {experiment.key} has {n} of {experiment.target_units} units"
        else:
            continue
        found.append(Finding(
            f"experiment:{experiment.key}:power", "programme", "experiment_power", title,
            experiment.created_by or CS_OWNER,
            "plan the sample size for the smallest effect worth finding, or widen targeting",
            detail={"exposed": n, "target_units": experiment.target_units, "days": days},
        ))  # fmt: skip
    return found


def csm_overload_risks(session: Session, settings: Settings, day: date) -> list[Finding]:
    """Return CSMs with more open tasks than the setting allows."""
    open_tasks = dict(session.execute(
        sa.select(CsmTask.owner, sa.func.count())
        .where(CsmTask.status == "open", CsmTask.created_at < instant_after(day))
        .group_by(CsmTask.owner)
    ).all())  # fmt: skip
    overloaded = overloaded_csms(open_tasks, settings.risk_csm_open_tasks)
    return [
        _overload(owner, n, settings.risk_csm_open_tasks) for owner, n in sorted(overloaded.items())
    ]


def _overload(owner: str, n: int, limit: int) -> Finding:
    """Return the overload finding of one CSM, or of the tasks plays could not assign."""
    detail = {"open_tasks": n, "limit": limit}
    if owner == UNASSIGNED:
        return Finding("csm:unassigned:overload", "programme", "csm_overload",
                       f"{n} open tasks have no CSM", CS_OWNER,
                       "give the accounts an owner, or assign the tasks (`POST /v1/tasks/{id}/assign`)",
                       detail=detail)  # fmt: skip
    return Finding(f"csm:{owner}:overload", "programme", "csm_overload",
                   f"{owner} has {n} open tasks", CS_OWNER,
                   "reassign tasks (`POST /v1/tasks/{id}/assign`) or narrow the plays creating them",
                   detail=detail)  # fmt: skip
