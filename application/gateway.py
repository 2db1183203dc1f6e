"""The exchange gateway port: what execution needs from an exchange, whichever it is (the paper
exchange, or a real one through ccxt). Orders are known by our client order id, which the
exchange stores with them, so an order can always be looked up instead of sent twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Protocol, runtime_checkable

from domain.orders import OrderRequest
from domain.values import Side, Symbol


class ExchangeStatus(Enum):
    OPEN = "open"  # resting or part filled
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # IOC or FOK with nothing (more) to fill
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        return self is not ExchangeStatus.OPEN


@dataclass(frozen=True)
class ExchangeOrder:
    """What the exchange says about one order now."""

    client_order_id: str
    exchange_order_id: str
    symbol: Symbol
    side: Side
    quantity: Decimal
    filled: Decimal
    status: ExchangeStatus
    reason: str | None = None


@dataclass(frozen=True)
class ExchangeTrade:
    """One fill, as the exchange reports it (its trade id makes it unique)."""

    trade_id: str
    client_order_id: str
    exchange_order_id: str
    symbol: Symbol
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    maker: bool
    at: datetime
    fee_quote: Decimal | None = None  # the fee's worth in quote, when charged in a third currency


class OrderRefused(Exception):
    """The exchange refused the order (funds, rules): it is rejected, not retried."""


class OrderUnknown(Exception):
    """The exchange has no order with this client order id."""


class OutcomeUnknown(Exception):
    """The request may have reached the exchange, and its answer did not come back (a timeout
    after sending, an exchange-side 5xx). What happened is found out by a lookup, never by
    sending again."""


class ExchangeUnavailable(Exception):
    """The exchange could not be asked (rate limit, outage) and nothing was done there; the
    caller tries again later."""


class ExchangeGateway(Protocol):
    """Every method may also raise ExchangeUnavailable; ``submit`` and ``cancel`` may raise
    OutcomeUnknown."""

    async def submit(self, request: OrderRequest) -> ExchangeOrder:
        """Sends the order; OrderRefused if the exchange refuses it. Sending a client order id
        the exchange already has never makes a second order: it answers with that order, or
        raises OutcomeUnknown, after which the caller looks the order up."""
        ...

    async def cancel(self, client_order_id: str, symbol: Symbol) -> ExchangeOrder:
        """Cancels an open order (an order already final is answered as it is); OrderUnknown."""
        ...

    async def lookup(self, client_order_id: str, symbol: Symbol) -> ExchangeOrder | None:
        """The order with this client order id, or None if the exchange never got it."""
        ...

    async def open_orders(self, symbol: Symbol) -> list[ExchangeOrder]:
        """The account's open orders in ``symbol``."""
        ...

    async def order_trades(self, order: ExchangeOrder) -> list[ExchangeTrade]:
        """The fills of one order, oldest first."""
        ...

    async def close(self) -> None:
        """Lets go of connections."""
        ...


@runtime_checkable
class OrderStream(Protocol):
    """A gateway whose exchange pushes changes to the account's orders (over a WebSocket), so they
    need not be polled for. A stream can lose messages and break; it speeds things up, and polling
    stays the way nothing is missed."""

    @property
    def streams_orders(self) -> bool:
        """Whether this account's orders can be watched."""
        ...

    async def watch_orders(self) -> list[ExchangeOrder]:
        """Waits for the next changes to the account's orders (any symbol), each as the order
        stands after it; ExchangeUnavailable when the stream breaks (the next call connects
        again)."""
        ...


class UnknownAccount(Exception):
    """No exchange account of that name is configured."""


class GatewayDirectory(Protocol):
    def gateway(self, account: str) -> ExchangeGateway:
        """The gateway of a bot's exchange account; UnknownAccount when none is configured."""
        ...
