"""What every handler shares: the stamp (clock time and metadata), turns per bot within the
process, and bounded conflict retries."""

from __future__ import annotations

import random
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.commands import BotCommand, Command, OrderCommand
from application.errors import ConcurrencyConflict
from application.handlers.turns import BotTurns
from application.ports import Clock, IdFactory, KnownAccounts, MarketRules, ReferencePrices, StrategyRules
from application.store import TradingApplication
from domain.ids import user_id
from domain.values import EventMeta, Stamp

C = TypeVar("C", bound=Command)
R = TypeVar("R")


class ConflictObserver(Protocol):
    """Told of each conflict a handler meets (another writer changed its aggregates first), e.g.
    to count them; ``gave_up`` when the last attempt failed too."""

    def retried(self, command: Command, attempt: int) -> None: ...

    def gave_up(self, command: Command, attempts: int) -> None: ...


@dataclass(frozen=True)
class HandlerDeps:
    store: TradingApplication
    clock: Clock
    ids: IdFactory
    prices: ReferencePrices
    markets: MarketRules
    accounts: KnownAccounts
    strategies: StrategyRules
    max_attempts: int = 10
    conflicts: ConflictObserver | None = None
    turns: BotTurns = field(default_factory=BotTurns)  # shared by the handlers of one bus


class Handler(ABC, Generic[C, R]):
    """Runs ``execute`` in its bot's turn, so commands on one bot run one at a time in a process;
    when a writer elsewhere changed the same aggregates first (the event store refuses the
    version), reloads and runs it again, up to ``max_attempts`` times, giving the turn up while
    it waits."""

    changes_bot: ClassVar[bool] = True
    """False for a command that never changes a bot: it takes no turn and runs beside the others."""

    def __init__(self, deps: HandlerDeps) -> None:
        self.deps = deps
        self.store = deps.store

    def __call__(self, command: C) -> R:
        actor = user_id(command.actor)
        correlation_id = command.correlation_id or self.deps.ids.new_id().hex
        causation_id = command.causation_id or self.deps.ids.new_id().hex
        attempts = self.deps.max_attempts
        bot_id = self.bot_of(command)
        for attempt in range(1, attempts + 1):
            try:
                with self.deps.turns.turn(bot_id):
                    # the time is read in the turn, so one process stamps a bot's events in order
                    stamp = Stamp(self.deps.clock.now(), EventMeta(actor, correlation_id, causation_id))
                    return self.execute(command, stamp)
            except IntegrityError:
                observer = self.deps.conflicts
                if attempt == attempts:
                    if observer is not None:
                        observer.gave_up(command, attempts)
                    raise ConcurrencyConflict(attempts) from None
                if observer is not None:
                    observer.retried(command, attempt)
                # Jittered exponential backoff keeps contending writers from colliding in step.
                time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
        raise AssertionError("unreachable")  # pragma: no cover

    def bot_of(self, command: C) -> UUID | None:
        """The bot whose turn the command takes: the one it names, or its order's. None: it changes
        no existing bot, and takes no turn."""
        if not self.changes_bot:
            return None
        if isinstance(command, BotCommand):
            return command.bot_id
        if isinstance(command, OrderCommand):
            return self.deps.turns.bot_of_order(command.order_id, self.store)
        return None

    @abstractmethod
    def execute(self, command: C, stamp: Stamp) -> R:
        """Loads aggregates, decides, and saves every touched aggregate in one ``record`` call."""
