"""The dashboard's pages: `build_router(settings)` is included by `tenure.api.app.create_app`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts import scores
from tenure.accounts import service as accounts
from tenure.accounts.schemas import Money, Reader
from tenure.api.errors import Forbidden
from tenure.config import Settings
from tenure.errors import InputError, NotFound
from tenure.quality.rendering import quality_charts
from tenure.rendering import charts
from tenure.reports.clv.accounts import account_values, segment_values
from tenure.segments.service import value_risk_grid_report
from tenure.web import alerts, model_card, overview, service
from tenure.web import experiments as experiment_pages
from tenure.web import journeys as journey_pages
from tenure.web import loyalty as loyalty_pages
from tenure.web import messages as message_pages
from tenure.web import plays as play_pages
from tenure.web import reports as report_pages
from tenure.web.actions import add_action_routes
from tenure.web.forecast import forecast_context
from tenure.web.live import add_live_routes
from tenure.web.rendering import Dashboard, build_templates, login_redirect
from tenure.web.session import Viewer
from tenure.web.task_actions import add_task_action_routes

Build = Callable[[Session, Viewer], tuple[str, dict[str, Any]]]


def _reader(viewer: Viewer) -> Reader:
    return Reader(role=viewer.role, email=viewer.email)


def show(ui: Dashboard, request: Request, page: str, build: Build) -> Response:
    """Render a page for the logged-in viewer; bad input and missing things get a clear page."""
    with ui.db(request) as db:
        viewer = ui.viewer(request, db)
        if viewer is None:
            return login_redirect(request)
        try:
            template, context = build(db, viewer)
        except NotFound as exc:
            return ui.error(request, viewer, 404, str(exc))
        except Forbidden as exc:
            return ui.error(request, viewer, 403, str(exc))
        except InputError as exc:
            return ui.error(request, viewer, 400, str(exc))
        return ui.render(request, template, {"page": page, **context}, viewer=viewer)


def overview_context(ui: Dashboard, db: Session) -> dict[str, Any]:
    """Return the overview: KPIs, movements and rates charts, tiers, the accounts most at risk."""
    months = overview.monthly_figures(db_session=db, settings=ui.settings)
    tiers = scores.tier_distribution(db_session=db)
    health_counts = {t: v["accounts"] for t, v in tiers.health.items()}
    money = Money.from_settings(ui.settings)
    return {
        "months": months,
        "kpis": overview.kpis(months),
        "movements_chart": charts.mrr_movements(months) if months else None,
        "rates_chart": charts.retention_rates(months) if months else None,
        "tiers": tiers,
        "health_chart": charts.tier_bars(health_counts) if health_counts else None,
        "risk_chart": charts.tier_bars(tiers.risk) if tiers.risk else None,
        "at_risk": accounts.at_risk_accounts(db_session=db, money=money, day=clock.now().date()),
    }


def accounts_context(ui: Dashboard, db: Session, request: Request) -> dict[str, Any]:
    """Return one page of the filtered accounts list and the filter choices."""
    filters = service.parse_filters(request.query_params)
    result = service.list_accounts(
        db_session=db,
        filters=filters,
        money=Money.from_settings(ui.settings),
        day=clock.now().date(),
    )
    return {
        "result": result,
        "filters": filters,
        "owners": accounts.owners(db_session=db),
        "tiers": scores.tiers(db_session=db),
        "sorts": service.SORTS,
    }


def add_account_routes(router: APIRouter, ui: Dashboard) -> None:
    """Add the overview, the accounts list (with its HTMX partial) and the account 360."""

    @router.get("/")
    def overview_page(request: Request) -> Response:
        return show(
            ui, request, "overview", lambda db, _v: ("overview.html", overview_context(ui, db))
        )

    @router.get("/accounts")
    def accounts_page(request: Request) -> Response:
        def build(db: Session, _viewer: Viewer) -> tuple[str, dict[str, Any]]:
            context = accounts_context(ui, db, request)
            partial = request.headers.get("hx-target") == "account-rows"
            return ("_account_rows.html" if partial else "accounts.html"), context

        return show(ui, request, "accounts", build)

    @router.get("/accounts/{account_id}")
    def account_page(request: Request, account_id: int) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            today = clock.now().date()
            context = service.account_context(
                db_session=db, account_id=account_id, reader=_reader(viewer),
                money=Money.from_settings(ui.settings), today=today,
            )  # fmt: skip
            context["loyalty"] = loyalty_pages.account_panel(
                db, _reader(viewer), account_id, Money.from_settings(ui.settings)
            )
            values = account_values(db, ui.settings, today, [account_id])
            panel = play_pages.account_panel(db, viewer, ui.settings, account_id, today)
            return "account.html", {**context, "clv": values.get(account_id), "plays_panel": panel}

        return show(ui, request, "accounts", build)

    @router.get("/accounts/{account_id}/events")
    def account_events(request: Request, account_id: int) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            events = accounts.recent_events(
                db_session=db, account_id=account_id, reader=_reader(viewer), limit=service.RECENT
            )
            if events is None:
                raise Forbidden("your role may not read product events")
            return "_account_events.html", {"events": events}

        return show(ui, request, "accounts", build)


def add_alert_routes(router: APIRouter, ui: Dashboard) -> None:
    """Add the alerts inbox (a csm sees their own accounts' alerts) and its HTMX partial."""

    @router.get("/alerts")
    def alerts_page(
        request: Request, status: str = "active", page: int = 1, view: str = "accounts"
    ) -> Response:
        if view == "accounts":
            return show(ui, request, "alerts", smart_inbox_build(ui, request, status, page))

        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            if view not in alerts.VIEWS:
                raise InputError(f"view must be one of {', '.join(alerts.VIEWS)}, got {view!r}")
            owner = viewer.email if viewer.role == "csm" else None
            found = alerts.inbox(
                db_session=db,
                money=Money.from_settings(ui.settings),
                day=clock.now().date(),
                status=status or None,
                owner=owner,
                page=page,
                reader=_reader(viewer),
            )
            partial = request.headers.get("hx-target") == "alert-rows"
            context = {
                "alerts": found.alerts,
                "inbox": found,
                "status": status,
                "statuses": alerts.STATUSES,
                "view": "list",
            }
            return ("_alert_rows.html" if partial else "alerts.html"), context

        return show(ui, request, "alerts", build)


def smart_inbox_build(ui: Dashboard, request: Request, status: str, page: int) -> Build:
    """Return the builder of the smart inbox: alerts grouped by account, most MRR at risk first."""

    def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
        found = alerts.grouped_inbox(
            db_session=db, settings=ui.settings, day=clock.now().date(), status=status or None,
            owner=viewer.email if viewer.role == "csm" else None, page=page,
            reader=_reader(viewer),
        )  # fmt: skip
        context = {
            "groups": found.groups, "inbox": found, "status": status, "view": "accounts",
            "statuses": alerts.STATUSES, "currency": ui.settings.reporting_currency.upper(),
        }  # fmt: skip
        partial = request.headers.get("hx-target") == "alert-rows"
        return ("_alert_groups.html" if partial else "alerts.html"), context

    return build


def add_report_routes(router: APIRouter, ui: Dashboard) -> None:
    """Add the business-wide reports: cohorts, segments, forecast, churn model, data quality."""

    @router.get("/cohorts")
    def cohorts_page(request: Request, matrix: str = "logo") -> Response:
        def build(db: Session, _viewer: Viewer) -> tuple[str, dict[str, Any]]:
            if matrix not in ("logo", "net_mrr", "gross_mrr"):
                raise InputError(f"matrix must be logo, net_mrr or gross_mrr, got {matrix!r}")
            report = overview.cohort_matrix(db_session=db, settings=ui.settings)
            curves = (
                charts.cohort_curves(report["cohorts"], matrix) if report.get("cohorts") else None
            )
            return "cohorts.html", {"report": report, "matrix": matrix, "curves_chart": curves}

        return show(ui, request, "cohorts", build)

    @router.get("/segments")
    def segments_page(request: Request) -> Response:
        def build(db: Session, _viewer: Viewer) -> tuple[str, dict[str, Any]]:
            found = overview.segments(db_session=db, settings=ui.settings)
            grid = value_risk_grid_report(
                db_session=db, as_of=clock.now().date(), money=Money.from_settings(ui.settings)
            )
            clv = {
                s["segment"]: s["clv"] for s in segment_values(db, ui.settings, clock.now().date())
            }
            return "segments.html", {"segments": found, "grid": grid, "clv_by_segment": clv}

        return show(ui, request, "segments", build)

    @router.get("/forecast")
    def forecast_page(request: Request) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            return "forecast.html", forecast_context(db, viewer, ui)

        return show(ui, request, "forecast", build)

    @router.get("/model")
    def model_page(request: Request) -> Response:
        def build(db: Session, _viewer: Viewer) -> tuple[str, dict[str, Any]]:
            return "model.html", model_card.model_context(ui.settings, db)

        return show(ui, request, "model", build)

    @router.get("/quality")
    def quality_page(request: Request) -> Response:
        def build(_db: Session, _viewer: Viewer) -> tuple[str, dict[str, Any]]:
            report = overview.data_quality(engine=ui.engine(request), settings=ui.settings)
            shown = quality_charts(report) if "checks" in report else {}
            return "quality.html", {"report": report, **shown}

        return show(ui, request, "quality", build)


def add_experiment_routes(router: APIRouter, ui: Dashboard) -> None:
    """Add the experiments list and one experiment's results page."""

    @router.get("/experiments")
    def experiments_page(request: Request) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            return "experiments.html", experiment_pages.list_context(db, viewer)

        return show(ui, request, "experiments", build)

    @router.get("/experiments/{key}")
    def experiment_page(request: Request, key: str, method: str = "frequentist") -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            return "experiment.html", experiment_pages.detail_context(db, viewer, key, method)

        return show(ui, request, "experiments", build)

    @router.get("/loyalty")
    def loyalty_page(request: Request) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            return "loyalty.html", loyalty_pages.programme_context(db, viewer)

        return show(ui, request, "loyalty", build)


def add_play_routes(router: APIRouter, ui: Dashboard) -> None:
    """Add the plays list, one play's page and the CSM task inbox."""

    @router.get("/plays")
    def plays_page(request: Request) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            return "plays.html", play_pages.list_context(db, viewer, ui.settings)

        return show(ui, request, "plays", build)

    @router.get("/plays/{key}")
    def play_page(request: Request, key: str) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            return "play.html", play_pages.detail_context(db, viewer, ui.settings, key)

        return show(ui, request, "plays", build)

    @router.get("/tasks")
    def tasks_page(request: Request, status: str | None = None) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            return "tasks.html", play_pages.tasks_context(db, viewer, status)

        return show(ui, request, "tasks", build)


def add_message_routes(router: APIRouter, ui: Dashboard) -> None:
    """Add the message templates page (list and a sandboxed preview for an account)."""

    @router.get("/messages/templates")
    def templates_page(request: Request) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            params = dict(request.query_params)
            context = message_pages.templates_context(db, viewer, ui.settings, params)
            return "messages_templates.html", context

        return show(ui, request, "messages", build)


def add_journey_routes(router: APIRouter, ui: Dashboard) -> None:
    """Add the journeys list and one journey's funnel page."""

    @router.get("/journeys")
    def journeys_page(request: Request) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            return "journeys.html", journey_pages.list_context(db, viewer)

        return show(ui, request, "journeys", build)

    @router.get("/journeys/{key}")
    def journey_page(request: Request, key: str) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            return "journey.html", journey_pages.detail_context(db, viewer, key)

        return show(ui, request, "journeys", build)


def add_board_routes(router: APIRouter, ui: Dashboard) -> None:
    """Add the ROI, risk register and success scorecard pages."""

    @router.get("/roi")
    def roi_page(request: Request) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            today = clock.now().date()
            return "roi.html", report_pages.roi_context(db, viewer, ui.settings, today)

        return show(ui, request, "roi", build)

    @router.get("/risks")
    def risks_page(request: Request, status: str | None = None) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            return "risks.html", report_pages.risks_context(db, viewer, status)

        return show(ui, request, "risks", build)

    @router.get("/scorecard")
    def scorecard_page(request: Request) -> Response:
        def build(db: Session, viewer: Viewer) -> tuple[str, dict[str, Any]]:
            today = clock.now().date()
            return "scorecard.html", report_pages.scorecard_context(db, viewer, ui.settings, today)

        return show(ui, request, "scorecard", build)


def build_router(settings: Settings) -> APIRouter:
    """Return the dashboard router (HTML pages, HTMX partials, actions, live events)."""
    ui = Dashboard(settings=settings, templates=build_templates())
    router = APIRouter(include_in_schema=False)
    add_account_routes(router, ui)
    add_alert_routes(router, ui)
    add_report_routes(router, ui)
    add_experiment_routes(router, ui)
    add_play_routes(router, ui)
    add_message_routes(router, ui)
    add_journey_routes(router, ui)
    add_board_routes(router, ui)
    add_action_routes(router, ui)
    add_task_action_routes(router, ui)
    add_live_routes(router, ui)
    return router
