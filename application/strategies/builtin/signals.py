"""``signals``: a bot that trades the signals sent to it (``POST /v1/bots/{bot_id}/signals``, or a
Telegram channel linked to it) instead of deciding on candles. Its parameters say how big each
signal's entry is and what to do with leverage; docs/signals.md says more."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Literal, Self

from pydantic import Field, model_validator

from application.strategies.base import Amount, Fraction, Strategy, StrategyParams, param_error
from domain.market import Candle
from domain.strategy import BotView, Intent
from domain.values import Symbol


class SignalParams(StrategyParams):
    """Give ``quote_amount``, or ``fraction`` with ``capital``."""

    quote_amount: Amount | None = Field(
        default=None, description="quote currency put into each signal's entry, split evenly over its entries"
    )
    fraction: Fraction | None = Field(
        default=None,
        description="share of the bot's equity put into each signal's entry (0.1 is a tenth); needs capital",
    )
    capital: Amount | None = Field(
        default=None, description="the quote amount the bot was given (with fraction only)"
    )
    leverage: Literal["refuse", "ignore"] = Field(
        default="refuse",
        description="a signal asking for leverage on this unlevered account: refuse it "
        "(LEVERAGE_NOT_SUPPORTED) or trade it unlevered (recorded as leverage_ignored)",
    )

    @model_validator(mode="after")
    def _one_size(self) -> Self:
        if (self.quote_amount is None) == (self.fraction is None):
            raise param_error("quote_amount", "give exactly one of quote_amount and fraction")
        if self.fraction is not None and self.capital is None:
            raise param_error("capital", "is required with fraction")
        if self.quote_amount is not None and self.capital is not None:
            raise param_error("capital", "is only taken with fraction")
        return self

    def entry_quote(self, equity: Decimal) -> Decimal:
        """The quote amount a signal's entry puts in: ``quote_amount``, or ``fraction`` of the
        bot's equity (``capital`` plus what it has made or lost; nothing once it is gone)."""
        if self.quote_amount is not None:
            return self.quote_amount
        assert self.fraction is not None
        return self.fraction * equity if equity > 0 else Decimal(0)


class SignalFollowing(Strategy[SignalParams]):
    name = "signals"
    description = (
        "Trades the signals sent to it (text from a channel), sized by its parameters; "
        "never decides on candles."
    )
    Params = SignalParams
    trades = False

    def decide(
        self, params: SignalParams, candles: Mapping[Symbol, Sequence[Candle]], view: BotView
    ) -> list[Intent]:
        return []
