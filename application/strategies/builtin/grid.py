"""``grid``: resting limit buys below a reference price and limit sells above it, ``levels`` of
each, ``spacing`` apart (a fraction of the reference). Long only: it sells only what it holds.

How it keeps its orders, with nothing remembered between decisions (a strategy keeps no state):

- A level is recognised among the bot's open orders by side and price: one of the strategy's own
  limit orders (client order id from the runtime) within a quarter of a spacing of the level's
  price. Orders placed by hand are neither counted nor touched.
- Resting levels stay; it cancels only its own limit orders that are no level (after the
  reference or the parameters changed), a second order on one level, and, when the sells resting
  exceed what the bot holds (the position was reduced by hand), its outermost sells until they no
  longer do.
- A missing buy level is placed when it lies below the close, a missing sell level when it lies
  above the close and what the bot holds covers it beside the sells already resting (nearest
  levels first). So a level that filled is placed again once the price is back on its side: a
  buy that filled at 99 is bought again after a close above 99, and in the meantime its quantity
  is offered at the sell levels above the reference.
- Without ``reference`` the grid centres on the close of its first decision, the one at which
  none of its orders rest in the symbol. At later decisions it reads that centre back from its
  resting orders (the centre that makes most of them levels; a lone order is taken for an
  outermost level, the last to fill). When none of its orders rest any more it centres again on
  the close.
- Level prices are rounded to ``tick`` (buys down, sells up), or without it to the decimal places
  of the reference (or of the close it centred on); give ``tick`` when the market's price tick
  is finer than that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Self

from pydantic import Field, model_validator

from application.strategies.base import (
    Amount,
    Fraction,
    Strategy,
    StrategyParams,
    SymbolName,
    TimeframeName,
    param_error,
    placed_by_strategy,
)
from domain.market import Candle
from domain.strategy import BotView, Cancel, Intent, OrderView, Place, Timeframe
from domain.values import OrderType, Side, Symbol

MAX_LEVELS = 50
MATCH = Decimal("0.25")
"""How near (in spacings) an order's price must be to a level's to be that level."""


class GridParams(StrategyParams):
    levels: int = Field(strict=True, ge=1, le=MAX_LEVELS, description="limit orders on each side")
    spacing: Fraction = Field(description="distance between levels, a fraction of the reference (0.01 is 1%)")
    quantity: Amount = Field(description="base units of each level's order")
    reference: Amount | None = Field(
        default=None, description="the grid's centre; without it, the close of its first decision"
    )
    tick: Amount | None = Field(
        default=None,
        description="round level prices to multiples of this (buys down, sells up); without it, to the "
        "decimal places of the reference",
    )
    symbol: SymbolName | None = Field(
        default=None, description="the symbol it trades; without it, the first of the bot's allowed symbols"
    )
    timeframe: TimeframeName = "1m"

    @model_validator(mode="after")
    def _above_zero(self) -> Self:
        if self.levels * self.spacing >= 1:
            raise param_error(
                "spacing", "times levels must be less than 1 (the lowest buy must stay above 0)"
            )
        return self


@dataclass(frozen=True)
class Level:
    side: Side
    index: int
    """1 for the levels next to the reference, ``levels`` for the outermost."""
    price: Decimal


def _rounded(price: Decimal, side: Side, tick: Decimal | None, exemplar: Decimal) -> Decimal:
    rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
    if tick is not None:
        return (price / tick).to_integral_value(rounding) * tick
    exponent = exemplar.as_tuple().exponent
    places = exponent if isinstance(exponent, int) and exponent < 0 else 0
    return price.quantize(Decimal(1).scaleb(places), rounding)


def ladder(params: GridParams, centre: Decimal, exemplar: Decimal) -> list[Level]:
    """The grid's levels around ``centre``, buys then sells, each nearest first."""
    return [
        Level(
            side,
            index,
            _rounded(centre * (1 - side.sign * index * params.spacing), side, params.tick, exemplar),
        )
        for side in (Side.BUY, Side.SELL)
        for index in range(1, params.levels + 1)
    ]


def _index(order: OrderView, centre: Decimal, params: GridParams) -> int | None:
    """The level ``order`` rests on in the grid around ``centre``, or None."""
    assert order.price is not None
    steps = (order.price / centre - 1) / params.spacing * -order.side.sign
    nearest = int(steps.to_integral_value())
    if 1 <= nearest <= params.levels and abs(steps - nearest) <= MATCH:
        return nearest
    return None


def read_back(params: GridParams, own: list[OrderView]) -> Decimal:
    """The centre that makes most of the grid's resting orders levels (``own`` is not empty)."""
    seeds = [
        *sorted((o for o in own if o.side is Side.BUY), key=lambda o: o.price or 0, reverse=True)[:1],
        *sorted((o for o in own if o.side is Side.SELL), key=lambda o: o.price or 0)[:1],
    ]
    best: tuple[int, Decimal] | None = None
    for seed in seeds:
        assert seed.price is not None
        for index in range(params.levels, 0, -1):
            centre = seed.price / (1 - seed.side.sign * index * params.spacing)
            score = sum(1 for order in own if _index(order, centre, params) is not None)
            if best is None or score > best[0]:
                best = (score, centre)
    assert best is not None
    return best[1]


class Grid(Strategy[GridParams]):
    name = "grid"
    description = (
        "Resting limit buys below a reference price and limit sells above it (only what it holds); "
        "places the missing levels, keeps the others."
    )
    Params = GridParams

    def timeframe(self, params: GridParams) -> Timeframe:
        return Timeframe.parse(params.timeframe)

    def symbols(self, params: GridParams, allowed: list[Symbol]) -> list[Symbol]:
        if params.symbol is None:
            return list(allowed[:1])
        return [symbol for symbol in allowed if str(symbol) == params.symbol]

    def decide(
        self, params: GridParams, candles: Mapping[Symbol, Sequence[Candle]], view: BotView
    ) -> list[Intent]:
        intents: list[Intent] = []
        for symbol in sorted(candles):
            if candles[symbol]:
                intents += self._keep(params, symbol, candles[symbol][-1].close, view)
        return intents

    def _keep(self, params: GridParams, symbol: Symbol, close: Decimal, view: BotView) -> list[Intent]:
        orders = view.orders_of(symbol)
        own = sorted(
            (o for o in orders if placed_by_strategy(o) and o.order_type is OrderType.LIMIT and o.price),
            key=lambda o: o.client_order_id,
        )
        centre = params.reference or (read_back(params, own) if own else close)
        levels = ladder(params, centre, params.reference or close)

        cancels: list[Cancel] = []
        resting: dict[tuple[Side, int], OrderView] = {}
        for order in own:
            index = _index(order, centre, params)
            if index is None or (order.side, index) in resting:
                cancels.append(Cancel(order.client_order_id))
            else:
                resting[order.side, index] = order

        held = max(view.quantity(symbol), Decimal(0))
        cancelled = {cancel.client_order_id for cancel in cancels}
        offered = sum(
            (o.remaining for o in orders if o.side is Side.SELL and o.client_order_id not in cancelled),
            Decimal(0),
        )
        for index in range(params.levels, 0, -1):  # too much offered: the outermost sells go first
            sell = resting.get((Side.SELL, index))
            if offered > held and sell is not None:
                cancels.append(Cancel(sell.client_order_id))
                offered -= sell.remaining
                del resting[Side.SELL, index]

        places: list[Intent] = []
        for level in levels:
            if (level.side, level.index) in resting:
                continue
            if level.side is Side.BUY and level.price < close:
                places.append(Place(symbol, Side.BUY, params.quantity, OrderType.LIMIT, level.price))
            elif level.side is Side.SELL and level.price > close and offered + params.quantity <= held:
                places.append(Place(symbol, Side.SELL, params.quantity, OrderType.LIMIT, level.price))
                offered += params.quantity
        return [*cancels, *places]
