"""One reader of the live feed per server process, fanning each new entry out to every subscribed
WebSocket client that may see it, and the mark prices each client asked for. Subscribers are kept
by the one owner whose bots they may see (or as readers of everything), so an event costs work only
for the clients it goes to, not for every client connected. Each subscriber has a bounded queue:
one that falls too far behind is ended as a slow consumer instead of holding memory for it.

One watchdog per hub, not a timer per message, keeps the subscribers' clocks: every tick it queues
a heartbeat for each client that was sent no event for a while, and stops the send of any client
that has not taken a message within the send timeout. (A timer armed and cancelled around every
send was most of a busy server's time with ten thousand subscribers.)"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog

from application.access import Caller
from infrastructure.metrics import metrics
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


@dataclass(frozen=True, slots=True)
class Beat:
    """Time for a heartbeat. Everything up to ``position`` that the client may see is ahead of it
    in the client's queue, so once it is sent the client may resume from there."""

    position: int


@dataclass(frozen=True, slots=True)
class Clocks:
    """How long a client may go without an event before it hears a heartbeat, and may take to
    accept one message before it is ended as a slow consumer."""

    heartbeat_seconds: float
    send_timeout_seconds: float

    @property
    def tick(self) -> float:
        """How often the watchdog looks: a small part of either, at most a second."""
        return min(1.0, self.heartbeat_seconds / 4, self.send_timeout_seconds / 4)


Queued = Message | PriceMessage | Beat | End


@dataclass(eq=False)
class Subscription:
    caller: Caller
    start: int  # the hub's position when it subscribed: it gets what the hub reads after this
    limit: int
    prices: PriceFilter = NO_PRICES
    queue: asyncio.Queue[Queued] = field(default_factory=asyncio.Queue)
    ended: bool = False
    sender: asyncio.Task[Any] | None = None  # the task sending to this client
    quiet_since: float = 0.0  # loop time of the last event or heartbeat sent
    sending_since: float | None = None  # loop time the send under way began
    beat_queued: bool = False
    stalled: bool = False  # its send took too long and was stopped

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

    def watch(self, now: float, position: int, clocks: Clocks) -> None:
        """The watchdog's look at this client: stops a send that took too long (the sender hears
        it as a cancellation, with ``stalled`` set), or queues a heartbeat when due."""
        if self.ended or self.stalled:
            return
        if self.sending_since is not None and now - self.sending_since > clocks.send_timeout_seconds:
            self.stalled = True
            if self.sender is not None:
                self.sender.cancel()
        elif not self.beat_queued and now - self.quiet_since >= clocks.heartbeat_seconds:
            self.beat_queued = True
            self.queue.put_nowait(Beat(position))


class FeedHub:
    def __init__(self, source: FeedSource, queue_limit: int, prices: PriceWatch, clocks: Clocks) -> None:
        self.source = source
        self.queue_limit = queue_limit
        self.prices = prices
        self.clocks = clocks
        self.position = 0
        self.subscribers: set[Subscription] = set()
        # by the one owner each may see; None for auditors and admins, who see every owner
        self._by_owner: dict[str | None, set[Subscription]] = {}
        self._with_prices: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._price_task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Starts reading at the live model's position, once (on the first subscription)."""
        async with self._starting:
            if self._task is None:
                self.position = await asyncio.to_thread(self.source.position)
                self._task = asyncio.create_task(self._run(), name="feed-hub")
                self._watch_task = asyncio.create_task(self._watch(), name="feed-watchdog")

    async def stop(self) -> None:
        for subscription in list(self.subscribers):
            subscription.end(End("server_stopping", "the server is stopping"))
        tasks = [task for task in (self._task, self._watch_task, self._price_task) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def subscribe(self, caller: Caller, prices: PriceFilter = NO_PRICES) -> Subscription:
        """A subscription to what the hub reads from now on, sent to by the task that subscribes;
        one that asks for prices first gets the latest mark of each (the price watch starts with
        the first such subscription)."""
        subscription = Subscription(
            caller,
            start=self.position,
            limit=self.queue_limit,
            prices=prices,
            sender=asyncio.current_task(),
            quiet_since=asyncio.get_running_loop().time(),
        )
        self.subscribers.add(subscription)
        metrics().feed_subscribers.inc()
        self._by_owner.setdefault(caller.only_owner, set()).add(subscription)
        if prices:
            self._with_prices.add(subscription)
            for message in self.prices.snapshot(prices):
                subscription.offer(message)
            if self._price_task is None:
                self._price_task = asyncio.create_task(self.prices.run(self._offer_price), name="feed-prices")
        return subscription

    def _offer_price(self, message: PriceMessage) -> None:
        for subscription in list(self._with_prices):
            subscription.offer(message)

    def publish(self, message: Message) -> None:
        """Offers an event to the subscribers who may see its owner's bots, and no one else."""
        for owner in (message.owner, None):
            for subscription in list(self._by_owner.get(owner, ())):
                subscription.offer(message)

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self.subscribers:
            self.subscribers.discard(subscription)
            metrics().feed_subscribers.dec()
        self._with_prices.discard(subscription)
        owner = subscription.caller.only_owner
        same_owner = self._by_owner.get(owner)
        if same_owner is not None:
            same_owner.discard(subscription)
            if not same_owner:
                del self._by_owner[owner]

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.clocks.tick)
            now = loop.time()
            for subscription in list(self.subscribers):
                subscription.watch(now, self.position, self.clocks)

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
                self.publish(render(entry))
            self.position = batch.reached
            if len(batch.entries) < BATCH:
                try:
                    await asyncio.to_thread(self.source.wait, self.position, WAIT_SECONDS)
                except Exception as error:
                    log.warning("live feed wait failed", error=str(error))
                    await asyncio.sleep(WAIT_SECONDS)
