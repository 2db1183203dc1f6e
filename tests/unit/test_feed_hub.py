"""The feed hub's fan-out: each event reaches the subscribers who may see its owner's bots (and
every reader of everything), prices reach those who asked for them, and a subscriber that leaves
gets nothing more. Its watchdog queues heartbeats for quiet clients and stops a send that takes
longer than the send timeout."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from starlette.websockets import WebSocketState

from application.access import Caller, Role
from domain.ids import UserId
from infrastructure.settings import FeedSettings, Settings
from interfaces.http.feed import _Connection
from interfaces.http.feed_hub import Beat, Clocks, FeedHub, Message, Subscription
from interfaces.http.feed_prices import NO_PRICES, PriceFilter, PriceMessage, PriceWatch
from projections.engine.feed import FeedSource

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CLOCKS = Clocks(heartbeat_seconds=2.0, send_timeout_seconds=1.0)


def hub() -> FeedHub:
    """A hub whose reader never runs: the tests hand it events themselves."""
    unused_source = FeedSource(live_store=lambda: pytest.fail("no reader here"), reader=None)  # type: ignore[arg-type]
    return FeedHub(unused_source, queue_limit=100, prices=PriceWatch(dict, poll_seconds=1.0), clocks=CLOCKS)


def caller(user: str, role: Role = Role.TRADER) -> Caller:
    return Caller(UserId(user), role)


def event(position: int, owner: str) -> Message:
    return Message(position, owner, f'{{"type": "event", "position": {position}}}')


def received(subscription: Subscription) -> list[int]:
    """The positions of the events waiting in the subscription's queue."""
    positions = []
    while not subscription.queue.empty():
        item = subscription.queue.get_nowait()
        assert isinstance(item, Message)
        positions.append(item.position)
    return positions


def test_an_event_reaches_its_owner_and_the_readers_of_everything_only() -> None:
    async def scenario() -> None:
        feed = hub()
        alice, alice_again, bob = (feed.subscribe(caller(user)) for user in ("alice", "alice", "bob"))
        auditor = feed.subscribe(caller("audit", Role.AUDITOR))
        admin = feed.subscribe(caller("root", Role.ADMIN))
        feed.publish(event(1, "alice"))
        feed.publish(event(2, "bob"))
        feed.publish(event(3, "carol"))
        assert received(alice) == [1]
        assert received(alice_again) == [1]
        assert received(bob) == [2]
        assert received(auditor) == [1, 2, 3]
        assert received(admin) == [1, 2, 3]

    asyncio.run(scenario())


def test_a_subscriber_that_left_gets_nothing_more_and_the_others_still_do() -> None:
    async def scenario() -> None:
        feed = hub()
        leaving, staying = feed.subscribe(caller("alice")), feed.subscribe(caller("alice"))
        auditor = feed.subscribe(caller("audit", Role.AUDITOR))
        feed.unsubscribe(leaving)
        feed.unsubscribe(auditor)
        feed.publish(event(1, "alice"))
        assert received(leaving) == []
        assert received(auditor) == []
        assert received(staying) == [1]
        feed.unsubscribe(staying)
        assert feed.subscribers == set()

    asyncio.run(scenario())


def test_prices_reach_only_the_subscribers_who_asked_for_them() -> None:
    async def scenario() -> None:
        feed = hub()
        plain = feed.subscribe(caller("alice"))
        watching = feed.subscribe(caller("bob"), PriceFilter(frozenset({"BTC/USDT"})))
        feed._offer_price(PriceMessage("BTC/USDT", Decimal("60000"), "{}"))
        feed._offer_price(PriceMessage("ETH/USDT", Decimal("3000"), "{}"))
        assert plain.queue.empty()
        [price] = [watching.queue.get_nowait()]
        assert isinstance(price, PriceMessage) and price.symbol == "BTC/USDT"
        assert watching.queue.empty()
        await feed.stop()

    asyncio.run(scenario())


def test_the_watchdog_queues_one_heartbeat_for_a_quiet_client_with_the_hubs_position() -> None:
    async def scenario() -> None:
        feed = hub()
        quiet, busy = feed.subscribe(caller("alice")), feed.subscribe(caller("bob"))
        start = quiet.quiet_since
        feed.position = 41
        busy.quiet_since = start + 1.5  # an event was sent to it since
        for now in (start + 1.0, start + 2.0, start + 3.0):
            quiet.watch(now, feed.position, CLOCKS)
            busy.watch(now, feed.position, CLOCKS)
        assert [quiet.queue.get_nowait()] == [Beat(41)] and quiet.queue.empty()
        assert busy.queue.empty()

    asyncio.run(scenario())


def test_the_watchdog_stops_a_send_that_takes_longer_than_the_send_timeout() -> None:
    async def scenario() -> None:
        feed = hub()
        never_sent = asyncio.get_running_loop().create_future()

        async def sender() -> Subscription:
            subscription = feed.subscribe(caller("alice"))
            subscription.sending_since = subscription.quiet_since
            try:
                await never_sent
            except asyncio.CancelledError:
                assert subscription.stalled
            return subscription

        task = asyncio.create_task(sender())
        await asyncio.sleep(0)
        [subscription] = feed.subscribers
        subscription.watch(subscription.quiet_since + 0.9, feed.position, CLOCKS)
        await asyncio.sleep(0)
        assert not task.done() and not subscription.stalled
        subscription.watch(subscription.quiet_since + 1.1, feed.position, CLOCKS)
        assert (await task).stalled

    asyncio.run(scenario())


class StuckSocket:
    """A client socket that takes the subscription message and then accepts nothing more, until
    the server's error message, which it takes, and the close."""

    application_state = WebSocketState.CONNECTED

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []
        self.closed_with: int | None = None

    async def send_text(self, text: str) -> None:
        message = json.loads(text)
        if message["type"] == "event":
            await asyncio.Event().wait()  # never taken
        self.sent.append(message)

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = code


def test_a_following_client_whose_send_stalls_is_ended_as_a_slow_consumer_by_the_watchdog() -> None:
    clocks = Clocks(heartbeat_seconds=10.0, send_timeout_seconds=0.2)
    settings = Settings(feed=FeedSettings(send_timeout_seconds=clocks.send_timeout_seconds))

    async def scenario() -> StuckSocket:
        feed = hub()
        feed.clocks = clocks
        watchdog = asyncio.create_task(feed._watch())
        socket = StuckSocket()
        connection = _Connection(socket, feed, caller("alice"), NO_PRICES, settings, lambda: NOW)  # type: ignore[arg-type]
        serving = asyncio.create_task(connection.serve(after=0))
        while not feed.subscribers:
            await asyncio.sleep(0.01)
        feed.publish(event(1, "alice"))
        async with asyncio.timeout(5):
            await serving
        watchdog.cancel()
        return socket

    socket = asyncio.run(scenario())
    subscribed, ended = socket.sent
    assert subscribed["type"] == "subscribed"
    assert (ended["type"], ended["code"], ended["resume_after"]) == ("error", "slow_consumer", 0)
    assert socket.closed_with == 1008
