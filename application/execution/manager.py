"""The manager: reads new events, takes placed orders on, reconciles at start-up, and composes
placing, recording and following over the per-order state of the run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from uuid import UUID

import structlog

from application.bus import CommandBus
from application.execution.following import Follower
from application.execution.orders import Follow, WorkingOrders
from application.execution.placing import Placer
from application.execution.recorder import Recorder
from application.execution.reports import Cause
from application.execution.settings import ExecutionSettings
from application.execution.state import EventSource, ExecutionState, StoredEvent, WorkingOrder
from application.gateway import GatewayDirectory
from application.ports import Clock
from application.store import TradingApplication
from domain.aggregate import TradingAggregate
from domain.bot import Bot
from domain.ids import OrderId, exchange_client_order_id
from domain.order import Order
from domain.order_states import OrderStatus

log = structlog.get_logger("tbot.execution")


class ExecutionManager:
    """One run of execution: ``start`` reconciles, then ``step`` acts on new events and ``poll``
    follows the working orders, until ``close``."""

    def __init__(
        self,
        *,
        bus: CommandBus,
        store: TradingApplication,
        gateways: GatewayDirectory,
        state: ExecutionState,
        events: EventSource,
        clock: Clock,
        settings: ExecutionSettings | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.state = state
        self.events = events
        self.clock = clock
        self.settings = settings or ExecutionSettings()
        self.position = 0
        self._orders = WorkingOrders(self.settings, monotonic)
        self._recorder = Recorder(bus, store, gateways, self._orders)
        self._placer = Placer(gateways, self._orders, self._recorder, clock)
        self._follower = Follower(gateways, self._orders, self._placer, self._recorder)

    @property
    def bus(self) -> CommandBus:
        """Where the manager's reports go (replaceable, for tests that make it fail)."""
        return self._recorder.bus

    @bus.setter
    def bus(self, bus: CommandBus) -> None:
        self._recorder.bus = bus

    @property
    def working(self) -> list[WorkingOrder]:
        return [follow.order for follow in self._orders.all()]

    async def start(self) -> int:
        """Loads the tracking position and the working orders, and reconciles each of them with its
        exchange; returns how many it reconciled. Nothing new is sent before this returns."""
        self.position, working = await asyncio.to_thread(self.state.load)
        self._orders.reset(working)
        cause = Cause.reconciliation(f"reconcile-{self.clock.now():%Y%m%dT%H%M%S.%f}")
        await self._orders.each(
            self._orders.all(),
            lambda follow: self._orders.safely(follow, self._placer.resolve(follow, cause)),
        )
        gone = [order.order_id for order in working if order.order_id not in self._orders]
        await asyncio.to_thread(self.state.save, self.position, [], gone)
        log.info("reconciled", orders=len(working), ended=len(gone), position=self.position)
        return len(working)

    async def step(self) -> int:
        """Acts on the next batch of events; returns how many it read."""
        batch = await asyncio.to_thread(self.events.read, self.position, self.settings.batch_size)
        if not batch:
            return 0
        by_order: dict[UUID, list[StoredEvent]] = {}
        ended: list[UUID] = []
        for stored in batch:
            event = stored.event
            if isinstance(event, (Order.Placed, Order.CancelRequested)):
                by_order.setdefault(event.originator_id, []).append(stored)
            status = getattr(event, "status", None)
            if isinstance(event, Order.Event) and isinstance(status, OrderStatus) and status.is_terminal:
                ended.append(event.originator_id)
        taken_on = [await self._take_on(s.event) for s in batch if isinstance(s.event, Order.Placed)]
        if taken_on:  # saved before acting, so a restart reconciles them whatever happens next
            await asyncio.to_thread(self.state.save, self.position, [f.order for f in taken_on], [])
        await self._orders.each(by_order.values(), self._act_on)
        for order_id in ended:
            self._orders.drop(order_id)
        self.position = batch[-1].position
        await asyncio.to_thread(self.state.save, self.position, [], ended)
        return len(batch)

    async def poll(self) -> None:
        """Follows the working orders at their exchanges (see Follower.poll)."""
        await self._follower.poll()

    async def close(self) -> None:
        """Stops watching the order streams."""
        await self._follower.close()

    async def _take_on(self, event: Order.Placed) -> Follow:
        bot = await asyncio.to_thread(self.store.load, Bot, event.bot_id)
        order = WorkingOrder(
            event.originator_id,
            bot.exchange_account,
            event.request.symbol,
            exchange_client_order_id(OrderId(event.originator_id)),
            event.meta.correlation_id,
        )
        return self._orders.take_on(order)

    async def _act_on(self, events: list[StoredEvent]) -> None:
        for stored in events:
            event = stored.event
            follow = self._orders.get(event.originator_id)
            if follow is None:
                continue  # not one of ours, or already ended
            async with follow.lock:
                if not await self._orders.safely(follow, self._act_on_one(follow, event, Cause.event(event))):
                    return  # what is left of the order's events is done by its lookup

    async def _act_on_one(self, follow: Follow, event: TradingAggregate.Event, cause: Cause) -> None:
        if isinstance(event, Order.Placed):
            await self._placer.place(follow, cause)
            return
        order = await self._recorder.order(follow)
        if order is not None and order.status is OrderStatus.PENDING_CANCEL:
            await self._placer.cancel(follow, order, cause)
