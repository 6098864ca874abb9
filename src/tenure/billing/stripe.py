"""Stripe webhooks: verify the signature and apply customer, subscription and invoice events.

Accounts: a customer's account external id is `metadata.account_id` when set (to join a CRM
account), else the Stripe customer id; the customer id is kept in `attributes.stripe_customer_id`.
Events about a customer not seen yet create a placeholder account named after the customer id
(Stripe does not guarantee delivery order). Subscriptions keep MRR history: when a price,
quantity or plan changes, the running period is ended at the event time and a new period
(external id `sub_…@<event time>`) starts. MRR is the monthly-normalised sum of the items.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Account, Invoice, Subscription
from tenure.auth.models import StripeEvent
from tenure.billing.schemas import check_event
from tenure.errors import InputError
from tenure.health.realtime import queue_refresh

TOLERANCE_SECONDS = 300
STATUS = {
    "trialing": "trialing",
    "active": "active",
    "past_due": "past_due",
    "unpaid": "past_due",
    "paused": "paused",
    "incomplete": "trialing",
    "canceled": "canceled",
    "incomplete_expired": "canceled",
}
MAX_MRR = 10**15  # minor units a month: beyond any real subscription, inside BIGINT
MAX_QUANTITY = 2**31 - 1  # the quantity column is a 32-bit INTEGER on PostgreSQL
MONTHS_PER = {"day": 12 / 365, "week": 12 / 52, "month": 1.0, "year": 12.0}


@dataclass(frozen=True)
class AppliedEvent:
    """What applying a Stripe event did; touched_accounts need a health refresh after commit."""

    outcome: str
    duplicate: bool
    touched_accounts: frozenset[int] = frozenset()


class SignatureInvalid(InputError):
    """The Stripe-Signature header does not match the payload (HTTP 400)."""


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """Return the v1 signature of a payload at a time (what Stripe sends)."""
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_signature(payload: bytes, header: str | None, secret: str) -> None:
    """Check a Stripe-Signature header (t=…,v1=…) within 5 minutes; raise SignatureInvalid."""
    if not header:
        raise SignatureInvalid("missing Stripe-Signature header")
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureInvalid("the Stripe-Signature header needs t= and v1= parts")
    if abs(clock.now().timestamp() - timestamp) > TOLERANCE_SECONDS:
        raise SignatureInvalid("the Stripe-Signature timestamp is outside the 5-minute tolerance")
    expected = sign(payload, secret, timestamp)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureInvalid("no Stripe-Signature v1 signature matches the payload")


def _time(epoch: Any) -> datetime | None:
    if isinstance(epoch, bool) or not isinstance(epoch, int | float):
        return None
    return datetime.fromtimestamp(epoch, tz=UTC)


def _linked(session: Session, customer_id: str) -> Account | None:
    """Return the account already linked to a Stripe customer, if any."""
    return session.scalar(
        sa.select(Account).where(
            sa.or_(
                Account.external_id == customer_id,
                Account.attributes["stripe_customer_id"].as_string() == customer_id,
            )
        )
    )


def _new_account(session: Session, external_id: str, customer_id: str, at: datetime) -> Account:
    account = Account(
        external_id=external_id,
        name=customer_id,
        created_at=at,
        attributes={"stripe_customer_id": customer_id},
        source="stripe",
    )
    session.add(account)
    session.flush()
    return account


def _account(session: Session, customer_id: str, at: datetime) -> Account:
    """Return the account of a Stripe customer, creating a placeholder when unknown."""
    return _linked(session, customer_id) or _new_account(session, customer_id, customer_id, at)


def apply_customer(session: Session, customer: dict[str, Any], at: datetime) -> str:
    """Create or update the account of a customer.created/updated event."""
    customer_id = _required(customer, "id")
    metadata = customer.get("metadata") or {}
    external = str(metadata.get("account_id") or customer_id)[:128]
    created = _time(customer.get("created")) or at
    account = session.scalar(sa.select(Account).where(Account.external_id == external))
    if account is None:
        account = _linked(session, customer_id)
        if account is None:
            account = _new_account(session, external, customer_id, created)
        elif account.external_id == customer_id:  # a placeholder adopts the CRM account id
            account.external_id = external
    account.name = str(customer.get("name") or customer.get("email") or account.name)[:255]
    if metadata.get("owner"):
        account.owner = str(metadata["owner"])[:255]
    account.attributes = {
        **(account.attributes or {}),
        "stripe_customer_id": customer_id,
        "email": customer.get("email"),
        "stripe_metadata": metadata,
    }
    return f"account {account.external_id} updated"


def delete_customer(session: Session, customer: dict[str, Any], at: datetime) -> str:
    """Mark a deleted customer's account (history is kept; subscriptions end by their events)."""
    account = _account(session, _required(customer, "id"), at)
    account.attributes = {**(account.attributes or {}), "stripe_deleted_at": at.isoformat()}
    return f"account {account.external_id} marked deleted"


def _required(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise InputError(f"Stripe object field {key!r} is missing or not a string")
    return value


def subscription_terms(sub: dict[str, Any]) -> tuple[int, str, str, int]:
    """Return (MRR in minor units, currency, plan, quantity) of a Stripe subscription."""
    items = (sub.get("items") or {}).get("data") or []
    mrr, quantity, plan = 0.0, 0, None
    currency = str(sub.get("currency") or "").upper()
    for item in items:
        price = item.get("price") or item.get("plan") or {}
        recurring = price.get("recurring") or price
        interval = recurring.get("interval", "month")
        count = recurring.get("interval_count") or 1
        amount = price.get("unit_amount", price.get("amount")) or 0
        qty = item.get("quantity") or 1
        mrr += amount * qty / (MONTHS_PER.get(interval, 1.0) * count)
        quantity += qty
        currency = currency or str(price.get("currency") or "").upper()
        plan = plan or price.get("nickname") or price.get("lookup_key") or price.get("id")
    if len(currency) != 3:
        raise InputError("the Stripe subscription has no currency")
    if abs(mrr) > MAX_MRR or quantity > MAX_QUANTITY:
        raise InputError(
            "Stripe event field data.object.items: the subscription's MRR or total quantity"
            f" is out of range (MRR {mrr:.0f} minor units, quantity {quantity})"
        )
    return round(mrr), currency, str(plan or "stripe")[:64], max(quantity, 1)


def _open_period(session: Session, sub_id: str) -> Subscription | None:
    return session.scalar(
        sa.select(Subscription)
        .where(
            sa.or_(Subscription.external_id == sub_id, Subscription.external_id.like(sub_id + "@%"))
        )
        .order_by(Subscription.started_at.desc(), Subscription.id.desc())
        .limit(1)
    )


def apply_subscription(session: Session, sub: dict[str, Any], at: datetime) -> str:
    """Create, update or end the subscription periods of a customer.subscription.* event."""
    sub_id = _required(sub, "id")
    account = _account(session, _required(sub, "customer"), at)
    mrr, currency, plan, quantity = subscription_terms(sub)
    status = STATUS.get(str(sub.get("status")), "active")
    ended = _time(sub.get("ended_at")) or (
        (_time(sub.get("canceled_at")) or at) if status == "canceled" else None
    )
    current = _open_period(session, sub_id)
    if current is None:
        started = _time(sub.get("start_date")) or _time(sub.get("created")) or at
        session.add(_period(account, sub_id, plan, status, mrr, currency, quantity, started, ended))
        return f"subscription {sub_id} created"
    if (
        (current.mrr, current.plan, current.quantity, current.currency)
        != (mrr, plan, quantity, currency)
        and current.ended_at is None
        and ended is None
    ):
        current.ended_at = at
        new_id = f"{sub_id}@{int(at.timestamp())}"
        session.add(_period(account, new_id, plan, status, mrr, currency, quantity, at, None))
        return f"subscription {sub_id} changed: new period from {at.isoformat()}"
    current.status = status
    if ended is not None and (current.ended_at is None or ended < current.ended_at):
        current.ended_at = max(ended, current.started_at)
    return f"subscription {sub_id} {status}"


def _period(
    account: Account,
    external_id: str,
    plan: str,
    status: str,
    mrr: int,
    currency: str,
    quantity: int,
    started: datetime,
    ended: datetime | None,
) -> Subscription:
    return Subscription(
        account_id=account.id,
        external_id=external_id,
        plan=plan,
        status=status,
        mrr=mrr,
        currency=currency,
        quantity=quantity,
        billing_interval="month",
        started_at=started,
        ended_at=ended,
    )


def apply_invoice(session: Session, invoice: dict[str, Any], at: datetime, *, paid: bool) -> str:
    """Record an invoice.paid or invoice.payment_failed event."""
    invoice_id = _required(invoice, "id")
    account = _account(session, _required(invoice, "customer"), at)
    row = session.scalar(sa.select(Invoice).where(Invoice.external_id == invoice_id))
    if row is None:
        row = Invoice(external_id=invoice_id, account_id=account.id)
        session.add(row)
    amount = invoice.get("amount_paid") if paid else invoice.get("amount_due")
    row.amount = int(amount or invoice.get("total") or 0)
    row.currency = str(invoice.get("currency") or "usd").upper()[:3]
    row.status = "paid" if paid else "failed"
    row.issued_at = _time(invoice.get("created")) or at
    transitions = invoice.get("status_transitions") or {}
    row.paid_at = (_time(transitions.get("paid_at")) or at) if paid else None
    row.subscription_external_id = _subscription_of(invoice)
    return f"invoice {invoice_id} {row.status}"


def apply_refund(session: Session, charge: dict[str, Any], at: datetime) -> str:
    """Record a charge.refunded event: a fully refunded invoice loses its loyalty points."""
    from tenure.loyalty.corrections import claw_back_invoice

    invoice_id = charge.get("invoice")
    row = session.scalar(sa.select(Invoice).where(Invoice.external_id == invoice_id))
    if not isinstance(invoice_id, str) or row is None:
        return f"ignored: charge {charge.get('id')} refunds no known invoice"
    if not charge.get("refunded"):
        return f"invoice {invoice_id} partly refunded (kept)"
    row.status = "refunded"
    clawed = claw_back_invoice(session, invoice_id, "invoice refunded")
    return f"invoice {invoice_id} refunded ({len(clawed)} loyalty earnings clawed back)"


def _subscription_of(invoice: dict[str, Any]) -> str | None:
    sub = invoice.get("subscription")
    if isinstance(sub, str):
        return sub
    details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
    return details.get("subscription") if isinstance(details.get("subscription"), str) else None


HANDLERS: dict[str, Callable[[Session, dict[str, Any], datetime], str]] = {
    "customer.created": apply_customer,
    "customer.updated": apply_customer,
    "customer.deleted": delete_customer,
    "customer.subscription.created": apply_subscription,
    "customer.subscription.updated": apply_subscription,
    "customer.subscription.deleted": apply_subscription,
    "invoice.paid": lambda s, o, at: apply_invoice(s, o, at, paid=True),
    "invoice.payment_failed": lambda s, o, at: apply_invoice(s, o, at, paid=False),
    "charge.refunded": apply_refund,
}
# Events that change what health scores read: seats, MRR, lifecycle, failed payments.
HEALTH_INPUTS = frozenset(
    k for k in HANDLERS if k.startswith(("customer.subscription.", "invoice."))
)


def _health_input_of(session: Session, kind: str, obj: dict[str, Any]) -> frozenset[int]:
    """Return the account whose health inputs (subscriptions, invoices) an applied event changed."""
    customer = obj.get("customer")
    if kind not in HEALTH_INPUTS or not isinstance(customer, str):
        return frozenset()
    account = _linked(session, customer)
    return frozenset() if account is None else frozenset({account.id})


def apply_event(session: Session, event: dict[str, Any]) -> AppliedEvent:
    """Apply one Stripe event once and queue its account's health refresh; caller commits."""
    check_event(event)
    event_id = _required(event, "id")
    kind = _required(event, "type")
    seen = session.get(StripeEvent, event_id)
    if seen is not None:
        return AppliedEvent(seen.outcome, duplicate=True)
    at = _time(event.get("created")) or clock.now()
    obj = (event.get("data") or {}).get("object")
    handler = HANDLERS.get(kind)
    touched: frozenset[int] = frozenset()
    if handler is None:
        outcome = f"ignored: {kind} is not applied"
    elif not isinstance(obj, dict):
        raise InputError("the Stripe event has no data.object")
    else:
        outcome = handler(session, obj, at)
        touched = _health_input_of(session, kind, obj)
    queue_refresh(db_session=session, account_ids=touched)
    session.add(
        StripeEvent(
            id=event_id[:255],
            type=kind[:64],
            created=at,
            received_at=clock.now(),
            outcome=outcome[:255],
        )
    )
    session.flush()
    return AppliedEvent(outcome, duplicate=False, touched_accounts=touched)
