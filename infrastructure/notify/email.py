"""Email: one plain-text message per notification over SMTP, with the standard library's smtplib in a
worker thread (``asyncio.to_thread``).

smtplib rather than aiosmtplib: no new dependency, and a notification is one short SMTP session
where a thread costs nothing; every socket operation is bounded by ``timeout``, so the thread always
ends by itself (an attempt cannot be cancelled half-way, only abandoned: the Message-ID lets the
receiving side drop the rare duplicate).

The message: ``Subject`` from the title (on one line), a text/plain UTF-8 body from the text,
``Date`` (the time of sending), and a ``Message-ID`` derived from the notification's key
(``<sha256(key)[:32].tbot@<sender's domain>>``, the same on every retry) plus ``X-Tbot-Key`` with the
key itself, so a receiver can drop repeats.

Transient: connection refused or cut, time-outs, any 4xx reply (451, 421, 454...). Permanent: any
5xx reply (550 mailbox unavailable, 553 bad address, 535 authentication failed), a server without
STARTTLS or AUTH when they are asked for, and a TLS certificate that does not verify.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from ssl import SSLCertVerificationError, SSLContext, create_default_context

from application.notifications.ports import Delivery, EmailDestination, Notification, safe_error


def message_id(key: str, domain: str) -> str:
    """The Message-ID of the notification with idempotency key ``key``: stable across retries."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}.tbot@{domain}>"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _code_delivery(code: int, text: str, secrets: tuple[str, ...]) -> Delivery:
    error = safe_error(text, secrets)
    if 500 <= code < 600:
        return Delivery.refused(error)
    return Delivery.transient(error)


def _reply(code: int, message: bytes | str) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return f"{code} {message}"


class EmailChannel:
    """Sends notifications by SMTP. ``ssl``: TLS from the first byte (SMTPS, usually port 465);
    ``starttls``: upgrade a plain connection (usually port 587); neither: plain SMTP. With a
    ``username``, logs in (AUTH) after any TLS. ``ssl_context`` defaults to the system's trusted
    certificates. The password never appears in the repr or in an error."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        ssl: bool = False,
        timeout: float = 10.0,
        ssl_context: SSLContext | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if starttls and ssl:
            raise ValueError("choose ssl (TLS from the start) or starttls (upgrade), not both")
        if username is not None and password is None:
            raise ValueError("a username needs a password")
        address = parseaddr(sender)[1]
        if "@" not in address:
            raise ValueError("sender must be an email address")
        self._host = host
        self._port = port
        self._sender = sender
        self._sender_address = address
        self._domain = address.rsplit("@", 1)[1]
        self._username = username
        self._password = password
        self._starttls = starttls
        self._ssl = ssl
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._clock = clock

    def __repr__(self) -> str:
        return (
            f"EmailChannel(host={self._host!r}, port={self._port}, sender={self._sender!r}, "
            f"username={self._username!r}, starttls={self._starttls}, ssl={self._ssl})"
        )

    def message(self, notification: Notification, destination: EmailDestination) -> EmailMessage:
        """The message ``send`` would send (for tests and previews)."""
        message = EmailMessage()
        message["Subject"] = _one_line(notification.title) or notification.kind
        message["From"] = self._sender
        message["To"] = destination.to
        message["Date"] = format_datetime(self._clock().astimezone(UTC))
        message["Message-ID"] = message_id(notification.key, self._domain)
        message["X-Tbot-Key"] = notification.key
        message["X-Tbot-Kind"] = notification.kind
        message.set_content(notification.text)
        return message

    async def send(self, notification: Notification, destination: EmailDestination) -> Delivery:
        message = self.message(notification, destination)
        return await asyncio.to_thread(self._send_blocking, message, destination.to)

    def _context(self) -> SSLContext:
        return self._ssl_context or create_default_context()

    def _send_blocking(self, message: EmailMessage, to: str) -> Delivery:
        secrets = (self._password,) if self._password else ()
        try:
            smtp: smtplib.SMTP
            if self._ssl:
                smtp = smtplib.SMTP_SSL(
                    self._host, self._port, timeout=self._timeout, context=self._context()
                )
            else:
                smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            with smtp:
                if self._starttls:
                    smtp.starttls(context=self._context())
                if self._username is not None and self._password is not None:
                    smtp.login(self._username, self._password)
                smtp.send_message(message, from_addr=self._sender_address, to_addrs=[to])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (550, b"recipient refused"))
            return _code_delivery(code, f"SMTP recipient refused: {_reply(code, reply)}", secrets)
        except smtplib.SMTPAuthenticationError as exc:
            text = f"SMTP authentication failed: {_reply(exc.smtp_code, exc.smtp_error)}"
            return _code_delivery(exc.smtp_code, text, secrets)
        except smtplib.SMTPResponseException as exc:
            return _code_delivery(exc.smtp_code, f"SMTP {_reply(exc.smtp_code, exc.smtp_error)}", secrets)
        except smtplib.SMTPServerDisconnected as exc:
            return Delivery.transient(safe_error(f"SMTP server disconnected: {exc}", secrets))
        except smtplib.SMTPNotSupportedError as exc:
            return Delivery.refused(safe_error(f"SMTP server does not support it: {exc}", secrets))
        except smtplib.SMTPException as exc:
            return Delivery.refused(safe_error(f"SMTP: {exc}", secrets))
        except SSLCertVerificationError:
            return Delivery.refused("TLS certificate of the SMTP server does not verify")
        except TimeoutError:
            return Delivery.transient(f"SMTP timed out after {self._timeout:g} s")
        except OSError as exc:
            return Delivery.transient(safe_error(f"SMTP connection failed: {type(exc).__name__}: {exc}"))
        return Delivery.ok()
