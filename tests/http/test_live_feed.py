"""The live feed over a real WebSocket, against a real `tbot serve` and projection worker on
PostgreSQL and Redis: the caller's own events in position order; resuming with ``after`` gives
exactly the missed events then live ones, also after Redis lost everything; heartbeats; a slow
consumer told why, disconnected, and able to resume; isolation and refused handshakes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from domain.values import Symbol
from infrastructure.mark_prices import open_mark_price_store
from infrastructure.read_database import create_read_engine
from infrastructure.settings import Settings
from tests.support.api import LIMITS, Api, api_on
from tests.support.feed import FeedClient, StalledClient
from tests.support.generate import Generator
from tests.support.redis_server import RedisServer, redis_server
from tests.support.settings import changed
from tests.support.world import world_on

pytestmark = pytest.mark.postgres

USERS = {"alice": "trader", "bob": "trader", "audrey": "auditor"}
BUSY_LIMITS = {**LIMITS, "max_open_orders": 1000, "max_orders_per_minute": 100_000}
FAST = {"TBOT_FEED_HEARTBEAT_SECONDS": "0.5", "TBOT_RATE_LIMIT_PER_SECOND": "100000"}


@pytest.fixture(scope="module")
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    settings: Settings = request.getfixturevalue("module_postgres_redis_settings")
    with api_on(settings, USERS, **FAST) as running:
        yield running


def _place(api: Api, user: str, bot_id: str, count: int, prefix: str) -> int:
    """Places ``count`` small orders; the position of the last one's events."""
    position = 0
    with api.client(user) as http:
        for n in range(count):
            body = {
                "symbol": "BTC/USDT",
                "side": "buy",
                "order_type": "limit",
                "quantity": "0.0001",
                "price": "50000",
                "client_order_id": f"{prefix}-{n}",
            }
            placed = http.post(f"/v1/bots/{bot_id}/orders", json=body)
            assert placed.status_code == 201, placed.text
            position = placed.json()["position"]
    return position


def _positions(events: list[dict[str, Any]]) -> list[int]:
    return [e["position"] for e in events]


def test_resume_gets_exactly_the_missed_events_then_live_ones(api: Api) -> None:
    alice_bot = api.create_bot("alice", limits=BUSY_LIMITS)
    bob_bot = api.create_bot("bob", limits=BUSY_LIMITS)
    with FeedClient(api, "alice") as witness:  # stays connected throughout: the reference
        with FeedClient(api, "alice") as client:
            seen = client.events_through(_place(api, "alice", alice_bot, 3, "r1"))
            assert [e["event"] for e in seen] == ["Bot.OrderAdmitted", "Order.Placed"] * 3
            last = seen[-1]["position"]
        # disconnected: commands continue, alice's and bob's
        _place(api, "bob", bob_bot, 2, "r2")
        missed_until = _place(api, "alice", alice_bot, 4, "r3")
        _place(api, "bob", bob_bot, 2, "r4")
        with FeedClient(api, "alice", after=last) as resumed:
            assert resumed.subscribed["after"] == last
            missed = resumed.events_through(missed_until)
            live_until = _place(api, "alice", alice_bot, 1, "r5")
            live = resumed.events_through(live_until)
        everything = witness.events_through(live_until)
    assert missed + live == [e for e in everything if e["position"] > last]
    assert _positions(missed + live) == sorted(set(_positions(missed + live)))
    assert len(missed) == 8 and len(live) == 2
    assert {e["bot_id"] for e in everything} == {alice_bot} and {e["owner"] for e in everything} == {"alice"}
    placed = next(e for e in live if e["event"] == "Order.Placed")
    assert placed["data"]["request"]["client_order_id"] == "r5-0"
    assert placed["data"]["request"]["quantity"] == "0.0001" and placed["data"]["bot_id"] == alice_bot
    assert placed["actor"] == "alice" and placed["correlation_id"]


def test_isolation_and_the_auditor(api: Api) -> None:
    alice_bot = api.create_bot("alice")
    bob_bot = api.create_bot("bob")
    with FeedClient(api, "bob") as bob, FeedClient(api, "audrey") as auditor:
        alice_until = _place(api, "alice", alice_bot, 2, "i1")
        bob_until = _place(api, "bob", bob_bot, 1, "i2")
        bobs = bob.events_through(max(alice_until, bob_until))
        all_seen = auditor.events_through(max(alice_until, bob_until))
    # (a feed without `after` starts at the live model's position, which may precede the bots' start)
    assert {e["bot_id"] for e in bobs} == {bob_bot}
    assert [e["event"] for e in bobs][-2:] == ["Bot.OrderAdmitted", "Order.Placed"]
    assert {alice_bot, bob_bot} <= {e["bot_id"] for e in all_seen}
    assert [e for e in all_seen if e["bot_id"] == bob_bot][-2:] == bobs[-2:]


def test_an_idle_feed_hears_heartbeats_with_a_position_to_resume_from(api: Api) -> None:
    bot = api.create_bot("alice")
    until = _place(api, "alice", bot, 1, "h1")
    with FeedClient(api, "alice", after=until) as client:
        beat = client.next(timeout=5)
    assert beat["type"] == "heartbeat" and beat["position"] >= until and beat["at"].startswith("20")


@pytest.mark.parametrize(
    ("user", "query", "status"),
    [
        (None, "", 401),
        ("nobody", "", 401),
        ("alice", "?after=abc", 422),
        ("alice", "?after=99999999", 422),
        ("alice", "?prices=btc-usdt", 422),
        ("alice", "?prices=", 422),
    ],
)
def test_refused_handshakes(api: Api, user: str | None, query: str, status: int) -> None:
    headers = {"X-API-Key": api.keys.get(user or "", "tbot_0000000000000000_" + "x" * 43)} if user else {}
    with pytest.raises(InvalidStatus) as refused:
        connect(api.base_url.replace("http", "ws") + "/v1/feed" + query, additional_headers=headers)
    assert refused.value.response.status_code == status
    if status == 422:
        field = query[1:].split("=", maxsplit=1)[0]
        assert refused.value.response.body is not None
        [problem] = json.loads(refused.value.response.body)["error"]["problems"]
        assert problem["field"] == f"query.{field}" and problem["rule"]


def test_mark_prices_for_the_symbols_asked_for(api: Api, module_postgres_redis_settings: Settings) -> None:
    """Marks as market data writes them: a client gets the latest of each symbol it asked for, then
    each change once; others get none; heartbeats still come while prices flow."""
    settings = module_postgres_redis_settings
    marks = open_mark_price_store(settings, create_read_engine(settings))
    marks.install()
    btc, eth = Symbol("BTC", "USDT"), Symbol("ETH", "USDT")
    marks.write({btc: (Decimal("50000.5"), datetime.now(UTC)), eth: (Decimal("3000"), datetime.now(UTC))})
    bot = api.create_bot("alice")
    with (
        FeedClient(api, "alice", prices="BTC/USDT") as btc_only,
        FeedClient(api, "bob", prices="*") as every,
        FeedClient(api, "alice") as plain,
    ):
        assert _price_of(btc_only.next()) == ("BTC/USDT", "50000.5")
        assert {_price_of(every.next()), _price_of(every.next())} == {
            ("BTC/USDT", "50000.5"),
            ("ETH/USDT", "3000"),
        }
        for n in range(12):  # a new BTC price every 0.1s for longer than two heartbeat periods
            now = datetime.now(UTC)
            marks.write({btc: (Decimal(f"50001.{n:02d}"), now), eth: (Decimal("3000"), now)})
            time.sleep(0.1)
        marks.write({eth: (Decimal("3001.25"), datetime.now(UTC))})
        time.sleep(0.6)  # the feed looks for new prices every 0.25s
        until = _place(api, "alice", bot, 1, "p1")
        plain_events = plain.events_through(until)  # fails on any message but events and heartbeats
        seen = _until_event(btc_only, until)
        every_seen = _until_event(every, until)
    btc_prices = [_price_of(m) for m in seen if m["type"] == "price"]
    assert {symbol for symbol, _ in btc_prices} == {"BTC/USDT"}
    assert [Decimal(p) for _, p in btc_prices] == sorted({Decimal(p) for _, p in btc_prices})  # no repeats
    assert btc_prices[-1] == ("BTC/USDT", "50001.11")
    kinds = [m["type"] for m in seen]
    last_price = len(kinds) - kinds[::-1].index("price")
    assert "heartbeat" in kinds[:last_price]  # while prices came faster than heartbeats
    assert ("ETH/USDT", "3001.25") in [_price_of(m) for m in every_seen if m["type"] == "price"]
    assert [e["event"] for e in plain_events][-2:] == ["Bot.OrderAdmitted", "Order.Placed"]


def _price_of(message: dict[str, Any]) -> tuple[str, str]:
    assert message["type"] == "price" and message["at"].startswith("20"), message
    return message["symbol"], message["price"]


def _until_event(client: FeedClient, position: int) -> list[dict[str, Any]]:
    """Every message up to the event at ``position`` or a heartbeat past it."""
    messages: list[dict[str, Any]] = []
    while True:
        message = client.next()
        messages.append(message)
        if message["type"] in ("event", "heartbeat") and message["position"] >= position:
            return messages


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server


def test_resume_after_redis_lost_everything(
    postgres_settings: Settings, own_redis: RedisServer, tmp_path: Path
) -> None:
    """Redis restarted empty while the client was away: the live model is rebuilt from the event
    store, and what its (short) stream no longer holds comes from the event store."""
    settings = changed(postgres_settings, redis={"url": SecretStr(own_redis.url)})
    with api_on(settings, {"alice": "trader"}, TBOT_FEED_MAX_LENGTH="10", **FAST) as api:
        bot = api.create_bot("alice", limits=BUSY_LIMITS)
        with FeedClient(api, "alice") as client, FeedClient(api, "alice") as bystander:
            last = client.events_through(_place(api, "alice", bot, 2, "x1"))[-1]["position"]
            client.close()
            bystander.events_through(last)
            own_redis.stop()
            # still connected: told the feed is gone, and where to resume
            told = next(m for m in iter(bystander.next, None) if m["type"] != "heartbeat")
            assert (told["type"], told["code"], told["resume_after"]) == ("error", "live_unavailable", last)
        _place(api, "alice", bot, 3, "x2")  # commands go on without Redis
        own_redis.start()
        missed_until = _place(api, "alice", bot, 10, "x3")
        with FeedClient(api, "alice", after=last) as resumed:
            missed = resumed.events_through(missed_until)
            live_until = _place(api, "alice", bot, 1, "x4")
            live = resumed.events_through(live_until)
    assert len(missed) == 26 and len(live) == 2
    assert _positions(missed + live) == list(range(last + 1, live_until + 1))
    placed = [e["data"]["request"] for e in missed + live if e["event"] == "Order.Placed"]
    assert [request["client_order_id"] for request in placed] == [
        *(f"x2-{n}" for n in range(3)),
        *(f"x3-{n}" for n in range(10)),
        "x4-0",
    ]


def test_a_slow_consumer_is_told_why_disconnected_and_can_resume(postgres_redis_settings: Settings) -> None:
    """A client resuming from the start of a long history and reading nothing: its socket fills,
    a send times out, and it is ended; once it reads, it finds why and where to resume."""
    with world_on(postgres_redis_settings) as world:
        head = Generator(world.store, bots=2, owners=1).run(12_000).events
    env = {**FAST, "TBOT_FEED_QUEUE_LIMIT": "20", "TBOT_FEED_SEND_TIMEOUT_SECONDS": "1"}
    with api_on(postgres_redis_settings, {"owner-0": "trader"}, **env) as api:
        stalled = StalledClient(api, "owner-0", after=0)
        try:
            time.sleep(4)  # the server's sends back up and time out meanwhile
            messages, close = stalled.read_all()
        finally:
            stalled.close()
        subscribed, error = messages[0], messages[-1]
        # heartbeats may come between events when a read of the history takes a while
        events = [m for m in messages[1:-1] if m["type"] != "heartbeat"]
        assert subscribed["type"] == "subscribed" and all(e["type"] == "event" for e in events)
        assert error["type"] == "error" and error["code"] == "slow_consumer"
        assert _positions(events) == list(range(1, error["resume_after"] + 1)) and len(events) < head
        assert close is not None and close.code == 1008
        with FeedClient(api, "owner-0", after=error["resume_after"]) as resumed:
            rest = resumed.events_through(head)
        assert _positions(events + rest) == list(range(1, head + 1))
