"""`tbot protection run`: the stop-loss and take-profit worker. One process at a time holds the
`protection` lock; others wait as standbys."""

from __future__ import annotations

import signal
import threading
from typing import Any
from uuid import UUID

import structlog
import typer
from sqlalchemy import Engine

from application.protection import ProtectionManager
from infrastructure.logging import configure_logging
from interfaces.errors import clear_errors
from interfaces.read_side import ReadSideContainer
from interfaces.worker_tables import require_tables
from projections.locks import ProjectionLocks
from projections.queries import open_position_ids

protection_app = typer.Typer(no_args_is_help=True, help="Stop losses and take profits.")
log = structlog.get_logger("tbot.protection")
LOCK = "protection"


class ReadModelPositions:
    """The open positions, from the positions read model."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open_positions(self) -> list[UUID]:
        with self.engine.connect() as conn:
            return open_position_ids(conn)


class ProtectionWorker:
    def __init__(self, manager: ProtectionManager, locks: ProjectionLocks, interval: float) -> None:
        self.manager = manager
        self.locks = locks
        self.interval = interval
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.locks.try_acquire(LOCK) and self.locks.check():
                    try:
                        self.manager.check()
                    except Exception as error:  # a database outage: check again next time
                        log.warning("protection check failed", error=str(error))
                self._stop.wait(self.interval)
        finally:
            self.locks.release_all()


def build_protection_worker(container: Any, locks: ProjectionLocks | None = None) -> ProtectionWorker:
    manager = ProtectionManager(
        container.bus(),
        container.store(),
        ReadModelPositions(container.read_engine()),
        container.prices(),
        container.clock(),
    )
    return ProtectionWorker(manager, locks or container.locks(), container.settings().protection_poll_seconds)


@protection_app.command("run")
@clear_errors
def run() -> None:
    """Watch mark prices until stopped (Ctrl-C or SIGTERM) and close every position whose stop loss
    or take profit they reach through the normal (risk-checked) order path; a closing order that
    is denied is asked for again, 1 s after, then doubling up to 60 s apart."""
    container = ReadSideContainer()
    configure_logging(container.settings().log_format, container.settings().log_level)
    require_tables(container)
    worker = build_protection_worker(container)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    try:
        worker.run()
    except KeyboardInterrupt:
        worker.stop()
