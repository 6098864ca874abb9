"""The parts of Stripe's event payloads Tenure reads, as strict pydantic models.

Validly signed events can still carry nonsense (a text `data`, a list `items`, an amount of
"lots", a quantity of 10^30, currency `zzz`). Checking the payload against these models first
turns each of those into a 400 naming the field path, instead of a 500 that Stripe retries for
days. Fields Tenure does not read are allowed and ignored; the handlers keep reading the
original dicts, which these models have vouched for.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from tenure.errors import InputError
from tenure.money import ISO_4217

# Epoch seconds from 1900-01-01 to 2100-01-01: a wider range cannot be a real Stripe time.
Epoch = Annotated[int, Field(ge=-2_208_988_800, le=4_102_444_800)]
# Amounts in minor units: ten trillion major units is far beyond any real invoice or price.
MinorUnits = Annotated[int, Field(ge=-(10**15), le=10**15)]
Quantity = Annotated[int, Field(ge=0, le=10**9)]
Text = Annotated[str, Field(max_length=5000)]
MetadataValue = str | int | float | bool | None


def _iso_currency(code: str) -> str:
    if code.upper() not in ISO_4217:
        raise ValueError(f"unknown currency {code!r} (not an ISO 4217 code)")
    return code


Currency = Annotated[str, AfterValidator(_iso_currency)]


class _Stripe(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class Recurring(_Stripe):
    """A price's billing period."""

    interval: Literal["day", "week", "month", "year"] = "month"
    interval_count: Annotated[int, Field(ge=1, le=1000)] | None = None


class Price(_Stripe):
    """A subscription item's price (or the legacy `plan` object)."""

    id: Text | None = None
    unit_amount: MinorUnits | None = None
    amount: MinorUnits | None = None
    currency: Currency | None = None
    recurring: Recurring | None = None
    interval: Literal["day", "week", "month", "year"] | None = None
    interval_count: Annotated[int, Field(ge=1, le=1000)] | None = None
    nickname: Text | None = None
    lookup_key: Text | None = None


class SubscriptionItem(_Stripe):
    """One line of a subscription."""

    price: Price | None = None
    plan: Price | None = None
    quantity: Quantity | None = None


class ItemList(_Stripe):
    """Stripe's list object around the items."""

    data: list[SubscriptionItem] = Field(default_factory=list, max_length=1000)


class StripeSubscription(_Stripe):
    """customer.subscription.* data.object."""

    id: Annotated[str, Field(min_length=1, max_length=255)]
    customer: Annotated[str, Field(min_length=1, max_length=255)]
    status: Text | None = None
    currency: Currency | None = None
    items: ItemList | None = None
    start_date: Epoch | None = None
    created: Epoch | None = None
    ended_at: Epoch | None = None
    canceled_at: Epoch | None = None


class StripeCustomer(_Stripe):
    """customer.* data.object."""

    id: Annotated[str, Field(min_length=1, max_length=255)]
    name: Text | None = None
    email: Text | None = None
    created: Epoch | None = None
    metadata: dict[str, MetadataValue] | None = None


class StatusTransitions(_Stripe):
    """When an invoice changed status."""

    paid_at: Epoch | None = None


class SubscriptionDetails(_Stripe):
    """The subscription an invoice bills (newer API versions)."""

    subscription: Text | None = None


class InvoiceParent(_Stripe):
    """What an invoice was issued for (newer API versions)."""

    subscription_details: SubscriptionDetails | None = None


class StripeInvoice(_Stripe):
    """invoice.* data.object."""

    id: Annotated[str, Field(min_length=1, max_length=255)]
    customer: Annotated[str, Field(min_length=1, max_length=255)]
    amount_paid: MinorUnits | None = None
    amount_due: MinorUnits | None = None
    total: MinorUnits | None = None
    currency: Currency | None = None
    created: Epoch | None = None
    status_transitions: StatusTransitions | None = None
    subscription: Text | dict[str, Any] | None = None
    parent: InvoiceParent | None = None


class StripeCharge(_Stripe):
    """The fields of a refunded charge Tenure reads (its invoice, whether fully refunded)."""

    id: str
    invoice: str | None = None
    refunded: bool = False


class EventData(_Stripe):
    """An event's data: the object it is about."""

    object: dict[str, Any] | None = None


class StripeEventIn(_Stripe):
    """A Stripe event envelope."""

    id: Annotated[str, Field(min_length=1, max_length=255)]
    type: Annotated[str, Field(min_length=1, max_length=255)]
    created: Epoch | None = None
    data: EventData


OBJECT_MODELS: dict[str, type[_Stripe]] = {
    "customer.created": StripeCustomer,
    "customer.updated": StripeCustomer,
    "customer.deleted": StripeCustomer,
    "customer.subscription.created": StripeSubscription,
    "customer.subscription.updated": StripeSubscription,
    "customer.subscription.deleted": StripeSubscription,
    "invoice.paid": StripeInvoice,
    "invoice.payment_failed": StripeInvoice,
    "charge.refunded": StripeCharge,
}


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "event"


def _refusal(exc: ValidationError, prefix: tuple[str, ...]) -> InputError:
    error = exc.errors()[0]
    message = str(error["msg"]).removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    tail = f" (and {more} more)" if more else ""
    return InputError(f"Stripe event field {_path((*prefix, *error['loc']))}: {message}{tail}")


def check_event(event: dict[str, Any]) -> None:
    """Check an event and the object of a kind Tenure applies; raise InputError with the path."""
    try:
        envelope = StripeEventIn.model_validate(event)
    except ValidationError as exc:
        raise _refusal(exc, ()) from None
    model = OBJECT_MODELS.get(envelope.type)
    if model is None:
        return
    if envelope.data.object is None:
        raise InputError(f"Stripe event field data.object: missing for {envelope.type}")
    try:
        model.model_validate(envelope.data.object)
    except ValidationError as exc:
        raise _refusal(exc, ("data", "object")) from None
