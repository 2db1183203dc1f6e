"""Hand-made candles and bot views for the strategies' tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.market import Candle
from domain.strategy import BotView, OrderView, PositionView, strategy_client_order_id
from domain.values import OrderType, Side, Symbol

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def candles(symbol: Symbol, closes: Iterable[object], start: datetime = START) -> list[Candle]:
    """One-minute candles closing at ``closes`` in turn (each opens at the previous close)."""
    made: list[Candle] = []
    for minute, close in enumerate(Decimal(str(value)) for value in closes):
        opened = made[-1].close if made else close
        made.append(
            Candle(
                symbol,
                start + timedelta(minutes=minute),
                opened,
                max(opened, close),
                min(opened, close),
                close,
                Decimal(1),
            )
        )
    return made


def closed_at(window: list[Candle]) -> datetime:
    return window[-1].opened_at + timedelta(minutes=1)


def view(
    at: datetime = START,
    positions: Mapping[Symbol, tuple[object, object]] | None = None,
    orders: Iterable[OrderView] = (),
    marks: Mapping[Symbol, object] | None = None,
) -> BotView:
    """A bot's view: ``positions`` as symbol -> (quantity, average price)."""
    return BotView(
        at,
        {
            symbol: PositionView(symbol, Decimal(str(quantity)), Decimal(str(price)), Decimal(0))
            for symbol, (quantity, price) in (positions or {}).items()
        },
        tuple(orders),
        {symbol: Decimal(str(mark)) for symbol, mark in (marks or {}).items()},
    )


_ids = iter(range(10**6))


def limit(
    side: Side, price: object, quantity: object = "1", symbol: Symbol = BTC, own: bool = True
) -> OrderView:
    """An open limit order; ``own`` ones carry a client order id the runtime derived."""
    number = next(_ids)
    client_order_id = strategy_client_order_id(START, number) if own else f"by-hand-{number}"
    amount = Decimal(str(quantity))
    return OrderView(
        client_order_id, symbol, side, OrderType.LIMIT, amount, amount, Decimal(str(price)), None
    )
