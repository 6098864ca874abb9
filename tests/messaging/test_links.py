"""Signed links: a changed byte, another key, another kind or a past expiry never verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tenure.clock import FrozenClock, use_clock
from tenure.config import Settings
from tenure.messaging import links
from tenure.messaging.links import LinkExpired, LinkInvalid

SECRET = "links-test-secret-" + "s" * 32


@pytest.fixture
def conf(tmp_path) -> Settings:
    """Return settings with a fixed secret key and 30-day unsubscribe links."""
    return Settings(data_dir=tmp_path, secret_key=SECRET, unsubscribe_token_days=30)


def _flip(token: str, at: int) -> str:
    swapped = "A" if token[at] != "A" else "B"
    return token[:at] + swapped + token[at + 1 :]


def test_unsubscribe_token_round_trip_and_tamper(conf):
    token = links.unsubscribe_token(conf, 42, "product-news")
    data = links.read_unsubscribe_token(conf, token)
    assert (data.contact_id, data.purpose, data.message_id) == (42, "product-news", None)
    with_message = links.read_unsubscribe_token(conf, links.unsubscribe_token(conf, 42, "x", 7))
    assert with_message.message_id == 7
    for at in (0, 5, token.index(".") - 1, token.index(".") + 1, len(token) - 2):
        with pytest.raises(LinkInvalid):
            links.read_unsubscribe_token(conf, _flip(token, at))
    for broken in ("", "abc", token.replace(".", ""), token + "x", "." + token):
        with pytest.raises(LinkInvalid):
            links.read_unsubscribe_token(conf, broken)


def test_another_secret_or_kind_does_not_verify(conf):
    token = links.unsubscribe_token(conf, 42, "marketing")
    other = conf.model_copy(update={"secret_key": "another-secret-" + "o" * 32})
    with pytest.raises(LinkInvalid):
        links.read_unsubscribe_token(other, token)
    # an open token of message 7 is not a click or unsubscribe token
    opened = links.open_token(conf, 7)
    assert links.read_open_token(conf, opened) == 7
    with pytest.raises(LinkInvalid):
        links.read_click_token(conf, opened)
    with pytest.raises(LinkInvalid):
        links.read_unsubscribe_token(conf, links.click_token(conf, 7, "https://x.io"))


def test_unsubscribe_token_expires(conf):
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    with use_clock(clock):
        token = links.unsubscribe_token(conf, 1, "marketing")
        clock.advance(timedelta(days=29, hours=23))
        assert links.read_unsubscribe_token(conf, token).contact_id == 1
        clock.advance(timedelta(hours=1))
        with pytest.raises(LinkExpired):
            links.read_unsubscribe_token(conf, token)


def test_click_token_signs_the_destination(conf):
    url = "https://docs.example.com/reports?utm=x&a=1"
    token = links.click_token(conf, 9, url)
    assert links.read_click_token(conf, token) == (9, url)
    forged = links.sign(conf, "click-other", "9|https://evil.example")
    with pytest.raises(LinkInvalid):
        links.read_click_token(conf, forged)
    body = links._b64(b"9|https://evil.example")
    with pytest.raises(LinkInvalid):
        links.read_click_token(conf, body + token[token.index(".") :])
