"""On the embedded default (SQLite, no Redis) `tbot serve` keeps the live model in its own memory,
so its feed works with no other process's help."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from websockets.sync.client import connect

from domain.values import Symbol
from infrastructure.mark_prices import open_mark_price_store
from infrastructure.read_database import create_read_engine
from infrastructure.settings import Settings
from tests.support.api import api_on
from tests.support.feed import FeedClient


def test_the_embedded_server_feeds_its_own_events(sqlite_settings: Settings) -> None:
    with api_on(sqlite_settings, {"alice": "trader"}, TBOT_FEED_HEARTBEAT_SECONDS="0.5") as api:
        bot_id = api.create_bot("alice")
        with api.client("alice") as http:
            paused = http.post(f"/v1/bots/{bot_id}/pause").json()["position"]
        with FeedClient(api, "alice", after=0) as feed:
            events = feed.events_through(paused)
    assert [e["event"] for e in events] == ["Bot.Created", "Bot.Started", "Bot.Paused"]
    assert [e["position"] for e in events] == [1, 2, paused] and {e["bot_id"] for e in events} == {bot_id}


def test_the_embedded_server_feeds_mark_prices_from_its_database(sqlite_settings: Settings) -> None:
    marks = open_mark_price_store(sqlite_settings, create_read_engine(sqlite_settings))
    with api_on(sqlite_settings, {"alice": "trader"}, TBOT_FEED_PRICE_POLL_SECONDS="0.1") as api:
        marks.install()
        marks.write({Symbol("ETH", "USDT"): (Decimal("2999.5"), datetime.now(UTC))})
        with FeedClient(api, "alice", prices="ETH/USDT,BTC/USDT") as feed:
            first = feed.next()
            marks.write({Symbol("ETH", "USDT"): (Decimal("3000.25"), datetime.now(UTC))})
            second = feed.next()
    assert (first["type"], first["symbol"], first["price"]) == ("price", "ETH/USDT", "2999.5")
    assert (second["type"], second["symbol"], second["price"]) == ("price", "ETH/USDT", "3000.25")


@pytest.mark.parametrize(("setting", "compressed"), [({}, False), ({"TBOT_FEED_COMPRESSION": "true"}, True)])
def test_feed_compression_is_offered_only_when_set(
    sqlite_settings: Settings, setting: dict[str, str], compressed: bool
) -> None:
    """Off by default: a compressor per client is memory and time a busy server spends per client."""
    with (
        api_on(sqlite_settings, {"alice": "trader"}, **setting) as api,
        connect(
            api.base_url.replace("http", "ws") + "/v1/feed",
            additional_headers={"X-API-Key": api.keys["alice"]},
            compression="deflate",  # the client offers it either way
        ) as ws,
    ):
        assert json.loads(ws.recv())["type"] == "subscribed"
        assert ws.response is not None
        agreed = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
    assert ("permessage-deflate" in agreed) is compressed
