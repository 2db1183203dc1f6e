"""The contract between a strategy and the runtime that calls it, as plain values: what a
strategy sees (closed candles, its bot's view) and what it may ask for (intents). The strategies
themselves, with their parameters, are in application/strategies; the runtime that feeds them and
turns their intents into commands is in application/strategy_runtime."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.errors import InvalidInput
from domain.market import Candle
from domain.values import OrderType, Side, Symbol

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Timeframe:
    """A candle length the runtime can serve: whole minutes, aligned on the epoch (a 5m candle
    opens at :00, :05, ...; a 1d candle at 00:00 UTC)."""

    name: str
    minutes: int

    @classmethod
    def parse(cls, text: str) -> Timeframe:
        minutes = TIMEFRAMES.get(text)
        if minutes is None:
            raise InvalidInput("timeframe", f"must be one of {', '.join(TIMEFRAMES)}")
        return cls(text, minutes)

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.minutes)

    def opening(self, moment: datetime) -> datetime:
        """When the candle holding ``moment`` opened."""
        minutes = int((moment - EPOCH).total_seconds() // 60)
        return EPOCH + timedelta(minutes=minutes - minutes % self.minutes)


TIMEFRAMES = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240, "1d": 1440}


def resample(candles: Sequence[Candle], timeframe: Timeframe) -> list[Candle]:
    """One-minute candles (one symbol, oldest first, none missing or not) folded into the
    timeframe's candles; a timeframe candle holds whatever minutes of it there are."""
    if timeframe.minutes == 1:
        return list(candles)
    folded: list[Candle] = []
    for candle in candles:
        opened = timeframe.opening(candle.opened_at)
        if folded and folded[-1].opened_at == opened:
            last = folded[-1]
            folded[-1] = Candle(
                last.symbol,
                opened,
                last.open,
                max(last.high, candle.high),
                min(last.low, candle.low),
                candle.close,
                last.volume + candle.volume,
            )
        else:
            folded.append(replace(candle, opened_at=opened))
    return folded


@dataclass(frozen=True)
class PositionView:
    """A position as the strategy sees it: signed quantity (long above 0), average entry price,
    realized PnL so far (fees taken)."""

    symbol: Symbol
    quantity: Decimal
    average_price: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True)
class OrderView:
    """An open order of the bot: what is left of it, at what price."""

    client_order_id: str
    symbol: Symbol
    side: Side
    order_type: OrderType
    quantity: Decimal
    remaining: Decimal
    price: Decimal | None
    stop_price: Decimal | None


@dataclass(frozen=True)
class BotView:
    """What a strategy knows of its bot when it decides on the candle that closed at ``at``:
    its positions, its open orders, and each symbol's last close (the mark it is valued at)."""

    at: datetime
    positions: Mapping[Symbol, PositionView] = field(default_factory=dict)
    open_orders: tuple[OrderView, ...] = ()
    marks: Mapping[Symbol, Decimal] = field(default_factory=dict)

    def quantity(self, symbol: Symbol) -> Decimal:
        position = self.positions.get(symbol)
        return position.quantity if position is not None else Decimal(0)

    def equity(self, capital: Decimal) -> Decimal:
        """``capital`` (what the bot was given) plus its realized PnL and its positions' worth
        above their cost at the marks."""
        value = capital
        for symbol, position in self.positions.items():
            value += position.realized_pnl
            mark = self.marks.get(symbol)
            if mark is not None and position.quantity:
                value += position.quantity * (mark - position.average_price)
        return value

    def orders_of(self, symbol: Symbol) -> list[OrderView]:
        return [order for order in self.open_orders if order.symbol == symbol]


@dataclass(frozen=True)
class Place:
    """Place an order. ``stop_loss`` and ``take_profit`` are price levels for the position it
    opens or adds to, as on an order placed by hand."""

    symbol: Symbol
    side: Side
    quantity: Decimal
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None
    stop_price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None

    def plain(self) -> dict[str, Any]:
        return {
            "intent": "place",
            "symbol": str(self.symbol),
            "side": self.side.value,
            "order_type": self.order_type.value,
            "quantity": str(self.quantity),
            **{
                name: str(value)
                for name, value in (
                    ("price", self.price),
                    ("stop_price", self.stop_price),
                    ("stop_loss", self.stop_loss),
                    ("take_profit", self.take_profit),
                )
                if value is not None
            },
        }


@dataclass(frozen=True)
class Cancel:
    """Cancel one of the bot's open orders, named by its client order id."""

    client_order_id: str

    def plain(self) -> dict[str, Any]:
        return {"intent": "cancel", "client_order_id": self.client_order_id}


@dataclass(frozen=True)
class Close:
    """Flatten the bot's position in ``symbol`` with a market order (nothing when it is flat)."""

    symbol: Symbol

    def plain(self) -> dict[str, Any]:
        return {"intent": "close", "symbol": str(self.symbol)}


Intent = Place | Cancel | Close


def intent_from_plain(plain: Mapping[str, Any]) -> Intent:
    """The intent a decision recorded (``Intent.plain``)."""
    kind = plain["intent"]
    if kind == "cancel":
        return Cancel(str(plain["client_order_id"]))
    symbol = Symbol.parse(str(plain["symbol"]), "symbol")
    if kind == "close":
        return Close(symbol)

    def money(name: str) -> Decimal | None:
        value = plain.get(name)
        return None if value is None else Decimal(str(value))

    return Place(
        symbol,
        Side(plain["side"]),
        Decimal(str(plain["quantity"])),
        OrderType(plain["order_type"]),
        money("price"),
        money("stop_price"),
        money("stop_loss"),
        money("take_profit"),
    )


def strategy_client_order_id(candle_at: datetime, index: int) -> str:
    """The client order id of the ``index``-th intent decided on the candle that closed at
    ``candle_at``: the same wherever and however often the decision is carried out, so a
    restarted or racing runtime never places an order twice (a bot's client order ids are
    unique to it)."""
    return f"s-{candle_at.astimezone(UTC):%Y%m%dT%H%M}-{index}"
