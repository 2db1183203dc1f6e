"""The strategy worker: runs the strategy runtime (application/strategy_runtime) in turns. On
PostgreSQL several can run at once: each holds the leases of a fair share of the running bots and
takes over the bots of one that dies; on the embedded default one process runs them all, others
standing by behind the `strategies` lock."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Engine

from application.strategy_runtime import StrategyRuntime
from application.strategy_runtime.ports import BotLeases
from infrastructure.candles import CandleStore, candles_channel
from infrastructure.metrics import Metrics
from infrastructure.read_store.wakeup import open_wakeup
from infrastructure.strategy_leases import AdvisoryLeases, AllLeases
from interfaces.composition import Container
from interfaces.workers.supervisor import Degraded, Ownership, Supervisor
from projections.ports import Wakeup
from projections.queries import running_strategy_bots


class ReadModelStrategyBots:
    """The running bots with a trading strategy, from the bots read model."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def running(self) -> list[UUID]:
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(running_strategy_bots())]


class StrategiesJob:
    """Turns of the strategy runtime, woken by candle writes (PostgreSQL's NOTIFY) and polling
    every ``poll_seconds`` in case one is lost (or on SQLite, where nothing announces them)."""

    name = "strategies"

    def __init__(
        self, runtime: StrategyRuntime, wakeup: Wakeup, poll_seconds: float, metrics: Metrics
    ) -> None:
        self.runtime = runtime
        self.wakeup = wakeup
        self.poll_seconds = poll_seconds
        self.metrics = metrics

    def begin(self) -> None:
        """Nothing to set up: leases are taken in the turns."""

    def turn(self) -> float:
        self.runtime.turn()
        self.metrics.strategy_leases.set(len(self.runtime.held))
        if self.runtime.stalled:
            symbols = ", ".join(sorted(str(s) for s in self.runtime.stalled))
            raise Degraded(f"market data stalled: no new candle of {symbols}", self.poll_seconds)
        return self.poll_seconds

    def idle(self, seconds: float) -> None:
        self.wakeup.wait(seconds)

    def interrupt(self) -> None:
        self.wakeup.poke()

    def end(self) -> None:
        self.runtime.release()
        self.metrics.strategy_leases.set(0)

    def close(self) -> None:
        self.wakeup.close()
        self.runtime.close()


def strategies_job(container: Container) -> StrategiesJob:
    settings = container.settings()
    engine = container.read_engine()
    leases: BotLeases = AdvisoryLeases(engine) if settings.store.backend == "postgres" else AllLeases()
    runtime = StrategyRuntime(
        bus=container.bus(),
        store=container.store(),
        book=container.strategies(),
        candles=CandleStore(engine),
        bots=ReadModelStrategyBots(engine),
        leases=leases,
        markets=container.markets(),
        clock=container.clock(),
        metrics=container.metrics(),
    )
    wakeup = open_wakeup(container.store(), candles_channel(settings.store.postgres_schema))
    return StrategiesJob(runtime, wakeup, poll_seconds=1.0, metrics=container.metrics())


def build_strategies_worker(
    container: Container, ownership: Ownership | None = None
) -> Supervisor[StrategiesJob]:
    """On PostgreSQL the bots' leases share the work among processes (no worker lock); on the
    embedded default one process holds the `strategies` lock."""
    settings = container.settings()
    lock = ownership or (None if settings.store.backend == "postgres" else container.locks())
    return Supervisor(strategies_job(container), lock)
