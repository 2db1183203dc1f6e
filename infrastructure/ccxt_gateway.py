"""The gateway port over a real exchange, through ccxt's async API.

Markets are loaded once (and again on ``refresh_markets``); their precision and minimums become the
risk rules' market specs. Quantities and prices go out formatted by ccxt's ``amount_to_precision`` and
``price_to_precision``; a value those would change is refused instead of silently sent as a different
order. Our client order id is sent as the exchange's, so an order can always be looked up by it.

ccxt's errors are translated here and nowhere else:

- refused by the exchange (funds, order rules, bad request): ``OrderRefused``;
- surely not done (rate limit, a timestamp outside the receive window): retried with exponential
  backoff, a bounded number of times, then ``ExchangeUnavailable``;
- maybe done (timeout, connection lost, 5xx, anything unexpected) on a submit or cancel:
  ``OutcomeUnknown``, for the caller to look up; on a read, retried like the above;
- a client order id the exchange already has: ``OutcomeUnknown`` too (it is looked up, not resent).

Where ccxt can watch the account's orders over a WebSocket (``watch_orders``), the gateway is an
OrderStream too, unless streams are switched off."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import ccxt.async_support as ccxt
import structlog
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, TICK_SIZE

from application.gateway import (
    ExchangeOrder,
    ExchangeStatus,
    ExchangeTrade,
    ExchangeUnavailable,
    OrderRefused,
    OrderUnknown,
    OutcomeUnknown,
)
from domain.errors import InvalidInput
from domain.orders import OrderRequest
from domain.values import MarketSpec, OrderType, Side, Symbol
from infrastructure.ccxt_exchanges import ccxt_decimal, own_decimal_context

log = structlog.get_logger("tbot.ccxt")
T = TypeVar("T")

_STATUS = {
    "open": ExchangeStatus.OPEN,
    "closed": ExchangeStatus.FILLED,
    "canceled": ExchangeStatus.CANCELLED,
    "cancelled": ExchangeStatus.CANCELLED,
    "expired": ExchangeStatus.EXPIRED,
    "rejected": ExchangeStatus.REJECTED,
}
# Surely not carried out by the exchange: safe to ask again after a pause.
_NOT_DONE = (ccxt.RateLimitExceeded, ccxt.DDoSProtection, ccxt.InvalidNonce)
# Timeouts and outages: on a read, which changes nothing, also safe to ask again.
_TRANSIENT = (ccxt.RequestTimeout, ccxt.ExchangeNotAvailable)
# The exchange said no to the order itself.
_REFUSED = (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.BadRequest, ccxt.OperationRejected)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff for requests the exchange surely did not carry out."""

    attempts: int = 4
    first_delay: float = 0.25
    max_delay: float = 4.0

    def delays(self) -> list[float]:
        return [min(self.first_delay * 2**n, self.max_delay) for n in range(self.attempts - 1)]


def _step(precision: Any, mode: int) -> Decimal | None:
    if precision is None:
        return None
    if mode == TICK_SIZE:
        return ccxt_decimal(precision)
    if mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(precision))
    return None  # significant digits: no fixed step to check against


class CcxtGateway:
    def __init__(
        self,
        account: str,
        exchange: ccxt.Exchange,
        retry: RetryPolicy | None = None,
        on_markets: Callable[[dict[Symbol, MarketSpec]], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        streams: bool = True,
    ) -> None:
        self.account = account
        self.exchange = exchange
        self.retry = retry or RetryPolicy()
        self.streams_orders = streams and exchange.has.get("watchOrders") is True
        self._on_markets = on_markets
        self._sleep = sleep
        self._markets: dict[Symbol, MarketSpec] | None = None
        self._loading = asyncio.Lock()

    # markets

    async def markets(self) -> dict[Symbol, MarketSpec]:
        """The exchange's spot markets as risk-rule specs (loaded on first use)."""
        if self._markets is None:
            async with self._loading:
                if self._markets is None:
                    await self.refresh_markets()
        assert self._markets is not None
        return self._markets

    @own_decimal_context
    async def refresh_markets(self) -> dict[Symbol, MarketSpec]:
        loaded = await self._read("load markets", lambda: self.exchange.load_markets(reload=True))
        mode = self.exchange.precisionMode
        specs: dict[Symbol, MarketSpec] = {}
        for market in loaded.values():
            if not market.get("spot") or not market.get("active", True):
                continue
            try:
                symbol = Symbol.parse(market["symbol"])
            except InvalidInput:
                continue
            step = _step(market["precision"].get("amount"), mode)
            tick = _step(market["precision"].get("price"), mode)
            if step is None or tick is None:
                continue
            limits = market.get("limits") or {}
            min_amount = (limits.get("amount") or {}).get("min")
            min_cost = (limits.get("cost") or {}).get("min")
            specs[symbol] = MarketSpec(
                amount_step=step,
                price_tick=tick,
                min_amount=ccxt_decimal(min_amount) if min_amount is not None else step,
                min_notional=ccxt_decimal(min_cost) if min_cost is not None else Decimal(0),
            )
        self._markets = specs
        if self._on_markets is not None:
            await asyncio.to_thread(self._on_markets, specs)
        log.info("markets loaded", account=self.account, exchange=self.exchange.id, markets=len(specs))
        return specs

    # the port

    @own_decimal_context
    async def submit(self, request: OrderRequest) -> ExchangeOrder:
        symbol = await self._market_symbol(request.symbol)
        amount = self._exact(symbol, "quantity", request.quantity, self.exchange.amount_to_precision)
        price = None
        params: dict[str, Any] = {"clientOrderId": str(request.client_order_id)}
        if request.price is not None:
            price = self._exact(symbol, "price", request.price, self.exchange.price_to_precision)
        if request.stop_price is not None:
            params["triggerPrice"] = self._exact(
                symbol, "stop_price", request.stop_price, self.exchange.price_to_precision
            )
        if request.order_type.needs_price:
            params["timeInForce"] = request.time_in_force.value
        kind = "limit" if request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else "market"

        async def create() -> dict[str, Any]:
            created: dict[str, Any] = await self.exchange.create_order(
                symbol, kind, request.side.value, amount, price, params
            )
            return created

        try:
            placed = await self._write(f"submit {request.client_order_id}", create)
        except _REFUSED as error:
            if isinstance(error, ccxt.DuplicateOrderId) or "duplicate" in str(error).lower():
                raise OutcomeUnknown(f"the exchange already has the client order id: {error}") from error
            raise OrderRefused(self._reason(error)) from error
        return self._order(placed, request.symbol)

    @own_decimal_context
    async def cancel(self, client_order_id: str, symbol: Symbol) -> ExchangeOrder:
        """Cancels by client order id. When the exchange will not cancel, the order is looked up:
        an order it never had is OrderUnknown, one already final is answered as it is, and one it
        keeps open is answered open with the exchange's reason."""
        market = await self._market_symbol(symbol)

        async def cancel() -> dict[str, Any]:
            cancelled: dict[str, Any] = await self.exchange.cancel_order(
                None, market, {"clientOrderId": client_order_id}
            )
            return cancelled

        try:
            answer = await self._write(f"cancel {client_order_id}", cancel)
        except _REFUSED as error:  # OrderNotFound among them
            found = await self.lookup(client_order_id, symbol)
            if found is None:
                raise OrderUnknown(client_order_id) from error
            if found.status is ExchangeStatus.OPEN:
                return replace(found, reason=self._reason(error))
            return found
        if answer.get("status") in (None, "open"):
            found = await self.lookup(client_order_id, symbol)  # some exchanges answer a cancel thinly
            if found is not None:
                return found
        return self._order(answer, symbol)

    @own_decimal_context
    async def lookup(self, client_order_id: str, symbol: Symbol) -> ExchangeOrder | None:
        market = await self._market_symbol(symbol)
        try:
            found = await self._read(
                f"lookup {client_order_id}",
                lambda: self.exchange.fetch_order(None, market, {"clientOrderId": client_order_id}),
            )
        except ccxt.OrderNotFound:
            return None
        return self._order(found, symbol)

    @own_decimal_context
    async def open_orders(self, symbol: Symbol) -> list[ExchangeOrder]:
        market = await self._market_symbol(symbol)
        listed = await self._read(f"open orders {symbol}", lambda: self.exchange.fetch_open_orders(market))
        return [self._order(order, symbol) for order in listed if order.get("clientOrderId")]

    @own_decimal_context
    async def order_trades(self, order: ExchangeOrder) -> list[ExchangeTrade]:
        """The order's fills, each once, oldest first (exchanges may list a trade twice or out of
        order while it settles)."""
        market = await self._market_symbol(order.symbol)
        listed = await self._read(
            f"trades of {order.client_order_id}",
            lambda: self.exchange.fetch_my_trades(market, None, None, {"orderId": order.exchange_order_id}),
        )
        trades: dict[str, ExchangeTrade] = {}
        for raw in listed:
            if str(raw.get("order")) != order.exchange_order_id:
                continue
            trade = self._trade(raw, order)
            trades.setdefault(trade.trade_id, trade)
        ordered = sorted(trades.values(), key=lambda t: (t.at, t.trade_id))
        return await self._valued(ordered, order.symbol)

    async def _valued(self, trades: list[ExchangeTrade], symbol: Symbol) -> list[ExchangeTrade]:
        """The trades, each fee in a third currency (BNB on Binance) with its worth in the quote
        currency, at the exchange's last price of that currency when the fills are read (asked
        once per currency; a zero fee needs no price)."""
        foreign = [t for t in trades if t.fee_currency not in (symbol.base, symbol.quote)]
        priced = {t.fee_currency for t in foreign if t.fee != 0}
        rates = {currency: await self._rate(currency, symbol.quote) for currency in priced}
        worth = {t.trade_id: t.fee * rates[t.fee_currency] if t.fee else Decimal(0) for t in foreign}
        return [replace(t, fee_quote=worth[t.trade_id]) if t.trade_id in worth else t for t in trades]

    async def _rate(self, currency: str, quote: str) -> Decimal:
        """What one ``currency`` is worth in ``quote`` now: the last price of currency/quote, or
        the inverse of quote/currency's."""
        markets = self.exchange.markets or {}
        for market, inverse in ((f"{currency}/{quote}", False), (f"{quote}/{currency}", True)):
            if market in markets:
                ticker = await self._read(f"ticker {market}", partial(self.exchange.fetch_ticker, market))
                last = ccxt_decimal(ticker["last"])
                return 1 / last if inverse else last
        raise ExchangeUnavailable(
            f"{self.account}: a fee in {currency} cannot be valued in {quote}: "
            f"{self.exchange.id} lists no {currency}/{quote} market"
        )

    @own_decimal_context
    async def watch_orders(self) -> list[ExchangeOrder]:
        try:
            pushed = await self.exchange.watch_orders()
        except ccxt.BaseError as error:  # a broken connection, or credentials refused on subscribing
            raise ExchangeUnavailable(f"{self.account}: order stream: {self._reason(error)}") from error
        changes = []
        for raw in pushed:
            try:
                symbol = Symbol.parse(str(raw.get("symbol")))
            except InvalidInput:
                continue  # not a spot market we trade
            if raw.get("clientOrderId"):
                changes.append(self._order(raw, symbol))
        return changes

    @own_decimal_context
    async def close(self) -> None:
        await self.exchange.close()

    # requests

    async def _read(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """A request that changes nothing: retried on anything transient, then ExchangeUnavailable."""
        try:
            return await self._retrying(what, call, (*_NOT_DONE, *_TRANSIENT))
        except ccxt.AuthenticationError as error:
            raise self._refused_credentials(error) from error
        except (ccxt.NetworkError, ccxt.BadResponse) as error:
            raise ExchangeUnavailable(f"{self.account}: {what}: {self._reason(error)}") from error

    async def _write(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """A request that may change something at the exchange: retried only while it surely did
        nothing. A refusal comes out as ccxt's own error, for the caller to read; anything else
        unexpected leaves the outcome unknown."""
        try:
            return await self._retrying(what, call, _NOT_DONE)
        except _REFUSED:
            raise
        except ccxt.AuthenticationError as error:
            raise self._refused_credentials(error) from error
        except (ccxt.OperationFailed, ccxt.ExchangeError) as error:
            raise OutcomeUnknown(f"{self.account}: {self._reason(error)}") from error

    async def _retrying(
        self, what: str, call: Callable[[], Awaitable[T]], again: tuple[type[Exception], ...]
    ) -> T:
        """Calls, pausing and calling again on the errors ``again`` names, at most
        ``retry.attempts`` times; then ExchangeUnavailable."""
        for delay in [*self.retry.delays(), None]:
            try:
                return await call()
            except again as error:
                if delay is None:
                    raise ExchangeUnavailable(f"{self.account}: {what}: {self._reason(error)}") from error
                log.warning("exchange busy; retrying", account=self.account, what=what, delay=delay)
                await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # translation

    async def _market_symbol(self, symbol: Symbol) -> str:
        markets = await self.markets()
        if symbol not in markets:
            raise OrderRefused(f"{self.exchange.id} has no spot market {symbol}")
        return str(symbol)

    @staticmethod
    def _exact(market: str, field: str, value: Decimal, to_precision: Callable[[str, Any], str]) -> str:
        text = to_precision(market, f"{value:f}")
        if Decimal(text) != value:
            raise OrderRefused(f"{field} {value:f} does not fit {market}'s precision ({text})")
        return text

    def _order(self, raw: dict[str, Any], symbol: Symbol) -> ExchangeOrder:
        status = _STATUS.get(str(raw.get("status")), ExchangeStatus.OPEN)
        filled = ccxt_decimal(raw.get("filled") or 0)
        quantity = ccxt_decimal(raw.get("amount") or 0)
        if status is ExchangeStatus.CANCELLED and raw.get("timeInForce") in ("IOC", "FOK"):
            status = ExchangeStatus.EXPIRED
        return ExchangeOrder(
            client_order_id=str(raw.get("clientOrderId")),
            exchange_order_id=str(raw.get("id")),
            symbol=symbol,
            side=Side(raw["side"]),
            quantity=quantity,
            filled=filled,
            status=status,
        )

    @staticmethod
    def _trade(raw: dict[str, Any], order: ExchangeOrder) -> ExchangeTrade:
        fee = raw.get("fee") or {}
        return ExchangeTrade(
            trade_id=str(raw["id"]),
            client_order_id=order.client_order_id,
            exchange_order_id=order.exchange_order_id,
            symbol=order.symbol,
            side=Side(raw["side"]),
            quantity=ccxt_decimal(raw["amount"]),
            price=ccxt_decimal(raw["price"]),
            fee=ccxt_decimal(fee.get("cost") or 0),
            fee_currency=str(fee.get("currency") or order.symbol.quote),
            maker=raw.get("takerOrMaker") == "maker",
            at=datetime.fromtimestamp(int(raw["timestamp"]) / 1000, UTC),
        )

    def _refused_credentials(self, error: BaseException) -> ExchangeUnavailable:
        return ExchangeUnavailable(f"{self.account}: credentials refused: {self._reason(error)}")

    def _reason(self, error: BaseException) -> str:
        """ccxt's message without the exchange id it starts with."""
        text = str(error)
        prefix = f"{self.exchange.id} "
        return text[len(prefix) :] if text.startswith(prefix) else text
