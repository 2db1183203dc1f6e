"""What a backtest's event log says happened: every fill, the denials, the decisions, and the
equity after each candle (cash plus the positions at the candle's close), exactly, in Decimal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

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
    """Cash plus each position at the close, after each candle; a fill counts from its candle on."""
    symbols = sorted(candles, key=str)
    first = candles[symbols[0]]
    held = dict.fromkeys(symbols, Decimal(0))
    equity: list[Decimal] = []
    exposure: list[bool] = []
    upcoming = iter(fills)
    pending = next(upcoming, None)
    for index, candle in enumerate(first):
        closes_at = candle.opened_at.timestamp() + 60
        while pending is not None and pending.time.timestamp() < closes_at:
            signed = pending.quantity if pending.side is Side.BUY else -pending.quantity
            held[pending.symbol] += signed
            cash -= signed * pending.price + pending.fee
            pending = next(upcoming, None)
        value = cash
        open_position = False
        for symbol in symbols:
            quantity = held[symbol]
            if quantity:
                value += quantity * candles[symbol][index].close
                open_position = True
        equity.append(value)
        exposure.append(open_position)
    return equity, exposure
