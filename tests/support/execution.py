"""The execution manager on a test's settings: a world to place orders in, the paper accounts,
and a manager driven step by step on a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from dependency_injector import providers

from application.execution import ExecutionManager, ExecutionSettings
from application.gateway import ExchangeGateway
from domain.order import Order
from domain.order_states import OrderStatus
from infrastructure.adapters import PAPER_MARKETS, PriceBook
from infrastructure.event_store import create_tables
from infrastructure.exchange_accounts import ExchangeAccounts
from infrastructure.execution_state import SqlExecutionState
from infrastructure.paper_exchange import PaperSettings
from infrastructure.paper_gateway import PaperJournal
from infrastructure.settings import Settings
from interfaces.read_side import ReadSideContainer
from interfaces.worker_tables import install_worker_tables
from tests.support.clock import ManualClock
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
    faults: Faults = field(init=False)
    accounts: ExchangeAccounts = field(init=False)
    manager: ExecutionManager = field(init=False)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """A new process: paper accounts rebuilt from their journal, a manager from its state."""
        engine = self.container.read_engine()
        paper = PaperSettings(slippage_bps=Decimal(10))
        self.accounts = ExchangeAccounts(
            PaperJournal(engine), BALANCES, PAPER_MARKETS, paper, self.clock.now, self.prices
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
        return asyncio.run(coroutine)

    def start(self) -> int:
        async def started() -> int:
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
def execution_on(settings: Settings) -> Iterator[Execution]:
    create_tables(settings)
    clock = ManualClock()
    container = ReadSideContainer()
    container.settings.override(providers.Object(settings))
    container.clock.override(providers.Object(clock))
    prices = PriceBook({BTC: Decimal("50000"), ETH: Decimal("2500")})
    container.prices.override(providers.Object(prices))
    install_worker_tables(container.read_engine())
    store = container.store()
    world = World(container.bus(), store, clock, prices)
    try:
        yield Execution(world, container, clock, prices)
    finally:
        store.close()
        container.read_engine().dispose()
