"""`tenure model train` leaves out an account attribute written at cancellation (time travel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from tenure.accounts.models import Account
from tenure.churn import registry
from tenure.churn.flows import train_churn_model
from tenure.churn.snapshots import event_names, labelled_snapshots, open_sources, training_dates
from tenure.churn.training import time_split
from tenure.config import Settings
from tenure.db.session import get_engine, session_scope
from tenure.warehouse.connection import open_warehouse

from .conftest import copy_book
from .test_model_report_page import dashboard_model_page

REASONS = ("price", "missing features", "moved to a competitor")


def training_churners(settings: Settings, engine: sa.Engine) -> set[int]:
    """Return the accounts that churn within a label window of a training day."""
    with open_warehouse(settings) as warehouse:
        sources = open_sources(warehouse, engine, settings)
        as_ofs, data_end = training_dates(warehouse.con, settings.snapshot_frequency)
        split = time_split(as_ofs, data_end, 90)
        days = [*split.fit, split.calibrate]
        frame = labelled_snapshots(
            warehouse, sources, days, event_names(warehouse.con, split.validate), 90
        )
    return set(frame.loc[frame["churned"] == 1, "account_id"].astype(int))


def write_cancel_reasons(engine: sa.Engine, churners: set[int]) -> None:
    """Give churners a cancellation reason, as a CRM does when they cancel; others "none yet"."""
    rng = np.random.default_rng(0)
    with session_scope(engine) as session:
        for account in session.scalars(sa.select(Account)):
            reason = str(rng.choice(REASONS)) if account.id in churners else "none yet"
            account.attributes = {**(account.attributes or {}), "cancel_reason": reason}


@pytest.mark.slow  # about 30 s: copies the book, builds snapshots twice, trains
def test_a_cancellation_reason_attribute_is_left_out_and_shown(churn_book: Path, tmp_path: Path):
    settings = copy_book(churn_book, tmp_path)
    engine = get_engine(settings)
    try:
        churners = training_churners(settings, engine)
        assert len(churners) > 20
        write_cancel_reasons(engine, churners)
        result = train_churn_model(settings, engine, horizon=90)
    finally:
        engine.dispose()
    (leak,) = result["leaks"]
    assert leak["column"] == "attr_cancel_reason"
    assert "leak" in leak["reason"] and "'attr_cancel_reason'" in leak["evidence"]
    card = registry.load_version(settings, registry.model_name(90), result["version"]).card
    assert card["leaks"] == result["leaks"]
    assert "attr_cancel_reason" not in card["features"]["categorical"]
    assert "attr_employees" in card["features"]["categorical"]  # an innocent attribute stays
    page = dashboard_model_page(settings)
    assert 'id="model-leaks"' in page and "attr_cancel_reason" in page
