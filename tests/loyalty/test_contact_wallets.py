"""Contact wallets: rules award the event's contact too, per-contact caps, a balanced ledger."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from tenure.accounts.models import Account, Contact
from tenure.cli.main import app
from tenure.db.session import session_scope
from tenure.errors import InputError
from tenure.loyalty import ledger
from tenure.loyalty.contact_models import (
    LoyaltyContactEntry,
    LoyaltyContactMovement,
    LoyaltyContactWallet,
)
from tenure.loyalty.contact_wallets import (
    claw_back_contact_event,
    contact_balances,
    expire_contact_points,
)
from tenure.loyalty.models import LoyaltyProgram
from tenure.loyalty.program import parse_program
from tenure.loyalty.realtime import earn_on_arrival
from tenure.loyalty.report import programme_report
from tenure.loyalty.service import load_program
from tenure.loyalty.stage import loyalty_points
from tenure.privacy.erase_app import erase_person
from tenure.privacy.subjects import Person
from tenure.stage import StageContext

from ..factories import add_account, add_contact, add_inbox_event, add_warehouse_events
from .conftest import assert_books_balance

PROGRAM = """
name = "contacts"
point_value_minor = 1
approval_threshold = 10000
holdout_fraction = 0.0
starts_on = 2025-06-02
[[rules]]
key = "course"
event = "course_completed"
points = 100
award_to = "both"
max_per_contact = 2
[[rules]]
key = "tip"
event = "tip_shared"
points = 7
award_to = "contact"
cooldown_days = 2
[[rules]]
key = "login"
event = "login"
points = 10
[[tiers]]
key = "member"
name = "Member"
qualifying_points = 0
"""


def _at(day: int, hour: int = 9) -> datetime:
    return datetime(2025, 6, day, hour, tzinfo=UTC)


# (message id, event, time, contact external id)
EVENTS = [
    ("c1", "course_completed", _at(2), "ada"), ("c2", "course_completed", _at(3), "ada"),
    ("c3", "course_completed", _at(4), "ada"),  # ada's cap of 2 is reached: only the account
    ("c4", "course_completed", _at(4), "bob"), ("c5", "course_completed", _at(5), None),
    ("c6", "course_completed", _at(5), "stranger"),  # not a CRM contact: the account only
    ("t1", "tip_shared", _at(2), "bob"), ("t2", "tip_shared", _at(3), "bob"),  # cooling down
    ("t3", "tip_shared", _at(4, 10), "bob"), ("l1", "login", _at(2), "ada"),
]  # fmt: skip


def _setup(settings, engine, tmp_path) -> tuple[int, dict[str, int]]:
    path = tmp_path / "program.toml"
    path.write_text(PROGRAM)
    with session_scope(engine) as session:
        account = add_account(session)
        people = {
            name: add_contact(session, account, external_id=name).id for name in ("ada", "bob")
        }
        load_program(session, path)
        account_id, external = account.id, account.external_id
    add_warehouse_events(settings, account_id, external, EVENTS)
    return account_id, people


def assert_contact_books_balance(session) -> None:
    """Assert the contact ledger balances and each wallet is the sum of its entries."""
    total = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(LoyaltyContactEntry.amount), 0)))
    assert total == 0
    for wallet in session.scalars(sa.select(LoyaltyContactWallet)):
        entries = session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(LoyaltyContactEntry.amount), 0)).where(
                LoyaltyContactEntry.ledger_account == "contact_wallet",
                LoyaltyContactEntry.contact_id == wallet.contact_id,
            )
        )
        assert wallet.balance >= 0 and entries == wallet.balance


def _wallets(engine) -> dict[int, int]:
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(LoyaltyContactWallet.contact_id, LoyaltyContactWallet.balance)
        )
        return dict(rows.all())


def test_stage_credits_contacts_with_per_contact_caps(settings, engine, tmp_path, frozen_clock):
    account, people = _setup(settings, engine, tmp_path)
    summary = loyalty_points(StageContext(settings, engine, date(2025, 6, 10)))
    # company wallet: six course completions and a login; the contact-only tips never reach it
    with session_scope(engine) as session:
        assert ledger.wallet_balance(session, account) == 6 * 100 + 10
    # ada: two courses (cap 2), bob: one course and two tips (t2 falls in t1's 2-day cool-down)
    assert _wallets(engine) == {people["ada"]: 200, people["bob"]: 100 + 2 * 7}
    assert summary["earnings"] == 7 + 5
    with session_scope(engine) as session:
        session.execute(sa.update(LoyaltyProgram).values(earned_through=None))
    again = loyalty_points(StageContext(settings, engine, date(2025, 6, 10)))
    assert again["earnings"] == 0
    assert _wallets(engine) == {people["ada"]: 200, people["bob"]: 114}
    with session_scope(engine) as session:
        assert_books_balance(session)
        assert_contact_books_balance(session)
        listed = contact_balances(session, account)
        assert [(c["external_id"], c["balance"]) for c in listed] == [("ada", 200), ("bob", 114)]
        report = programme_report(session, parse_program(tomllib.loads(PROGRAM), "test"))
        assert (report["points_outstanding"], report["contact_points_outstanding"]) == (610, 314)
        assert report["contact_points_issued"] == 314 and report["liability"] == 610 + 314


def test_contact_points_expire_and_claw_back(settings, engine, tmp_path, frozen_clock):
    _account, people = _setup(settings, engine, tmp_path)
    loyalty_points(StageContext(settings, engine, date(2025, 6, 10)))
    with session_scope(engine) as session:
        assert claw_back_contact_event(session, "c1", "event reversed") == 1
        assert claw_back_contact_event(session, "c1", "event reversed") == 0  # idempotent
    assert _wallets(engine)[people["ada"]] == 100
    with session_scope(engine) as session:  # 12 months on, every open earning expires
        done = expire_contact_points(session, date(2026, 6, 3), 12)
        assert done == {"contact_lots": 2, "contact_points": 100 + 7}  # c2 (June 3), t1 (June 2)
        assert expire_contact_points(session, date(2026, 6, 3), 12)["contact_lots"] == 0
    assert _wallets(engine) == {people["ada"]: 0, people["bob"]: 107}  # c4, t3: June 4
    with session_scope(engine) as session:  # a clawback after expiry takes nothing: written off
        assert claw_back_contact_event(session, "c2", "event reversed") == 1
        reversal = session.scalars(sa.select(LoyaltyContactMovement).where(
            LoyaltyContactMovement.source_key == "reverse:event:c2:course")).one()  # fmt: skip
        assert (reversal.points, reversal.written_off) == (0, 100)
        assert_contact_books_balance(session)


def test_events_arriving_through_the_api_credit_the_contact_once(
    settings, engine, tmp_path, frozen_clock
):
    account_id, people = _setup(settings, engine, tmp_path)
    loyalty_points(StageContext(settings, engine, date(2025, 6, 10)))
    with session_scope(engine) as session:
        acct = session.get_one(Account, account_id)
        add_inbox_event(session, acct, message_id="rt1", name="course_completed",
                        ts=_at(20), contact_external_id="bob")  # fmt: skip
        add_inbox_event(session, acct, message_id="rt2", name="tip_shared", ts=_at(20, 10),
                        contact_external_id="ada")  # fmt: skip
        assert earn_on_arrival(session, ["rt1", "rt2"]) == 3  # bob (course), account, ada (tip)
        assert earn_on_arrival(session, ["rt1", "rt2"]) == 0
    assert _wallets(engine) == {people["ada"]: 207, people["bob"]: 214}
    with session_scope(engine) as session:
        assert ledger.wallet_balance(session, account_id) == 710
        assert_contact_books_balance(session)


def test_erasing_a_contact_deletes_their_wallet_and_keeps_the_books(
    settings, engine, tmp_path, frozen_clock
):
    account, people = _setup(settings, engine, tmp_path)
    loyalty_points(StageContext(settings, engine, date(2025, 6, 10)))
    with session_scope(engine) as session:
        contact = session.get_one(Contact, people["ada"])
        person = Person(contact.id, account, contact.external_id, contact.email, contact.name)
        done = erase_person(session, person)
        assert done["loyalty_contact_wallets"] == 1 and done["loyalty_contact_movements"] == 2
    with session_scope(engine) as session:
        left = session.scalars(sa.select(LoyaltyContactMovement.contact_id).distinct()).all()
        assert left == [people["bob"]]
        assert ledger.wallet_balance(session, account) == 610  # the company wallet is untouched
        assert_contact_books_balance(session)


@pytest.mark.parametrize(
    ("rule", "message"),
    [('fact = "seats"\nat_least = 5\nfirst_time_only = true\naward_to = "both"', "no contact"),
     ('event = "x"\nmax_per_contact = 3', "max_per_contact needs")],
)  # fmt: skip
def test_contact_rule_settings_are_checked(rule, message):
    text = PROGRAM.split("[[rules]]")[0] + f'[[rules]]\nkey = "r"\npoints = 1\n{rule}\n'
    text += '[[tiers]]\nkey = "m"\nname = "M"\nqualifying_points = 0\n'
    with pytest.raises(InputError, match=message):
        parse_program(tomllib.loads(text), "bad.toml")


def test_cli_balance_keeps_the_company_wallet_and_lists_contacts(
    cli, settings, engine, tmp_path, frozen_clock
):
    account, people = _setup(settings, engine, tmp_path)
    loyalty_points(StageContext(settings, engine, date(2025, 6, 10)))
    with session_scope(engine) as session:
        external = session.get_one(Account, account).external_id
    args = ["--data-dir", str(settings.data_dir), "loyalty", "balance", external]
    shown = json.loads(cli.invoke(app, [*args, "--json"]).output)
    assert shown["balance"] == 610
    assert {c["contact_id"]: c["balance"] for c in shown["contacts"]} == {
        people["ada"]: 200, people["bob"]: 114}  # fmt: skip
    assert "contact wallets: ada 200, bob 114" in cli.invoke(app, args).output
