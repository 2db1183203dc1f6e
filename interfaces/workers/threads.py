"""Workers in threads of their own: beside the API (started and stopped with it), or on their own
until SIGINT or SIGTERM. Signals are handled here once, for every worker command."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import structlog
from starlette.types import Lifespan

from interfaces.workers.supervisor import Health, Supervisor

log = structlog.get_logger("tbot.workers")
STOP_WAIT_SECONDS = 30.0


class WorkerThreads:
    """Started together, stopped together: ``stop`` asks every worker to stop, then waits for
    them, so that nothing they use (the store, the connection pools) closes under them."""

    def __init__(self, workers: Sequence[Supervisor[Any]], wait_seconds: float = STOP_WAIT_SECONDS) -> None:
        self.workers = list(workers)
        self.wait_seconds = wait_seconds
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self.threads = [threading.Thread(target=w.run, name=w.name, daemon=True) for w in self.workers]
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        """Asks every worker to stop, then waits for them together (repeating it is harmless)."""
        for worker in self.workers:
            worker.stop()
        deadline = time.monotonic() + self.wait_seconds
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("worker did not stop in time", worker=thread.name)
        self.threads = []

    def health(self) -> list[Health]:
        return [worker.health for worker in self.workers]

    def around(self, lifespan: Lifespan[Any]) -> Lifespan[Any]:
        """An application's lifespan with the workers running inside it."""

        @asynccontextmanager
        async def running(app: Any) -> AsyncIterator[Any]:
            async with lifespan(app) as state:
                self.start()
                try:
                    yield state
                finally:
                    await asyncio.to_thread(self.stop)

        return running


def run_until_signalled(workers: Sequence[Supervisor[Any]]) -> None:
    """Runs the workers until SIGINT (Ctrl-C) or SIGTERM, then stops them and waits for them."""
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    threads = WorkerThreads(workers)
    threads.start()
    try:
        while not stopping.wait(0.5):
            if not any(thread.is_alive() for thread in threads.threads):
                break
    finally:
        threads.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
