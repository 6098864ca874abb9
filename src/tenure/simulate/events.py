"""Product-usage events: Poisson counts per account, feature and day, driven by the state."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa

import tenure.simulate.catalog as cat
from tenure.simulate.config import MS_PER_DAY
from tenure.simulate.population import Population
from tenure.simulate.writers import StreamingParquet, hex_ids

FEATURES = (
    "login",
    "report_viewed",
    "dashboard_created",
    "integration_connected",
    "export_run",
    "user_invited",
    "api_call",
    "feature_x_used",
)
# Events per active seat on a weekday in the healthy state, before the global scale.
FEATURE_MIX = np.array([0.30, 0.24, 0.015, 0.003, 0.045, 0.006, 0.18, 0.075])
# Feature usage relative to healthy, rows = chain state (see chain.STATES).
STATE_FEATURE_MULT = np.array(
    [
        [1.0, 1.3, 2.0, 2.0, 1.3, 2.0, 1.5, 1.8],
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        [0.9, 0.7, 0.5, 0.5, 0.7, 0.4, 0.8, 0.5],
        [0.8, 0.5, 0.2, 0.2, 1.2, 0.1, 0.5, 0.25],
        [0.6, 0.3, 0.05, 0.05, 0.8, 0.02, 0.3, 0.1],
        [0.9, 0.8, 0.6, 0.6, 0.9, 0.5, 0.9, 0.7],
    ]
)
ACTIVE_SEAT_SHARE = np.array([0.85, 0.70, 0.50, 0.30, 0.10, 0.55])
API_BY_PLAN = np.array([0.1, 0.3, 1.0, 1.5])
WEEKEND_FACTOR = 0.25
API_FEATURE = FEATURES.index("api_call")
PROPERTIES: tuple[tuple[str | None, ...], ...] = (
    ('{"method":"password"}', '{"method":"sso"}', '{"method":"google"}'),
    ('{"report":"overview"}', '{"report":"revenue"}', '{"report":"usage"}', '{"report":"custom"}'),
    tuple(f'{{"widgets":{w}}}' for w in range(1, 9)),
    tuple(f'{{"integration":"{i}"}}' for i in ("salesforce", "hubspot", "slack", "zendesk")),
    ('{"format":"csv"}', '{"format":"xlsx"}', '{"format":"pdf"}'),
    ('{"role":"member"}', '{"role":"admin"}'),
    ('{"endpoint":"/v1/reports"}', '{"endpoint":"/v1/records"}', '{"endpoint":"/v1/exports"}'),
    (None,),
)
EVENT_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("account_id", pa.string()),
        ("contact_id", pa.string()),
        ("event", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("properties", pa.string()),
        ("source", pa.string()),
    ]
)


@dataclass
class DayEvents:
    """One day's events as index arrays."""

    account: np.ndarray
    contact: np.ndarray
    feature: np.ndarray
    ms: np.ndarray
    prop: np.ndarray

    def in_time_order(self) -> DayEvents:
        """Return the events sorted by time (ties keep generation order)."""
        n = len(self.ms)
        if n == 0:
            return self
        # Unique keys (time since the day's first event, then position) make the order exact.
        key = np.sort((self.ms - self.ms.min()) << 32 | np.arange(n, dtype=np.int64))
        order = key & 0xFFFFFFFF
        return DayEvents(
            self.account[order],
            self.contact[order],
            self.feature[order],
            self.ms[order],
            self.prop[order],
        )


def feature_tables(scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Return per-seat event rate and cumulative feature mix for each (state, plan) pair.

    Row ``state * len(PLANS) + plan``; splitting a Poisson total by a categorical draw gives
    the same joint law as independent Poisson counts per feature.
    """
    per_feature = FEATURE_MIX[None, None, :] * STATE_FEATURE_MULT[:, None, :]
    per_feature = np.repeat(per_feature, len(API_BY_PLAN), axis=1)
    per_feature[:, :, API_FEATURE] *= API_BY_PLAN[None, :]
    per_feature = per_feature.reshape(-1, len(FEATURES))
    total = per_feature.sum(axis=1)
    cumulative = np.cumsum(per_feature / total[:, None], axis=1)
    cumulative[:, -1] = 1.0
    return scale * total, cumulative


def daily_events(
    rng: np.random.Generator,
    pop: Population,
    day_ms: int,
    accounts: np.ndarray,
    states: np.ndarray,
    seats: np.ndarray,
    scale: float,
    cutoff_ms: np.ndarray,
    boost: np.ndarray | None = None,
) -> DayEvents:
    """Draw the day's events; drop those at or after an account's cutoff (its churn time).

    Events per account are Poisson(scale × per-seat rate(state, plan) × active seats ×
    usage intensity × boost), active seats being seats × ACTIVE_SEAT_SHARE[state]; boost is
    a treatment's per-account usage factor (None: 1).
    """
    per_seat, cumulative = feature_tables(scale)
    combo = states.astype(np.int64) * len(API_BY_PLAN) + pop.plan[accounts]
    active = seats[accounts] * ACTIVE_SEAT_SHARE[states] * pop.intensity[accounts]
    if boost is not None:
        active = active * boost
    counts = rng.poisson(per_seat[combo] * active)
    account = np.repeat(accounts, counts)
    cum = cumulative[np.repeat(combo, counts)]
    feature = (rng.random(len(account))[:, None] >= cum).sum(axis=1).astype(np.int8)
    offset_h = cat.REGION_UTC_OFFSET_H[pop.region[account]]
    local = rng.normal(13.0, 2.7, size=len(account))
    ms = day_ms + (((local - offset_h) * 3_600_000).astype(np.int64) % MS_PER_DAY)
    contact = pop.contacts.first[account] + (
        rng.random(len(account)) * pop.contacts.count[account]
    ).astype(np.int64)
    contact[feature == API_FEATURE] = -1
    prop = property_index(rng, feature)
    keep = ms < cutoff_ms[account]
    return DayEvents(account[keep], contact[keep], feature[keep], ms[keep], prop[keep])


def property_index(rng: np.random.Generator, feature: np.ndarray) -> np.ndarray:
    """Pick one of each event's property payloads."""
    sizes = np.array([len(p) for p in PROPERTIES])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return offsets[feature] + (rng.random(len(feature)) * sizes[feature]).astype(np.int64)


class EventWriter:
    """Stream events to events.parquet with unique, deterministic message ids."""

    def __init__(self, path: Path, account_ids: list[str], contact_ids: list[str], run_key: str):
        self._out = StreamingParquet(
            path, EVENT_SCHEMA, rows_per_group=1_000_000, plain_columns=("message_id", "timestamp")
        )
        self._accounts = pa.array(account_ids, pa.string())
        self._contacts = pa.array(contact_ids, pa.string())
        self._features = pa.array(FEATURES, pa.string())
        self._props = pa.array([p for group in PROPERTIES for p in group], pa.string())
        self._prefix = f"evt_{run_key}_"
        self.rows = 0

    def add(self, events: DayEvents) -> None:
        """Queue one day's events; the Arrow batch is built on the writer thread."""
        n = len(events.ms)
        self._out.add(partial(self._batch, events, self.rows), n)
        self.rows += n

    def _batch(self, events: DayEvents, first: int) -> pa.RecordBatch:
        """Return the Arrow batch of one day's events in time order, ids numbered from first."""
        events = events.in_time_order()
        n = len(events.ms)
        contact = pa.array(events.contact, pa.int64(), mask=events.contact < 0)
        return pa.record_batch(
            [
                hex_ids(self._prefix, np.arange(first, first + n)),
                self._accounts.take(pa.array(events.account)),
                self._contacts.take(contact),
                self._features.take(pa.array(events.feature)),
                pa.array(events.ms * 1000, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
                self._props.take(pa.array(events.prop)),
                pa.repeat(pa.scalar("simulator"), n),
            ],
            schema=EVENT_SCHEMA,
        )

    def close(self) -> None:
        """Finish the file."""
        self._out.close()
