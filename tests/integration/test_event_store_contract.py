"""One contract for the event store, run against SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from application.store import TradingApplication
from domain.bot import Bot
from domain.ids import BotId, UserId
from domain.risk import RiskLimits
from domain.values import EventMeta, Stamp, Symbol
from infrastructure.event_store import create_tables, open_store
from infrastructure.settings import Settings

STAMP = Stamp(datetime(2026, 5, 1, tzinfo=UTC), EventMeta(UserId("alice"), "corr-1", "cause-1"))
LIMITS = RiskLimits(Decimal(1000), Decimal(5000), 5, Decimal(100), Decimal("0.05"), 10)


@pytest.fixture
def store(any_settings: Settings) -> Iterator[TradingApplication]:
    create_tables(any_settings)
    create_tables(any_settings)  # creating the tables again is harmless
    app = open_store(any_settings)
    yield app
    app.close()


def new_bot() -> Bot:
    return Bot.create(
        BotId(uuid4()), UserId("alice"), "b", "s", {}, "paper", [Symbol("BTC", "USDT")], LIMITS, STAMP
    )


def stored_ids(store: TradingApplication) -> list[object]:
    return [n.originator_id for n in store.recorder.select_notifications(start=1, limit=1000)]


def test_append_then_read_back_in_order_with_metadata(store: TradingApplication) -> None:
    bot = new_bot()
    bot.start(STAMP)
    position = store.record(bot)
    events: list[Any] = list(store.events.get(bot.id))
    assert [type(e).__qualname__ for e in events] == ["Bot.Created", "Bot.Started"]
    assert [e.originator_version for e in events] == [1, 2]
    assert events[1].meta == STAMP.meta
    assert events[1].timestamp == STAMP.at
    assert position == store.last_position() == 2
    assert [n.id for n in store.recorder.select_notifications(start=1, limit=10)] == [1, 2]


def test_a_stale_writer_gets_a_conflict_and_writes_nothing(store: TradingApplication) -> None:
    bot = new_bot()
    store.record(bot)
    first, second = store.load(Bot, bot.id), store.load(Bot, bot.id)
    first.start(STAMP)
    store.record(first)
    second.stop(STAMP)
    with pytest.raises(IntegrityError):
        store.record(second)
    assert [type(e).__qualname__ for e in store.events.get(bot.id)] == ["Bot.Created", "Bot.Started"]


def test_a_conflict_on_one_aggregate_writes_nothing_for_the_others(store: TradingApplication) -> None:
    contested = new_bot()
    store.record(contested)
    stale = store.load(Bot, contested.id)
    winner = store.load(Bot, contested.id)
    winner.start(STAMP)
    store.record(winner)

    fresh = new_bot()
    fresh.start(STAMP)
    stale.stop(STAMP)
    with pytest.raises(IntegrityError):
        store.record(fresh, stale)
    assert store.find(Bot, fresh.id) is None
    assert stored_ids(store) == [contested.id, contested.id]


def test_the_same_aggregate_id_cannot_be_created_twice(store: TradingApplication) -> None:
    bot = new_bot()
    store.record(bot)
    twin = Bot.create(
        BotId(bot.id), UserId("mallory"), "b", "s", {}, "paper", [Symbol("BTC", "USDT")], LIMITS, STAMP
    )
    with pytest.raises(IntegrityError):
        store.record(twin)
    assert store.load(Bot, bot.id).owner == "alice"


def test_loading_an_older_version_gives_the_state_then(store: TradingApplication) -> None:
    bot = new_bot()
    bot.start(STAMP)
    bot.pause(STAMP)
    store.record(bot)
    assert store.load_at(bot.id, 2).status.value == "running"
    assert store.load(Bot, bot.id).status.value == "paused"
