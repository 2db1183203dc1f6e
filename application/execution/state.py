"""What the execution process manager keeps between runs, and where it reads events from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from domain.aggregate import TradingAggregate
from domain.values import Symbol


@dataclass(frozen=True)
class WorkingOrder:
    """An order the manager has taken on and not yet seen end: what it needs to follow the order
    at its exchange account without loading it."""

    order_id: UUID
    account: str
    symbol: Symbol
    client_order_id: str
    correlation_id: str


class ExecutionState(Protocol):
    """The manager's tracking position and its working orders, saved together in one transaction."""

    def load(self) -> tuple[int, list[WorkingOrder]]: ...

    def save(self, position: int, opened: Sequence[WorkingOrder], closed: Sequence[UUID]) -> None: ...


class StoredEvent(Protocol):
    """An event with its position in the store's global order."""

    @property
    def position(self) -> int: ...

    @property
    def event(self) -> TradingAggregate.Event: ...


class EventSource(Protocol):
    def read(self, after: int, limit: int) -> Sequence[StoredEvent]:
        """Up to ``limit`` events after position ``after``, in order."""
        ...
