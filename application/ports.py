"""What the core needs from outside, as protocols the infrastructure implements."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from domain.values import MarketSpec, Symbol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class IdFactory(Protocol):
    def new_id(self) -> UUID:
        """A fresh unique id."""
        ...


class ReferencePrices(Protocol):
    def reference_price(self, symbol: Symbol) -> Decimal | None:
        """The latest trusted price of ``symbol``, or None when there is none."""
        ...


class MarketRules(Protocol):
    def market(self, account: str, symbol: Symbol) -> MarketSpec | None:
        """The precision and minimums of ``symbol`` on the exchange behind ``account``, or None
        when that exchange does not list it (or its markets were never loaded)."""
        ...


class KnownAccounts(Protocol):
    def exists(self, account: str) -> bool:
        """Whether bots may trade on ``account``: a paper account, or an exchange account whose
        credentials are stored."""
        ...


class SharedTurns(Protocol):
    def hold(self, bot_id: UUID) -> AbstractContextManager[None]:
        """Holds the bot's turn among every process writing to the same event store, waiting a
        bounded time for it (``BotBusy`` when that runs out)."""
        ...


class StrategyRules(Protocol):
    def validate(self, strategy: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` as strategy ``strategy`` takes them (defaults filled in, as plain JSON), or
        InvalidInput naming ``strategy`` (an unknown one) or ``params.<field>`` and the rule."""
        ...
