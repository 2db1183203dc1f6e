"""A clock the tests move by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from infrastructure.adapters import SimulatedClock


class ManualClock(SimulatedClock):
    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start or datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
