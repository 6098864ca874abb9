"""NPS and CSAT of a month: pure formulas plus one SQL aggregate over the app DB.

Definitions:
- Net Promoter Score (Reichheld, "The One Number You Need to Grow", HBR 2003; Bain & Company):
  on the 0–10 "how likely are you to recommend" scale, promoters answer 9–10, passives 7–8 and
  detractors 0–6; NPS = % promoters − % detractors, a score from −100 to +100 (points, not a
  fraction, as NPS is always quoted).
- Customer satisfaction (CSAT, the usual 1–5 scale): the share of responses scoring 4 or 5
  ("satisfied" or "very satisfied"), as a fraction like the other rates, beside the mean score.
  Survey CSAT comes from `surveys` rows of kind csat; ticket CSAT from the tickets' `csat`.

A month holds the responses with `responded_at` in it (UTC); a ticket's rating belongs to the
month it was closed in (opened, while it is still open). No responses → None, never 0.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from tenure.accounts.models import SurveyResponse, Ticket

PROMOTER_MIN = 9  # promoters answer 9 or 10
DETRACTOR_MAX = 6  # detractors answer 0 to 6
SATISFIED_MIN = 4  # CSAT counts 4 and 5 as satisfied


def nps(promoters: int, detractors: int, responses: int) -> float | None:
    """Return (promoters − detractors) ÷ responses × 100 (Bain/Reichheld NPS, −100 … +100)."""
    return None if responses == 0 else (promoters - detractors) * 100 / responses


def csat(satisfied: int, responses: int) -> float | None:
    """Return the share of CSAT responses scoring 4–5, as a fraction (None without responses)."""
    return None if responses == 0 else satisfied / responses


def mean_score(total: int, responses: int) -> float | None:
    """Return the mean score (None without responses)."""
    return None if responses == 0 else total / responses


def month_bounds(month: int) -> tuple[datetime, datetime]:
    """Return the first instant of a month index (year × 12 + month − 1) and of the next, UTC."""
    start = datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC)
    after = datetime((month + 1) // 12, (month + 1) % 12 + 1, 1, tzinfo=UTC)
    return start, after


def _count_if(condition: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def survey_figures(engine: Engine, month: int) -> dict[str, Any]:
    """Return the month's NPS and CSAT figures (survey and ticket), aggregated in SQL."""
    start, after = month_bounds(month)
    score = SurveyResponse.score
    surveys = (
        sa.select(
            SurveyResponse.kind,
            sa.func.count(),
            _count_if(score >= PROMOTER_MIN),
            _count_if(score <= DETRACTOR_MAX),
            _count_if(score >= SATISFIED_MIN),
            sa.func.coalesce(sa.func.sum(score), 0),
        )
        .where(SurveyResponse.responded_at >= start, SurveyResponse.responded_at < after)
        .group_by(SurveyResponse.kind)
    )
    rated_at = sa.func.coalesce(Ticket.closed_at, Ticket.opened_at)
    tickets = sa.select(
        sa.func.count(Ticket.csat),
        _count_if(Ticket.csat >= SATISFIED_MIN),
        sa.func.coalesce(sa.func.sum(Ticket.csat), 0),
    ).where(Ticket.csat.is_not(None), rated_at >= start, rated_at < after)
    with engine.connect() as conn:
        by_kind = {row[0]: tuple(int(v) for v in row[1:]) for row in conn.execute(surveys)}
        ticket_n, ticket_ok, ticket_total = (int(v) for v in conn.execute(tickets).one())
    n_nps, promoters, detractors, _, _ = by_kind.get("nps", (0, 0, 0, 0, 0))
    n_csat, _, _, satisfied, total = by_kind.get("csat", (0, 0, 0, 0, 0))
    return {
        "nps": nps(promoters, detractors, n_nps),
        "nps_responses": n_nps,
        "nps_promoters": promoters,
        "nps_detractors": detractors,
        "csat": csat(satisfied, n_csat),
        "csat_mean": mean_score(total, n_csat),
        "csat_responses": n_csat,
        "ticket_csat": csat(ticket_ok, ticket_n),
        "ticket_csat_mean": mean_score(ticket_total, ticket_n),
        "ticket_csat_responses": ticket_n,
    }
