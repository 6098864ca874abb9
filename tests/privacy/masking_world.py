"""The book the masking route walk reads: one distinctive person in every place that shows people.

The person (email, name, phone) is a contact of an account owned by CSM; they appear in the
contact record, inbox and serving-copy events, a ticket subject, an alert, a play's CSM task,
the loyalty leaderboard, ledger and contact wallet, a redemption note, a journey enrolment and a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenure import clock
from tenure.accounts.models import Contact
from tenure.alerts.models import Alert
from tenure.auth import service
from tenure.events.models import RecentEvent
from tenure.loyalty import leaderboard, ledger
from tenure.loyalty.contact_wallets import ContactEarning, post_contact_earnings
from tenure.loyalty.engagement_models import LoyaltyContactScore
from tenure.loyalty.models import LoyaltyEnrolment, LoyaltyRedemption, LoyaltyReward
from tenure.loyalty.service import load_program
from tenure.messaging import templates
from tenure.messaging.journeys_store import load_default_journeys
from tenure.messaging.models import Journey, JourneyEnrollment, Message
from tenure.plays.models import CsmTask, PlayRun
from tenure.plays.service import load_plays

from ..factories import add_account, add_contact, add_inbox_event, add_subscription, add_ticket

EMAIL = "zelda.quixote@privacy-test.org"
NAME = "Zelda Quixote"
PHONE = "+1 415 555 0199"
PASSWORD = "correct horse battery"
CSM, OTHER_CSM = "csm@example.com", "csm2@example.com"
USERS = {
    "admin": "admin@example.com",
    "manager": "manager@example.com",
    "csm": CSM,
    "other_csm": OTHER_CSM,
    "analyst": "analyst@example.com",
    "viewer": "viewer@example.com",
}
MENTION = f"{NAME} ({EMAIL}, {PHONE})"


@dataclass(frozen=True)
class Ids:
    """What the walk fills path parameters with."""

    account: int
    alert: int
    contact: int
    play: str
    journey: str


def seed(session: Session) -> Ids:
    """Write the users and the person's book; return the ids the routes take."""
    for role, email in USERS.items():
        service.create_user(session, email, PASSWORD, role.removeprefix("other_"))
    account = add_account(session, "acme-privacy", name="Acme Privacy", owner=CSM)
    add_subscription(session, account)
    contact = add_contact(
        session, account, external_id=EMAIL, email=EMAIL, name=NAME, role="champion"
    )
    add_ticket(session, account, subject=f"Call {NAME} on {PHONE} or write to {EMAIL}")
    _events(session, account.id, account)
    alert = _alert(session, account.id)
    play = _play(session, account.id)
    _loyalty(session, account.id, contact.id)
    journey = _journey(session, account.id, contact.id)
    return Ids(account.id, alert.id, contact.id, play, journey)


def _events(session: Session, account_id: int, account: object) -> None:
    props = {"email": EMAIL, "name": NAME, "phone": PHONE, "note": f"invited by {NAME}"}
    add_inbox_event(session, account, contact_external_id=EMAIL, contact_email=EMAIL,
                    properties=props)  # fmt: skip
    session.add(
        RecentEvent(account_id=account_id, message_id="r1", contact_external_id=EMAIL,
                    name="export", ts=clock.now(), properties=props, source="warehouse")
    )  # fmt: skip


def _alert(session: Session, account_id: int) -> Alert:
    now = clock.now()
    comment = f"{NAME} here, call me on {PHONE} ({EMAIL})"
    alert = Alert(
        account_id=account_id, rule="nps", kind="nps_detractor", severity="high", owner=CSM,
        status="open", message=f"Acme Privacy: NPS detractor: scored 2/10 — “{comment}”",
        facts={"comment": comment}, open_key="privacy:nps", opened_at=now, updated_at=now,
    )  # fmt: skip
    session.add(alert)
    session.flush()
    return alert


def _play(session: Session, account_id: int) -> str:
    """Add a treated run of the first packaged play with an open and a done task naming them."""
    play = load_plays(session, None)[0]
    today = clock.now().date()
    run = PlayRun(play_id=play.id, account_id=account_id, arm="treated", started_on=today,
                  goal_on=today + timedelta(days=30), trigger="test", actions=[])  # fmt: skip
    session.add(run)
    session.flush()
    for status in ("open", "done"):
        session.add(
            CsmTask(account_id=account_id, play_run_id=run.id, owner=CSM,
                    title=f"Call {NAME}", checklist=[f"ask {MENTION} about renewal"],
                    due_on=today, status=status, notes=f"spoke to {MENTION}",
                    created_at=clock.now())
        )  # fmt: skip
    return play.key


def _loyalty(session: Session, account_id: int, contact_id: int) -> None:
    """Make the account a member with points, a redemption and the person on its leaderboard."""
    load_program(session, None)
    session.add(LoyaltyEnrolment(account_id=account_id, arm="member", enrolled_at=clock.now()))
    ledger.ensure_wallets(session, [account_id])
    ledger.credit(session, account_id, 500, 12, reason=f"referral by {MENTION}", kind="adjust")
    leaderboard.set_opt_in(session, session.get_one(Contact, contact_id), True, CSM)
    earned = ContactEarning(contact_id, account_id, "course", 25, "event:zq1:course", clock.now())
    post_contact_earnings(session, [earned])
    session.add(LoyaltyContactScore(contact_id=contact_id, account_id=account_id, points=40,
                                    events=4, as_of=clock.now().date()))  # fmt: skip
    reward = session.scalar(sa.select(LoyaltyReward).limit(1))
    if reward is not None:
        session.add(
            LoyaltyRedemption(account_id=account_id, reward_key=reward.key, points=reward.points,
                              status="pending", requested_by=CSM, note=f"for {MENTION}",
                              requested_at=clock.now())
        )  # fmt: skip


def _journey(session: Session, account_id: int, contact_id: int) -> str:
    """Enrol the person in the first packaged journey and record a message sent to them."""
    templates.load_defaults(session)
    key = load_default_journeys(session)[0].key
    journey = session.scalar(sa.select(Journey).where(Journey.key == key))
    enrolment = JourneyEnrollment(journey_id=journey.id, contact_id=contact_id,
                                  account_id=account_id, arm="treated",
                                  trigger=f"signup of {EMAIL}",
                                  entered_at=clock.now())  # fmt: skip
    session.add(enrolment)
    session.flush()
    session.add(
        Message(idempotency_key="privacy-1", account_id=account_id, contact_id=contact_id,
                to_email=EMAIL, template_name="welcome", template_version=1,
                purpose="marketing", journey_id=journey.id, enrollment_id=enrolment.id,
                subject=f"Welcome, {NAME}", status="sent", created_at=clock.now(),
                sent_at=clock.now())
    )  # fmt: skip
    session.flush()
    return journey.key
