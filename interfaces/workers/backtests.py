"""The backtest worker (`tbot backtest worker`, and inside `tbot run`): takes the backtests queued
through the API (infrastructure/backtest_queue.py) one at a time, runs each on the candles read
model exactly as `tbot backtest run` runs one on a file, and stores its report.

While a backtest runs, a heartbeat thread records its progress every few seconds; a worker that
dies stops beating, and the next worker to look for work puts the backtest back in the queue. A
worker asked to stop abandons the backtest it is running and puts it back at once. A backtest that
cannot run for a reason of its own (no candles left in its range, a strategy no longer installed)
fails with that reason; nothing a backtest does stops the worker."""

from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from structlog.contextvars import bound_contextvars

from application.errors import InvalidInput
from domain.values import Symbol
from infrastructure.backtest_queue import BacktestQueue, QueuedBacktest
from infrastructure.candle_files import load_candles_store
from infrastructure.candles import CandleStore
from infrastructure.logging import QUIET
from infrastructure.outages import is_outage, one_line
from interfaces.backtest.report import ReportInputs, report
from interfaces.backtest.runner import BacktestResult, run_backtest
from interfaces.backtest.world import BacktestInputs
from interfaces.composition import Container
from interfaces.decimals import plain
from interfaces.workers.supervisor import Ownership, Supervisor

log = structlog.get_logger("tbot.backtests")

HEARTBEAT_SECONDS = 5.0
STALE = timedelta(seconds=60)
"""A running backtest whose heart has not beaten for this long belonged to a worker that died."""
CURVE_POINTS = 500
"""The most points of the equity curve stored with a report, for a chart."""


class _Stopped(Exception):
    """The worker is stopping: the backtest goes back to the queue."""


class _Heartbeat:
    """Told the progress by the backtest; records it every ``seconds`` from a thread of its own,
    and ends the backtest (``_Stopped``) once the worker is asked to stop."""

    def __init__(self, queue: BacktestQueue, backtest: QueuedBacktest, stopping: threading.Event) -> None:
        self.queue, self.backtest, self.stopping = queue, backtest, stopping
        self.done = 0
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="backtest-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._ended.set()
        self._thread.join()

    def progress(self, done: int) -> None:
        if self.stopping.is_set():
            raise _Stopped
        self.done = done

    def _beat(self) -> None:
        while not self._ended.wait(HEARTBEAT_SECONDS):
            try:
                self.queue.beat(self.backtest.backtest_id, self.done, self.backtest.total_candles)
            except Exception as error:  # a missed beat is not fatal; enough of them make it stale
                log.warning("backtest heartbeat failed", error=one_line(error))


class BacktestsJob:
    name = "backtests"

    def __init__(self, queue: BacktestQueue, candles: CandleStore, poll_seconds: float) -> None:
        self.queue = queue
        self.candles = candles
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def begin(self) -> None:
        self._stopping.clear()

    def turn(self) -> float:
        backtest = self.queue.take(STALE)
        if backtest is None:
            return self.poll_seconds
        log.info("backtest started", backtest_id=str(backtest.backtest_id), attempt=backtest.attempts)
        self._run(backtest)
        return 0

    def _run(self, backtest: QueuedBacktest) -> None:
        backtest_id = backtest.backtest_id
        try:
            inputs, described = self._inputs(backtest.request)
            quiet = {QUIET: True, "backtest_id": str(backtest_id)}
            with _Heartbeat(self.queue, backtest, self._stopping) as heartbeat, bound_contextvars(**quiet):
                result = run_backtest(inputs, heartbeat.progress)
            document = report(described, result.outcome, result.performance)
        except _Stopped:
            self.queue.release(backtest_id)
            log.info("backtest put back in the queue: the worker is stopping", backtest_id=str(backtest_id))
            return
        except InvalidInput as refused:
            self.queue.fail(backtest_id, f"{refused.field}: {refused.rule}")
            log.info("backtest refused", backtest_id=str(backtest_id), field=refused.field, rule=refused.rule)
            return
        except Exception as error:
            if is_outage(error):
                raise  # the supervisor retries; the backtest is taken again once its heart is stale
            log.exception("backtest failed", backtest_id=str(backtest_id))
            self.queue.fail(backtest_id, f"the backtest failed: {one_line(error)}")
            return
        document["equity_curve"] = equity_curve(inputs, result)
        self.queue.finish(backtest_id, document, len(result.outcome.equity))
        log.info("backtest done", backtest_id=str(backtest_id), candles=len(result.outcome.equity))

    def _inputs(self, request: dict[str, Any]) -> tuple[BacktestInputs, ReportInputs]:
        symbol = Symbol.parse(request["symbol"])
        start, end = datetime.fromisoformat(request["start"]), datetime.fromisoformat(request["end"])
        history = load_candles_store(self.candles, symbol, start, end)
        if not history.candles:
            raise InvalidInput("symbol", f"the candles table has no candles of {symbol} from start to end")
        cash, fee, slippage = (Decimal(request[name]) for name in ("cash", "fee_rate", "slippage_bps"))
        inputs = BacktestInputs(
            strategy=request["strategy"],
            params=request["params"],
            candles={symbol: history.candles},
            cash=cash,
            fee_rate=fee,
            slippage_bps=slippage,
            limits=request["limits"],
        )
        described = ReportInputs(
            request["strategy"],
            request["params"],
            symbol,
            history.report,
            cash,
            fee,
            slippage,
            request["limits"],
        )
        return inputs, described

    def idle(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def interrupt(self) -> None:
        self._stopping.set()
        self._wake.set()

    def end(self) -> None:
        """Nothing held between turns."""

    def close(self) -> None:
        """Nothing to let go of: the engine belongs to the container."""


def equity_curve(inputs: BacktestInputs, result: BacktestResult) -> list[list[str]]:
    """At most ``CURVE_POINTS`` of the equity curve, evenly spaced, the last one always in:
    ``[time of the candle's close, equity]``."""
    candles = next(iter(inputs.candles.values()))
    equity = result.outcome.equity
    step = max(1, math.ceil(len(equity) / CURVE_POINTS))
    picked = list(range(0, len(equity), step))
    if picked[-1] != len(equity) - 1:
        picked[-1] = len(equity) - 1
    closes = [candles[i].opened_at + timedelta(minutes=1) for i in picked]
    return [
        [moment.isoformat().replace("+00:00", "Z"), plain(equity[i])]
        for moment, i in zip(closes, picked, strict=True)
    ]


def build_backtests_worker(
    container: Container, ownership: Ownership | None = None
) -> Supervisor[BacktestsJob]:
    """On PostgreSQL several workers share the queue (each takes a different backtest); on the
    embedded default one process holds the `backtests` lock."""
    settings = container.settings()
    engine = container.read_engine()
    lock = ownership or (None if settings.store.backend == "postgres" else container.locks())
    job = BacktestsJob(container.backtests(), CandleStore(engine), settings.backtests.poll_seconds)
    return Supervisor(job, lock)
