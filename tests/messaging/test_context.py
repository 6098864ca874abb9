"""Message variables of a seeded account, content blocks by rule, preview and test-send CLI."""

from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy

import sqlalchemy as sa
from sqlalchemy import event

from tenure.cli.main import app
from tenure.db.session import session_scope
from tenure.events.models import EventDailyCounts
from tenure.messaging import blocks, context, preview, templates
from tenure.messaging.models import Message

from ..factories import add_account, add_contact
from .template_data import seed_account


def test_context_values_of_a_seeded_account(engine, settings, frozen_clock):
    with session_scope(engine) as session:
        account, contact = seed_account(session)
        values = context.message_context(session, account, contact, settings)
    assert values["account"] | {"id": None} == {
        "id": None,
        "name": "Acme & Co",
        "plan": "growth",
        "mrr": "$1,250.50",
        "mrr_minor": 125_050,
        "currency": "USD",
        "owner": "Cara CSM",
        "csm": "Cara CSM",
        "renewal_date": date(2025, 8, 1),  # annual, started 2024-08-01; today 2025-06-30
        "days_to_renewal": 32,
        "industry": None,
        "region": None,
    }
    assert values["contact"]["first_name"] == "Ada"
    assert values["health"]["tier"] == "red" and values["health"]["score"] == 38
    assert values["health"]["reasons"] == [
        "no recent logins (score 12 of 100)",
        "few features in use (score 40 of 100)",
    ]
    assert values["churn"]["top_driver"] == "ev_report_viewed_trend"
    assert values["churn"]["drivers"] == [
        "report viewed down 60 % vs previous 30 days",
        "no activity for 21 days",
    ]
    # login is a login, report_viewed was used 90 days ago only: unused in the last 30 days
    assert values["usage"] == {
        "features_used": ["export_run"],
        "features_unused": ["report_viewed"],
        "events_30d": 5,
        "active_days_30d": 1,
    }
    assert values["loyalty"] is None
    assert set(values["footer"]) == {"unsubscribe_url", "preferences_url", "postal_address"}


def test_contexts_in_bulk_take_a_fixed_number_of_queries(engine, settings, frozen_clock):
    def count_queries(session, pairs):
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            out = context.message_contexts(session, pairs, settings)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen), out

    with session_scope(engine) as session:
        pairs = [seed_account(session, name=f"A{i}") for i in range(3)]
        pairs += [(pairs[0][0], add_contact(session, pairs[0][0], name="Bo Second"))]
        one, _ = count_queries(session, pairs[:1])
        four, out = count_queries(session, pairs)
    assert one == four <= 8
    assert [c["contact"]["name"] for c in out] == ["Ada Lovelace"] * 3 + ["Bo Second"]
    assert out[3]["account"]["name"] == "A0"


def test_block_rules(engine, settings, frozen_clock):
    rule = blocks.parse_block_rule(
        "churn.top_driver == 'ev_report_viewed_trend' and health.score < 50"
    )
    listed = blocks.parse_block_rule("usage.features_unused in ('report_viewed', 'api_call')")
    with session_scope(engine) as session:
        account, contact = seed_account(session)
        values = blocks.rule_values(context.message_context(session, account, contact, settings))
    assert blocks.holds(rule, values) and blocks.holds(listed, values)
    assert not blocks.holds(blocks.parse_block_rule("account.plan == 'pro'"), values)
    assert not blocks.holds(blocks.parse_block_rule("account.days_to_renewal > 40"), values)


def test_winback_shows_reasons_and_the_reports_block(engine, settings, frozen_clock):
    with session_scope(engine) as session:
        templates.load_defaults(session)
        account, _ = seed_account(session)
        quiet = add_account(session, name="Quiet Ltd")
        add_contact(session, quiet, name="Cy Quiet")
        recent = {date(2025, 6, 29).isoformat(): 4}
        session.add(
            EventDailyCounts(account_id=quiet.id, name="report_viewed", counts=recent, total=4)
        )
        risky = preview.preview(session, settings, "winback-checkin", account=account.id)
        calm = preview.preview(session, settings, "winback-checkin", account=quiet.external_id)
    assert risky.subject == "Ada, can we help Acme & Co?"
    assert risky.preheader == "no recent logins (score 12 of 100)"
    assert "- no recent logins (score 12 of 100)" in risky.text
    assert "Read the reports guide" in risky.text and "Acme &amp; Co" in risky.html
    assert "Read the reports guide" not in calm.text and "What we noticed" not in calm.text


def test_preview_cli(engine, settings, frozen_clock, cli, tmp_path):
    with session_scope(engine) as session:
        account, contact = seed_account(session)
        ids = (account.id, contact.external_id)
    data = ["--data-dir", str(settings.data_dir)]
    loaded = cli.invoke(app, [*data, "messages", "templates", "load", "--defaults"])
    assert loaded.exit_code == 0, loaded.output
    assert "winback-offer v1: saved" in loaded.output
    out = tmp_path / "offer.html"
    args = ["messages", "templates", "preview", "winback-offer", "--account", str(ids[0])]
    shown = cli.invoke(app, [*data, *args, "--contact", ids[1], "--html", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "Subject: An offer to keep Acme & Co going" in shown.output
    assert "half of its $1,250.50 a month" in shown.output
    assert "report viewed down 60 %" in shown.output
    assert out.read_text().lower().startswith("<!doctype html>")
    missing = cli.invoke(app, [*data, *args[:3], "nope", "--account", str(ids[0])])
    assert missing.exit_code == 4 and "no message template 'nope'" in missing.output


def test_send_test_cli_delivers_now(engine, settings, frozen_clock, cli, smtp_sink):
    with session_scope(engine) as session:
        account, _ = seed_account(session)
        templates.load_defaults(session)
        account_id = account.id
    data = ["--data-dir", str(settings.data_dir)]
    env = {"TENURE_SMTP_PORT": str(smtp_sink.port), "TENURE_MAIL_FROM": "cs@tenure.test"}
    args = ["messages", "send-test", "winback-offer", "--to", "me@test.io"]
    result = cli.invoke(app, [*data, *args, "--account", str(account_id)], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "send-test: message 1 to me@test.io: sent"
    (raw,) = smtp_sink.messages
    received = message_from_bytes(raw.as_bytes(), policy=policy.default)
    assert received["To"] == "me@test.io"
    assert received["Subject"] == "An offer to keep Acme & Co going"
    assert "Ada" in received.get_body(("plain",)).get_content()
    with session_scope(engine) as session:
        message = session.scalar(sa.select(Message))
        assert (message.purpose, message.contact_id) == ("transactional", None)
