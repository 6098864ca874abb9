"""Serialise an outbox email straight to bytes (the email package's object model is slow).

One text/plain part, or multipart/alternative with text and HTML, inside multipart/mixed
when there are attachments (base64, e.g. a report's PDF); bodies 7bit when they are
ASCII with short lines, quoted-printable otherwise; non-ASCII headers RFC 2047-encoded; CR and
LF in header values are replaced by spaces (no header injection); CRLF line ends throughout.
"""

from __future__ import annotations

import binascii
import hashlib
from email.header import Header
from email.utils import formataddr, parseaddr

ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to", "sender"})
MAX_LINE = 998


def header_line(name: str, value: str) -> str:
    """Return one header line (without CRLF), RFC 2047-encoded when it is not ASCII."""
    value = str(value).replace("\r", " ").replace("\n", " ")
    if value.isascii() and len(name) + len(value) + 2 <= MAX_LINE:
        return f"{name}: {value}"
    if name.lower() in ADDRESS_HEADERS:
        display, address = parseaddr(value)
        return f"{name}: {formataddr((display, address), charset='utf-8')}"
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}"


def _normalised(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def body_part(text: str, subtype: str) -> str:
    """Return a text part: its headers, a blank line and its encoded body."""
    body = _normalised(text)
    if not body.endswith("\r\n"):
        body += "\r\n"
    lines = body.split("\r\n")
    if body.isascii() and max(map(len, lines)) <= MAX_LINE:
        encoding, payload = "7bit", body
    else:
        encoding = "quoted-printable"
        payload = binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n{payload}"
    )


def _body(text: str, html: str | None, key: str) -> str:
    """Return the text part, or the text and HTML alternatives."""
    if not html:
        return body_part(text, "plain")
    boundary = "=_tenure_" + hashlib.sha256(key.encode()).hexdigest()[:32]
    return (
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        + f"--{boundary}\r\n{body_part(text, 'plain')}\r\n"  # this CRLF belongs to the
        + f"--{boundary}\r\n{body_part(html, 'html')}\r\n"  # delimiter, not to the part
        + f"--{boundary}--\r\n"
    )


def attachment_part(attachment: dict[str, str]) -> str:
    """Return an attachment part from {filename, content_type, data (base64)}."""
    data = attachment["data"]
    lines = "\r\n".join(data[i : i + 76] for i in range(0, len(data), 76))
    disposition = header_line(
        "Content-Disposition", f'attachment; filename="{attachment["filename"]}"'
    )
    return (
        f"Content-Type: {attachment['content_type']}\r\n{disposition}\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{lines}\r\n"
    )


def email_bytes(
    headers: list[tuple[str, str]],
    text: str,
    html: str | None,
    key: str,
    attachments: list[dict[str, str]] | None = None,
) -> bytes:
    """Return the whole email: headers, the text (and HTML) body, then any attachments."""
    head = "".join(header_line(name, value) + "\r\n" for name, value in headers)
    head += "MIME-Version: 1.0\r\n"
    if not attachments:
        return (head + _body(text, html, key)).encode("ascii")
    boundary = "=_tenure_mixed_" + hashlib.sha256(key.encode()).hexdigest()[:32]
    parts = [_body(text, html, key + ":body"), *map(attachment_part, attachments)]
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return (head + f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n' + body).encode(
        "ascii"
    )
