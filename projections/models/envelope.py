"""A decoded event with its place in the store's global order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.aggregate import TradingAggregate


@dataclass(frozen=True, slots=True)
class Envelope:
    position: int
    event: TradingAggregate.Event

    @property
    def aggregate_id(self) -> UUID:
        return self.event.originator_id

    @property
    def version(self) -> int:
        return self.event.originator_version

    @property
    def at(self) -> datetime:
        return self.event.timestamp

    @property
    def type_name(self) -> str:
        """``Order.Filled``: the aggregate and the event, as docs/events.md names them."""
        return type(self.event).__qualname__
