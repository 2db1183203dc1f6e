"""An SMTP server for tests: aiosmtpd on 127.0.0.1 and a free port, in its own thread, recording
every message it accepts.

    with SmtpServer(username="alerts", password="pw") as smtp:   # AUTH required (over plain text)
        smtp.reject("RCPT", 451, times=1)                        # the next RCPT TO gets a 451
        smtp.reject("DATA", 550)                                 # the next DATA gets a 550
        ... send to smtp.host, smtp.port ...
        smtp.messages[0].message["Subject"]

``tls_context`` offers STARTTLS with that certificate; ``implicit_tls`` speaks TLS from the first
byte (SMTPS) instead.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Stage = Literal["RCPT", "DATA"]


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    login: str | None
    """The user the client logged in as, if it did."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self._server._credentials is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self._server._refusal("RCPT")
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self._server._refusal("DATA")
        if refusal is not None:
            return refusal
        raw = envelope.original_content or b""
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self._server._record(
            ReceivedMail(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                raw=raw,
                message=message_from_bytes(raw, policy=policy.default),
                login=login,
            )
        )
        return "250 Message accepted for delivery"


class SmtpServer:
    """A recording SMTP server; see the module docstring."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
    ) -> None:
        self.port = _free_port()
        self._lock = threading.Lock()
        self._messages: list[ReceivedMail] = []
        self._refusals: dict[Stage, deque[str]] = {"RCPT": deque(), "DATA": deque()}
        self._credentials = (username, password) if username is not None else None
        self.failed_logins = 0
        options: dict[str, Any] = {}
        if self._credentials is not None:
            # AUTH only after STARTTLS when STARTTLS is offered, as real servers do; else at once.
            # (MAIL FROM before AUTH gets 530 from the handler: aiosmtpd's own auth_required warns on
            # every connection when AUTH may go over plain text.)
            starttls = tls_context is not None and not implicit_tls
            options.update(authenticator=self._authenticate, auth_require_tls=starttls)
        if implicit_tls:
            options["ssl_context"] = tls_context
        elif tls_context is not None:
            options["tls_context"] = tls_context
        self._controller = Controller(
            _Handler(self), hostname=self.host, port=self.port, server_hostname="localhost", **options
        )

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._controller.stop()

    def reject(self, stage: Stage, code: int, text: str | None = None, times: int = 1) -> None:
        """Answer the next ``times`` RCPT TO (or DATA) commands with ``code`` and ``text``."""
        reply = f"{code} {text or ('4.3.0 try again later' if code < 500 else '5.1.1 mailbox unavailable')}"
        with self._lock:
            self._refusals[stage].extend([reply] * times)

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._messages)

    def _refusal(self, stage: Stage) -> str | None:
        with self._lock:
            queue = self._refusals[stage]
            return queue.popleft() if queue else None

    def _record(self, mail: ReceivedMail) -> None:
        with self._lock:
            self._messages.append(mail)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        if (
            self._credentials is not None
            and isinstance(auth_data, LoginPassword)
            and (auth_data.login.decode(), auth_data.password.decode()) == self._credentials
        ):
            return AuthResult(success=True, auth_data=auth_data)
        with self._lock:
            self.failed_logins += 1
        return AuthResult(success=False, handled=False)
