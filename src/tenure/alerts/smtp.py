"""One SMTP session per drain: STARTTLS, login, many messages, reconnect after a failure.

Errors are sorted for the outbox: a refusal with a 5xx code for the recipient or the content is
a bounce (permanent, and the address is suppressed); 4xx codes, dropped connections, timeouts
and failures to connect, start TLS or log in are transient (retried with back-off).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Callable
from email.utils import parseaddr

from tenure.config import Settings
from tenure.errors import TenureError

TIMEOUT_SECONDS = 15.0


class DeliveryError(TenureError):
    """A channel did not accept a delivery; permanent errors are not retried.

    bounce: the receiving server refused the recipient or the message for good (SMTP 5xx).
    """

    def __init__(self, message: str, *, permanent: bool = False, bounce: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent or bounce
        self.bounce = bounce


class SmtpUnavailable(DeliveryError):
    """The SMTP server could not be reached, greeted, secured or logged in to."""


class SmtpDropped(DeliveryError):
    """The SMTP session broke during a transaction (the next message reconnects)."""


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Return the TLS context for STARTTLS (system CAs, or smtp_ca_file when it is set)."""
    cafile = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    return ssl.create_default_context(cafile=cafile)


def smtp_error(settings: Settings, target: str, exc: Exception) -> DeliveryError:
    """Return the DeliveryError for a failed SMTP transaction (a bounce for 5xx refusals)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        bounce = bool(codes) and all(500 <= code < 600 for code in codes)
        return DeliveryError(f"SMTP refused {target}: {exc.recipients}", bounce=bounce)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        permanent = 500 <= exc.smtp_code < 600
        return DeliveryError(f"SMTP refused the sender: {exc.smtp_code}", permanent=permanent)
    if isinstance(exc, smtplib.SMTPResponseException):
        bounce = 500 <= exc.smtp_code < 600
        return DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", bounce=bounce)
    return SmtpDropped(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {exc}")


class SmtpSender:
    """Send many emails over one SMTP connection; open it on first use, reopen after a failure."""

    def __init__(self, settings: Settings) -> None:
        """Prepare a sender; nothing is connected until the first message."""
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None
        self.connections = 0
        self.envelope_from = parseaddr(settings.mail_from)[1] or settings.mail_from

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        try:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS)
        except (smtplib.SMTPException, OSError) as exc:
            raise SmtpUnavailable(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc
        try:
            if settings.smtp_starttls:
                smtp.starttls(context=tls_context(settings))
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
        except (smtplib.SMTPException, OSError) as exc:
            smtp.close()
            raise SmtpUnavailable(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc
        self.connections += 1
        return smtp

    def send(self, to: str, raw: bytes, on_accepted: Callable[[], None]) -> None:
        """Send one serialised email to to; call on_accepted once the server took it."""
        if self.smtp is None or self.smtp.sock is None:
            self._drop()
            self.smtp = self._connect()
        try:
            self.smtp.sendmail(self.envelope_from, [to], raw)
        except (smtplib.SMTPException, OSError) as exc:
            error = smtp_error(self.settings, to, exc)
            if isinstance(error, SmtpDropped) or self.smtp.sock is None:  # e.g. after a 421
                self._drop()  # the session is gone or in an unknown state: the next reconnects
            raise error from exc
        on_accepted()  # the server's 250 after DATA: it has the message

    def _drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    def close(self) -> None:
        """Say QUIT (best effort) and close the connection."""
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self._drop()

    def __enter__(self) -> SmtpSender:
        """Return the sender."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Close the connection."""
        self.close()
