"""What stops the engine other than a model: an event that no longer decodes, and read models
that were never installed; and the faults that only pass."""

from __future__ import annotations

from infrastructure.outages import OUTAGES
from projections.models.live import PositionMoved

TRANSIENT: tuple[type[BaseException], ...] = (*OUTAGES, PositionMoved)
"""The faults a worker retries rather than stops for: a store out of reach (infrastructure/
outages.py; a live store raises ConnectionError or TimeoutError when Redis is, projections/
ports.py), and another writer having moved the live model on."""


class UndecodableEvent(Exception):
    """A stored event whose topic or state no longer decodes into a domain event."""

    def __init__(self, position: int, topic: str, error: Exception) -> None:
        super().__init__(f"event #{position} ({topic}) cannot be decoded: {error}")
        self.position = position
        self.topic = topic
        self.error = error

    def __reduce__(self) -> tuple[type, tuple[int, str, Exception]]:  # crosses process boundaries
        return (type(self), (self.position, self.topic, ValueError(str(self.error))))


class ReadModelsMissing(Exception):
    """The read-side tables have not been created (run `tbot db init`)."""
