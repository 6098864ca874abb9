"""The outbox's own MIME serialiser, read back with the standard library's parser."""

from __future__ import annotations

from email import message_from_bytes, policy

from tenure.alerts.mime import email_bytes


def parsed(raw: bytes):
    return message_from_bytes(raw, policy=policy.default)


def test_alternatives_and_non_ascii_round_trip():
    """Unicode subject, display name and bodies; long lines; a leading dot; CRLF only."""
    long_line = "é" * 300
    raw = email_bytes(
        [("From", "Équipe Tenure <cs@x.io>"), ("To", "ada@acme.io"), ("Subject", "Merci, Zoë ✓")],
        f"Bonjour\n.dot line\n{long_line}\n",
        "<p>Bonjour <b>Zoë</b></p>",
        "key-1",
    )
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    email = parsed(raw)
    assert email["Subject"] == "Merci, Zoë ✓"
    assert email["From"].addresses[0].display_name == "Équipe Tenure"
    text = email.get_body(("plain",)).get_content().replace("\r\n", "\n")  # SMTP keeps CRLF
    assert text == f"Bonjour\n.dot line\n{long_line}\n"
    assert email.get_body(("html",)).get_content().strip() == "<p>Bonjour <b>Zoë</b></p>"


def test_text_only_ascii_is_7bit_and_headers_cannot_be_injected():
    """No HTML: one text/plain part; CR/LF inside a header value become spaces."""
    raw = email_bytes(
        [("To", "a@x.io"), ("Subject", "Hi\r\nBcc: victim@y.io")], "score: 31\n", None, "k"
    )
    email = parsed(raw)
    assert email.get_content_type() == "text/plain" and email["Bcc"] is None
    assert email["Content-Transfer-Encoding"] == "7bit" and email.get_payload() == "score: 31\r\n"
    assert email["Subject"] == "Hi  Bcc: victim@y.io"
