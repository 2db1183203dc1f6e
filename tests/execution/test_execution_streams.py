"""A real `tbot execution run` following a Binance account's orders over the WebSocket API's user
data stream (ccxt's watch_orders), against the local fake: fills recorded as the exchange pushes
them while open orders are polled only as a slow sweep; a dropped stream means polling at the usual
pace until it is back; an update the stream lost is found by the sweep."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

import pytest

from application.execution import EXECUTION_ACTOR
from domain.order import Order
from domain.order_states import OrderStatus
from infrastructure.credentials import new_key
from infrastructure.settings import Settings
from tests.support.fake_binance import API_KEY, SECRET, FakeBinance
from tests.support.processes import start_tbot, stop, tbot, wait_for
from tests.support.world import World, world_on

pytestmark = pytest.mark.postgres

ACCOUNT = "binance-ws"
POLL = 0.1
OPEN_ORDERS = "GET /api/v3/openOrders"


@dataclass
class Running:
    world: World
    fake: FakeBinance
    worker: subprocess.Popen[str]

    def status(self, order_id: UUID) -> OrderStatus:
        return self.world.store.load(Order, order_id).status

    def wait_status(self, order_id: UUID, status: OrderStatus, what: str) -> None:
        wait_for(lambda: self.status(order_id) is status, 15, what)

    def polls(self) -> int:
        return self.fake.requests[OPEN_ORDERS]

    def stream_settled(self) -> int:
        """Waits until the worker is subscribed and past the grace period; the poll count then."""
        wait_for(lambda: self.fake.user_streams() == 1, 15, "the worker to subscribe to the user stream")
        time.sleep(3 * POLL + 0.5)
        return self.polls()


def _running(settings: Settings, fake: FakeBinance, sweep: float) -> Iterator[Running]:
    env = {
        "TBOT_CREDENTIALS_KEY": new_key(),
        "TBOT_EXECUTION_POLL_SECONDS": str(POLL),
        "TBOT_EXECUTION_SWEEP_SECONDS": str(sweep),
        "TBOT_REFERENCE_PRICES": json.dumps({"BTC/USDT": "50000"}),
    }
    assert tbot(settings, "db", "init", **env).returncode == 0
    secrets = {"TBOT_EXCHANGE_API_KEY": API_KEY, "TBOT_EXCHANGE_API_SECRET": SECRET}
    added = tbot(
        settings, "accounts", "add", ACCOUNT, "--exchange", "binance", "--api-url", fake.url, **env, **secrets
    )
    assert added.returncode == 0, added.stderr
    assert tbot(settings, "accounts", "markets", ACCOUNT, **env).returncode == 0
    with world_on(settings) as world:
        worker = start_tbot(settings, "execution", "run", **env)
        try:
            yield Running(world, fake, worker)
        finally:
            stop(worker)


@pytest.fixture
def streamed(postgres_settings: Settings, fake: FakeBinance) -> Iterator[Running]:
    yield from _running(postgres_settings, fake, sweep=600)


@pytest.fixture
def swept(postgres_settings: Settings, fake: FakeBinance) -> Iterator[Running]:
    yield from _running(postgres_settings, fake, sweep=1)


def test_fills_come_over_the_stream_and_a_dropped_stream_means_polling_until_it_is_back(
    streamed: Running, fake: FakeBinance
) -> None:
    bot_id = streamed.world.running_bot(account=ACCOUNT)
    first = streamed.world.place(bot_id, "w-1", "buy", "0.1", "49000")
    streamed.wait_status(first, OrderStatus.ACCEPTED, "the limit order to rest")
    polls = streamed.stream_settled()
    fake.set_price("BTCUSDT", Decimal(48900))
    streamed.wait_status(first, OrderStatus.FILLED, "the pushed fill to be recorded")
    assert streamed.polls() - polls <= 1  # found by the stream, not by polling (600 s sweep)
    filled = streamed.world.store.load(Order, first)
    assert filled.average_fill_price == Decimal(49000) and filled.trade_ids

    second = streamed.world.place(bot_id, "w-2", "buy", "0.1", "48000")
    streamed.wait_status(second, OrderStatus.ACCEPTED, "the second limit order to rest")
    polls = streamed.stream_settled()
    fake.drop_streams()
    wait_for(lambda: streamed.polls() >= polls + 5, 10, "polling at the usual pace while the stream is down")
    polls = streamed.stream_settled()  # subscribed again, and past the grace period
    fake.set_price("BTCUSDT", Decimal(47000))
    streamed.wait_status(second, OrderStatus.FILLED, "a fill pushed over the new stream")
    assert streamed.polls() - polls <= 1
    assert fake.count_orders() == 2 and fake.requests["POST /api/v3/order"] == 2
    assert (
        len([r for r in fake.stream_requests if r.get("method") == "userDataStream.subscribe.signature"]) == 2
    )


def test_an_update_the_stream_lost_is_found_by_the_sweep(swept: Running, fake: FakeBinance) -> None:
    order_id = swept.world.place(swept.world.running_bot(account=ACCOUNT), "s-1", "buy", "0.1", "49000")
    swept.wait_status(order_id, OrderStatus.ACCEPTED, "the limit order to rest")
    polls = swept.stream_settled()
    fake.faults.mute_user_stream = True
    fake.set_price("BTCUSDT", Decimal(48000))
    swept.wait_status(order_id, OrderStatus.FILLED, "the sweep to find the fill")
    assert swept.polls() > polls
    fills = [e for e in swept.world.new_events(0) if type(e).__qualname__ == "Order.Filled"]
    assert [e.meta.actor for e in fills] == [EXECUTION_ACTOR]
