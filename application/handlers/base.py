"""What every handler shares: the stamp (clock time and metadata) and bounded conflict retries."""

from __future__ import annotations

import random
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from eventsourcing.persistence import IntegrityError

from application.commands import Command
from application.errors import ConcurrencyConflict
from application.ports import Clock, IdFactory, KnownAccounts, MarketRules, ReferencePrices
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
    max_attempts: int = 10
    conflicts: ConflictObserver | None = None


class Handler(ABC, Generic[C, R]):
    """Runs ``execute`` and, when another writer changed the same aggregates first (the event
    store refuses the version), reloads and runs it again, up to ``max_attempts`` times."""

    def __init__(self, deps: HandlerDeps) -> None:
        self.deps = deps
        self.store = deps.store

    def __call__(self, command: C) -> R:
        actor = user_id(command.actor)
        correlation_id = command.correlation_id or self.deps.ids.new_id().hex
        causation_id = command.causation_id or self.deps.ids.new_id().hex
        attempts = self.deps.max_attempts
        for attempt in range(1, attempts + 1):
            stamp = Stamp(self.deps.clock.now(), EventMeta(actor, correlation_id, causation_id))
            try:
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

    @abstractmethod
    def execute(self, command: C, stamp: Stamp) -> R:
        """Loads aggregates, decides, and saves every touched aggregate in one ``record`` call."""
