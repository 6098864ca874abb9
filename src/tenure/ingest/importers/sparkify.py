"""Import a Sparkify (eventsim) JSONL log as accounts, paid subscriptions and events.

Works for the November 2018 log in ``shared/datasets`` and for Udacity's mini Sparkify log
(same 18-field schema). Conversion:

* **account** per non-empty ``userId``: name = "firstName lastName", region = ``location``,
  ``created_at`` = ``registration`` (epoch ms; the user's first event when absent); attributes
  ``gender``, ``level`` (at the user's latest event) and ``userAgent`` (verbatim, including the
  double quotes the original carries).
* **events**, every line in file order: account = ``userId``, event = ``page``, timestamp =
  ``ts`` (epoch ms, handed over as is), properties = the non-null ``song``, ``artist``,
  ``length``, ``sessionId``, ``itemInSession``, ``level``, ``method``, ``status``, ``auth``;
  ``message_id`` = "sparkify:userId:sessionId:itemInSession:ts", so re-imports add nothing.
  Events with an empty ``userId`` (logged-out visitors) are **not dropped**: they reach
  validation with no account and are quarantined ("account_id: missing required value"), so the
  import ends "partial" (exit 3) by design and the quarantine CSV lists them.
* **subscriptions** from the ``level`` field (an assumption: the log has no prices): each run of
  consecutive ``paid`` events of a user is one subscription, plan "paid", MRR 9.99 USD monthly,
  started at the run's first paid event (left-censored when the user is paid from the start of
  the log) and ended at the user's next ``free`` event or a "Cancellation Confirmation" event;
  a run still paid at the end of the log is ``active``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from tenure.config import Settings
from tenure.ingest.flows import ImportResult
from tenure.ingest.importers.common import (
    DatasetProgress,
    import_canonical,
    integer_text,
    is_missing,
    no_progress,
    read_source,
    scratch_folder,
    write_canonical,
)

SOURCE = "sparkify"
PAID_PLAN = "paid"
PAID_MRR = "9.99"
PAID_CURRENCY = "USD"
CANCELLATION_PAGE = "Cancellation Confirmation"
COLUMNS = (
    "artist",
    "auth",
    "firstName",
    "gender",
    "itemInSession",
    "lastName",
    "length",
    "level",
    "location",
    "method",
    "page",
    "registration",
    "sessionId",
    "song",
    "status",
    "ts",
    "userAgent",
    "userId",
)
PROPERTY_FIELDS = (
    "song",
    "artist",
    "length",
    "sessionId",
    "itemInSession",
    "level",
    "method",
    "status",
    "auth",
)


def _user_ids(log: pd.DataFrame) -> pd.Series:
    """Return userId as stripped text, with logged-out (empty) ids as missing."""
    ids = log["userId"].map(lambda v: None if is_missing(v) else str(v).strip())
    return ids.where(ids != "", None)


def _known_users(log: pd.DataFrame) -> pd.DataFrame:
    """Return the events that have a userId and a time, ordered by user and time."""
    known = log.assign(userId=_user_ids(log)).dropna(subset=["userId", "ts"])
    return known.sort_values(["userId", "ts", "itemInSession"], kind="stable")


def sparkify_accounts(log: pd.DataFrame) -> pd.DataFrame:
    """Return one canonical account per user, from the user's events."""
    users = (
        _known_users(log)
        .groupby("userId", sort=True)
        .agg(
            firstName=("firstName", "first"),
            lastName=("lastName", "first"),
            location=("location", "first"),
            registration=("registration", "first"),
            first_ts=("ts", "first"),
            gender=("gender", "first"),
            level=("level", "last"),
            userAgent=("userAgent", "last"),
        )
    )
    names = users["firstName"].fillna("") + " " + users["lastName"].fillna("")
    return pd.DataFrame(
        {
            "account_id": users.index,
            "name": names.str.strip().to_numpy(),
            "created_at": integer_text(users["registration"].fillna(users["first_ts"])).to_numpy(),
            "region": users["location"].to_numpy(),
            "gender": users["gender"].to_numpy(),
            "level": users["level"].to_numpy(),
            "userAgent": users["userAgent"].to_numpy(),
        }
    )


def _properties(log: pd.DataFrame) -> list[str]:
    records = log[list(PROPERTY_FIELDS)].to_dict("records")
    return [json.dumps({k: v for k, v in r.items() if not is_missing(v)}) for r in records]


def _message_ids(log: pd.DataFrame, users: pd.Series) -> pd.Series:
    parts = [integer_text(log[c]).fillna("") for c in ("sessionId", "itemInSession", "ts")]
    return SOURCE + ":" + users.fillna("") + ":" + parts[0] + ":" + parts[1] + ":" + parts[2]


def sparkify_events(log: pd.DataFrame) -> pd.DataFrame:
    """Return every log line as a canonical event, in file order (logged-out ones unowned)."""
    users = _user_ids(log)
    return pd.DataFrame(
        {
            "message_id": _message_ids(log, users),
            "account_id": users,
            "event": log["page"],
            "timestamp": integer_text(log["ts"]),
            "properties": _properties(log),
            "source": SOURCE,
        }
    )


def _subscription(user: str, start: int, end: int | None) -> dict[str, str | None]:
    return {
        "subscription_id": f"{SOURCE}:{user}:{PAID_PLAN}:{start}",
        "account_id": user,
        "plan": PAID_PLAN,
        "status": "active" if end is None else "canceled",
        "mrr": PAID_MRR,
        "currency": PAID_CURRENCY,
        "quantity": "1",
        "billing_interval": "month",
        "started_at": str(start),
        "ended_at": None if end is None else str(end),
    }


def sparkify_subscriptions(log: pd.DataFrame) -> pd.DataFrame:
    """Return one canonical subscription per run of paid-level events of a user."""
    rows = []
    known = _known_users(log)
    for user, events in known.groupby("userId", sort=True):
        start = None
        for ts, level, page in zip(events["ts"], events["level"], events["page"], strict=True):
            if level == PAID_PLAN and start is None:
                start = int(ts)
            if start is not None and (level != PAID_PLAN or page == CANCELLATION_PAGE):
                rows.append(_subscription(str(user), start, int(ts)))
                start = None
        if start is not None:
            rows.append(_subscription(str(user), start, None))
    return pd.DataFrame(rows, columns=list(_subscription("", 0, None)))


def import_sparkify(
    path: Path,
    *,
    settings: Settings,
    engine: Engine,
    progress: DatasetProgress = no_progress,
) -> list[ImportResult]:
    """Convert the Sparkify log and import its accounts, subscriptions, then events."""
    with scratch_folder(settings, SOURCE) as folder:
        progress(SOURCE, "converting", 0, None)
        log = read_source(path, folder, dataset="Sparkify event log", fmt="jsonl", columns=COLUMNS)
        stem = path.name.split(".")[0]
        frames = {
            "accounts": sparkify_accounts(log),
            "subscriptions": sparkify_subscriptions(log),
            "events": sparkify_events(log),
        }
        files = [
            (kind, write_canonical(frame, folder, stem, kind))
            for kind, frame in frames.items()
            if not frame.empty
        ]
        return import_canonical(
            files, source=SOURCE, settings=settings, engine=engine, progress=progress, origin=path
        )
