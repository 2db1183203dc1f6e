"""What a backtest's event log says happened: every fill, the denials, the decisions, and the
equity after each candle (cash plus the positions at the candle's close), exactly, in Decimal."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import repeat
from operator import attrgetter
from typing import Any
from uuid import UUID

from application.backtest.series import ONE_MINUTE
from domain.bot import Bot
from domain.ids import BotId, position_id_for
from domain.market import Candle
from domain.order import Order
from domain.position import Position
from domain.values import Side, Symbol


@dataclass(frozen=True)
class BacktestFill:
    time: datetime
    symbol: Symbol
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal  # in the quote currency


@dataclass(frozen=True)
class Outcome:
    fills: list[BacktestFill]
    decisions: int
    orders: int
    denials: int
    rejections: list[str]  # why the exchange refused each order it refused (insufficient funds, ...)
    equity: list[Decimal]  # after each candle
    exposure: list[bool]  # a position was open at the candle's close


def outcome(
    events: Iterable[Any], bot_id: UUID, candles: Mapping[Symbol, Sequence[Candle]], cash: Decimal
) -> Outcome:
    """The fills (from ``Position.FillApplied``, in order), the counts, and the equity curve."""
    symbol_of: dict[UUID, Symbol] = {position_id_for(BotId(bot_id), str(s)): s for s in candles}
    fills: list[BacktestFill] = []
    decisions = orders = denials = 0
    rejections: list[str] = []
    for event in events:
        if isinstance(event, Position.FillApplied) and event.originator_id in symbol_of:
            side = Side.BUY if event.signed_quantity > 0 else Side.SELL
            fills.append(
                BacktestFill(
                    event.timestamp,
                    symbol_of[event.originator_id],
                    side,
                    abs(event.signed_quantity),
                    event.price,
                    event.fee_quote,
                )
            )
        elif isinstance(event, Bot.DecisionMade):
            decisions += 1
        elif isinstance(event, Order.Placed):
            orders += 1
        elif isinstance(event, Bot.OrderDenied):
            denials += 1
        elif isinstance(event, Order.Rejected):
            rejections.append(event.reason)
    equity, exposure = _curve(candles, fills, cash)
    return Outcome(fills, decisions, orders, denials, rejections, equity, exposure)


def _curve(
    candles: Mapping[Symbol, Sequence[Candle]], fills: list[BacktestFill], cash: Decimal
) -> tuple[list[Decimal], list[bool]]:
    """Cash plus each position at the close, after each candle; a fill counts from its candle on
    (the first candle closing after it).

    Worked out a stretch at a time: between two candles that take fills nothing held changes, so
    a stretch where nothing is held is the cash repeated, and elsewhere each candle costs the
    position's value at its close (the same operations, in the same order, as one candle at a
    time)."""
    symbols = sorted(candles, key=str)
    first = candles[symbols[0]]
    held = dict.fromkeys(symbols, Decimal(0))
    equity: list[Decimal] = []
    exposure: list[bool] = []
    start, count = 0, len(first)
    for end, taken in _stretches(first, fills):
        _value(candles, symbols, held, cash, start, min(end, count), equity, exposure)
        for fill in taken:
            signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
            held[fill.symbol] += signed
            cash -= signed * fill.price + fill.fee
        start = end
    _value(candles, symbols, held, cash, start, count, equity, exposure)
    return equity, exposure


def _stretches(
    first: Sequence[Candle], fills: list[BacktestFill]
) -> Iterator[tuple[int, list[BacktestFill]]]:
    """Each index of a candle that takes fills (one closing after them, none before it closing
    after them), in order, with those fills."""
    index, taken = -1, list[BacktestFill]()
    for fill in fills:
        at = bisect_right(first, fill.time - ONE_MINUTE, key=attrgetter("opened_at"))
        if at != index and taken:
            yield index, taken
            taken = []
        index = at
        taken.append(fill)
    if taken:
        yield index, taken


def _value(
    candles: Mapping[Symbol, Sequence[Candle]],
    symbols: list[Symbol],
    held: dict[Symbol, Decimal],
    cash: Decimal,
    start: int,
    end: int,
    equity: list[Decimal],
    exposure: list[bool],
) -> None:
    """The equity and exposure of candles ``start`` to ``end`` (not included), holding ``held``."""
    if start >= end:
        return
    holding = [(held[symbol], candles[symbol]) for symbol in symbols if held[symbol]]
    if not holding:
        equity.extend(repeat(cash, end - start))
    elif len(holding) == 1:
        quantity, series = holding[0]
        equity.extend([cash + quantity * candle.close for candle in series[start:end]])
    else:
        for index in range(start, end):
            value = cash
            for quantity, series in holding:
                value += quantity * series[index].close
            equity.append(value)
    exposure.extend(repeat(bool(holding), end - start))
