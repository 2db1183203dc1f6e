"""Admission control: past its capacity the API says so at once instead of queueing without end.

Every request that changes something (any method but GET, HEAD and OPTIONS) needs one of
``max_in_flight`` places. One that finds none free waits at most ``queue_seconds`` for one, then
is answered 503 ``overloaded`` with ``Retry-After``, having done nothing. Accepted commands keep
their latency bounded whatever is offered; what is refused is refused in well under the time a
command takes, and is safe to send again (idempotency keys and client order ids make a repeat
harmless). Reads, the live feed and health checks are not held back: they answer whether the
server is healthy and what it has done.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from interfaces.http.errors import error

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_AFTER_SECONDS = 1


class Admission:
    """Plain ASGI middleware bounding the commands in flight in this process."""

    def __init__(self, app: ASGIApp, max_in_flight: int, queue_seconds: float) -> None:
        self.app = app
        self.queue_seconds = queue_seconds
        self._places = asyncio.Semaphore(max_in_flight)
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.queue_seconds):  # no task made per request, as wait_for would
                await self._places.acquire()
        except TimeoutError:
            self.refused += 1
            response = error(
                503,
                "overloaded",
                "the server is at capacity: nothing was done; send it again after Retry-After seconds",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                retry_after=RETRY_AFTER_SECONDS,
            )
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._places.release()
