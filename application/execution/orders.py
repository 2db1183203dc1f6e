"""What the manager knows of each working order during a run, and how work on an order is run:
a bounded number at a time, under the order's lock where it changes the order, and never ending
the batch, the poll or the worker when it fails (the order is looked up again shortly instead)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

import structlog

from application.execution.settings import ExecutionSettings
from application.execution.state import WorkingOrder
from application.gateway import (
    ExchangeGateway,
    ExchangeStatus,
    ExchangeUnavailable,
    GatewayDirectory,
    UnknownAccount,
)
from domain.ids import order_id_of_exchange_client_order_id

log = structlog.get_logger("tbot.execution")


@dataclass
class Follow:
    """What the manager knows of a working order between exchange calls."""

    order: WorkingOrder
    filled: Decimal = Decimal(0)
    settled: bool = False  # the exchange has answered for the order (it has it, or it ended)
    check_at: float = 0.0  # when an unsettled order is looked up next (monotonic seconds)
    refused: tuple[ExchangeStatus, Decimal] | None = None  # an answer the order refused for good
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class WorkingOrders:
    """The orders the manager follows in this run, by order id, until it sees them end."""

    def __init__(self, settings: ExecutionSettings, monotonic: Callable[[], float]) -> None:
        self.settings = settings
        self.monotonic = monotonic
        self._by_id: dict[UUID, Follow] = {}
        self._slots = asyncio.Semaphore(settings.concurrency)

    def reset(self, orders: Iterable[WorkingOrder]) -> None:
        """Starts a run with these orders (and a bound on concurrent work for its event loop)."""
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        self._by_id = {order.order_id: Follow(order) for order in orders}

    def all(self) -> list[Follow]:
        return list(self._by_id.values())

    def get(self, order_id: UUID) -> Follow | None:
        return self._by_id.get(order_id)

    def __contains__(self, order_id: UUID) -> bool:
        return order_id in self._by_id

    def take_on(self, order: WorkingOrder) -> Follow:
        return self._by_id.setdefault(order.order_id, Follow(order))

    def drop(self, order_id: UUID) -> None:
        """The order ended (or is not followed further in this run)."""
        self._by_id.pop(order_id, None)

    def by_client_order_id(self, client_order_id: str) -> Follow | None:
        try:
            order_id = order_id_of_exchange_client_order_id(client_order_id)
        except ValueError:
            return None
        follow = self._by_id.get(order_id)
        return follow if follow is not None and follow.order.client_order_id == client_order_id else None

    def unsettled(
        self, follow: Follow, what: str, error: Exception | None, later: float | None = None
    ) -> None:
        """The order's standing at the exchange is not known: it is looked up again ``later``
        seconds from now (by default after ``retry_seconds``)."""
        follow.settled = False
        follow.check_at = self.monotonic() + (self.settings.retry_seconds if later is None else later)
        if error is not None:
            log.warning("exchange outcome unknown; will look it up", what=what, error=str(error))

    async def safely(self, follow: Follow, work: Awaitable[object]) -> bool:
        """Runs one order's work; whatever it raises (short of the process ending) is logged and
        leaves the order unsettled, looked up again shortly, instead of ending the batch, the
        poll or the worker. False when it raised."""
        try:
            await work
        except Exception as error:
            log.warning(
                "order work failed; will look the order up again",
                client_order_id=follow.order.client_order_id,
                error=repr(error),
                exc_info=True,
            )
            self.unsettled(follow, "order work", None)
            return False
        return True

    async def each(self, items: Iterable[Any], act: Callable[[Any], Awaitable[object]]) -> None:
        """Acts on every item, at most ``concurrency`` at once."""

        async def bounded(item: Any) -> None:
            async with self._slots:
                await act(item)

        await asyncio.gather(*(bounded(item) for item in items))


def gateway_of(gateways: GatewayDirectory, account: str) -> ExchangeGateway:
    """The account's gateway; ExchangeUnavailable if the account is no longer configured (its
    credentials removed while its orders worked: they wait until the credentials are back)."""
    try:
        return gateways.gateway(account)
    except UnknownAccount as error:
        raise ExchangeUnavailable(str(error)) from error
