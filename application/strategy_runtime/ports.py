"""What the strategy runtime needs from outside: candles, the bots it may run, leases among
runtimes, and the strategies themselves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.market import Candle
from domain.strategy import BotView, Intent, Timeframe
from domain.values import Symbol


class CandleHistory(Protocol):
    def newest(self, symbols: Sequence[Symbol]) -> dict[Symbol, datetime]:
        """When each symbol's newest one-minute candle opened (the one in progress); a symbol
        without candles is left out."""
        ...

    def window(self, symbol: Symbol, until: datetime, count: int) -> list[Candle]:
        """The last ``count`` one-minute candles of ``symbol`` opened before ``until``, oldest
        first (a minute market data missed is not there: a gap shifts the window back)."""
        ...


class StrategyBots(Protocol):
    def running(self) -> list[UUID]:
        """The running bots whose strategy trades (not `manual`)."""
        ...


class BotLeases(Protocol):
    """Which runtime runs which bot: a lease per bot, held while its runtime lives."""

    def claim(self, bots: Sequence[UUID]) -> set[UUID]:
        """Takes the leases of these bots that no other runtime holds, up to this runtime's fair
        share, lets go of the ones beyond it and of bots no longer listed; returns the bots held."""
        ...

    def release_all(self) -> None: ...


class Decider(Protocol):
    """A strategy bound to one bot's parameters and symbols."""

    timeframe: Timeframe
    symbols: list[Symbol]
    warmup: int

    def decide(self, candles: Mapping[Symbol, Sequence[Candle]], view: BotView) -> list[Intent]: ...


class StrategyBook(Protocol):
    def bind(self, strategy: str, params: Mapping[str, Any], allowed: Sequence[Symbol]) -> Decider | None:
        """The strategy with these params, or None for one that never trades (`manual`); raises
        InvalidInput for an unknown strategy or params it does not take."""
        ...
