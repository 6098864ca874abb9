"""The journeys pages: the list with sends, one journey's funnel (treated vs holdout) and goal lift."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from tenure import clock
from tenure.accounts.models import Account, Contact
from tenure.db.session import get_engine, session_scope
from tenure.messaging.journeys_spec import parse_journeys
from tenure.messaging.journeys_store import save_journey
from tenure.messaging.models import Journey, JourneyEnrollment, JourneyStepRun, Message
from tenure.web.journeys import funnel_chart

KEY = "web-winback"


@pytest.fixture(scope="module")
def journey(book):
    """Store a journey with 6 treated and 4 holdout enrollments, sends for the treated."""
    engine = get_engine(book)
    now = clock.now()
    with session_scope(engine) as session:
        raw = {"key": KEY, "name": "Web win-back", "trigger": {"kind": "health_tier", "to": "red"},
               "steps": [{"id": "checkin", "kind": "send", "template": "winback-checkin"}]}  # fmt: skip
        (spec,) = parse_journeys({"journey": [raw]}, "test")
        save_journey(session, spec)
        row = session.scalar(sa.select(Journey).where(Journey.key == KEY))
        contacts = session.execute(
            sa.select(Contact.id, Contact.account_id).join(Account).order_by(Contact.id).limit(10)
        ).all()
        for i, (contact_id, account_id) in enumerate(contacts):
            arm = "treated" if i < 6 else "holdout"
            enrollment = JourneyEnrollment(
                journey_id=row.id, contact_id=contact_id, account_id=account_id, arm=arm,
                status="goal" if i in (0, 6) else "completed", entered_at=now, run_no=1,
            )  # fmt: skip
            session.add(enrollment)
            session.flush()
            session.add(JourneyStepRun(enrollment_id=enrollment.id, step_id="checkin",
                                       status="done" if arm == "treated" else "skipped", at=now))  # fmt: skip
            if arm == "treated":
                session.add(Message(
                    idempotency_key=f"web-journey-{enrollment.id}", account_id=account_id,
                    contact_id=contact_id, to_email="x@example.com", template_name="winback-checkin",
                    template_version=1, purpose="marketing", journey_id=row.id,
                    enrollment_id=enrollment.id, step_id="checkin", subject="Hi", status="sent",
                    created_at=now, first_opened_at=now if i < 3 else None,
                ))  # fmt: skip
    engine.dispose()
    return KEY


def test_the_list_shows_each_journey_with_its_sends(login, people, journey):
    page = login(people.csm).get("/journeys")
    assert page.status_code == 200
    assert f'data-journey="{journey}"' in page.text and 'data-sent="6"' in page.text
    assert 'data-nav="journeys"' in page.text


def test_the_journey_page_draws_the_funnel_by_arm(login, people, journey):
    page = login(people.admin).get(f"/journeys/{journey}").text
    assert 'id="chart-journey-funnel"' in page and 'id="goal-lift"' in page
    row = re.search(r'data-step="checkin" data-arm="treated">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r'<td class="n">([^<]*)</td>', row)
    assert cells[:4] == ["6", "6", "6", "3"]  # entered, sent, delivered, opened
    spec = json.loads(
        re.search(r'id="chart-journey-funnel"[^>]*data-chart="([^"]+)"', page).group(1)
        .replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&")
    )  # fmt: skip
    assert [t["y"] for t in spec["data"][:2]] == [[6], [4]]


def test_viewers_may_not_and_unknown_journeys_are_404(login, people, journey):
    assert login(people.viewer).get("/journeys").status_code == 403
    assert login(people.csm).get("/journeys/no-such-journey").status_code == 404


def test_no_funnel_before_anyone_entered():
    zero = dict.fromkeys(("entered", "sent"), 0)
    assert funnel_chart([{"step": "a", "kind": "send", "treated": zero, "holdout": zero}]) is None
