"""Alert rules as data: the kinds, their parameters, validation and the TOML file format."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import annotated_types
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from tenure.errors import InputError, InvalidFields

SEVERITIES = ("low", "medium", "high", "critical")

# kind -> its parameters with defaults (a rule's params are merged over these).
KINDS: dict[str, dict[str, Any]] = {
    "tier_change": {"to": "red"},
    "score_drop": {"points": 15.0, "days": 7},
    "churn_probability": {"min_probability": 0.5, "max_age_days": 7},
    "no_login": {"days": 14},
    "failed_payment": {"days": 7},
    "ticket_spike": {"days": 7, "min_tickets": 5, "ratio": 2.0, "baseline_days": 90},
    "nps_detractor": {"max_score": 6, "days": 7},
    "renewal": {"days": 60, "healthy_tier": "green"},
    "overdue_task": {"days": 1},
}
KIND_HELP = {
    "tier_change": "the health tier changed to `to`",
    "score_drop": "the health score fell by at least `points` within `days` days",
    "churn_probability": "the churn probability is at least `min_probability`",
    "no_login": "nobody at the account logged in for `days` days",
    "failed_payment": "a payment failed within the last `days` days",
    "ticket_spike": "at least `min_tickets` tickets in `days` days and `ratio` × the usual rate",
    "nps_detractor": "an NPS answer of `max_score` or less within the last `days` days",
    "renewal": "an annual renewal within `days` days while the tier is not `healthy_tier`",
    "overdue_task": "a CSM task still open `days` days after its due day (sent to its owner)",
}
MAX_DAYS = 3650  # ten years: any window longer than that is a typo, and dates stay in range
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
FIELDS = (
    "name",
    "kind",
    "description",
    "params",
    "severity",
    "route",
    "channels",
    "cooldown_hours",
    "escalate_after_hours",
    "enabled",
)


@dataclass(frozen=True)
class InvalidParam:
    """What is wrong with one param, and its name."""

    text: str
    key: str


def _whole(value: Any) -> Any:
    """Turn a whole float (7.0) into an int; leave anything else for the type check."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _where(spec: dict[str, Any]) -> str:
    name = spec.get("name")
    return f"alert rule {name!r}" if name else "alert rule"


Days = Annotated[int, BeforeValidator(_whole), Field(strict=True, ge=1, le=MAX_DAYS)]
TierName = Annotated[str, Field(strict=True, min_length=1, max_length=64, pattern=r"\S")]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierChangeParams(_Params):
    """tier_change: the tier an account moved to."""

    to: TierName


class ScoreDropParams(_Params):
    """score_drop: a fall of `points` (of the 0–100 health score) within `days` days."""

    points: Annotated[Number, Field(gt=0, le=100)]
    days: Days


class ChurnProbabilityParams(_Params):
    """churn_probability: a probability threshold and the oldest score to trust."""

    min_probability: Annotated[Number, Field(ge=0, le=1)]
    max_age_days: Annotated[int, BeforeValidator(_whole), Field(strict=True, ge=0, le=MAX_DAYS)]


class DaysParams(_Params):
    """no_login, failed_payment and overdue_task: a number of `days` days."""

    days: Days


class TicketSpikeParams(_Params):
    """ticket_spike: a recent window, a minimum count, a ratio over a baseline window."""

    days: Days
    min_tickets: Annotated[int, BeforeValidator(_whole), Field(strict=True, ge=1, le=1_000_000)]
    ratio: Annotated[Number, Field(ge=0, le=1000)]
    baseline_days: Days


class NpsDetractorParams(_Params):
    """nps_detractor: the highest NPS answer (0–10) that counts, within `days` days."""

    max_score: Annotated[int, BeforeValidator(_whole), Field(strict=True, ge=0, le=10)]
    days: Days


class RenewalParams(_Params):
    """renewal: renewals within `days` days while the tier is not `healthy_tier`."""

    days: Days
    healthy_tier: TierName


PARAM_MODELS: dict[str, type[_Params]] = {
    "tier_change": TierChangeParams,
    "score_drop": ScoreDropParams,
    "churn_probability": ChurnProbabilityParams,
    "no_login": DaysParams,
    "failed_payment": DaysParams,
    "ticket_spike": TicketSpikeParams,
    "nps_detractor": NpsDetractorParams,
    "renewal": RenewalParams,
    "overdue_task": DaysParams,
}


def _describe(model: type[_Params], key: str) -> str:
    """Return what a param must be, from its type and bounds ("a whole number from 1 to 3650")."""
    info = model.model_fields[key]
    if info.annotation is str:
        return "a non-empty text of at most 64 characters"
    low = high = None
    strict_low = False
    for bound in info.metadata:
        if isinstance(bound, annotated_types.Ge | annotated_types.Gt):
            low = bound.ge if isinstance(bound, annotated_types.Ge) else bound.gt
            strict_low = isinstance(bound, annotated_types.Gt)
        elif isinstance(bound, annotated_types.Le):
            high = bound.le
    what = "a whole number" if info.annotation is int else "a number"
    if strict_low:
        return f"{what} above {low:g} and at most {high:g}"
    return f"{what} from {low:g} to {high:g}"


def _first_error(
    model: type[_Params], exc: ValidationError, params: dict[str, Any]
) -> InvalidParam:
    error = exc.errors()[0]
    key = str(error["loc"][0]) if error["loc"] else ""
    if error["type"] == "extra_forbidden":
        known = ", ".join(model.model_fields)
        return InvalidParam(f"unknown param {key!r} ({known})", key)
    if key not in model.model_fields:
        return InvalidParam(str(error["msg"]), key)
    return InvalidParam(
        f"param {key} must be {_describe(model, key)}, not {params.get(key)!r}", key
    )


def check_params(kind: str, params: Any, where: str) -> dict[str, Any]:
    """Return the params merged over the kind's defaults; raise InvalidFields naming the param."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InvalidFields(
            f"{where}: params must be a table of values, not {params!r}",
            [{"loc": "params", "msg": "must be a table of values"}],
        )
    model = PARAM_MODELS[kind]
    merged = {**KINDS[kind], **params}
    try:
        return model.model_validate(merged).model_dump()
    except ValidationError as exc:
        problem = _first_error(model, exc, merged)
        if problem.key not in model.model_fields:
            problem = InvalidParam(f"{problem.text} for kind {kind}", problem.key)
        raise InvalidFields(
            f"{where}: {problem.text}",
            [{"loc": f"params.{problem.key}", "msg": problem.text}],
        ) from None


def _check_route(route: Any, where: str) -> str:
    if not isinstance(route, str) or not route.strip():
        raise InputError(f"{where}: route must be owner, fallback, team:ADDRESS or an address")
    route = route.strip()
    if route in ("owner", "fallback"):
        return route
    address = route.removeprefix("team:")
    if "@" not in address:
        raise InputError(
            f"{where}: route {route!r} is not owner, fallback, team:ADDRESS or an email"
        )
    return route


def _check_channels(channels: Any, where: str) -> list[str]:
    if channels is None:
        return ["email"]
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise InputError(f'{where}: channels must be a list such as ["email", "slack"]')
    for channel in channels:
        if channel not in ("email", "slack") and not re.fullmatch(r"webhook:[\w.-]+", channel):
            raise InputError(
                f"{where}: unknown channel {channel!r}; use email, slack or webhook:NAME"
            )
    return list(dict.fromkeys(channels))


def _check_hours(value: Any, field: str, where: str, *, optional: bool) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < (1 if optional else 0):
        raise InputError(f"{where}: {field} must be a whole number of hours, not {value!r}")
    return value


def validate_rule(spec: dict[str, Any]) -> dict[str, Any]:
    """Return a complete, checked rule spec; raise InputError saying what is wrong."""
    where = _where(spec)
    unknown = sorted(set(spec) - set(FIELDS))
    if unknown:
        raise InputError(f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    name = spec.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InputError(f"{where}: name must be 1–64 lower-case letters, digits, - _ or .")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise InputError(f"{where}: unknown kind {kind!r}; kinds are {', '.join(KINDS)}")
    severity = spec.get("severity", "medium")
    if severity not in SEVERITIES:
        raise InputError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    enabled = spec.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InputError(f"{where}: enabled must be true or false")
    description = spec.get("description")
    return {
        "name": name,
        "kind": kind,
        "description": description if isinstance(description, str) else None,
        "params": check_params(kind, spec.get("params"), where),
        "severity": severity,
        "route": _check_route(spec.get("route", "owner"), where),
        "channels": _check_channels(spec.get("channels"), where),
        "cooldown_hours": _check_hours(
            spec.get("cooldown_hours", 72), "cooldown_hours", where, optional=False
        ),
        "escalate_after_hours": _check_hours(
            spec.get("escalate_after_hours"), "escalate_after_hours", where, optional=True
        ),
        "enabled": enabled,
    }


def read_rules_file(path: Path) -> list[dict[str, Any]]:
    """Read a TOML file of `[[rule]]` tables and return the checked specs."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"rules file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read rules file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from None
    tables = data.get("rule")
    if not isinstance(tables, list) or not tables:
        raise InputError(f"{path}: no [[rule]] tables found")
    specs = []
    for number, table in enumerate(tables, start=1):
        try:
            specs.append(validate_rule(table))
        except InputError as exc:
            raise InputError(f"{path}: rule #{number}: {exc}") from None
    names = [s["name"] for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"{path}: rule {duplicates[0]!r} is defined twice")
    return specs


DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "health-red",
        "kind": "tier_change",
        "params": {"to": "red"},
        "severity": "high",
        "escalate_after_hours": 24,
        "description": "Health tier fell to red",
    },
    {
        "name": "health-drop",
        "kind": "score_drop",
        "params": {"points": 15, "days": 7},
        "severity": "medium",
        "description": "Health score fell 15+ points in a week",
    },
    {
        "name": "churn-risk",
        "kind": "churn_probability",
        "params": {"min_probability": 0.5},
        "severity": "high",
        "escalate_after_hours": 48,
        "description": "Churn probability of 50 % or more",
    },
    {
        "name": "no-login",
        "kind": "no_login",
        "params": {"days": 14},
        "severity": "medium",
        "description": "Nobody logged in for two weeks",
    },
    {
        "name": "failed-payment",
        "kind": "failed_payment",
        "params": {"days": 7},
        "severity": "high",
        "escalate_after_hours": 24,
        "description": "A payment failed",
    },
    {
        "name": "ticket-spike",
        "kind": "ticket_spike",
        "severity": "medium",
        "description": "Support tickets well above the usual rate",
    },
    {
        "name": "nps-detractor",
        "kind": "nps_detractor",
        "severity": "medium",
        "description": "An NPS detractor (0–6)",
    },
    {
        "name": "renewal-at-risk",
        "kind": "renewal",
        "params": {"days": 60},
        "severity": "high",
        "escalate_after_hours": 48,
        "description": "Annual renewal within 60 days and health not green",
    },
    {
        "name": "task-overdue",
        "kind": "overdue_task",
        "params": {"days": 1},
        "severity": "medium",
        "description": "A CSM task is overdue (goes to the task's owner)",
    },
)
