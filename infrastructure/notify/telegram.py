"""Telegram: one message per notification through python-telegram-bot's ``telegram.Bot``.

The message is HTML (``parse_mode="HTML"``): the title in bold, a line break, then the text, both
escaped with ``html.escape`` so nothing in them is read as markup; cut with "…" to Telegram's 4096
characters. ``api_url`` points the Bot at the Bot API (``https://api.telegram.org``, or a local fake
in tests).

Transient: flood control (``RetryAfter``, with its delay), ``TimedOut``, ``NetworkError`` (Telegram's
5xx included) and any other Telegram error. Permanent: ``Forbidden`` (the bot was blocked, kicked, or
the user is gone), every ``BadRequest`` ("chat not found", a message Telegram cannot take),
``ChatMigrated`` (a group became a supergroup: the error gives its new id) and ``InvalidToken``.

The bot token is a secret, and python-telegram-bot puts it in every request URL (and in some of its
messages): errors are our own words plus Telegram's description with every URL and the token masked;
``repr`` never shows it; while the channel is open a logging filter masks it on the ``httpx`` and
``telegram.Bot`` loggers. The Bot is never ``initialize``d (that would call getMe, whose failure
message quotes the token): the channel owns the HTTP client the Bot uses and closes it in ``aclose``.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from datetime import timedelta
from html import escape
from types import TracebackType
from typing import Self

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from application.notifications.ports import Delivery, Notification, TelegramDestination, safe_error

MESSAGE_LIMIT = 4096
"""Telegram's longest message, in UTF-16 code units of the text after its markup is read."""

_REDACTED_LOGGERS = ("httpx", "telegram.Bot")


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, budget: int) -> str:
    """``text`` within ``budget`` UTF-16 units, ending in "…" when it had to be cut."""
    if _units(text) <= budget:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget - 1:
            break
        kept.append(char)
    return "".join(kept) + "…" if budget > 0 else ""


def telegram_text(notification: Notification) -> str:
    """The HTML message for ``notification``: ``<b>title</b>`` and the text, escaped, within 4096."""
    title = _cut(" ".join(notification.title.split()) or notification.kind, 256)
    body = _cut(notification.text, MESSAGE_LIMIT - _units(title) - 1)
    return f"<b>{escape(title, quote=False)}</b>\n{escape(body, quote=False)}".rstrip("\n")


class RedactToken(logging.Filter):
    """Masks a bot token in log records: the message, and the traceback of one logged with an
    exception (python-telegram-bot puts the token in the URLs it logs and raises about)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._token in message:
            record.msg = message.replace(self._token, "<token>")
            record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = text.replace(self._token, "<token>")
        return True


def _seconds(value: object) -> float | None:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    return None


class TelegramChannel:
    """Sends notifications as a Telegram bot. Use ``async with TelegramChannel(token) as channel:``
    or call ``aclose``. ``connect_timeout`` bounds connecting, ``total_timeout`` a whole attempt."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str = "https://api.telegram.org",
        connect_timeout: float = 5.0,
        total_timeout: float = 10.0,
    ) -> None:
        if not token:
            raise ValueError("a Telegram bot token is required")
        self._token = token
        self._api_url = api_url.rstrip("/")
        self._total_timeout = total_timeout
        self._redact = RedactToken(token)
        for name in _REDACTED_LOGGERS:
            logging.getLogger(name).addFilter(self._redact)
        self._request = HTTPXRequest(
            connection_pool_size=8,
            connect_timeout=connect_timeout,
            read_timeout=total_timeout,
            write_timeout=total_timeout,
            pool_timeout=total_timeout,
        )
        self._bot = Bot(
            token,
            base_url=f"{self._api_url}/bot",
            base_file_url=f"{self._api_url}/file/bot",
            request=self._request,
            get_updates_request=self._request,
        )

    def __repr__(self) -> str:
        return f"TelegramChannel(api_url={self._api_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._request.shutdown()
        for name in _REDACTED_LOGGERS:
            logging.getLogger(name).removeFilter(self._redact)

    def _error(self, text: str) -> str:
        return safe_error(text, (self._token,))

    async def send(self, notification: Notification, destination: TelegramDestination) -> Delivery:
        try:
            async with asyncio.timeout(self._total_timeout):
                await self._bot.send_message(
                    chat_id=destination.chat_id,
                    text=telegram_text(notification),
                    parse_mode=ParseMode.HTML,
                )
        except RetryAfter as exc:
            with warnings.catch_warnings():  # PTB 22 warns that retry_after will become a timedelta
                warnings.simplefilter("ignore")
                delay = _seconds(exc.retry_after)
            waited = f"retry after {delay:g} s" if delay is not None else "retry later"
            return Delivery.transient(f"Telegram flood control: {waited}", delay)
        except ChatMigrated as exc:
            return Delivery.refused(
                self._error(f"Telegram: the group is now a supergroup with chat id {exc.new_chat_id}")
            )
        except Forbidden as exc:
            return Delivery.refused(self._error(f"Telegram refused: {exc.message}"))
        except InvalidToken:
            return Delivery.refused("Telegram rejected the bot token")
        except BadRequest as exc:
            return Delivery.refused(self._error(f"Telegram bad request: {exc.message}"))
        except (TimedOut, TimeoutError):
            return Delivery.transient(f"Telegram timed out after {self._total_timeout:g} s")
        except NetworkError as exc:
            return Delivery.transient(self._error(f"Telegram network error: {exc.message}"))
        except TelegramError as exc:
            return Delivery.transient(self._error(f"Telegram: {type(exc).__name__}: {exc.message}"))
        return Delivery.ok()
