"""Events stored before a field existed still load (eventsourcing upcasts them), with the value the
docs give for them, and the aggregates they belong to rebuild from them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from application import commands as c
from domain.bot import Bot
from domain.ids import BotId, position_id_for
from domain.position import Position
from infrastructure.settings import Settings, StoreSettings
from tests.support.world import ACTOR, World, world_on


@pytest.fixture
def old_store(tmp_path: Path) -> Iterator[World]:
    """A second, empty event store: the stored events of an older version are written into it."""
    settings = Settings(store=StoreSettings(sqlite_path=tmp_path / "old.sqlite3"))
    with world_on(settings) as world:
        yield world


def copy_as_version_1(
    source: World, target: World, aggregate_id: UUID, event: str, *fields: str, now: int = 2
) -> None:
    """Copies an aggregate's stored events to ``target``, writing each ``event`` (of class version
    ``now``) as version 1 wrote it: without ``fields`` and without a class version."""
    mapper = source.store.mapper
    assert mapper.cipher is None and mapper.compressor is None  # the state is the transcoded JSON
    rewritten = []
    for stored in source.store.recorder.select_events(aggregate_id):
        state = stored.state
        if stored.topic.endswith(f".{event}"):
            decoded = mapper.transcoder.decode(state)
            assert decoded.pop("class_version") == now
            for name in fields:
                del decoded[name]
            state = mapper.transcoder.encode(decoded)
        rewritten.append(StoredEvent(stored.originator_id, stored.originator_version, stored.topic, state))
    target.store.recorder.insert_events(rewritten)


def test_an_admission_stored_before_reference_prices_loads_with_none(world: World, old_store: World) -> None:
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "o-1", "buy", "0.1", "50000")
    copy_as_version_1(world, old_store, bot_id, "OrderAdmitted", "reference_price")
    [admitted] = [e for e in old_store.new_events(0) if isinstance(e, Bot.OrderAdmitted)]
    assert (admitted.order_id, admitted.reference_price) == (order_id, None)
    assert list(old_store.store.load(Bot, bot_id).open_orders) == [order_id.hex]


def test_a_kill_switch_reset_stored_before_reasons_loads_with_none(world: World, old_store: World) -> None:
    bot_id = world.running_bot()
    world.bus.dispatch(c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="halt"))
    world.bus.dispatch(c.ResetKillSwitch(actor=ACTOR, bot_id=bot_id, reason="checked"))
    copy_as_version_1(world, old_store, bot_id, "KillSwitchReset", "reason")
    [reset] = [e for e in old_store.new_events(0) if isinstance(e, Bot.KillSwitchReset)]
    assert (reset.reason, reset.meta.actor) == (None, ACTOR)
    assert not old_store.store.load(Bot, bot_id).kill_switch


def _fire_v2(world: World, denied: list[str]) -> UUID:
    """A bot with a long position whose stop loss was asked for once and denied."""
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "o-1", "buy", "0.1", "50000", stop_loss="49000")
    world.accept(order_id)
    world.fill(order_id, "t-1", "0.1", "50000")
    position_id = position_id_for(BotId(bot_id), "BTC/USDT")
    world.bus.dispatch(
        c.RecordProtectionFired(
            actor="system:protection",
            position_id=position_id,
            episode=1,
            attempt=1,
            kind="stop_loss",
            level=Decimal("49000"),
            mark=Decimal("48900"),
            client_order_id="protect-BTCUSDT-1",
            order_id=None,
            denied=denied,
        )
    )
    return position_id


def test_a_denied_protection_stored_before_retries_is_due_again_a_second_later(
    world: World, old_store: World
) -> None:
    position_id = _fire_v2(world, ["BOT_NOT_RUNNING"])
    copy_as_version_1(
        world, old_store, position_id, "ProtectionFired", "attempt", "retry_at", "target", "quantity", now=3
    )
    [fired] = [e for e in old_store.new_events(0) if isinstance(e, Position.ProtectionFired)]
    due = fired.timestamp + timedelta(seconds=1)
    assert (fired.attempt, fired.retry_at) == (1, due)
    assert (fired.target, fired.quantity) == (None, None)  # it closed the whole position
    position = old_store.store.load(Position, position_id)
    limits = world.store.load(Bot, position.bot_id).limits
    assert position.next_attempt == 2
    assert position.triggered(limits, Decimal("48900"), fired.timestamp) is None
    assert position.triggered(limits, Decimal("48900"), due) == ("stop_loss", Decimal("49000"))


def test_a_protection_stored_before_retries_and_denied_for_dust_stays_final(
    world: World, old_store: World
) -> None:
    position_id = _fire_v2(world, ["BELOW_MIN_NOTIONAL"])
    copy_as_version_1(
        world, old_store, position_id, "ProtectionFired", "attempt", "retry_at", "target", "quantity", now=3
    )
    position = old_store.store.load(Position, position_id)
    assert (position.retry_at, position.denied_for_good) == (None, True)


def test_a_protection_stored_before_ladders_closes_the_whole_position(world: World, old_store: World) -> None:
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "o-1", "buy", "0.1", "50000", stop_loss="49000", take_profit="52000")
    world.accept(order_id)
    world.fill(order_id, "t-1", "0.1", "50000")
    position_id = position_id_for(BotId(bot_id), "BTC/USDT")
    copy_as_version_1(world, old_store, position_id, "ProtectionSet", "target_prices", "target_fractions")
    [protected] = [e for e in old_store.new_events(0) if isinstance(e, Position.ProtectionSet)]
    assert (protected.target_prices, protected.target_fractions) == ([], [])
    position = old_store.store.load(Position, position_id)
    assert position.target_for("take_profit") is None
    assert position.closing_quantity(None) == Decimal("0.1")
