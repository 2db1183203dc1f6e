"""The execution worker's loop: one holder of the execution lock works the orders; a second worker
waits as a standby and takes over, reconciling first, when the holder stops; an exception in a
handler or a store outage does not end it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from dependency_injector import providers
from sqlalchemy.exc import OperationalError

from application import commands as c
from application.execution.state import EventSource, StoredEvent
from domain.order import Order
from domain.order_states import OrderStatus
from infrastructure.settings import ExecutionWorkerSettings, MarketDataSettings, ProjectionSettings, Settings
from interfaces.composition import Container
from interfaces.tables import install_worker_tables
from interfaces.workers.execution import ExecutionJob, build_execution_worker
from interfaces.workers.supervisor import Supervisor
from tests.support.processes import wait_for
from tests.support.scripted_exchange import FailingBus
from tests.support.settings import embedded_store
from tests.support.world import World, world_on


def _worker(settings: Settings) -> tuple[Supervisor[ExecutionJob], threading.Thread]:
    container = Container()
    container.settings.override(providers.Object(settings))
    install_worker_tables(container.read_engine())
    worker = build_execution_worker(container)
    return worker, threading.Thread(target=worker.run, daemon=True)


def test_a_standby_takes_over_when_the_holder_stops(tmp_path: Path) -> None:
    settings = Settings(
        store=embedded_store(tmp_path),
        marketdata=MarketDataSettings(reference_prices={"BTC/USDT": Decimal(50000)}),
        execution=ExecutionWorkerSettings(poll_seconds=0.05),
        projections=ProjectionSettings(poll_seconds=0.05),
    )
    container = Container()
    container.settings.override(providers.Object(settings))
    with world_on(settings) as world:
        install_worker_tables(container.read_engine())
        _hand_over(world, settings)


def _hand_over(world: World, settings: Settings) -> None:
    bot_id = world.running_bot()

    holder, holder_thread = _worker(settings)
    standby, standby_thread = _worker(settings)
    holder_thread.start()
    wait_for(holder.started.is_set, 10, "the holder to start")
    standby_thread.start()
    first = world.place(bot_id, "w-1", "buy", "0.01")
    wait_for(lambda: world.store.load(Order, first).status is OrderStatus.FILLED, 10, "the holder to fill it")
    assert not standby.started.is_set()

    holder.stop()
    holder_thread.join(timeout=10)
    wait_for(standby.started.is_set, 10, "the standby to take over")
    second = world.place(bot_id, "w-2", "buy", "0.01")
    wait_for(
        lambda: world.store.load(Order, second).status is OrderStatus.FILLED, 10, "the standby to fill it"
    )
    standby.stop()
    standby_thread.join(timeout=10)
    assert not standby_thread.is_alive()
    trades = standby.job.accounts.paper("paper").account.exchange.trades()
    # the standby rebuilt the account; orders carry their order id's hex as client order id there
    assert [t.client_order_id for t in trades] == [first.hex, second.hex]


def _sqlite(tmp_path: Path) -> Settings:
    return Settings(
        store=embedded_store(tmp_path),
        marketdata=MarketDataSettings(reference_prices={"BTC/USDT": Decimal(50000)}),
        execution=ExecutionWorkerSettings(poll_seconds=0.05),
    )


class _FlakyEvents:
    """The event store away for one read, as in a database outage."""

    def __init__(self, inner: EventSource) -> None:
        self.inner, self.failed = inner, False

    def read(self, after: int, limit: int) -> Sequence[StoredEvent]:
        if not self.failed:
            self.failed = True
            raise OperationalError("SELECT", {}, Exception("server closed the connection"))
        return self.inner.read(after, limit)


@pytest.mark.parametrize("fault", ["a handler raises", "the store is away"])
def test_the_worker_survives_an_exception_and_the_order_completes(tmp_path: Path, fault: str) -> None:
    settings = _sqlite(tmp_path)
    with world_on(settings) as world:
        worker, thread = _worker(settings)
        manager = worker.job.manager
        if fault == "a handler raises":
            submitted = lambda command: isinstance(command, c.RecordOrderSubmitted)  # noqa: E731
            manager.bus = FailingBus(manager.bus, submitted, lambda: RuntimeError("boom"))  # type: ignore[assignment]
        order_id = world.place(world.running_bot(), "s-1", "buy", "0.01")
        if fault == "the store is away":
            manager.events = _FlakyEvents(manager.events)
        thread.start()
        try:
            wait_for(
                lambda: world.store.load(Order, order_id).status is OrderStatus.FILLED,
                15,
                "the order to fill",
            )
            assert thread.is_alive()
        finally:
            worker.stop()
            thread.join(timeout=10)
