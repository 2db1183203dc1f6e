"""How big a strategy's entry is: a fixed ``quantity`` of the base currency, or a ``fraction`` of
the bot's equity (``capital``, what the bot was given in the quote currency, plus what it has made
or lost since) at the last close. Exactly one of the two."""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from pydantic import Field, model_validator

from application.strategies.base import Amount, Fraction, StrategyParams, param_error
from domain.strategy import BotView


class Sizing(StrategyParams):
    """Parameters of a strategy that enters with one order: give ``quantity``, or ``fraction``
    with ``capital``."""

    quantity: Amount | None = Field(default=None, description="base units bought on each entry")
    fraction: Fraction | None = Field(
        default=None, description="share of the bot's equity put into each entry (0.5 is half); needs capital"
    )
    capital: Amount | None = Field(
        default=None, description="the quote amount the bot was given (with fraction only)"
    )

    @model_validator(mode="after")
    def _one_size(self) -> Self:
        if (self.quantity is None) == (self.fraction is None):
            raise param_error("quantity", "give exactly one of quantity and fraction")
        if self.fraction is not None and self.capital is None:
            raise param_error("capital", "is required with fraction")
        if self.quantity is not None and self.capital is not None:
            raise param_error("capital", "is only taken with fraction")
        return self

    def entry_quantity(self, view: BotView, price: Decimal) -> Decimal:
        """The base quantity to buy at ``price``: ``quantity``, or ``fraction`` of the bot's
        equity at its marks divided by the price (0 when the equity is gone). Not rounded: the
        runtime rounds it down to the market's step."""
        if self.quantity is not None:
            return self.quantity
        assert self.fraction is not None and self.capital is not None
        equity = view.equity(self.capital)
        return self.fraction * equity / price if equity > 0 else Decimal(0)
