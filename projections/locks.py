"""Which worker runs which projection: the locks a projection worker takes, one per projection
(implemented in ``infrastructure/ownership.py``)."""

from __future__ import annotations

from typing import Protocol


class ProjectionLocks(Protocol):
    def try_acquire(self, name: str) -> bool: ...

    def check(self) -> bool:
        """False when the locks were lost (the lock connection died); held ones are then gone."""
        ...

    def release_all(self) -> None: ...
