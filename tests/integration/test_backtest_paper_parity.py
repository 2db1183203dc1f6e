"""Backtest equals paper: a bot trading sma_cross live on the paper exchange (the market data job
writing candles and marks, the strategy worker's job deciding, the execution worker's job sending
the orders, on a manual clock) and `tbot backtest run` on the same candles with the same settings
make the same decisions on the same candles and get the same fills.

How a minute of the live run corresponds to a candle of the backtest: market data writes the
candle in progress four times, at 0, 15, 30 and 45 seconds into its minute, each time with the
prices of the candle's path so far (open, the extreme nearer the open, the other extreme, close:
the path the backtest takes) and marks the symbol at the latest of them, as it marks at a
candle's close. At the minute's start it also writes the previous candle whole, which closes it:
the strategy decides on it then, and execution sends the order at once, at the mark, which is the
new candle's open: the backtest's market order at the next open, at the same moment."""

from __future__ import annotations

import json
import math
import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from application import commands as c
from application.backtest.engine import PATH_OFFSETS, path
from domain.bot import Bot
from domain.market import Candle
from domain.order import Order
from domain.values import Symbol
from infrastructure.candle_files import write_candles_csv
from infrastructure.candles import CandleStore
from infrastructure.mark_prices import MarkPrices
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.tables import install_tables
from interfaces.workers.execution import build_execution_worker
from interfaces.workers.market_data import MarketDataJob
from interfaces.workers.projections import drain_projections
from interfaces.workers.strategies import strategies_job
from tests.support.clock import ManualClock
from tests.support.processes import TBOT
from tests.support.settings import changed, embedded_store
from tests.support.world import LIMITS, world_on

BTC = Symbol("BTC", "USDT")
START = datetime(2025, 3, 1, tzinfo=UTC)
MINUTES = 120
PARAMS = {"fast": 3, "slow": 8, "fraction": "0.5", "capital": "10000"}
CASH, FEE = "10000", "0.001"


def _walk() -> list[Candle]:
    """A seeded random walk of one-minute candles, prices to the cent."""
    rng, price, candles = random.Random(5), 50_000.0, []
    for minute in range(MINUTES):
        opened = price
        ticks = [price * math.exp(rng.gauss(0, 0.002)) for _ in range(3)]
        price = ticks[-1]
        prices = (opened, max(opened, *ticks), min(opened, *ticks), price)
        o, high, low, close = (Decimal(f"{p:.2f}") for p in prices)
        candles.append(Candle(BTC, START + timedelta(minutes=minute), o, high, low, close, Decimal("1.5")))
    return candles


class ScriptedMarket:
    """Market data's candle source over known candles: at a moment, the candle in progress as far
    as its path has come (and, at a minute's start, the previous candle whole)."""

    def __init__(self, candles: list[Candle]) -> None:
        self.candles = candles

    def tick(self, at: datetime) -> list[Candle]:
        index, into = divmod(at - START, timedelta(minutes=1))
        slot = PATH_OFFSETS.index(into)
        candle = self.candles[index]
        seen = path(candle)[: slot + 1]
        volume = candle.volume if slot == len(PATH_OFFSETS) - 1 else Decimal(0)
        now = Candle(BTC, candle.opened_at, seen[0], max(seen), min(seen), seen[-1], volume)
        return ([self.candles[index - 1]] if slot == 0 and index > 0 else []) + [now]

    def close(self) -> None:
        pass

    def history(self, until: datetime, minutes: int, stored: set[Symbol]) -> list[Candle]:
        return []


@dataclass(frozen=True)
class Fill:
    time: datetime
    side: str
    order_type: str
    quantity: Decimal
    price: Decimal
    fee: Decimal


@dataclass(frozen=True)
class Trading:
    decisions: dict[datetime, list[dict[str, Any]]]  # the bot's decisions by candle_at
    fills: list[Fill]


def _trading(events: list[Any]) -> Trading:
    bots = {e.originator_id for e in events if isinstance(e, Bot.Created)}
    assert len(bots) == 1
    decisions = {e.candle_at: e.intents for e in events if isinstance(e, Bot.DecisionMade)}
    orders = {e.originator_id: e.request for e in events if isinstance(e, Order.Placed)}
    fills = [
        Fill(
            e.timestamp,
            orders[e.originator_id].side.value,
            orders[e.originator_id].order_type.value,
            e.quantity,
            e.price,
            e.fee,
        )
        for e in events
        if isinstance(e, Order.Filled)
    ]
    return Trading(decisions, fills)


@pytest.fixture
def paper_settings(postgres_settings: Settings) -> Settings:
    """The paper exchange as the backtest's: the cash, the fee, no slippage, whole fills."""
    paper = {"balances": {"USDT": Decimal(CASH)}, "maker_fee": Decimal(FEE), "taker_fee": Decimal(FEE)}
    return changed(postgres_settings, paper={**paper, "slippage_bps": Decimal(0), "partial_fills": False})


@dataclass
class Live:
    container: Container
    clock: ManualClock
    market: MarketDataJob

    def events(self) -> list[Any]:
        store = self.container.store()
        stored = store.recorder.select_notifications(1, 10**6)
        return [store.mapper.to_domain_event(n) for n in stored]


@pytest.fixture
def live(paper_settings: Settings) -> Iterator[Live]:
    clock = ManualClock(START)
    container = Container()
    container.settings.override(providers.Object(paper_settings))
    container.clock.override(providers.Object(clock))
    # marks read afresh on every look (live caches them a quarter of a second of wall time, in
    # which this test runs many market moments)
    marks = MarkPrices(container.mark_price_store(), {}, clock.now, max_age=0.0)
    container.prices.override(providers.Object(marks))
    install_tables(container)
    market = MarketDataJob(
        ScriptedMarket(_walk()),
        CandleStore(container.read_engine()),
        container.mark_price_store(),
        clock,
        interval=15.0,
        symbols=[BTC],
    )
    try:
        yield Live(container, clock, market)
    finally:
        container.store().close()
        container.read_engine().dispose()


def _run_live(live: Live) -> None:
    """The bot created and started, then every moment of the candles' paths: market data writes,
    the strategy worker's turn, the execution worker's turns until it has nothing left to do."""
    bus = live.container.bus()
    created = bus.dispatch(
        c.CreateBot(
            actor="alice",
            name="sma live",
            strategy="sma_cross",
            params=PARAMS,
            allowed_symbols=[str(BTC)],
            limits=LIMITS,
        )
    )
    bus.dispatch(c.StartBot(actor="alice", bot_id=created.aggregate_id))
    assert drain_projections(live.container, ["bots"]) == {}  # the strategy worker's bot list
    strategies = strategies_job(live.container)
    execution = build_execution_worker(live.container).job
    execution.begin()
    try:
        for minute in range(MINUTES):
            for offset in PATH_OFFSETS:
                live.clock.set(START + timedelta(minutes=minute) + offset)
                live.market.step()
                if offset == PATH_OFFSETS[0]:  # later in the minute it would find nothing new
                    strategies.turn()
                while execution.turn() == 0.0:
                    pass
    finally:
        execution.end()
        execution.close()
        strategies.end()
        strategies.close()


def _run_backtest(tmp_path: Path) -> Trading:
    candles, limits, log = tmp_path / "btc.csv", tmp_path / "limits.json", tmp_path / "backtest.sqlite3"
    write_candles_csv(candles, _walk())
    limits.write_text(json.dumps(LIMITS))
    params = [arg for name, value in PARAMS.items() for arg in ("--param", f"{name}={value}")]
    args = ["backtest", "run", "--strategy", "sma_cross", *params, "--symbol", str(BTC)]
    args += ["--candles", str(candles), "--out", str(tmp_path / "report"), "--events", str(log)]
    args += ["--cash", CASH, "--fee-rate", FEE, "--slippage-bps", "0", "--limits", str(limits)]
    done = subprocess.run([TBOT, *args], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    settings = changed(Settings(store=embedded_store(tmp_path)), store={"sqlite_path": log})
    with world_on(settings) as world:
        return _trading(world.new_events(0))


@pytest.mark.postgres
def test_a_backtest_decides_and_fills_as_the_bot_does_live_on_the_paper_exchange(
    live: Live, tmp_path: Path
) -> None:
    _run_live(live)
    paper = _trading(live.events())
    backtest = _run_backtest(tmp_path)

    # live decides on a candle once the next one has begun: not on the last one (whose orders
    # the backtest has no next open to send at)
    last = START + timedelta(minutes=MINUTES)
    assert last not in paper.decisions
    backtest.decisions.pop(last, None)
    # the backtest passes over candles its strategy's screen says it would decide nothing on;
    # every decision it makes, the live bot made with the same orders
    assert {at: paper.decisions.get(at) for at in backtest.decisions} == backtest.decisions
    acted = {at: intents for at, intents in paper.decisions.items() if intents}
    assert {at: intents for at, intents in backtest.decisions.items() if intents} == acted
    assert len(acted) >= 6, "the bot should have traded several times"
    assert backtest.fills == paper.fills
    assert len(paper.fills) == len(acted)
    assert {f.side for f in paper.fills} == {"buy", "sell"}
