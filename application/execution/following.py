"""Following working orders at their exchange: polling, order streams, and the sweep.

Fills are followed by asking each account for its open orders per symbol and looking up the ones
that left that list; fills are recorded by trade id, so a fill reported twice is recorded once.
Where the exchange pushes order changes (an OrderStream, a WebSocket), each change is acted on as
it comes, the same way. Polling goes on as the safety net: at the usual pace until the stream has
been up for ``stream_grace_seconds`` (so at least one poll follows every (re)connection and covers
what happened while it was down), then only every ``stream_sweep_seconds`` (a stream can lose a
message without breaking)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from application.execution.orders import Follow, WorkingOrders, gateway_of
from application.execution.placing import Placer
from application.execution.recorder import Recorder
from application.execution.reports import Cause
from application.gateway import ExchangeOrder, GatewayDirectory, OrderStream, UnknownAccount
from domain.values import Symbol

log = structlog.get_logger("tbot.execution")


@dataclass
class _Stream:
    """One account's order stream: its task, and since when it has been up (None while broken)."""

    task: asyncio.Task[None] | None = None
    up_since: float | None = None


class Follower:
    """Keeps the run's working orders in line with their exchanges between events."""

    def __init__(
        self, gateways: GatewayDirectory, orders: WorkingOrders, placer: Placer, recorder: Recorder
    ) -> None:
        self.gateways = gateways
        self.orders = orders
        self.placer = placer
        self.recorder = recorder
        self._streams: dict[str, _Stream] = {}
        self._polled: dict[tuple[str, Symbol], float] = {}  # when each group was last polled

    async def poll(self) -> None:
        """Looks up the orders whose outcome is unknown and are due, and brings in what changed for
        the others: one open-orders request per account and symbol, a lookup for each order that
        left the list (for an account whose stream is up, only every ``stream_sweep_seconds``)."""
        now = self.orders.monotonic()
        due = [f for f in self.orders.all() if not f.settled and f.check_at <= now]
        await self.orders.each(due, self._recheck)
        self._watch_accounts()
        groups: dict[tuple[str, Symbol], list[Follow]] = {}
        for follow in self.orders.all():
            key = (follow.order.account, follow.order.symbol)
            if follow.settled and self._poll_due(key, now):
                groups.setdefault(key, []).append(follow)
        await self.orders.each(groups.values(), self._follow_group)

    async def close(self) -> None:
        """Stops watching the order streams."""
        tasks = [stream.task for stream in self._streams.values() if stream.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._streams.clear()

    # polling

    def _poll_due(self, key: tuple[str, Symbol], now: float) -> bool:
        settings = self.orders.settings
        stream = self._streams.get(key[0])
        if stream is None or stream.up_since is None or now - stream.up_since < settings.stream_grace_seconds:
            return True
        return now - self._polled.get(key, float("-inf")) >= settings.stream_sweep_seconds

    async def _recheck(self, follow: Follow) -> None:
        async with follow.lock:  # an order never sent (its submission not recorded) is sent now
            await self.orders.safely(follow, self.placer.place(follow, Cause.following(follow.order)))

    async def _follow_group(self, group: list[Follow]) -> None:
        first = group[0].order
        try:
            listed = await gateway_of(self.gateways, first.account).open_orders(first.symbol)
        except Exception as error:  # an outage, or anything else: the next poll asks again
            log.warning(
                "could not list open orders",
                account=first.account,
                symbol=str(first.symbol),
                error=str(error),
            )
            return
        self._polled[(first.account, first.symbol)] = self.orders.monotonic()
        still_open = {order.client_order_id: order for order in listed}
        for follow in group:
            answer = still_open.get(follow.order.client_order_id)
            if answer is not None and answer.filled <= follow.filled:
                continue
            async with follow.lock:
                cause = Cause.following(follow.order)
                if answer is None:
                    await self.orders.safely(follow, self.placer.resolve(follow, cause))
                else:
                    await self.orders.safely(follow, self.recorder.sync(follow, answer, cause))

    # order streams

    def _watch_accounts(self) -> None:
        """Starts watching each account with working orders whose exchange can push changes."""
        for account in {follow.order.account for follow in self.orders.all()} - self._streams.keys():
            try:
                gateway = self.gateways.gateway(account)
            except UnknownAccount:
                continue
            stream = self._streams[account] = _Stream()
            if isinstance(gateway, OrderStream) and gateway.streams_orders:
                stream.task = asyncio.create_task(
                    self._watch(account, gateway, stream), name=f"watch-{account}"
                )

    async def _watch(self, account: str, gateway: OrderStream, stream: _Stream) -> None:
        while True:
            if stream.up_since is None:
                stream.up_since = self.orders.monotonic()
            try:
                changes = await gateway.watch_orders()
                await self.orders.each(changes, self._on_change)
            except Exception as error:  # a broken stream, or a change that could not be recorded
                stream.up_since = None  # polled at the usual pace until it has been back a while
                log.warning("order stream interrupted; polling meanwhile", account=account, error=str(error))
                await asyncio.sleep(self.orders.settings.retry_seconds)

    async def _on_change(self, change: ExchangeOrder) -> None:
        follow = self.orders.by_client_order_id(change.client_order_id)
        if follow is None:
            return  # not an order of ours, or already ended
        async with follow.lock:
            cause = Cause.following(follow.order)
            if follow.settled:
                await self.orders.safely(follow, self.recorder.sync(follow, change, cause))
            else:
                await self.orders.safely(follow, self.placer.resolve(follow, cause))
