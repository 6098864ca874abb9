"""The only module that knows warehouse table names and their DDL."""

from __future__ import annotations

EVENTS = "events"

EVENTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {EVENTS} (
    message_id VARCHAR NOT NULL,
    account_id INTEGER NOT NULL,
    account_external_id VARCHAR NOT NULL,
    contact_external_id VARCHAR,
    name VARCHAR NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    properties JSON,
    source VARCHAR NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    import_run_id INTEGER
)
"""

SCHEMA_DDL = (EVENTS_DDL,)

# Ground truth written by `tenure simulate` (only for simulated data sets).
SIM_TRUTH = "sim_truth"
SIM_ASSIGNMENTS = "sim_assignments"

# App-DB subscriptions (with account external_id and created_at), copied for the metrics stage.
SUBSCRIPTIONS = "subscriptions"
