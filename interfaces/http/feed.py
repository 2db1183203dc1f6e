"""``GET /v1/feed``: the caller's events over a WebSocket, in global position order.

``after=N`` resumes: first what the caller may see after N (from the live stream, or the event
store for what the stream no longer holds), then live entries, with no gap and no repeat at the
seam; without ``after`` the feed starts at the event store's head when the client connects.
``prices=BTC/USDT,ETH/USDT`` (or ``*``) adds mark prices once the feed is live (feed_prices.py).
Messages are JSON: ``subscribed`` once, then ``event``s, ``price``s if asked for, a
``heartbeat`` when no event was sent for a while (its ``position`` is a safe place to resume
from), and an ``error`` before the server ends a subscription (``slow_consumer``,
``live_unavailable``, ``server_stopping``) naming the position to resume after.

The credential comes in the handshake's headers (``X-API-Key`` or ``Authorization: Bearer``) or,
for browsers, which cannot set those on a WebSocket, as a subprotocol (feed_auth.py), so it never
appears in a URL or an access log."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import structlog
from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from application.access import Caller
from domain.errors import InvalidInput
from infrastructure.metrics import metrics
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.http.deps import identify
from interfaces.http.errors import RateLimited, error
from interfaces.http.feed_auth import FeedCredential, offered_credential
from interfaces.http.feed_hub import BATCH, WAIT_SECONDS, Beat, End, FeedHub, Subscription, render
from interfaces.http.feed_prices import PriceFilter, PriceMessage, parse_price_filter

log = structlog.get_logger("tbot.feed")
router = APIRouter(tags=["live feed"])
GRACE_SENDS = 10  # a slow consumer gets this many send timeouts to read what was sent before its end
_CLOSE_CODES = {"slow_consumer": 1008, "live_unavailable": 1013, "server_stopping": 1001}


class SlowConsumer(Exception):
    pass


@router.websocket("/v1/feed")
async def feed(websocket: WebSocket) -> None:
    box = websocket.app.state.container
    credential = offered_credential(websocket)
    caller = await _admit(websocket, box, credential)
    if caller is None:
        return
    after = await _after(websocket, box)
    if after is False:
        return
    prices = await _prices(websocket)
    if prices is None:
        return
    hub: FeedHub = websocket.app.state.feed_hub
    await hub.start()
    await websocket.accept(subprotocol=credential.subprotocol)
    connection = _Connection(websocket, hub, caller, prices, box.settings(), box.clock().now)
    # without ``after``: from now, the event store's head (the live model may not be there yet)
    cursor = await asyncio.to_thread(box.reader().head) if after is None else after
    serving = asyncio.create_task(connection.serve(cursor))
    watching = asyncio.create_task(_until_disconnected(websocket))
    try:
        done, _ = await asyncio.wait({serving, watching}, return_when=asyncio.FIRST_COMPLETED)
        if serving not in done:  # the client went away (the server ending it counts why in ``_end``)
            metrics().feed_disconnects.labels("client_closed").inc()
    finally:
        for task in (serving, watching):
            task.cancel()
        await asyncio.gather(serving, watching, return_exceptions=True)
        connection.close()


async def _admit(websocket: WebSocket, box: Container, offered: FeedCredential) -> Caller | None:
    """The caller, from ``X-API-Key`` or ``Authorization: Bearer`` on the handshake, or else from
    the credential offered as a subprotocol; otherwise the handshake is refused with the same 401
    or 429 the HTTP API gives."""
    api_key = websocket.headers.get("x-api-key") or None
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    if api_key is None and bearer is None:
        api_key, bearer = offered.api_key, offered.bearer
    try:
        return await asyncio.to_thread(identify, box, bearer, api_key)
    except HTTPException as refused:
        await websocket.send_denial_response(
            error(refused.status_code, "unauthorized", str(refused.detail), headers=refused.headers)
        )
    except RateLimited as limited:
        await websocket.send_denial_response(
            error(429, "rate_limited", str(limited), headers={"Retry-After": str(limited.retry_after)})
        )
    return None


async def _after(websocket: WebSocket, box: Container) -> int | bool | None:
    """The resume position asked for (None: from now on), or False once the handshake is refused
    with a 422 naming the field and the rule."""
    text = websocket.query_params.get("after")
    if text is None:
        return None
    head = await asyncio.to_thread(box.store().last_position)
    rule = None
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        rule = "must be a whole number, 0 or more"
    elif int(text) > head:
        rule = f"must not be beyond the last event's position ({head})"
    if rule is None:
        return int(text)
    await _refuse(websocket, InvalidInput("query.after", rule))
    return False


async def _prices(websocket: WebSocket) -> PriceFilter | None:
    """The mark prices asked for, or None once the handshake is refused with a 422."""
    try:
        return parse_price_filter(websocket.query_params.get("prices"))
    except InvalidInput as invalid:
        await _refuse(websocket, invalid)
        return None


async def _refuse(websocket: WebSocket, invalid: InvalidInput) -> None:
    problem = {"field": invalid.field, "rule": invalid.rule, "type": "value_error"}
    await websocket.send_denial_response(
        error(422, "invalid_request", "the request breaks the rules below", problems=[problem])
    )


async def _until_disconnected(websocket: WebSocket) -> None:
    """Reads (and ignores) what the client sends, until it goes away."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


class _Connection:
    def __init__(
        self,
        websocket: WebSocket,
        hub: FeedHub,
        caller: Caller,
        prices: PriceFilter,
        settings: Settings,
        now: Callable[[], datetime],
    ) -> None:
        self.websocket = websocket
        self.hub = hub
        self.caller = caller
        self.prices = prices
        self.send_timeout: float = settings.feed.send_timeout_seconds
        self.now = now
        self.subscription: Subscription | None = None
        self.sent = 0  # the position of the last event sent, or the point the client is known to be at

    async def serve(self, after: int) -> None:
        self.sent = after
        await self._send({"type": "subscribed", "after": after, "position": self.hub.position})
        try:
            # catch up without holding a queue while far behind; then subscribe, close the gap
            # to the hub's position at that moment, and continue from the queue
            while self.hub.position - self.sent > BATCH:
                await self._catch_up(self.hub.position)
            self.subscription = self.hub.subscribe(self.caller, self.prices)
            await self._catch_up(self.subscription.start)
            await self._follow(self.subscription)
        except asyncio.CancelledError:
            if self.subscription is None or not self.subscription.stalled:
                raise
            # the hub's watchdog stopped a send that took too long: not a cancellation of the task
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            await self._end(End("slow_consumer", f"a message took more than {self.send_timeout}s to send"))
        except SlowConsumer:
            await self._end(End("slow_consumer", f"a message took more than {self.send_timeout}s to send"))
        except WebSocketDisconnect:
            metrics().feed_disconnects.labels("client_closed").inc()
            return
        except Exception as failed:  # the live model or the event store out of reach
            log.warning("live feed subscription failed", error=str(failed), user_id=self.caller.user_id)
            await self._end(End("live_unavailable", "the live feed is unavailable; resume shortly"))

    async def _catch_up(self, until: int) -> None:
        while self.sent < until:
            batch = await asyncio.to_thread(self.hub.source.read, self.sent, BATCH)
            for entry in batch.entries:
                if int(entry["position"]) > until:
                    break
                if self.caller.may_read_owner(entry["owner"]):
                    await self._send_text(render(entry).text)
            reached = min(batch.reached, until)
            if reached == self.sent:  # the live model is behind the asked position: wait for it
                await asyncio.to_thread(self.hub.source.wait, self.sent, WAIT_SECONDS)
            self.sent = reached

    async def _follow(self, subscription: Subscription) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await subscription.queue.get()
            if isinstance(item, End):
                await self._end(item)
                return
            if isinstance(item, Beat):
                # everything the hub had read, that this client may see, was sent before this
                subscription.beat_queued = False
                self.sent = max(self.sent, item.position)
                await self._send({"type": "heartbeat", "position": self.sent, "at": self.now().isoformat()})
                subscription.quiet_since = loop.time()
            elif isinstance(item, PriceMessage):  # prices do not put the heartbeat off
                await self._send_text(item.text)
            elif item.position > self.sent:
                await self._send_text(item.text)
                self.sent = item.position
                subscription.quiet_since = loop.time()

    async def _end(self, why: End) -> None:
        """Tells the client why and where to resume, then closes. A slow consumer's socket may be
        full: it hears this once it has read what is already on its way, within a grace period."""
        self.close()
        metrics().feed_disconnects.labels(why.code).inc()
        grace = self.send_timeout * (GRACE_SENDS if why.code == "slow_consumer" else 1)
        message = {"type": "error", "code": why.code, "message": why.message, "resume_after": self.sent}
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.websocket.send_text(orjson.dumps(message).decode()), grace)
            await asyncio.wait_for(
                self.websocket.close(_CLOSE_CODES[why.code], why.code.replace("_", " ")), grace
            )

    async def _send(self, body: dict[str, Any]) -> None:
        await self._send_text(orjson.dumps(body).decode())

    async def _send_text(self, text: str) -> None:
        """Sends one message. While following the hub, the hub's watchdog stops a send that takes
        longer than the send timeout; before that (catching up) a timeout of its own does."""
        if self.websocket.application_state is not WebSocketState.CONNECTED:
            raise WebSocketDisconnect(1000)
        watched = self.subscription
        if watched is None:
            try:
                async with asyncio.timeout(self.send_timeout):
                    await self.websocket.send_text(text)
            except TimeoutError as slow:
                raise SlowConsumer from slow
            return
        watched.sending_since = asyncio.get_running_loop().time()
        try:
            await self.websocket.send_text(text)
        finally:
            watched.sending_since = None

    def close(self) -> None:
        """Leaves the hub (the subscription's queue is dropped with it)."""
        if self.subscription is not None:
            self.hub.unsubscribe(self.subscription)
            self.subscription = None
