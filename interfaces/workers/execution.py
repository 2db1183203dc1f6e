"""The execution worker: one process at a time holds the `execution` lock and works the orders;
another one started beside it stands by and takes over (reconciling first) when the holder dies or
loses its lock."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import structlog

from application.execution import ExecutionManager
from infrastructure.adapters import PAPER_MARKETS
from infrastructure.ccxt_accounts import CcxtAccounts
from infrastructure.exchange_accounts import ExchangeAccounts
from infrastructure.execution_state import SqlExecutionState
from infrastructure.metered_gateways import MeteredGateways
from infrastructure.paper_gateway import PaperJournal
from interfaces.composition import Container
from interfaces.workers.supervisor import Ownership, Supervisor
from projections.ports import Wakeup

log = structlog.get_logger("tbot.execution")
T = TypeVar("T")


class ExecutionJob:
    """The execution manager's work in turns: act on new events (woken by the event store's
    notifications), follow open orders, move the paper accounts to the latest prices. Its
    coroutines, and the order streams it watches between turns, run on an event loop of its own,
    in a thread of its own, from ``begin`` to ``end``."""

    name = "execution"

    def __init__(
        self,
        manager: ExecutionManager,
        accounts: ExchangeAccounts,
        wakeup: Wakeup,
        poll_seconds: float,
    ) -> None:
        self.manager = manager
        self.accounts = accounts
        self.wakeup = wakeup
        self.poll_seconds = poll_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def begin(self) -> None:
        """Reconciles every order it works with its exchange before anything new is sent."""
        self.accounts.open()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="execution-loop", daemon=True)
        self._thread.start()
        self._run(self.accounts.load_markets())
        self._run(self.accounts.follow_prices())
        reconciled = self._run(self.manager.start())
        log.info("execution started", reconciled=reconciled, position=self.manager.position)

    def turn(self) -> float:
        """The tracking position moves only after a batch is done, so a failed turn skips nothing."""
        self._run(self.accounts.follow_prices())
        moved = self._run(self.manager.step())
        self._run(self.manager.poll())
        return 0.0 if moved >= self.manager.settings.batch_size else self.poll_seconds

    def idle(self, seconds: float) -> None:
        self.wakeup.wait(seconds)

    def interrupt(self) -> None:
        self.wakeup.poke()

    def end(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._run(self.manager.close())
            self._run(self.accounts.close())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()
            self._loop = self._thread = None

    def close(self) -> None:
        """``end`` let go of the loop and the exchanges' connections; the wake-up is left."""
        self.wakeup.close()

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None, "begin first"
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()


def build_execution_worker(container: Container, locks: Ownership | None = None) -> Supervisor[ExecutionJob]:
    """The execution worker, holding the `execution` lock among the processes."""
    settings = container.settings()
    clock = container.clock()
    paper = settings.paper.exchange_settings()
    engine = container.read_engine()
    live = CcxtAccounts(
        container.credentials(),
        container.market_store(),
        settings.exchange.timeout_seconds,
        streams=settings.exchange.streams,
    )
    journal = PaperJournal(engine)
    balances = settings.paper.balances
    accounts = ExchangeAccounts(journal, balances, PAPER_MARKETS, paper, clock.now, container.prices(), live)
    manager = ExecutionManager(
        bus=container.bus(),
        store=container.store(),
        gateways=MeteredGateways(accounts, container.metrics()),
        state=SqlExecutionState(engine),
        events=container.reader(),
        clock=clock,
        settings=settings.execution.manager_settings(),
    )
    job = ExecutionJob(manager, accounts, container.wakeup(), settings.execution.poll_seconds)
    return Supervisor(job, locks or container.locks())
