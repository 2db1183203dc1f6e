"""Webhooks: a signed JSON POST per notification, with httpx.

The body is ``{"id", "kind", "title", "text", "data", "occurred_at"}`` (``id`` is the notification's
idempotency key, ``occurred_at`` RFC 3339 in UTC). Headers: ``Content-Type: application/json``,
``Idempotency-Key: <key>`` (the same on every retry), ``X-Tbot-Timestamp: <unix seconds>`` and
``X-Tbot-Signature: sha256=<hex>``, the HMAC-SHA256, keyed with the destination's secret, of the
bytes ``<timestamp>.<raw body>``. A receiver recomputes it over the raw body it received, compares
in constant time and refuses a timestamp too far from its clock (``verify_signature``;
docs/notifications.md has a receiver to copy). Each attempt is signed anew with its own timestamp.

2xx is delivered. 408, 429 (with its Retry-After), 5xx, time-outs and connection errors are
transient; a redirect (never followed) and every other 4xx are permanent. Only the first KiB of a
response body is read, and at most 200 characters of it end up in the error.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self

import httpx
import orjson

from application.notifications.ports import Delivery, Notification, WebhookDestination, safe_error

SIGNATURE_HEADER = "X-Tbot-Signature"
TIMESTAMP_HEADER = "X-Tbot-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_BODY_READ_LIMIT = 1024
_TRANSIENT_STATUSES = frozenset({408, 429})


def webhook_body(notification: Notification) -> bytes:
    """The JSON body of ``notification``: the exact bytes that are signed and sent."""

    def default(value: object) -> object:
        if isinstance(value, Mapping):
            return dict(value)
        raise TypeError(type(value).__name__)

    return orjson.dumps(
        {
            "id": notification.key,
            "kind": notification.kind,
            "title": notification.title,
            "text": notification.text,
            "data": dict(notification.data),
            "occurred_at": notification.occurred_at.isoformat(),
        },
        default=default,
    )


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Tbot-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: bytes,
    header: str,
    now: float,
    tolerance_seconds: float = 300,
) -> bool:
    """A receiver's check: ``header`` signs ``body`` at ``timestamp`` with ``secret``, and
    ``timestamp`` is within ``tolerance_seconds`` of ``now`` (unix seconds). Constant-time compare."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs(now - stamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, stamp, body).encode(), header.strip().encode())


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - now)


async def _first_bytes(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


class WebhookChannel:
    """Delivers notifications to webhook destinations. One HTTP client for its lifetime: use it as
    ``async with WebhookChannel() as channel:`` or call ``aclose``.

    ``connect_timeout`` bounds connecting, ``total_timeout`` the whole attempt. ``clock`` gives unix
    seconds for the timestamp header (and HTTP-date Retry-After)."""

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        total_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        user_agent: str = "tbot-notifier",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._total_timeout = total_timeout
        self._clock = clock
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(total_timeout, connect=connect_timeout),
            follow_redirects=False,
            headers={"User-Agent": user_agent},
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"WebhookChannel(total_timeout={self._total_timeout:g})"

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
        await self._client.aclose()

    async def send(self, notification: Notification, destination: WebhookDestination) -> Delivery:
        timestamp = int(self._clock())
        body = webhook_body(notification)
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: notification.key,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(destination.secret, timestamp, body),
        }
        secrets = (destination.secret, destination.url)
        try:
            async with (
                asyncio.timeout(self._total_timeout),
                self._client.stream("POST", destination.url, content=body, headers=headers) as response,
            ):
                status = response.status_code
                if 200 <= status < 300:
                    return Delivery.ok()
                snippet = (await _first_bytes(response, _BODY_READ_LIMIT)).decode("utf-8", "replace")
                retry_after = _retry_after(response.headers.get("Retry-After"), self._clock())
                reason = response.reason_phrase
        except (TimeoutError, httpx.TimeoutException):
            return Delivery.transient(f"timed out after {self._total_timeout:g} s")
        except httpx.TransportError as exc:
            return Delivery.transient(safe_error(f"connection failed: {type(exc).__name__}: {exc}", secrets))
        error = safe_error(f"HTTP {status} {reason}: {snippet}".rstrip(": "), secrets)
        if 300 <= status < 400:
            return Delivery.refused(safe_error(f"HTTP {status} {reason}: redirects are not followed"))
        if status in _TRANSIENT_STATUSES or status >= 500:
            return Delivery.transient(error, retry_after)
        return Delivery.refused(error)
