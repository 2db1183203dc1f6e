"""One reader of the live feed per server process, fanning each new entry out to every subscribed
WebSocket client that may see it, and the mark prices each client asked for. Each subscriber has a
bounded queue: one that falls too far behind is ended as a slow consumer instead of holding memory
for it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import orjson
import structlog

from application.access import Caller
from interfaces.http.feed_prices import NO_PRICES, PriceFilter, PriceMessage, PriceWatch
from projections.engine.feed import FeedSource

log = structlog.get_logger("tbot.feed")
BATCH = 500
WAIT_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Message:
    """One feed entry as the client receives it (rendered once, sent to every subscriber)."""

    position: int
    owner: str
    text: str


def render(entry: dict[str, str]) -> Message:
    position = int(entry["position"])
    head = {
        "type": "event",
        "position": position,
        "event": entry["type"],
        "aggregate_id": entry["aggregate_id"],
        "version": int(entry["version"]),
        "bot_id": entry["bot_id"],
        "owner": entry["owner"],
        "at": entry["at"],
        "actor": entry["actor"],
        "correlation_id": entry["correlation_id"],
    }
    # the payload is already JSON (decimals as strings): splice it in rather than parse it again
    text = orjson.dumps(head)[:-1].decode() + ',"data":' + entry["payload"] + "}"
    return Message(position, entry["owner"], text)


@dataclass(frozen=True, slots=True)
class End:
    """Why a subscription ends: ``slow_consumer``, ``live_unavailable`` or ``server_stopping``."""

    code: str
    message: str


@dataclass(eq=False)
class Subscription:
    caller: Caller
    start: int  # the hub's position when it subscribed: it gets what the hub reads after this
    limit: int
    prices: PriceFilter = NO_PRICES
    queue: asyncio.Queue[Message | PriceMessage | End] = field(default_factory=asyncio.Queue)
    ended: bool = False

    def offer(self, message: Message | PriceMessage) -> None:
        if self.ended:
            return
        if isinstance(message, PriceMessage):
            if not self.prices.wants(message.symbol):
                return
        elif not self.caller.may_read_owner(message.owner):
            return
        if self.queue.qsize() >= self.limit:
            self.end(End("slow_consumer", f"more than {self.limit} messages were waiting for this client"))
            return
        self.queue.put_nowait(message)

    def end(self, why: End) -> None:
        if not self.ended:
            self.ended = True
            self.queue.put_nowait(why)


class FeedHub:
    def __init__(self, source: FeedSource, queue_limit: int, prices: PriceWatch) -> None:
        self.source = source
        self.queue_limit = queue_limit
        self.prices = prices
        self.position = 0
        self.subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._price_task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Starts reading at the live model's position, once (on the first subscription)."""
        async with self._starting:
            if self._task is None:
                self.position = await asyncio.to_thread(self.source.position)
                self._task = asyncio.create_task(self._run(), name="feed-hub")

    async def stop(self) -> None:
        for subscription in list(self.subscribers):
            subscription.end(End("server_stopping", "the server is stopping"))
        tasks = [task for task in (self._task, self._price_task) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def subscribe(self, caller: Caller, prices: PriceFilter = NO_PRICES) -> Subscription:
        """A subscription to what the hub reads from now on; one that asks for prices first gets
        the latest mark of each (the price watch starts with the first such subscription)."""
        subscription = Subscription(caller, start=self.position, limit=self.queue_limit, prices=prices)
        self.subscribers.add(subscription)
        if prices:
            for message in self.prices.snapshot(prices):
                subscription.offer(message)
            if self._price_task is None:
                self._price_task = asyncio.create_task(self.prices.run(self._offer_price), name="feed-prices")
        return subscription

    def _offer_price(self, message: PriceMessage) -> None:
        for subscription in list(self.subscribers):
            subscription.offer(message)

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscribers.discard(subscription)

    async def _run(self) -> None:
        while True:
            try:
                batch = await asyncio.to_thread(self.source.read, self.position, BATCH)
            except Exception as error:  # Redis or the event store out of reach: subscribers resume later
                log.warning("live feed unavailable", error=str(error))
                for subscription in list(self.subscribers):
                    subscription.end(End("live_unavailable", "the live feed is unavailable; resume shortly"))
                await asyncio.sleep(WAIT_SECONDS)
                continue
            for entry in batch.entries:
                message = render(entry)
                for subscription in list(self.subscribers):
                    subscription.offer(message)
            self.position = batch.reached
            if len(batch.entries) < BATCH:
                try:
                    await asyncio.to_thread(self.source.wait, self.position, WAIT_SECONDS)
                except Exception as error:
                    log.warning("live feed wait failed", error=str(error))
                    await asyncio.sleep(WAIT_SECONDS)
