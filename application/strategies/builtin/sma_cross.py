"""``sma_cross``: long only, on the crossing of two simple moving averages of the closes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Self

import numpy as np
from pydantic import Field, model_validator

from application.strategies.base import Strategy, TimeframeName, param_error
from application.strategies.indicators import Flags, Series, closes, latest, sma
from application.strategies.sizing import Sizing
from domain.market import Candle
from domain.strategy import BotView, Close, Intent, Place, Timeframe
from domain.values import Side, Symbol

MAX_PERIOD = 1000
NEAR = 1e-9
"""How near, relative to the slow average, the averages count as touching for ``screen``."""
Period = Annotated[int, Field(strict=True, ge=1, le=MAX_PERIOD)]


class SmaCrossParams(Sizing):
    fast: Period = Field(description="closes in the fast average (fewer than slow)")
    slow: Period = Field(description="closes in the slow average")
    timeframe: TimeframeName = "1m"

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Self:
        if self.fast >= self.slow:
            raise param_error("fast", "must be less than slow")
        return self


class SmaCross(Strategy[SmaCrossParams]):
    """Buys when the fast average of the closes crosses above the slow one (on the previous
    closed candle fast <= slow, on this one fast > slow) and the bot is flat in the symbol (no
    position, no open order); closes the whole position when it crosses below (fast >= slow,
    then fast < slow). Each allowed symbol on its own."""

    name = "sma_cross"
    description = (
        "Long only: buy when the fast SMA of the closes crosses above the slow one, "
        "close the position when it crosses below."
    )
    Params = SmaCrossParams

    def timeframe(self, params: SmaCrossParams) -> Timeframe:
        return Timeframe.parse(params.timeframe)

    def warmup(self, params: SmaCrossParams) -> int:
        return params.slow + 1

    def screen(self, params: SmaCrossParams, closes: Mapping[Symbol, Series]) -> Flags | None:
        """The candles where the averages cross, or come within a hair of each other (the
        averages over a window, as ``decide`` computes them, and over the whole series may differ
        in the last bits): ``decide`` acts on a cross only, so anywhere else it returns nothing."""
        candidates: Flags | None = None
        for values in closes.values():
            fast, slow = sma(values, params.fast), sma(values, params.slow)
            margin = NEAR * np.abs(slow)
            with np.errstate(invalid="ignore"):
                above, below = fast - slow > margin, slow - fast > margin
            settled = above | below  # False while an average is NaN, or the two nearly touch
            moved = np.zeros(len(values), dtype=bool)
            moved[1:] = (above[1:] != above[:-1]) | ~settled[1:] | ~settled[:-1]
            candidates = moved if candidates is None else candidates | moved
        return candidates

    def decide(
        self, params: SmaCrossParams, candles: Mapping[Symbol, Sequence[Candle]], view: BotView
    ) -> list[Intent]:
        intents: list[Intent] = []
        for symbol in sorted(candles):
            window = candles[symbol][-self.warmup(params) :]
            values = closes(window)
            fast, slow = sma(values, params.fast), sma(values, params.slow)
            now, before = (latest(fast), latest(slow)), (latest(fast, 1), latest(slow, 1))
            if now[0] is None or now[1] is None or before[0] is None or before[1] is None:
                continue  # not enough closes yet
            held = view.quantity(symbol)
            if before[0] <= before[1] and now[0] > now[1]:
                if held == 0 and not view.orders_of(symbol):
                    quantity = params.entry_quantity(view, window[-1].close)
                    if quantity > 0:
                        intents.append(Place(symbol, Side.BUY, quantity))
            elif before[0] >= before[1] and now[0] < now[1] and held > 0:
                intents.append(Close(symbol))
        return intents
