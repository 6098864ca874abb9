"""Pure parts of the dashboard: filters, sessions, live-event shaping, heat classes, assets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import jwt
import pytest

from tenure.auth.models import RevokedToken
from tenure.clock import FrozenClock, use_clock
from tenure.config import Settings
from tenure.errors import InputError
from tenure.notifications import Notification
from tenure.rendering.environment import heat_class
from tenure.web import assets
from tenure.web.actions import safe_next
from tenure.web.live import coalesce, describe, visible
from tenure.web.service import parse_filters
from tenure.web.session import (
    AUDIENCE,
    SESSION_COOKIE,
    Viewer,
    read_viewer,
    session_key,
    tokens_match,
)


def test_filters_parse_and_round_trip_to_a_query():
    filters = parse_filters({"q": "  Acme ", "tier": "red", "mrr_min": "1,500", "page": "2"})
    assert (filters.q, filters.tier, filters.mrr_min, filters.page) == ("Acme", "red", 1500.0, 2)
    assert filters.query(page=3) == {
        "q": "Acme",
        "tier": "red",
        "mrr_min": 1500.0,
        "sort": "at_risk",
        "page": 3,
    }


@pytest.mark.parametrize("bad", ["-1", "nan", "inf", "1e400", "ten"])
def test_mrr_bounds_must_be_finite_non_negative_numbers(bad):
    with pytest.raises(InputError, match="mrr_max"):
        parse_filters({"mrr_max": bad})


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/alerts?status=open", "/alerts?status=open"), ("//evil.example", "/"), ("https://x", "/")],
)
def test_after_login_only_local_paths_are_followed(target, expected):
    assert safe_next(target) == expected
    assert safe_next("/\\evil.example") == "/"


def test_csrf_tokens_compare_only_when_both_are_present():
    assert tokens_match("abc", "abc") and not tokens_match("abc", "abd")
    assert not tokens_match(None, None) and not tokens_match("", "")


def _request(token: str) -> SimpleNamespace:
    return SimpleNamespace(cookies={SESSION_COOKIE: token})


class _Users:
    """A stand-in session whose get() returns an active user and no revoked session."""

    def get(self, model, key):
        if model is RevokedToken:
            return None
        return SimpleNamespace(id=key, email="a@example.com", role="admin", active=True)


def test_sessions_must_be_signed_for_the_dashboard_and_unexpired(tmp_path):
    settings = Settings(data_dir=tmp_path, secret_key="s" * 40)
    now = datetime(2025, 6, 30, 12, tzinfo=UTC)
    exp = int(now.timestamp()) + 60
    claims = {"sub": "7", "aud": AUDIENCE, "csrf": "t", "exp": exp, "jti": "s1"}
    good = jwt.encode(claims, session_key(settings), algorithm="HS256")
    with use_clock(FrozenClock(now)):
        viewer = read_viewer(settings, _request(good), _Users())
        assert viewer == Viewer(
            user_id=7,
            email="a@example.com",
            role="admin",
            csrf="t",
            session_id="s1",
            expires_at=datetime.fromtimestamp(exp, tz=UTC),
        )
        # A session without an id (it could not be revoked) is refused.
        unnamed = {k: v for k, v in claims.items() if k != "jti"}
        no_id = jwt.encode(unnamed, session_key(settings), algorithm="HS256")
        assert read_viewer(settings, _request(no_id), _Users()) is None
        # An API token (signed with the app key itself, no dashboard audience) is not a session.
        api_token = jwt.encode({**claims, "aud": "api"}, settings.secret_key, algorithm="HS256")
        assert read_viewer(settings, _request(api_token), _Users()) is None
        other_key = jwt.encode(claims, "x" * 64, algorithm="HS256")
        assert read_viewer(settings, _request(other_key), _Users()) is None
    with use_clock(FrozenClock(now + timedelta(minutes=2))):
        assert read_viewer(settings, _request(good), _Users()) is None


def test_events_recorded_are_merged_per_account_and_described():
    notes = [
        Notification("events_recorded", 1, {"count": 2}),
        Notification("tier_change", 1, {"from": "green", "to": "red"}),
        Notification("events_recorded", 1, {"count": 3}),
        Notification("events_recorded", 2, {"count": 1}),
    ]
    merged = coalesce(notes)
    assert [(n.kind, n.account_id, n.payload.get("count")) for n in merged] == [
        ("tier_change", 1, None),
        ("events_recorded", 1, 5),
        ("events_recorded", 2, 1),
    ]
    shown = describe(merged[0], "Acme")
    assert shown["text"] == "Acme: health tier green → red" and shown["url"] == "/accounts/1"


def test_a_csm_sees_only_their_own_alerts_live():
    csm = Viewer(user_id=1, email="csm@example.com", role="csm", csrf="x")
    manager = Viewer(user_id=2, email="boss@example.com", role="manager", csrf="x")
    theirs = Notification("alert_opened", 1, {"owner": "csm@example.com"})
    others = Notification("alert_opened", 1, {"owner": "someone@example.com"})
    assert visible(theirs, csm) and not visible(others, csm) and visible(others, manager)
    assert not visible(Notification("something_else", 1, {}), manager)


@pytest.mark.parametrize(
    ("value", "css"),
    [
        (None, "heat-none"),
        (0.0, "heat-0"),
        (0.44, "heat-2"),
        (0.96, "heat-9"),
        (1.0, "heat-10"),
        (1.2, "heat-over"),
    ],
)
def test_retention_cells_get_a_class_per_band(value, css):
    assert heat_class(value) == css


def test_plotly_style_rules_are_read_from_the_bundle_like_plotly_injects_them():
    bundle = (
        'x=1;var r={"X,X div":\'direction:ltr;font:"a\\\'b";\',Y:"color:red;",'
        '"X .modebar":"top:2px;"};for(k in r)'
    )
    css = assets.plotly_css(bundle)
    assert css.splitlines() == [
        ".js-plotly-plot .plotly .modebar{top:2px;}",
        ".plotly-notifier{color:red;}",
        '.js-plotly-plot .plotly,.js-plotly-plot .plotly div{direction:ltr;font:"a\'b";}',
    ]


def test_missing_vendor_files_are_listed(tmp_path):
    assert assets.missing_assets(tmp_path) == list(assets.VENDOR_FILES)
    (tmp_path / "htmx.min.js").write_text("/* htmx */")
    assert "htmx.min.js" not in assets.missing_assets(tmp_path)
    assert assets.style_guard_ids(tmp_path) == []
