"""``grid``: resting limit buys below a reference price and limit sells above it, ``levels`` of
each, ``spacing`` apart (a fraction of the reference). Long only: it sells only what it holds.

How it keeps its orders, with nothing remembered between decisions (a strategy keeps no state):

- A level is recognised among the bot's open orders by side and price: one of the strategy's own
  limit orders (client order id from the runtime) at the level's price, or within a quarter of a
  spacing of its exact price (plus the rounding the order's price shows: one placed when the
  grid rounded to other places still counts). Orders placed by hand are neither counted nor
  touched. A level that rounds onto a nearer level's price is dropped.
- Resting levels stay; it cancels only its own limit orders that are no level (after the
  reference or the parameters changed), a second order on one level, and, when the sells resting
  exceed what the bot holds (the position was reduced by hand), its outermost sells until they no
  longer do.
- A missing buy level is placed when it lies below the close and what the bot holds plus its
  resting buys stays within ``levels x quantity`` (the grid's whole inventory), a missing sell
  level when it lies above the close and what the bot holds covers it beside the sells already
  resting (nearest levels first). So a level that filled is placed again once the price is back
  on its side and the grid has sold what it bought there: a buy filled at 99 is offered at the
  sells above the reference, and bought again after a close above 99 once a sell has filled (or
  at once, while the inventory has room).
- Without ``reference`` the grid centres on the close of its first decision, the one at which
  none of its orders rest in the symbol. At later decisions it reads that centre back from its
  resting orders (the centre that makes most of them distinct levels, nearest their exact
  prices; a lone order is taken for an outermost level, the last to fill). When none of its
  orders rest any more it centres again on the close.
- Level prices are rounded to ``tick`` (buys down, sells up), or without it to the decimal places
  of the reference (or of the close it centred on); give ``tick`` when the market's price tick
  is finer than that.
"""

from __future__ import annotations

from bisect import bisect_left
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
SEEDS = 3
"""Resting orders on each side, nearest the centre first, that the centre is read back from."""


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
    exact: Decimal
    """``reference x (1 -/+ index x spacing)``."""
    price: Decimal
    """``exact`` rounded (buys down, sells up): the price its order is placed at."""


def _rounded(price: Decimal, side: Side, tick: Decimal | None, exemplar: Decimal) -> Decimal:
    rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
    if tick is not None:
        return (price / tick).to_integral_value(rounding) * tick
    exponent = exemplar.as_tuple().exponent
    places = exponent if isinstance(exponent, int) and exponent < 0 else 0
    return price.quantize(Decimal(1).scaleb(places), rounding)


def _granularity(price: Decimal) -> Decimal:
    """The last digit's worth in ``price`` as written (1 for 148, 0.01 for 148.50): at least the
    step it was rounded to, so it lies at most that far from the level it was computed for."""
    exponent = price.as_tuple().exponent
    return Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)


class Ladder:
    """The grid's levels around ``centre`` (a level that rounds onto a nearer one's price is
    dropped), and which of them an order rests on."""

    def __init__(self, params: GridParams, centre: Decimal, exemplar: Decimal) -> None:
        self.levels: list[Level] = []
        self._at_price: dict[tuple[Side, Decimal], Level] = {}
        for side in (Side.BUY, Side.SELL):
            for index in range(1, params.levels + 1):
                exact = centre * (1 - side.sign * index * params.spacing)
                level = Level(side, index, exact, _rounded(exact, side, params.tick, exemplar))
                if level.price > 0 and (side, level.price) not in self._at_price:
                    self._at_price[side, level.price] = level
                    self.levels.append(level)
        self._sides = {
            side: sorted(
                (level for level in self.levels if level.side is side), key=lambda level: level.exact
            )
            for side in (Side.BUY, Side.SELL)
        }
        self._exact = {side: [level.exact for level in levels] for side, levels in self._sides.items()}
        self.tolerance = MATCH * centre * params.spacing

    def level_of(self, order: OrderView) -> Level | None:
        """The level whose price the order has, else the level nearest it within a quarter of a
        spacing plus the order price's own rounding (an order placed when the grid rounded to
        other places, or around a centre read back a little differently)."""
        price = order.price
        assert price is not None
        same = self._at_price.get((order.side, price))
        if same is not None:
            return same
        levels, exact = self._sides[order.side], self._exact[order.side]
        at = bisect_left(exact, price)
        near = [levels[i] for i in (at - 1, at) if 0 <= i < len(levels)]
        best = min(near, key=lambda level: abs(level.exact - price), default=None)
        if best is None or abs(best.exact - price) > self.tolerance + _granularity(price):
            return None
        return best

    def fit(self, orders: list[OrderView]) -> tuple[int, Decimal]:
        """How well these orders are this grid's: the distinct levels they rest on, then (less
        is better, so negated) how far they lie from those levels' exact prices."""
        matched: set[tuple[Side, int]] = set()
        distance = Decimal(0)
        for order in orders:
            level = self.level_of(order)
            if level is not None and order.price is not None:
                matched.add((level.side, level.index))
                distance += abs(level.exact - order.price)
        return len(matched), -distance


def read_back(params: GridParams, own: list[OrderView], exemplar: Decimal) -> Decimal:
    """The centre that makes most of the grid's resting orders distinct levels, nearest their
    exact prices (``own`` is not empty): each
    level the innermost few buys and sells could be is tried, outermost first (rounding may have
    moved one order off the grid's exact price, so one seed is not enough)."""
    seeds = [
        *sorted((o for o in own if o.side is Side.BUY), key=lambda o: o.price or 0, reverse=True)[:SEEDS],
        *sorted((o for o in own if o.side is Side.SELL), key=lambda o: o.price or 0)[:SEEDS],
    ]
    best: tuple[tuple[int, Decimal], Decimal] | None = None
    for seed in seeds:
        assert seed.price is not None
        for index in range(params.levels, 0, -1):
            centre = seed.price / (1 - seed.side.sign * index * params.spacing)
            score = Ladder(params, centre, exemplar).fit(own)
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
        exemplar = params.reference or close
        centre = params.reference or (read_back(params, own, exemplar) if own else close)
        ladder = Ladder(params, centre, exemplar)

        cancels: list[Cancel] = []
        resting: dict[tuple[Side, int], OrderView] = {}
        for order in own:
            level = ladder.level_of(order)
            if level is None or (order.side, level.index) in resting:
                cancels.append(Cancel(order.client_order_id))
            else:
                resting[order.side, level.index] = order

        held = max(view.quantity(symbol), Decimal(0))
        budget = params.levels * params.quantity
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

        # what the grid holds and bids for stays within one quantity per buy level
        bidding = held + sum(
            (o.remaining for (side, _), o in resting.items() if side is Side.BUY), Decimal(0)
        )
        places: list[Intent] = []
        for level in ladder.levels:
            if (level.side, level.index) in resting:
                continue
            if level.side is Side.BUY and level.price < close and bidding + params.quantity <= budget:
                places.append(Place(symbol, Side.BUY, params.quantity, OrderType.LIMIT, level.price))
                bidding += params.quantity
            elif level.side is Side.SELL and level.price > close and offered + params.quantity <= held:
                places.append(Place(symbol, Side.SELL, params.quantity, OrderType.LIMIT, level.price))
                offered += params.quantity
        return [*cancels, *places]
