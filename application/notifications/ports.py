"""Notifications as values, the port a delivery channel implements, and retrying a delivery.

A ``Notification`` says what happened (one event, for one channel: ``key`` is the event id plus the
channel, so every retry and every restart sends the same key and a receiver can drop repeats). A
destination says where it goes (a webhook URL and its signing secret, an email address, a Telegram
chat). A ``Channel`` makes one attempt and answers with a ``Delivery``: delivered, or failed with a
short reason that is safe to log and show, and whether trying again could help. ``deliver`` retries
transient failures with capped exponential backoff and jitter (``retry_delay``), honours a
receiver's Retry-After, and stops at once on a permanent failure.

The retry loop is plain code, not tenacity: it retries on results rather than exceptions, the wait
depends on the last result's Retry-After, the jitter must come from an injected ``random.Random``
and the number of attempts goes into the result, so tenacity would need a callback for each of these
and keep nothing but the loop itself.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

from domain.errors import InvalidInput

ERROR_LIMIT = 200
"""The longest ``Delivery.error``, in characters."""

KEY_LIMIT = 200
_KEY = re.compile(rf"[\x21-\x7e]{{1,{KEY_LIMIT}}}")  # printable ASCII, no spaces
_URL_LIMIT = 2048
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_EMAIL = re.compile(r"[^@\s<>(),;:\"\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_CHAT_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")
_CHAT_NUMBER = re.compile(r"-?[0-9]{1,20}")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_SPACES = re.compile(r"\s+")


def notification_key(event_id: object, channel: str) -> str:
    """The idempotency key of the notification of one event on one channel: ``<event id>:<channel>``."""
    return f"{event_id}:{channel}"


def _json_ready(value: object, path: str) -> None:
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput("data", f"{path}: keys must be strings")
            _json_ready(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _json_ready(item, f"{path}[{index}]")
        return
    raise InvalidInput(
        "data",
        f"{path}: {type(value).__name__} is not JSON-ready (use strings for decimals, times and floats)",
    )


@dataclass(frozen=True)
class Notification:
    """One thing to tell a user.

    ``key`` is the idempotency key (``notification_key(event_id, channel)``): printable ASCII without
    spaces, at most 200 characters. ``text`` is plain text. ``data`` holds JSON-ready fields only
    (str, int, bool, None, lists and string-keyed mappings of them: decimals and times already as
    strings; floats are refused, as everywhere at tbot's edges). ``occurred_at`` must be
    timezone-aware and is kept in UTC.
    """

    key: str
    kind: str
    title: str
    text: str
    data: Mapping[str, object] = field(hash=False)  # a read-only copy; not hashable
    occurred_at: datetime

    def __post_init__(self) -> None:
        if not _KEY.fullmatch(self.key):
            raise InvalidInput("key", f"must be 1 to {KEY_LIMIT} printable ASCII characters without spaces")
        if not self.kind or _CONTROL.search(self.kind):
            raise InvalidInput("kind", "must be a non-empty word without spaces")
        if self.occurred_at.utcoffset() is None:
            raise InvalidInput("occurred_at", "must be timezone-aware")
        _json_ready(self.data, "data")
        object.__setattr__(self, "occurred_at", self.occurred_at.astimezone(UTC))
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))


def webhook_url(value: str) -> str:
    """``value`` if it is an absolute http or https URL naming a host; else ``InvalidInput`` on ``url``."""
    if len(value) > _URL_LIMIT:
        raise InvalidInput("url", f"must be at most {_URL_LIMIT} characters")
    if _CONTROL.search(value):
        raise InvalidInput("url", "must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port out of range or not a number
    except ValueError as exc:
        raise InvalidInput("url", "must be a well-formed URL") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput("url", "must be an http:// or https:// URL")
    if not parts.hostname:
        raise InvalidInput("url", "must name a host")
    return value


def email_address(value: str) -> str:
    """``value`` if it is a plain address ``name@domain``; else ``InvalidInput`` on ``to``."""
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise InvalidInput("to", "must be an email address such as name@example.com")
    return value


def telegram_chat_id(value: int | str) -> int | str:
    """A chat id (a non-zero integer, or one written as digits) or a public ``@channelusername``."""
    if isinstance(value, bool):
        raise InvalidInput("chat_id", "must be a chat id or an @username")
    if isinstance(value, int):
        if value == 0:
            raise InvalidInput("chat_id", "must not be 0")
        return value
    if _CHAT_NUMBER.fullmatch(value):
        return telegram_chat_id(int(value))
    if _CHAT_USERNAME.fullmatch(value):
        return value
    raise InvalidInput("chat_id", "must be a chat id or an @username (5 to 32 letters, digits or _)")


def _host_only(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


@dataclass(frozen=True, repr=False)
class WebhookDestination:
    """POST to ``url``, signed with ``secret`` (HMAC-SHA256, docs/notifications.md).

    The repr shows neither the secret nor the URL's path and query (which often carry a token)."""

    url: str
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        webhook_url(self.url)
        if not self.secret:
            raise InvalidInput("secret", "must not be empty")

    def __repr__(self) -> str:
        return f"WebhookDestination(url={_host_only(self.url)!r})"


@dataclass(frozen=True)
class EmailDestination:
    to: str

    def __post_init__(self) -> None:
        email_address(self.to)


@dataclass(frozen=True)
class TelegramDestination:
    """A Telegram chat: a user's or group's numeric id, or a public channel's ``@username``."""

    chat_id: int | str

    def __post_init__(self) -> None:
        object.__setattr__(self, "chat_id", telegram_chat_id(self.chat_id))


Destination = WebhookDestination | EmailDestination | TelegramDestination


def safe_error(text: str, secrets: Iterable[str] = (), limit: int = ERROR_LIMIT) -> str:
    """``text`` made fit for ``Delivery.error``: every secret and every URL masked, whitespace and
    control characters folded into single spaces, at most ``limit`` characters."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<secret>")
    text = _URL_IN_TEXT.sub("<url>", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text or "failed"


@dataclass(frozen=True)
class Delivery:
    """The outcome of delivering one notification.

    ``attempts``: how many attempts were made (a channel's ``send`` answers 1; ``deliver`` counts).
    ``error``: None when delivered, else a short reason safe to log and show (no secret, no URL, at
    most 200 characters). ``permanent``: retrying cannot help (a 4xx other than 408 and 429, an
    address refused, a Telegram chat not found or a bot blocked). ``retry_after_seconds``: how long
    the receiver asked us to wait (HTTP Retry-After, Telegram's flood control), if it said.
    """

    delivered: bool
    attempts: int
    error: str | None
    permanent: bool = False
    retry_after_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.attempts < 0:
            raise ValueError("attempts must not be negative")
        if self.delivered and (self.error is not None or self.permanent):
            raise ValueError("a delivered notification has no error and is not a permanent failure")
        if not self.delivered and self.error is None:
            raise ValueError("a failed delivery says why")
        if self.error is not None and len(self.error) > ERROR_LIMIT:
            object.__setattr__(self, "error", safe_error(self.error))

    @classmethod
    def ok(cls) -> Delivery:
        return cls(delivered=True, attempts=1, error=None)

    @classmethod
    def transient(cls, error: str, retry_after_seconds: float | None = None) -> Delivery:
        return cls(False, 1, error, permanent=False, retry_after_seconds=retry_after_seconds)

    @classmethod
    def refused(cls, error: str) -> Delivery:
        """A permanent failure: trying again cannot help."""
        return cls(False, 1, error, permanent=True)


D_contra = TypeVar("D_contra", contravariant=True)


class Channel(Protocol[D_contra]):
    """One delivery channel (webhook, email, Telegram) for destinations of type ``D``."""

    async def send(self, notification: Notification, destination: D_contra) -> Delivery:
        """One attempt. Every failure the channel can foresee (refusals, time-outs, connection
        errors) comes back as a failed ``Delivery``, never as an exception."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in all (the first included); the wait before attempt n >= 2 is
    ``first_delay_seconds * 2 ** (n - 2)``, capped at ``max_delay_seconds``, then shortened by up to
    ``jitter`` of itself at random (so it never exceeds the cap)."""

    attempts: int = 5
    first_delay_seconds: float = 1.0
    max_delay_seconds: float = 60.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise InvalidInput("attempts", "must be at least 1")
        if not 0 <= self.first_delay_seconds <= self.max_delay_seconds or not math.isfinite(
            self.max_delay_seconds
        ):
            raise InvalidInput("first_delay_seconds", "must be between 0 and max_delay_seconds (finite)")
        if not 0 <= self.jitter <= 1:
            raise InvalidInput("jitter", "must be between 0 and 1")


def retry_delay(
    policy: RetryPolicy, attempt: int, rng: random.Random, retry_after: float | None = None
) -> float:
    """Seconds to wait before attempt ``attempt`` (1-based; 0 before the first). A ``retry_after``
    the receiver asked for is honoured when it is longer than the backoff, bounded by the cap."""
    if attempt <= 1:
        return 0.0
    exponent = min(attempt - 2, 1000)  # keeps 2.0 ** exponent a finite float (2.0**1024 overflows)
    delay = min(policy.max_delay_seconds, policy.first_delay_seconds * 2.0**exponent)
    delay *= 1.0 - policy.jitter * rng.random()
    if retry_after is not None and math.isfinite(retry_after):
        delay = max(delay, min(retry_after, policy.max_delay_seconds))
    return delay


Sleep = Callable[[float], Awaitable[object]]
D = TypeVar("D")


async def deliver(
    channel: Channel[D],
    notification: Notification,
    destination: D,
    policy: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
) -> Delivery:
    """Send until delivered, refused for good, or out of attempts; the result counts the attempts.

    ``sleep`` (``asyncio.sleep`` unless a test injects its own) waits ``retry_delay`` between attempts."""
    policy = policy or RetryPolicy()
    rng = rng or random.Random()
    result: Delivery | None = None
    for attempt in range(1, policy.attempts + 1):
        if result is not None:
            await sleep(retry_delay(policy, attempt, rng, result.retry_after_seconds))
        result = await channel.send(notification, destination)
        if result.delivered or result.permanent:
            return replace(result, attempts=attempt)
    assert result is not None  # attempts >= 1
    return replace(result, attempts=policy.attempts)
