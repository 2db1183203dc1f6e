"""One backtest wired from the same parts as live trading: the container's command bus, handlers,
risk rules and strategy catalog, the strategy runtime, and the execution manager on a paper
account, on a simulated clock and marks set from the candles. The event store is in memory, or a
SQLite file (``events``) that `tbot events replay` and `tbot audit state` read like a live one."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar, TypeVarTuple
from uuid import UUID

import numpy as np
from dependency_injector import providers

from application import commands as c
from application.backtest.engine import Backtest
from application.backtest.series import CandleSeries
from application.execution import ExecutionManager, ExecutionSettings
from application.metrics import NO_METRICS
from application.store import TradingApplication
from application.strategy_runtime import StrategyRuntime
from domain.bot import Bot
from domain.market import Candle
from domain.values import Symbol
from infrastructure.adapters import PAPER_MARKETS, PriceBook, SimulatedClock
from infrastructure.event_store import open_memory_store
from infrastructure.exchange_accounts import ExchangeAccounts
from infrastructure.execution_state import SqlExecutionState
from infrastructure.paper_exchange import PaperSettings
from infrastructure.paper_gateway import PaperJournal
from infrastructure.read_database import create_memory_read_engine
from infrastructure.settings import RedisSettings, Settings, StoreSettings
from infrastructure.strategy_leases import AllLeases
from interfaces.composition import Container
from interfaces.tables import install_tables

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
ACTOR = "backtest"
ACCOUNT = "paper:backtest"


@dataclass(frozen=True)
class BacktestInputs:
    strategy: str
    params: Mapping[str, Any]
    candles: Mapping[Symbol, list[Candle]]
    cash: Decimal = Decimal(10_000)
    fee_rate: Decimal = Decimal("0.001")
    slippage_bps: Decimal = Decimal(0)
    limits: Mapping[str, Any] | None = None
    events: Path | None = None


OPEN_LIMITS = {
    "max_order_notional": "1000000000",
    "max_position_notional": "1000000000",
    "max_open_orders": 1000,
    "daily_loss_limit": "1000000000",
    "price_band_pct": "1",
    "max_orders_per_minute": 100000,
}
"""The limits of a backtest run without ``--limits``: none that a strategy would meet."""


class _InlineLoop(asyncio.SelectorEventLoop):
    """An event loop that runs what is handed to an executor (execution's blocking calls,
    ``asyncio.to_thread``) at once, in its own thread, and hands back a future already done: in a
    backtest, one thread anyway, such a call costs neither a thread hop nor a turn of the loop to
    be woken by the result."""

    def run_in_executor(
        self, executor: Executor | None, func: Callable[[*Ts], T], *args: *Ts
    ) -> asyncio.Future[T]:
        future: asyncio.Future[T] = self.create_future()
        try:
            future.set_result(func(*args))
        except BaseException as error:  # handed back through the future, as a thread would
            future.set_exception(error)
        return future


class _Execution:
    """The execution manager on the paper accounts, acting when the backtest says, on one event
    loop of its own that runs blocking calls inline."""

    def __init__(
        self, manager: ExecutionManager, accounts: ExchangeAccounts, store: TradingApplication
    ) -> None:
        self.manager, self.accounts, self.store = manager, accounts, store
        self.loop = _InlineLoop()

    def act(self) -> bool:
        return self.loop.run_until_complete(self._act())

    async def _act(self) -> bool:
        while await self.manager.step():
            pass
        await self.accounts.follow_prices()
        await self.manager.poll()
        return bool(self.manager.working) or self.store.last_position() > self.manager.position

    def close(self) -> None:
        self.loop.run_until_complete(self.manager.close())
        self.loop.close()


class _OneBot:
    def __init__(self, bot_id: UUID) -> None:
        self.bot_id = bot_id

    def running(self) -> list[UUID]:
        return [self.bot_id]


@dataclass
class BacktestRun:
    backtest: Backtest
    store: TradingApplication
    bot_id: UUID
    inputs: BacktestInputs


@contextmanager
def backtest_on(inputs: BacktestInputs) -> Iterator[BacktestRun]:
    symbols = sorted(inputs.candles, key=str)
    first = inputs.candles[symbols[0]][0]
    quote = symbols[0].quote
    with tempfile.TemporaryDirectory(prefix="tbot-backtest-") as folder:
        work = Path(folder)
        # its own SQLite files and no Redis, whatever the environment names (DATABASE_URL,
        # REDIS_URL): a backtest writes nothing to the live stores
        own = StoreSettings(
            database_url=None,
            sqlite_path=inputs.events or work / "events.sqlite3",
            read_sqlite_path=work / "work.sqlite3",
        )
        settings = Settings(store=own, redis=RedisSettings(url=None))
        container = Container()
        container.settings.override(providers.Object(settings))
        clock = SimulatedClock(first.opened_at)
        marks = PriceBook()
        container.clock.override(providers.Object(clock))
        container.prices.override(providers.Object(marks))
        container.read_engine.override(providers.Singleton(create_memory_read_engine))
        container.metrics.override(providers.Object(NO_METRICS))  # a backtest's commands are not live
        if inputs.events is None:
            container.store.override(providers.Singleton(open_memory_store))
        install_tables(container)
        store, bus = container.store(), container.bus()
        created = bus.dispatch(
            c.CreateBot(
                actor=ACTOR,
                name=f"backtest {inputs.strategy}",
                strategy=inputs.strategy,
                params=dict(inputs.params),
                allowed_symbols=[str(s) for s in symbols],
                limits=dict(inputs.limits or OPEN_LIMITS),
                exchange_account=ACCOUNT,
            )
        )
        bot_id = created.aggregate_id
        bus.dispatch(c.StartBot(actor=ACTOR, bot_id=bot_id))
        engine = container.read_engine()
        paper = PaperSettings(
            maker_fee=inputs.fee_rate, taker_fee=inputs.fee_rate, slippage_bps=inputs.slippage_bps
        )
        accounts = ExchangeAccounts(
            PaperJournal(engine), {quote: inputs.cash}, PAPER_MARKETS, paper, clock.now, marks
        )
        accounts.open()
        manager = ExecutionManager(
            bus=bus,
            store=store,
            gateways=accounts,
            state=SqlExecutionState(engine),
            events=container.reader(),
            clock=clock,
            settings=ExecutionSettings(concurrency=1),
            monotonic=lambda: clock.now().timestamp(),
        )
        execution = _Execution(manager, accounts, store)
        execution.loop.run_until_complete(manager.start())
        catalog = container.strategies()
        series = CandleSeries(inputs.candles)
        runtime = StrategyRuntime(
            bus=bus,
            store=store,
            book=catalog,
            candles=series,
            bots=_OneBot(bot_id),
            leases=AllLeases(),
            markets=container.markets(),
            clock=clock,
            concurrency=1,
        )
        bound = catalog.bind(inputs.strategy, store.load(Bot, bot_id).params, symbols)
        screen = None  # a screen is over one-minute closes: a longer timeframe decides on every minute
        if bound is not None and bound.timeframe.minutes == 1:
            screen = bound.screen({s: np.array([float(k.close) for k in inputs.candles[s]]) for s in symbols})
        backtest = Backtest(runtime, series, inputs.candles, execution, marks, clock, screen)
        try:
            yield BacktestRun(backtest, store, bot_id, inputs)
        finally:
            execution.close()
            runtime.close()
            store.close()
            engine.dispose()
