"""The paper exchange: one account's orders matched against a price path, deterministically for a
given seed and path.

- Market orders fill at the current price moved against the taker by the slippage.
- Limit orders that cross the current price fill at once as a taker, at the current price with
  slippage but never beyond the limit; the rest wait, and fill at their limit as a maker once the
  price reaches it.
- Stop orders wait for the price to reach the stop (buy: at or above; sell: at or below), then
  act as a market or limit order.
- IOC fills what it can at once and expires the rest; FOK fills all at once or nothing.
- With partial fills on, each match takes a seeded share of what remains; a market order takes
  its shares one after another at once (several trades), so it never rests.
- Balances: a buy reserves its quote (at its limit or the slipped price, fees included), a sell
  its base; an order the account cannot pay for is refused, and a fill never takes a balance
  below zero (what cannot be paid for expires). Fees are charged in the quote currency."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

from application.gateway import ExchangeOrder, ExchangeStatus, ExchangeTrade, OrderRefused, OrderUnknown
from domain.orders import OrderRequest
from domain.values import MarketSpec, OrderType, Side, Symbol, TimeInForce

BPS = Decimal("0.0001")


@dataclass(frozen=True)
class PaperSettings:
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    slippage_bps: Decimal = Decimal("5")
    partial_fills: bool = False
    seed: int = 0


@dataclass
class _Order:
    request: OrderRequest
    exchange_order_id: str
    filled: Decimal = Decimal(0)
    status: ExchangeStatus = ExchangeStatus.OPEN
    reason: str | None = None
    triggered: bool = False  # a stop order whose stop price was reached

    @property
    def remaining(self) -> Decimal:
        return self.request.quantity - self.filled

    @property
    def acts_as(self) -> OrderType:
        """What the order is now: a stop order once triggered is a market or a limit order."""
        kind = self.request.order_type
        if kind is OrderType.STOP_MARKET:
            return OrderType.MARKET if self.triggered else kind
        if kind is OrderType.STOP_LIMIT:
            return OrderType.LIMIT if self.triggered else kind
        return kind

    def view(self) -> ExchangeOrder:
        request = self.request
        return ExchangeOrder(
            client_order_id=str(request.client_order_id),
            exchange_order_id=self.exchange_order_id,
            symbol=request.symbol,
            side=request.side,
            quantity=request.quantity,
            filled=self.filled,
            status=self.status,
            reason=self.reason,
        )


@dataclass
class PaperExchange:
    balances: dict[str, Decimal]
    markets: dict[Symbol, MarketSpec]
    now: Callable[[], datetime]
    settings: PaperSettings = field(default_factory=PaperSettings)
    prices: dict[Symbol, Decimal] = field(default_factory=dict)
    _orders: dict[str, _Order] = field(default_factory=dict, init=False, repr=False)
    _trades: list[ExchangeTrade] = field(default_factory=list, init=False, repr=False)
    _trades_of: dict[str, list[ExchangeTrade]] = field(default_factory=dict, init=False, repr=False)
    _open_orders: dict[str, _Order] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.settings.seed)

    # what the account has

    def reserved(self, currency: str) -> Decimal:
        held = (self._reservation(order) for order in self._open())
        return sum((amount for held_in, amount in held if held_in == currency), Decimal(0))

    def free(self, currency: str) -> Decimal:
        return self.balances.get(currency, Decimal(0)) - self.reserved(currency)

    def trades(self, symbol: Symbol | None = None, since: datetime | None = None) -> list[ExchangeTrade]:
        return [
            t
            for t in self._trades
            if (symbol is None or t.symbol == symbol) and (since is None or t.at >= since)
        ]

    def order_trades(self, client_order_id: str) -> list[ExchangeTrade]:
        return list(self._trades_of.get(client_order_id, ()))

    def lookup(self, client_order_id: str) -> ExchangeOrder | None:
        order = self._orders.get(client_order_id)
        return order.view() if order is not None else None

    def open_symbols(self) -> set[Symbol]:
        return {o.request.symbol for o in self._open_orders.values()}

    def open_orders(self, symbol: Symbol) -> list[ExchangeOrder]:
        return [o.view() for o in self._open() if o.request.symbol == symbol]

    # what the account does

    def submit(self, request: OrderRequest) -> ExchangeOrder:
        key = str(request.client_order_id)
        if key in self._orders:
            return self._orders[key].view()  # the same client order id is the same order
        spec = self.markets.get(request.symbol)
        if spec is None:
            raise OrderRefused(f"market {request.symbol} is not listed")
        if request.symbol not in self.prices and request.order_type is OrderType.MARKET:
            raise OrderRefused(f"no price for {request.symbol} yet")
        order = _Order(request, f"paper-{len(self._orders) + 1}")
        currency, needed = self._reservation(order)
        if needed > self.free(currency):
            raise OrderRefused(f"insufficient funds: needs {needed} {currency}, {self.free(currency)} free")
        self._orders[key] = self._open_orders[key] = order
        self._match(order, taker=True)
        return order.view()

    def cancel(self, client_order_id: str) -> ExchangeOrder:
        order = self._orders.get(client_order_id)
        if order is None:
            raise OrderUnknown(client_order_id)
        if order.status is ExchangeStatus.OPEN:
            self._end(order, ExchangeStatus.CANCELLED, "cancelled")
        return order.view()

    def set_price(self, symbol: Symbol, price: Decimal) -> list[ExchangeTrade]:
        """A new price for ``symbol``: stops trigger and resting orders that it reaches fill."""
        before = len(self._trades)
        self.prices[symbol] = price
        for order in self._open():
            if order.request.symbol == symbol:
                self._match(order, taker=False)
        return self._trades[before:]

    def _expire_unless_good_till_cancelled(self, order: _Order) -> None:
        """IOC and FOK orders get one chance to match: the first time they can (on arrival, or
        when their stop triggers)."""
        tif = order.request.time_in_force
        if order.status is ExchangeStatus.OPEN and tif is not TimeInForce.GTC:
            self._end(order, ExchangeStatus.EXPIRED, f"{tif.value}: nothing more to fill at once")

    # matching

    def _open(self) -> list[_Order]:
        return list(self._open_orders.values())

    def _slipped(self, side: Side, price: Decimal, spec: MarketSpec) -> Decimal:
        moved = price * (1 + side.sign * self.settings.slippage_bps * BPS)
        return moved.quantize(spec.price_tick, rounding=ROUND_CEILING if side is Side.BUY else ROUND_FLOOR)

    def _reservation(self, order: _Order) -> tuple[str, Decimal]:
        """The currency and amount an open order holds back (zero once it is final)."""
        request = order.request
        if order.status is not ExchangeStatus.OPEN:
            return request.symbol.quote, Decimal(0)
        if request.side is Side.SELL:
            return request.symbol.base, order.remaining
        fee = max(self.settings.maker_fee, self.settings.taker_fee)
        if request.price is not None:
            at = request.price
        else:
            reference = request.stop_price if request.stop_price is not None else self.prices[request.symbol]
            at = self._slipped(
                Side.BUY,
                max(reference, self.prices.get(request.symbol, reference)),
                self.markets[request.symbol],
            )
        return request.symbol.quote, order.remaining * at * (1 + fee)

    def _match(self, order: _Order, taker: bool) -> None:
        self._try_match(order, taker)
        if order.acts_as in (OrderType.MARKET, OrderType.LIMIT):
            self._expire_unless_good_till_cancelled(order)

    def _try_match(self, order: _Order, taker: bool) -> None:
        request, spec = order.request, self.markets[order.request.symbol]
        price = self.prices.get(request.symbol)
        if price is None:
            return
        if order.acts_as in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT):
            assert request.stop_price is not None
            reached = price >= request.stop_price if request.side is Side.BUY else price <= request.stop_price
            if not reached:
                return
            order.triggered, taker = True, True
        if order.acts_as is OrderType.MARKET:
            fill_price, maker = self._slipped(request.side, price, spec), False
        else:
            assert request.price is not None
            crosses = price <= request.price if request.side is Side.BUY else price >= request.price
            if not crosses:
                return
            if taker:  # marketable on arrival: the current price, slipped, never beyond the limit
                slipped = self._slipped(request.side, price, spec)
                fill_price = (
                    min(slipped, request.price) if request.side is Side.BUY else max(slipped, request.price)
                )
                maker = False
            else:
                fill_price, maker = request.price, True
        quantity = self._take(order, spec)
        if request.time_in_force is TimeInForce.FOK and quantity < order.remaining:
            self._end(order, ExchangeStatus.EXPIRED, "FOK: could not fill the whole quantity at once")
            return
        self._fill(order, quantity, fill_price, maker, spec)
        # a market order never rests (its reservation would float with the price): with partial
        # fills on it sweeps in several trades until it is filled or cannot be paid for
        while order.acts_as is OrderType.MARKET and order.status is ExchangeStatus.OPEN:
            self._fill(order, self._take(order, spec), fill_price, maker, spec)

    def _take(self, order: _Order, spec: MarketSpec) -> Decimal:
        """How much this match fills: all that remains, or with partial fills a seeded share of it."""
        if not self.settings.partial_fills or order.request.time_in_force is TimeInForce.FOK:
            return order.remaining
        share = Decimal(self._random.randint(1, 4)) / 4
        quantity = (order.remaining * share).quantize(spec.amount_step, rounding=ROUND_DOWN)
        return min(order.remaining, max(quantity, spec.amount_step))

    def _fill(self, order: _Order, quantity: Decimal, price: Decimal, maker: bool, spec: MarketSpec) -> None:
        request = order.request
        base, quote = request.symbol.base, request.symbol.quote
        rate = self.settings.maker_fee if maker else self.settings.taker_fee
        short = False
        if request.side is Side.BUY:
            others = self.reserved(quote) - self._reservation(order)[1]
            affordable = self.balances.get(quote, Decimal(0)) - others
            unit = price * (1 + rate)
            short = quantity * unit > affordable  # the price moved past what was reserved
            if short:
                quantity = (affordable / unit).quantize(spec.amount_step, rounding=ROUND_DOWN)
                if quantity <= 0:
                    self._end(order, ExchangeStatus.EXPIRED, "insufficient funds at the fill price")
                    return
        notional = quantity * price
        fee = notional * rate
        signed = request.side.sign
        self.balances[base] = self.balances.get(base, Decimal(0)) + signed * quantity
        self.balances[quote] = self.balances.get(quote, Decimal(0)) - signed * notional - fee
        order.filled += quantity
        trade = ExchangeTrade(
            trade_id=f"paper-t{len(self._trades) + 1}",
            client_order_id=str(request.client_order_id),
            exchange_order_id=order.exchange_order_id,
            symbol=request.symbol,
            side=request.side,
            quantity=quantity,
            price=price,
            fee=fee,
            fee_currency=quote,
            maker=maker,
            at=self.now(),
        )
        self._trades.append(trade)
        self._trades_of.setdefault(trade.client_order_id, []).append(trade)
        if order.remaining == 0:
            self._end(order, ExchangeStatus.FILLED, None)
        elif short:
            self._end(order, ExchangeStatus.EXPIRED, "insufficient funds at the fill price for the rest")

    def _end(self, order: _Order, status: ExchangeStatus, reason: str | None) -> None:
        order.status, order.reason = status, reason
        self._open_orders.pop(str(order.request.client_order_id), None)
