"""The stop-loss and take-profit worker: one process at a time holds the `protection` lock; others
stand by."""

from __future__ import annotations

import threading
from uuid import UUID

from sqlalchemy import Engine

from application.protection import ProtectionManager
from interfaces.composition import Container
from interfaces.workers.supervisor import Ownership, Supervisor
from projections.queries import open_position_ids


class ReadModelPositions:
    """The open positions, from the positions read model."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open_positions(self) -> list[UUID]:
        with self.engine.connect() as conn:
            return open_position_ids(conn)


class ProtectionJob:
    """Checks every open position's levels against the marks, every ``interval`` seconds."""

    name = "protection"

    def __init__(self, manager: ProtectionManager, interval: float) -> None:
        self.manager = manager
        self.interval = interval
        self._wake = threading.Event()

    def begin(self) -> None:
        """Nothing to set up: each check reads what it needs."""

    def turn(self) -> float:
        self.manager.check()
        return self.interval

    def idle(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def interrupt(self) -> None:
        self._wake.set()

    def end(self) -> None:
        """Nothing to let go of."""

    def close(self) -> None:
        """Nothing to let go of."""


def build_protection_worker(
    container: Container, locks: Ownership | None = None
) -> Supervisor[ProtectionJob]:
    manager = ProtectionManager(
        container.bus(),
        container.store(),
        ReadModelPositions(container.read_engine()),
        container.prices(),
        container.clock(),
        container.markets(),
    )
    job = ProtectionJob(manager, container.settings().protection.poll_seconds)
    return Supervisor(job, locks or container.locks())
