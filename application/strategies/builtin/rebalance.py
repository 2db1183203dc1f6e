"""``rebalance``: holds several symbols at target shares of the bot's equity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Self

from pydantic import Field, model_validator

from application.strategies.base import (
    Amount,
    Fraction,
    Share,
    Strategy,
    StrategyParams,
    SymbolName,
    TimeframeName,
    param_error,
)
from domain.market import Candle
from domain.strategy import BotView, Intent, Place, Timeframe
from domain.values import Side, Symbol

MAX_SYMBOLS = 50


class RebalanceParams(StrategyParams):
    weights: Annotated[dict[SymbolName, Share], Field(min_length=1, max_length=MAX_SYMBOLS)] = Field(
        description="symbol -> target share of the bot's equity held in it (the shares add up to at most 1; "
        "the rest stays in the quote currency)"
    )
    threshold: Fraction = Field(
        description="how far a symbol's share may drift from its target before it is traded back (0.05 is 5 "
        "points)"
    )
    capital: Amount = Field(description="the quote amount the bot was given")
    timeframe: TimeframeName = "1m"

    @model_validator(mode="after")
    def _at_most_all(self) -> Self:
        if sum(self.weights.values(), Decimal(0)) > 1:
            raise param_error("weights", "must add up to at most 1")
        quotes = {Symbol.parse(name).quote for name in self.weights}
        if len(quotes) > 1:
            raise param_error("weights", "must all be quoted in one currency")
        return self


class Rebalance(Strategy[RebalanceParams]):
    """On each candle, for each of its symbols: its share of the bot's equity (its position at the
    mark over ``BotView.equity(capital)``); when that is more than ``threshold`` away from its
    weight, a market order for the difference at the close (a sell never more than the bot holds).
    A symbol with an open order (a trade back still under way) waits for the next candle."""

    name = "rebalance"
    description = "Holds several symbols at target shares of the bot's equity, trading back when one drifts."
    Params = RebalanceParams

    def timeframe(self, params: RebalanceParams) -> Timeframe:
        return Timeframe.parse(params.timeframe)

    def symbols(self, params: RebalanceParams, allowed: list[Symbol]) -> list[Symbol]:
        return [symbol for symbol in allowed if str(symbol) in params.weights]

    def decide(
        self, params: RebalanceParams, candles: Mapping[Symbol, Sequence[Candle]], view: BotView
    ) -> list[Intent]:
        equity = view.equity(params.capital)
        if equity <= 0:
            return []
        intents: list[Intent] = []
        for symbol in sorted(candles):
            target = params.weights.get(str(symbol))
            if target is None or not candles[symbol] or view.orders_of(symbol):
                continue
            price = view.marks.get(symbol, candles[symbol][-1].close)
            held = view.quantity(symbol)
            value = held * price
            if abs(value / equity - target) <= params.threshold:
                continue
            difference = (target * equity - value) / price
            if difference > 0:
                intents.append(Place(symbol, Side.BUY, difference))
            elif held > 0:
                intents.append(Place(symbol, Side.SELL, min(-difference, held)))
        return intents
