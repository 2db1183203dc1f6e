"""The real `tbot execution run`, SIGKILLed after its order reached the exchange and before it could
record the answer (while it waits for the answer, and after the exchange filled the order while the
worker's write of the fill waits on the event store): a new worker reconciles the order from the
exchange, records the truth (each trade once) as reconciliation, and no second order is ever sent.
The exchange account is set up through the real `tbot accounts` commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from application.execution import RECONCILIATION_ACTOR
from domain.order import Order
from domain.order_states import OrderStatus
from infrastructure.credentials import new_key
from infrastructure.settings import Settings
from tests.support.fake_binance import API_KEY, SECRET, FakeBinance
from tests.support.processes import start_tbot, stop, tbot, wait_for
from tests.support.world import world_on

ACCOUNT = "binance-kill"

pytestmark = pytest.mark.postgres


def _account_on(settings: Settings, fake: FakeBinance) -> dict[str, str]:
    """The database and an exchange account on the fake Binance; the workers' environment."""
    env = {
        "TBOT_CREDENTIALS_KEY": new_key(),
        "TBOT_EXCHANGE_TIMEOUT_SECONDS": "30",  # the worker waits for a late answer
        "TBOT_EXECUTION_POLL_SECONDS": "0.1",
        "TBOT_REFERENCE_PRICES": json.dumps({"BTC/USDT": "50000"}),
    }
    assert tbot(settings, "db", "init", **env).returncode == 0
    secrets = {"TBOT_EXCHANGE_API_KEY": API_KEY, "TBOT_EXCHANGE_API_SECRET": SECRET}
    add = ["accounts", "add", ACCOUNT, "--exchange", "binance", "--api-url", fake.url]
    added = tbot(settings, *add, **env, **secrets)
    assert added.returncode == 0, added.stderr
    loaded = tbot(settings, "accounts", "markets", ACCOUNT, **env)
    assert loaded.returncode == 0 and "3 markets loaded" in loaded.stdout, loaded.stderr
    return env


def test_a_worker_killed_between_submit_and_record_is_reconciled_without_a_second_order(
    postgres_settings: Settings, fake: FakeBinance
) -> None:
    settings = postgres_settings
    env = _account_on(settings, fake)
    fake.faults.answer_late, fake.faults.late_seconds = 1, 5.0
    with world_on(settings) as world:
        order_id = world.place(world.running_bot(account=ACCOUNT), "k-1", "buy", "0.1")
        before = world.store.last_position()
        worker = start_tbot(settings, "execution", "run", **env)
        try:
            wait_for(lambda: fake.count_orders() == 1, 30, "the order to reach the exchange")
            worker.kill()  # SIGKILL while it waits for the exchange's answer
            worker.wait(timeout=10)
        finally:
            stop(worker)
        assert world.store.load(Order, order_id).status is OrderStatus.SUBMITTED

        restarted = start_tbot(settings, "execution", "run", **env)
        try:
            wait_for(
                lambda: world.store.load(Order, order_id).status is OrderStatus.FILLED, 30, "reconciliation"
            )
        finally:
            stop(restarted)
        assert fake.count_orders() == 1 and fake.requests["POST /api/v3/order"] == 1
        order = world.store.load(Order, order_id)
        assert order.trade_ids == [str(t.trade_id) for t in fake.order_by_client_id(order_id.hex).trades]  # type: ignore[union-attr]
        recorded = [
            e for e in world.new_events(before) if type(e).__qualname__ in ("Order.Accepted", "Order.Filled")
        ]
        assert recorded and {e.meta.actor for e in recorded} == {RECONCILIATION_ACTOR}


@contextmanager
def _writes_held(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """Holds the event store's table lock (as a long transaction elsewhere would), so every write
    waits; released when the block ends."""
    assert settings.store.database_url is not None
    with psycopg.connect(settings.store.database_url.get_secret_value()) as conn:
        conn.execute(f'LOCK TABLE "{settings.store.postgres_schema}".tbot_events IN EXCLUSIVE MODE')
        yield conn
        conn.rollback()


def _writers_waiting(conn: psycopg.Connection[Any], settings: Settings) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass",
        (f'"{settings.store.postgres_schema}".tbot_events',),
    ).fetchone()
    return int(row[0]) if row else 0


def test_a_worker_killed_after_the_exchange_filled_and_before_the_fill_is_recorded_records_it_once(
    postgres_settings: Settings, fake: FakeBinance
) -> None:
    settings = postgres_settings
    env = _account_on(settings, fake)
    fake.faults.answer_late, fake.faults.late_seconds = 1, 2.0
    with world_on(settings) as world:
        order_id = world.place(world.running_bot(account=ACCOUNT), "k-2", "buy", "0.1")
        worker = start_tbot(settings, "execution", "run", **env)
        try:
            wait_for(lambda: fake.count_orders() == 1, 30, "the order to reach the exchange")
            with _writes_held(settings) as held:
                trades = fake.order_by_client_id(order_id.hex).trades  # type: ignore[union-attr]
                assert trades, "the exchange filled the market order"
                wait_for(lambda: _writers_waiting(held, settings) > 0, 30, "the worker's write of the answer")
                worker.kill()  # SIGKILL: the fill is at the exchange, its record not yet written
                worker.wait(timeout=10)
        finally:
            stop(worker)
        assert world.store.load(Order, order_id).status is OrderStatus.SUBMITTED
        before = world.store.last_position()

        restarted = start_tbot(settings, "execution", "run", **env)
        try:
            wait_for(
                lambda: world.store.load(Order, order_id).status is OrderStatus.FILLED, 30, "reconciliation"
            )
        finally:
            stop(restarted)
        assert fake.count_orders() == 1 and fake.requests["POST /api/v3/order"] == 1
        order = world.store.load(Order, order_id)
        assert order.trade_ids == [str(t.trade_id) for t in trades]
        filled = [e for e in world.new_events(before) if type(e).__qualname__ == "Order.Filled"]
        assert len(filled) == len(trades) and {e.meta.actor for e in filled} == {RECONCILIATION_ACTOR}
