"""The execution manager on a test's settings: a world to place orders in, the paper accounts,
and a manager driven step by step on a manual clock."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from dependency_injector import providers

from application.execution import ExecutionManager, ExecutionSettings
from application.gateway import ExchangeGateway
from domain.order import Order
from domain.order_states import OrderStatus
from infrastructure.adapters import PAPER_MARKETS, PriceBook
from infrastructure.ccxt_accounts import CcxtAccounts
from infrastructure.event_store import create_tables
from infrastructure.exchange_accounts import ExchangeAccounts
from infrastructure.execution_state import SqlExecutionState
from infrastructure.paper_exchange import PaperSettings
from infrastructure.paper_gateway import PaperJournal
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.tables import install_worker_tables
from tests.support.clock import ManualClock
from tests.support.settings import embedded_store
from tests.support.world import BTC, ETH, World

BALANCES = {"USDT": Decimal(100_000), "BTC": Decimal(1), "ETH": Decimal(10)}
SETTLE = 10.0


@dataclass
class Faults:
    """A directory whose gateways can be swapped for faulty ones (the outside world misbehaving)."""

    accounts: ExchangeAccounts
    wrap: Callable[[ExchangeGateway], Any] | None = None

    def gateway(self, account: str) -> ExchangeGateway:
        gateway = self.accounts.gateway(account)
        return self.wrap(gateway) if self.wrap is not None else gateway


@dataclass
class Execution:
    world: World
    container: Any
    clock: ManualClock
    prices: PriceBook
    live: Callable[[], CcxtAccounts] | None = None  # real exchange accounts, made anew per process
    faults: Faults = field(init=False)
    accounts: ExchangeAccounts = field(init=False)
    manager: ExecutionManager = field(init=False)
    runner: asyncio.Runner | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """A new process: paper accounts rebuilt from their journal, a manager from its state, a
        new event loop (ccxt's connections belong to one)."""
        self.close()
        self.runner = asyncio.Runner()
        engine = self.container.read_engine()
        paper = PaperSettings(slippage_bps=Decimal(10))
        live = self.live() if self.live is not None else None
        self.accounts = ExchangeAccounts(
            PaperJournal(engine), BALANCES, PAPER_MARKETS, paper, self.clock.now, self.prices, live
        )
        self.accounts.open()
        self.faults = Faults(self.accounts)
        self.manager = ExecutionManager(
            bus=self.world.bus,
            store=self.world.store,
            gateways=self.faults,
            state=SqlExecutionState(engine),
            events=self.container.reader(),
            clock=self.clock,
            settings=ExecutionSettings(settle_seconds=SETTLE, retry_seconds=1.0),
            monotonic=lambda: self.clock.now().timestamp(),
        )

    def run(self, coroutine: Any) -> Any:
        assert self.runner is not None
        return self.runner.run(coroutine)

    def close(self) -> None:
        if self.runner is not None:
            # a "killed" process leaves its loop stopped, with the kill pending in a task
            with contextlib.suppress(RuntimeError, SystemExit):
                self.runner.run(self.manager.close())
            with contextlib.suppress(RuntimeError, SystemExit):
                self.runner.run(self.accounts.close())
            with contextlib.suppress(RuntimeError, SystemExit):
                self.runner.close()  # closes the loop whatever happens
            self.runner = None

    def start(self) -> int:
        async def started() -> int:
            await self.accounts.load_markets()
            await self.accounts.follow_prices()
            return await self.manager.start()

        result: int = self.run(started())
        return result

    def cycle(self) -> None:
        """One turn of the worker's loop: prices, new events, open orders."""

        async def turn() -> None:
            await self.accounts.follow_prices()
            while await self.manager.step():
                pass
            await self.manager.poll()

        self.run(turn())

    def order(self, order_id: UUID) -> Order:
        return self.world.store.load(Order, order_id)

    def status(self, order_id: UUID) -> OrderStatus:
        return self.order(order_id).status

    def exchange_orders(self, account: str = "paper") -> int:
        return len(self.accounts.paper(account).account.exchange._orders)


@contextmanager
def execution_on(
    settings: Settings, live: Callable[[Any], CcxtAccounts] | None = None
) -> Iterator[Execution]:
    """``live``, given the container, makes the real exchange accounts of each new process."""
    create_tables(settings)
    clock = ManualClock()
    container = Container()
    container.settings.override(providers.Object(settings))
    container.clock.override(providers.Object(clock))
    prices = PriceBook({BTC: Decimal("50000"), ETH: Decimal("2500")})
    container.prices.override(providers.Object(prices))
    install_worker_tables(container.read_engine())
    store = container.store()
    world = World(container.bus(), store, clock, prices)
    execution = Execution(world, container, clock, prices, (lambda: live(container)) if live else None)
    try:
        yield execution
    finally:
        execution.close()
        store.close()
        container.shutdown_resources()


@contextmanager
def scratch_execution() -> Iterator[Execution]:
    """A started execution on SQLite files of its own (one per hypothesis example)."""
    with tempfile.TemporaryDirectory() as folder:
        stores = Settings(store=embedded_store(Path(folder)))
        with execution_on(stores) as execution:
            execution.start()
            yield execution
