"""Exchange gateways that count what they do (infrastructure/metrics.py): orders sent and how
long their answers took, and failed requests by kind. Execution is handed these in place of the
accounts' own gateways; the gateways themselves know nothing of metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import TypeVar

from application.gateway import (
    ExchangeGateway,
    ExchangeOrder,
    ExchangeTrade,
    ExchangeUnavailable,
    GatewayDirectory,
    OrderRefused,
    OrderStream,
    OrderUnknown,
    OutcomeUnknown,
)
from domain.orders import OrderRequest
from domain.values import Symbol
from infrastructure.ccxt_gateway import CcxtGateway
from infrastructure.metrics import Metrics

T = TypeVar("T")


def error_kind(error: Exception) -> str:
    """The kind an exchange failure is counted under."""
    if isinstance(error, OrderRefused):
        return "refused"
    if isinstance(error, OrderUnknown):
        return "order_unknown"
    if isinstance(error, OutcomeUnknown):
        return "outcome_unknown"
    if isinstance(error, ExchangeUnavailable):
        return "unavailable"
    return "other"


def exchange_id(gateway: ExchangeGateway) -> str:
    """The exchange's id as ccxt names it (binance), or paper: never an account's own name."""
    return str(gateway.exchange.id) if isinstance(gateway, CcxtGateway) else "paper"


class MeteredGateway:
    """One account's gateway, counted under its exchange's id. Also an ``OrderStream``, which
    watches when the gateway it wraps does."""

    def __init__(self, inner: ExchangeGateway, metrics: Metrics) -> None:
        self.inner = inner
        self.exchange = exchange_id(inner)
        self.metrics = metrics

    async def submit(self, request: OrderRequest) -> ExchangeOrder:
        started = time.perf_counter()
        try:
            answer = await self._counted("submit", self.inner.submit(request))
        except Exception as error:
            kind = error_kind(error)
            self.metrics.exchange_orders.labels(self.exchange, "error" if kind == "other" else kind).inc()
            raise
        finally:
            self.metrics.exchange_order_seconds.labels(self.exchange).observe(time.perf_counter() - started)
        self.metrics.exchange_orders.labels(self.exchange, "answered").inc()
        return answer

    async def cancel(self, client_order_id: str, symbol: Symbol) -> ExchangeOrder:
        return await self._counted("cancel", self.inner.cancel(client_order_id, symbol))

    async def lookup(self, client_order_id: str, symbol: Symbol) -> ExchangeOrder | None:
        return await self._counted("lookup", self.inner.lookup(client_order_id, symbol))

    async def open_orders(self, symbol: Symbol) -> list[ExchangeOrder]:
        return await self._counted("open_orders", self.inner.open_orders(symbol))

    async def order_trades(self, order: ExchangeOrder) -> list[ExchangeTrade]:
        return await self._counted("order_trades", self.inner.order_trades(order))

    async def close(self) -> None:
        await self.inner.close()

    @property
    def streams_orders(self) -> bool:
        return isinstance(self.inner, OrderStream) and self.inner.streams_orders

    async def watch_orders(self) -> list[ExchangeOrder]:
        assert isinstance(self.inner, OrderStream), "watched only when streams_orders"
        return await self._counted("watch_orders", self.inner.watch_orders())

    async def _counted(self, operation: str, request: Awaitable[T]) -> T:
        try:
            return await request
        except Exception as error:
            self.metrics.exchange_errors.labels(self.exchange, operation, error_kind(error)).inc()
            raise


class MeteredGateways:
    """The accounts' gateways (``GatewayDirectory``), each wrapped in a ``MeteredGateway``."""

    def __init__(self, gateways: GatewayDirectory, metrics: Metrics) -> None:
        self.gateways = gateways
        self.metrics = metrics
        self._metered: dict[str, MeteredGateway] = {}

    def gateway(self, account: str) -> MeteredGateway:
        inner = self.gateways.gateway(account)
        metered = self._metered.get(account)
        if metered is None or metered.inner is not inner:  # the accounts made it anew (paper, after close)
            metered = self._metered[account] = MeteredGateway(inner, self.metrics)
        return metered
