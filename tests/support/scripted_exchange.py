"""An exchange whose every answer the test decides (a gateway for one account), and a command bus
that fails the way a busy or crashing system does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from application import commands as c
from application.bus import CommandBus
from application.gateway import ExchangeOrder, ExchangeStatus, ExchangeTrade, OrderUnknown
from domain.orders import OrderRequest
from domain.values import Symbol


class ScriptedExchange:
    """Takes every order and leaves it open; the test fills and ends orders with ``trade`` and
    ``end``, and may let the order's status lag behind its trades (``status_filled``)."""

    def __init__(self) -> None:
        self.orders: dict[str, ExchangeOrder] = {}
        self.trades: dict[str, list[ExchangeTrade]] = {}
        self.submitted = 0

    async def submit(self, request: OrderRequest) -> ExchangeOrder:
        coid = str(request.client_order_id)
        if coid not in self.orders:
            self.submitted += 1
            self.orders[coid] = ExchangeOrder(
                coid,
                f"x-{self.submitted}",
                request.symbol,
                request.side,
                request.quantity,
                Decimal(0),
                ExchangeStatus.OPEN,
            )
        return self.orders[coid]

    async def cancel(self, client_order_id: str, symbol: Symbol) -> ExchangeOrder:
        order = self.orders.get(client_order_id)
        if order is None:
            raise OrderUnknown(client_order_id)
        if order.status is ExchangeStatus.OPEN:
            self.end(client_order_id, ExchangeStatus.CANCELLED)
        return self.orders[client_order_id]

    async def lookup(self, client_order_id: str, symbol: Symbol) -> ExchangeOrder | None:
        return self.orders.get(client_order_id)

    async def open_orders(self, symbol: Symbol) -> list[ExchangeOrder]:
        return [o for o in self.orders.values() if o.symbol == symbol and o.status is ExchangeStatus.OPEN]

    async def order_trades(self, order: ExchangeOrder) -> list[ExchangeTrade]:
        return list(self.trades.get(order.client_order_id, []))

    async def close(self) -> None:
        pass

    def only(self) -> str:
        (coid,) = self.orders
        return coid

    def trade(
        self,
        trade_id: str,
        quantity: str,
        price: str = "50000",
        status_filled: bool = True,
        client_order_id: str | None = None,
    ) -> None:
        """A trade of the order (the only one, unless named); ``status_filled=False``: the order's
        status does not show it yet."""
        coid = client_order_id or self.only()
        order = self.orders[coid]
        at = datetime(2026, 11, 21, 12, tzinfo=UTC)
        trade = ExchangeTrade(
            trade_id,
            coid,
            order.exchange_order_id,
            order.symbol,
            order.side,
            Decimal(quantity),
            Decimal(price),
            Decimal(0),
            order.symbol.quote,
            False,
            at,
        )
        self.trades.setdefault(coid, []).append(trade)
        if status_filled:
            filled = order.filled + trade.quantity
            status = ExchangeStatus.FILLED if filled == order.quantity else order.status
            self.orders[coid] = replace(order, filled=filled, status=status)

    def end(self, client_order_id: str, status: ExchangeStatus) -> None:
        self.orders[client_order_id] = replace(self.orders[client_order_id], status=status)


def books_a_fill(command: c.Command) -> bool:
    return isinstance(command, c.RecordFill) or (
        isinstance(command, c.RecordExchangeAnswer) and bool(command.trades)
    )


class FailingBus:
    """The bus, except that the first ``times`` commands ``which`` picks raise ``error()``."""

    def __init__(self, bus: CommandBus, which: Any, error: Any, times: int = 1) -> None:
        self.bus, self.which, self.error, self.left = bus, which, error, times
        self.store = bus.store

    def dispatch(self, command: c.Command) -> Any:
        if self.left > 0 and self.which(command):
            self.left -= 1
            raise self.error()
        return self.bus.dispatch(command)  # type: ignore[call-overload]
