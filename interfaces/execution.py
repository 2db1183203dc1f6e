"""`tbot execution run`: the execution worker. One process at a time holds the execution lock and
works the orders; another one started beside it waits as a standby and takes over (reconciling
first) when the holder dies."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from typing import Any

import structlog
import typer

from application.execution import ExecutionManager, ExecutionSettings
from infrastructure.adapters import PAPER_MARKETS
from infrastructure.ccxt_accounts import CcxtAccounts
from infrastructure.exchange_accounts import ExchangeAccounts
from infrastructure.execution_state import SqlExecutionState
from infrastructure.logging import configure_logging
from infrastructure.paper_exchange import PaperSettings
from infrastructure.paper_gateway import PaperJournal
from infrastructure.settings import Settings
from infrastructure.tracing import configure_tracing
from interfaces.errors import clear_errors
from interfaces.read_side import ReadSideContainer
from interfaces.worker_tables import install_worker_tables, require_tables
from projections.locks import ProjectionLocks
from projections.reader import Wakeup

execution_app = typer.Typer(no_args_is_help=True, help="Order execution on the exchanges.")
log = structlog.get_logger("tbot.execution")
LOCK = "execution"
MAX_BACKOFF_SECONDS = 30.0


class ExecutionWorker:
    """Runs the execution manager on its own event loop until stopped: takes the lock, reconciles,
    then acts on new events (woken by the event store's notifications), follows open orders and
    moves the paper accounts to the latest prices."""

    def __init__(
        self,
        manager: ExecutionManager,
        accounts: ExchangeAccounts,
        locks: ProjectionLocks,
        wakeup: Wakeup,
        poll_seconds: float,
        install: Callable[[], None],
    ) -> None:
        self.manager = manager
        self.accounts = accounts
        self.locks = locks
        self.wakeup = wakeup
        self.poll_seconds = poll_seconds
        self.install = install  # creates the worker's tables; run by the lock holder only
        self.started = threading.Event()  # set once reconciliation is done
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        self.wakeup.poke()

    def run(self) -> None:
        try:
            while not self._stop.is_set():
                if not self.locks.try_acquire(LOCK):
                    self._stop.wait(1.0)  # a standby: another worker holds the lock
                    continue
                asyncio.run(self._work())
        finally:
            self.locks.release_all()

    async def _work(self) -> None:
        await asyncio.to_thread(self.install)
        await asyncio.to_thread(self.accounts.open)
        try:
            await self.accounts.load_markets()
            await self.accounts.follow_prices()
            reconciled = await self.manager.start()
            log.info("execution started", reconciled=reconciled, position=self.manager.position)
            self.started.set()
            await self._loop()
        finally:
            await self.manager.close()
            await self.accounts.close()

    async def _loop(self) -> None:
        """Works until stopped or the lock is lost. A turn that fails (the database away, anything
        unexpected) is logged and tried again after a pause that doubles up to MAX_BACKOFF_SECONDS:
        the tracking position moves only after a batch is done, so nothing is skipped."""
        batch = self.manager.settings.batch_size
        pause = self.poll_seconds
        while not self._stop.is_set():
            if not self.locks.check():
                log.warning("execution lock lost; standing by")
                return
            try:
                await self.accounts.follow_prices()
                moved = await self.manager.step()
                await self.manager.poll()
            except Exception as error:
                log.warning(
                    "execution turn failed; trying again", error=repr(error), pause=pause, exc_info=True
                )
                await asyncio.to_thread(self._stop.wait, pause)
                pause = min(2 * pause, MAX_BACKOFF_SECONDS)
                continue
            pause = self.poll_seconds
            if moved < batch:
                await asyncio.to_thread(self.wakeup.wait, self.poll_seconds)


def build_execution_worker(container: Any, locks: ProjectionLocks | None = None) -> ExecutionWorker:
    """An execution worker wired from a ReadSideContainer (or one extending it)."""
    settings: Settings = container.settings()
    clock = container.clock()
    paper = PaperSettings(
        maker_fee=settings.paper_maker_fee,
        taker_fee=settings.paper_taker_fee,
        slippage_bps=settings.paper_slippage_bps,
        partial_fills=settings.paper_partial_fills,
        seed=settings.paper_seed,
    )
    engine = container.read_engine()
    live = CcxtAccounts(
        container.credentials(),
        container.market_store(),
        settings.exchange_timeout_seconds,
        streams=settings.exchange_streams,
    )
    journal = PaperJournal(engine)
    balances = settings.paper_balances
    accounts = ExchangeAccounts(journal, balances, PAPER_MARKETS, paper, clock.now, container.prices(), live)
    manager = ExecutionManager(
        bus=container.bus(),
        store=container.store(),
        gateways=accounts,
        state=SqlExecutionState(engine),
        events=container.reader(),
        clock=clock,
        settings=ExecutionSettings(
            batch_size=settings.execution_batch_size,
            concurrency=settings.execution_concurrency,
            settle_seconds=settings.execution_settle_seconds,
            # polls at the usual pace go on for three polls' time after a stream (re)connects
            stream_grace_seconds=3 * settings.execution_poll_seconds,
            stream_sweep_seconds=settings.execution_sweep_seconds,
        ),
    )
    return ExecutionWorker(
        manager,
        accounts,
        locks or container.locks(),
        container.wakeup(),
        settings.execution_poll_seconds,
        lambda: install_worker_tables(engine),
    )


@execution_app.command("run")
@clear_errors
def run() -> None:
    """Work the orders until stopped (Ctrl-C or SIGTERM): send placed orders to their exchange
    account, record what happens to them, carry out cancels; reconcile with the exchanges first."""
    container = ReadSideContainer()
    settings = container.settings()
    configure_logging(settings.log_format, settings.log_level)
    configure_tracing(settings, "tbot-execution")
    require_tables(container)
    worker = build_execution_worker(container)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    try:
        worker.run()
    except KeyboardInterrupt:
        worker.stop()
