"""The queue of backtests asked for through the API, on SQLite and PostgreSQL: its limits hold
under concurrent submissions, concurrent takers never get the same backtest, a backtest whose
worker died is run again (at most three times), and a worker asked to stop puts its backtest back;
a backtest the worker cannot run fails with the reason, and the worker goes on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from dependency_injector import providers

from domain.market import Candle
from domain.values import Symbol
from infrastructure.backtest_queue import MAX_ATTEMPTS, BacktestQueue, QueueFull
from infrastructure.candles import CandleStore
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.tables import install_tables
from interfaces.workers.backtests import STALE, BacktestsJob
from tests.support.clock import ManualClock

BTC = Symbol("BTC", "USDT")
START = datetime(2025, 1, 1, tzinfo=UTC)


def _request(**changes: Any) -> dict[str, Any]:
    return {
        "strategy": "sma_cross",
        "params": {"fast": 5, "slow": 20, "fraction": "0.5", "capital": "10000"},
        "symbol": "BTC/USDT",
        "start": START.isoformat(),
        "end": (START + timedelta(days=1)).isoformat(),
        "cash": "10000",
        "fee_rate": "0.001",
        "slippage_bps": "0",
        "limits": None,
        **changes,
    }


@pytest.fixture
def container(any_settings: Settings) -> Container:
    box = Container()
    box.settings.override(providers.Object(any_settings))
    box.clock.override(providers.Object(ManualClock()))
    install_tables(box)
    return box


def _queue(container: Container) -> BacktestQueue:
    queue: BacktestQueue = container.backtests()
    return queue


def test_concurrent_submissions_never_pass_the_limits(container: Container) -> None:
    queue = _queue(container)

    def submit(owner: str) -> bool:
        try:
            queue.submit(owner, _request(), per_user=2, total=5, candles=10)
        except QueueFull:
            return False
        return True

    owners = [f"user{n % 4}" for n in range(16)]
    with ThreadPoolExecutor(8) as pool:
        accepted = list(pool.map(submit, owners))
    assert sum(accepted) == 5
    waiting = queue.recent(None, 100)
    assert len(waiting) == 5 and all(b.status == "queued" and b.total_candles == 10 for b in waiting)
    per_owner = [sum(1 for b in waiting if b.owner == owner) for owner in set(owners)]
    assert max(per_owner) <= 2
    with pytest.raises(QueueFull) as full:
        queue.submit("user9", _request(), per_user=2, total=5, candles=10)
    assert not full.value.per_user
    mine = next(b.owner for b in waiting)
    assert len(queue.recent(mine, 100)) <= 2


def test_concurrent_takers_never_share_a_backtest(container: Container, any_settings: Settings) -> None:
    queue = _queue(container)
    for n in range(12):
        queue.submit(f"user{n}", _request(), per_user=1, total=100, candles=10)
    takers = 4 if any_settings.store.backend == "postgres" else 1  # one worker on SQLite (a lock)

    def take_all() -> list[str]:
        taken = []
        while (backtest := queue.take(STALE)) is not None:
            taken.append(str(backtest.backtest_id))
        return taken

    with ThreadPoolExecutor(takers) as pool:
        results = [pool.submit(take_all) for _ in range(takers)]
        taken = [backtest for result in results for backtest in result.result()]
    assert len(taken) == len(set(taken)) == 12
    assert all(b.status == "running" and b.attempts == 1 for b in queue.recent(None, 100))


def test_a_dead_workers_backtest_is_run_again_then_failed(container: Container) -> None:
    queue, clock = _queue(container), container.clock()
    assert isinstance(clock, ManualClock)
    backtest_id = queue.submit("trader", _request(), per_user=1, total=10, candles=10)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        taken = queue.take(STALE)
        assert taken is not None and taken.backtest_id == backtest_id and taken.attempts == attempt
        clock.advance(seconds=STALE.total_seconds() / 2)
        queue.beat(backtest_id, 5, 10)  # alive: nobody takes it
        assert queue.take(STALE) is None
        clock.advance(seconds=STALE.total_seconds() + 1)  # then its worker dies
    assert queue.take(STALE) is None
    failed = queue.get(backtest_id)
    assert (
        failed is not None and failed.status == "failed" and "stopped while running it" in str(failed.error)
    )


def _candles(count: int) -> list[Candle]:
    candles, price = [], Decimal(50_000)
    for minute in range(count):
        step = Decimal(40) if (minute // 30) % 2 == 0 else Decimal(-40)  # waves: sma_cross trades
        close = price + step
        high, low = max(price, close) + 5, min(price, close) - 5
        candles.append(Candle(BTC, START + timedelta(minutes=minute), price, high, low, close, Decimal(1)))
        price = close
    return candles


def test_the_worker_runs_a_backtest_then_refuses_one_it_cannot_run(container: Container) -> None:
    queue = _queue(container)
    CandleStore(container.read_engine()).write(_candles(600))
    good = queue.submit("trader", _request(), per_user=5, total=10, candles=600)
    gone = queue.submit("trader", _request(strategy="no_such_strategy"), per_user=5, total=10, candles=600)
    empty = queue.submit("trader", _request(symbol="ETH/USDT"), per_user=5, total=10, candles=600)
    job = BacktestsJob(queue, CandleStore(container.read_engine()), poll_seconds=0.1)
    for _ in range(3):
        assert job.turn() == 0
    assert job.turn() == 0.1  # nothing left
    done = queue.get(good)
    assert done is not None and done.status == "done" and done.report is not None
    assert done.done_candles == done.total_candles == 600
    report = done.report
    assert report["counts"]["fills"] > 0 and report["metrics"]["trades"] == len(report["trades"])
    assert report["inputs"]["candles"]["source"] == "candles table"
    curve = report["equity_curve"]
    assert len(curve) <= 500 and curve[-1][1] == report["metrics"]["final_equity"]
    assert curve[-1][0] == "2025-01-01T10:00:00Z"
    refused = queue.get(gone)
    assert refused is not None and refused.status == "failed" and str(refused.error).startswith("strategy:")
    nothing = queue.get(empty)
    assert (
        nothing is not None and nothing.status == "failed" and "no candles of ETH/USDT" in str(nothing.error)
    )


def test_a_stopping_worker_puts_its_backtest_back(container: Container) -> None:
    queue = _queue(container)
    CandleStore(container.read_engine()).write(_candles(600))
    backtest_id = queue.submit("trader", _request(), per_user=1, total=10, candles=600)
    job = BacktestsJob(queue, CandleStore(container.read_engine()), poll_seconds=0.1)
    job.interrupt()  # asked to stop before the first progress report: it stops at the first one
    assert job.turn() == 0
    back = queue.get(backtest_id)
    assert back is not None and back.status == "queued" and back.attempts == 0 and back.started_at is None
    job.begin()  # the supervisor begins the job again when it holds the work again
    assert job.turn() == 0
    finished = queue.get(backtest_id)
    assert finished is not None and finished.status == "done" and finished.attempts == 1
