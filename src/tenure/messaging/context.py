"""The personalisation variables a template sees, built for many contacts in a few queries.

Every variable is documented in docs/messaging.md; `tenure.messaging.variables` is the schema
templates are validated against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account, Contact
from tenure.accounts.schemas import Money
from tenure.accounts.scores import latest_scores
from tenure.accounts.service import in_force_by_account
from tenure.config import Settings
from tenure.loyalty.personalisation import loyalty_variables
from tenure.messaging import usage as reads

Pair = tuple[Account, Contact]


def default_footer(settings: Settings) -> dict[str, str]:
    """Return the footer variables before consent fills them (links to the public site)."""
    base = settings.public_url.rstrip("/")
    return {
        "unsubscribe_url": f"{base}/unsubscribe",
        "preferences_url": f"{base}/preferences",
        "postal_address": str(getattr(settings, "mail_postal_address", "") or ""),
    }


def contact_variables(contact: Contact) -> dict[str, Any]:
    """Return the `contact` variables of one contact."""
    name = (contact.name or "").strip()
    return {
        "id": contact.external_id,
        "name": name or None,
        "first_name": name.split(" ")[0] if name else None,
        "email": contact.email,
        "role": contact.role,
        "locale": contact.locale,
        "timezone": contact.timezone,
    }


def _health(score: Any) -> dict[str, Any]:
    if score is None:
        return {"tier": None, "score": None, "reasons": [], "top_reason": None, "as_of": None}
    reasons = reads.health_reasons(score)
    return {
        "tier": score.tier,
        "score": round(score.score),
        "reasons": reasons,
        "top_reason": reasons[0] if reasons else None,
        "as_of": score.as_of,
    }


def _churn(score: Any) -> dict[str, Any]:
    drivers = [r for r in (score.reasons if score else None) or [] if r["contribution"] > 0]
    return {
        "risk_tier": score.risk_tier if score else None,
        "probability": round(score.probability, 3) if score else None,
        "drivers": [r["text"] for r in drivers],
        "driver_codes": [r["feature"] for r in drivers],
        "top_driver": drivers[0]["feature"] if drivers else None,
        "top_driver_text": drivers[0]["text"] if drivers else None,
        "as_of": score.as_of if score else None,
    }


def _account(account: Account, mrr: Any, plan: dict[str, Any], currency: str, today: Any):
    renews = plan.get("renewal_date")
    return {
        "id": account.external_id,
        "name": account.name,
        "plan": plan.get("plan"),
        "mrr": reads.format_money(mrr.mrr if mrr else 0, currency),
        "mrr_minor": mrr.mrr if mrr else 0,
        "currency": currency,
        "owner": account.owner,
        "csm": account.owner,
        "renewal_date": renews,
        "days_to_renewal": (renews - today).days if renews else None,
        "industry": account.industry,
        "region": account.region,
    }


def _usage(found: dict[str, Any] | None, features: list[str]) -> dict[str, Any]:
    used = sorted(found["used"]) if found else []
    return {
        "features_used": used,
        "features_unused": [f for f in features if f not in used],
        "events_30d": found["events"] if found else 0,
        "active_days_30d": len(found["days"]) if found else 0,
    }


def message_contexts(
    session: Session, pairs: Sequence[Pair], settings: Settings
) -> list[dict[str, Any]]:
    """Return the variables of each (account, contact) pair, reading each table once."""
    today = clock.now().date()
    ids = sorted({account.id for account, _ in pairs})
    money = Money.from_settings(settings)
    mrr = in_force_by_account(db_session=session, day=today, money=money, account_ids=ids)
    plans = reads.plans(session, ids, today)
    scores = latest_scores(db_session=session, account_ids=ids) if ids else {}
    ignored = set(settings.health_login_events)
    found, features = reads.usage(session, ids, today, ignored)
    footer = default_footer(settings)
    loyalty = loyalty_variables(session, ids, today, money)
    accounts = {account.id: account for account, _ in pairs}
    per_account = {
        account.id: {
            "account": _account(
                account, mrr.get(account.id), plans.get(account.id, {}), money.currency, today
            ),
            "health": _health(scores[account.id][0]),
            "churn": _churn(scores[account.id][1]),
            "usage": _usage(found.get(account.id), features),
            "loyalty": loyalty.get(account.id),
        }
        for account in accounts.values()
    }
    return [
        {
            **per_account[account.id],
            "contact": contact_variables(contact),
            "footer": dict(footer),
        }
        for account, contact in pairs
    ]


def message_context(
    session: Session, account: Account, contact: Contact, settings: Settings
) -> dict[str, Any]:
    """Return the variables of one contact's message."""
    return message_contexts(session, [(account, contact)], settings)[0]
