"""Clawbacks: refunded invoices (webhook and import) and reversed events take the points back."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from tenure.accounts.models import Invoice
from tenure.billing.stripe import apply_event
from tenure.db.session import session_scope
from tenure.loyalty import ledger
from tenure.loyalty.corrections import claw_back_event
from tenure.loyalty.report import programme_report
from tenure.loyalty.service import current_program, load_program
from tenure.loyalty.stage import loyalty_points
from tenure.stage import StageContext

from ..factories import add_account, add_invoice
from .conftest import assert_books_balance

PROGRAM = """
name = "refunds"
point_value_minor = 1
approval_threshold = 10000
holdout_fraction = 0.0
starts_on = 2025-06-02
[[rules]]
key = "paid"
fact = "paid_invoice"
at_least = 1000
points = 100
[[tiers]]
key = "member"
name = "Member"
qualifying_points = 0
"""


def _paid(day: int) -> datetime:
    return datetime(2025, 6, day, 12, tzinfo=UTC)


def _setup(settings, engine, tmp_path) -> int:
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM)
    with session_scope(engine) as session:
        account = add_account(session, "cus_1")
        for external, amount, day in (("in_1", 5000, 2), ("in_2", 5000, 3), ("in_small", 10, 3)):
            add_invoice(session, account, external_id=external, amount=amount, paid_at=_paid(day))
        load_program(session, path)
        account_id = account.id
    loyalty_points(StageContext(settings, engine, date(2025, 6, 4)))
    return account_id


def _refund(session, event_id: str, invoice: str) -> str:
    event = {"id": event_id, "type": "charge.refunded", "created": 1750150800,
             "data": {"object": {"id": f"ch_{invoice}", "invoice": invoice, "refunded": True}}}  # fmt: skip
    return apply_event(session, event).outcome


def test_refund_webhook_claws_back_and_writes_off_what_was_spent(
    settings, engine, tmp_path, frozen_clock
):
    account = _setup(settings, engine, tmp_path)
    with session_scope(engine) as session:
        assert ledger.wallet_balance(session, account) == 200  # the small invoice earns nothing
        ledger.debit(session, account, 150, "redeem", reason="swag")
    with session_scope(engine) as session:
        assert "1 loyalty earnings clawed back" in _refund(session, "evt_1", "in_1")
        assert ledger.wallet_balance(session, account) == 0  # 50 taken, 50 written off
    with session_scope(engine) as session:  # the same refund again, and another: floor at zero
        _refund(session, "evt_1", "in_1")
        _refund(session, "evt_2", "in_2")
        report = programme_report(session, current_program(session))
        assert ledger.wallet_balance(session, account) == 0
        assert (report["written_off"], report["points_outstanding"]) == (150, 0)
        assert session.scalar(sa.select(Invoice.status).where(Invoice.external_id == "in_2")) == (
            "refunded"
        )
        assert_books_balance(session)


def test_imported_refund_is_swept_by_the_stage_once(settings, engine, tmp_path, frozen_clock):
    account = _setup(settings, engine, tmp_path)
    with session_scope(engine) as session:  # an invoices import marks in_2 refunded
        session.execute(
            sa.update(Invoice).where(Invoice.external_id == "in_2").values(status="refunded")
        )
    summary = loyalty_points(StageContext(settings, engine, date(2025, 6, 5)))
    assert summary["refunds"] == {"clawbacks": 1, "points_clawed_back": 100,
                                  "points_written_off": 0}  # fmt: skip
    again = loyalty_points(StageContext(settings, engine, date(2025, 6, 6)))
    assert again["refunds"]["clawbacks"] == 0
    with session_scope(engine) as session:
        assert ledger.wallet_balance(session, account) == 100
        assert_books_balance(session)


def test_reversed_event_claws_back_its_earnings(engine, frozen_clock):
    with session_scope(engine) as session:
        account = add_account(session).id
        earning = ledger.Earning(account, "login", 10, "event:m1:login", _paid(2))
        other = ledger.Earning(account, "login", 10, "event:m10:login", _paid(3))
        ledger.post_earnings(session, [earning, other], 12)
    with session_scope(engine) as session:
        [done] = claw_back_event(session, "m1", "event reversed")
        assert (done.taken, done.written_off) == (10, 0)
        assert claw_back_event(session, "m1", "again")[0].movement_id == done.movement_id
        assert ledger.wallet_balance(session, account) == 10  # m10 is not m1
