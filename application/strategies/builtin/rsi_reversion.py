"""``rsi_reversion``: long only, buying when the RSI says oversold and selling when overbought."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Self

from pydantic import Field, model_validator

from application.strategies.base import (
    DECIMAL_TEXT,
    Strategy,
    TimeframeName,
    decimal_schema,
    param_error,
    within,
)
from application.strategies.indicators import closes, latest, rsi
from application.strategies.sizing import Sizing
from domain.market import Candle
from domain.strategy import BotView, Close, Intent, Place, Timeframe
from domain.values import Side, Symbol

_LEVEL = "a decimal string (or integer) between 0 and 100"
Level = Annotated[
    Decimal,
    DECIMAL_TEXT,
    within("must be between 0 and 100", lambda value: 0 < value < 100),
    decimal_schema(_LEVEL),
]
SMOOTHING = 4
"""Closes per RSI period it reads: Wilder's smoothing carries every earlier close along a little,
so a fixed window (the last ``4 x period + 1`` closes) keeps each decision the same however many
candles the runtime served."""


class RsiReversionParams(Sizing):
    period: int = Field(default=14, strict=True, ge=2, le=250, description="closes in the RSI")
    oversold: Level = Field(default=Decimal(30), description="buy below this RSI (when flat)")
    overbought: Level = Field(default=Decimal(70), description="close the position above this RSI")
    timeframe: TimeframeName = "1m"

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.oversold >= self.overbought:
            raise param_error("oversold", "must be less than overbought")
        return self


class RsiReversion(Strategy[RsiReversionParams]):
    """Buys when the RSI of the closes is below ``oversold`` and the bot is flat in the symbol
    (no position, no open order); closes the whole position when it is above ``overbought``.
    Each allowed symbol on its own."""

    name = "rsi_reversion"
    description = (
        "Long only: buy when the RSI is below oversold, close the position when it is above overbought."
    )
    Params = RsiReversionParams

    def timeframe(self, params: RsiReversionParams) -> Timeframe:
        return Timeframe.parse(params.timeframe)

    def warmup(self, params: RsiReversionParams) -> int:
        return SMOOTHING * params.period + 1

    def decide(
        self, params: RsiReversionParams, candles: Mapping[Symbol, Sequence[Candle]], view: BotView
    ) -> list[Intent]:
        intents: list[Intent] = []
        for symbol in sorted(candles):
            window = candles[symbol][-self.warmup(params) :]
            if len(window) < self.warmup(params):
                continue
            value = latest(rsi(closes(window), params.period))
            if value is None:
                continue
            held = view.quantity(symbol)
            if value < float(params.oversold):
                if held == 0 and not view.orders_of(symbol):
                    quantity = params.entry_quantity(view, window[-1].close)
                    if quantity > 0:
                        intents.append(Place(symbol, Side.BUY, quantity))
            elif value > float(params.overbought) and held > 0:
                intents.append(Close(symbol))
        return intents
