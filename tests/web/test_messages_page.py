"""The message templates page: the list, a sandboxed srcdoc preview for an account, the roles."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from tenure.accounts.models import Account
from tenure.db.session import session_scope
from tenure.messaging import templates


def test_templates_page_previews_in_a_sandboxed_iframe(app, login, people):
    with session_scope(app.state.engine) as session:
        templates.load_defaults(session)
        account = session.scalar(sa.select(Account).order_by(Account.id).limit(1))
        account_id, name = account.id, account.name
    client = login(people.admin)
    page = client.get(f"/messages/templates?name=winback-offer&account={account_id}")
    assert page.status_code == 200, page.text
    assert 'data-template="onboarding-welcome"' in page.text and 'data-nav="messages"' in page.text
    frame = re.search(r'<iframe id="preview-html"([^>]*)>', page.text).group(1)
    assert 'sandbox=""' in frame
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    assert srcdoc.lower().startswith("<!doctype html>") and "<script" not in srcdoc
    assert html.escape(name) in srcdoc  # the account's name, escaped once inside the email
    assert f"An offer to keep {html.escape(name)} going" in page.text
    assert "style-src 'self' 'unsafe-inline'" in page.headers["content-security-policy"]
    assert "script-src 'self';" in page.headers["content-security-policy"]


def test_templates_page_is_for_managers_and_admins(login, people):
    assert login(people.viewer).get("/messages/templates").status_code == 403
    missing = login(people.admin).get("/messages/templates?name=nope&account=1")
    assert missing.status_code == 404 and "no message template" in missing.text
