"""Which events become which notification kinds, and what each says: every kind from the events
the command bus records (on the embedded store), decimals as strings in ``data``, and the events
no kind covers (a denied protection attempt, an order accepted...) making none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from application import commands as c
from application.errors import OrderDenied
from application.notifications.kinds import KINDS, Subject, daily_subject, subject_of
from application.notifications.ports import Notification
from domain.aggregate import TradingAggregate
from domain.ids import BotId, position_id_for
from domain.position import Position
from domain.values import EventMeta, Stamp
from tests.support.world import ACTOR, BTC, LIMITS, World

ZONE = "BTC/USDT LONG\nEntry: 49800 - 50000\nSL: 48000\nTP1: 52000\nTP2: 55000"


def signals_bot(world: World) -> UUID:
    created = world.bus.dispatch(
        c.CreateBot(
            actor=ACTOR,
            name="follows signals",
            strategy="signals",
            params={"quote_amount": "1000"},
            allowed_symbols=["BTC/USDT"],
            limits=LIMITS,
            exchange_account="paper",
        )
    )
    world.bus.dispatch(c.StartBot(actor=ACTOR, bot_id=created.aggregate_id))
    return created.aggregate_id


def send(world: World, bot_id: UUID, text: str, message_id: str) -> None:
    world.bus.dispatch(
        c.ReceiveSignal(actor=ACTOR, bot_id=bot_id, text=text, source="api", message_id=message_id)
    )


def _subjects(world: World, since: int) -> list[Subject]:
    def load(aggregate_id: UUID) -> TradingAggregate:
        found = world.store.find(TradingAggregate, aggregate_id, read_only=True)
        assert found is not None
        return found

    found = [subject_of(event, load) for event in world.new_events(since)]
    subjects = [s for s in found if s is not None]
    for subject in subjects:  # every one makes a valid notification (JSON-ready data, no floats)
        Notification("k", subject.kind, subject.title, subject.text, subject.data, datetime.now(UTC))
    return subjects


def test_bot_lifecycle_kill_switch_and_risk_denials(world: World) -> None:
    bot_id = world.running_bot()
    world.bus.dispatch(c.PauseBot(actor=ACTOR, bot_id=bot_id))
    world.bus.dispatch(c.ResumeBot(actor=ACTOR, bot_id=bot_id))
    with pytest.raises(OrderDenied):  # over the world's MAX_ORDER_NOTIONAL and MAX_POSITION
        world.place(bot_id, "big", "buy", "1", "50000")
    world.bus.dispatch(c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="manual stop"))
    world.bus.dispatch(c.ResetKillSwitch(actor=ACTOR, bot_id=bot_id, reason="all clear"))
    world.bus.dispatch(c.StopBot(actor=ACTOR, bot_id=bot_id))
    subjects = _subjects(world, 0)
    assert [(s.kind, s.title) for s in subjects] == [
        ("bot_lifecycle", "Bot created"),
        ("bot_lifecycle", "Bot started"),
        ("bot_lifecycle", "Bot paused"),
        ("bot_lifecycle", "Bot resumed"),
        ("risk_denied", "Order denied"),
        ("kill_switch", "Kill switch tripped"),
        ("kill_switch", "Kill switch reset"),
        ("bot_lifecycle", "Bot stopped"),
    ]
    assert {s.bot_id for s in subjects} == {bot_id}
    denied = subjects[4].data
    assert denied["quantity"] == "1" and denied["symbol"] == "BTC/USDT"
    assert denied["reason_codes"] == ["MAX_ORDER_NOTIONAL", "MAX_POSITION"]
    assert subjects[5].data["reason"] == "manual stop" and subjects[6].data["state"] == "reset"


def test_fills_rejections_and_protection(world: World) -> None:
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "o-1", "buy", "0.1", "50000")
    world.accept(order_id)
    world.fill(order_id, "t-1", "0.04", "50000", fee="0.00004")
    world.fill(order_id, "t-2", "0.06", "49990.50")
    rejected = world.place(bot_id, "o-2", "buy", "0.01", "50000")
    world.bus.dispatch(
        c.RecordOrderRejected(actor="exchange", order_id=rejected, reason="insufficient balance")
    )
    before = world.store.last_position()
    position = world.store.load(Position, position_id_for(BotId(bot_id), str(BTC)))
    stamp = Stamp(world.clock.now(), EventMeta(ACTOR, "t", "t"))  # type: ignore[arg-type]
    denial: dict[str, Any] = dict(level=Decimal(48000), mark=Decimal("47990.5"), stamp=stamp)
    assert position.fire(1, "stop_loss", client_order_id="p-1", order_id=None, denied=["X"], **denial)
    world.store.record(position)
    position = world.store.load(Position, position_id_for(BotId(bot_id), str(BTC)))
    later = Stamp(stamp.at + timedelta(seconds=5), stamp.meta)
    closing = uuid4()
    fired: dict[str, Any] = dict(level=Decimal(48000), mark=Decimal("47990.5"), stamp=later)
    assert position.fire(2, "stop_loss", client_order_id="p-2", order_id=closing, denied=[], **fired)  # type: ignore[arg-type]
    world.store.record(position)

    subjects = _subjects(world, 0)
    fills = [s for s in subjects if s.kind == "order_filled"]
    assert [s.title for s in fills] == ["Order partly filled", "Order filled"]
    assert fills[0].text == "Bought 0.04 BTC at 50000 USDT (partly filled)"
    assert fills[0].data["fee"] == "0.00004" and fills[1].data["price"] == "49990.50"
    assert fills[1].data["status"] == "filled" and fills[1].data["order_id"] == str(order_id)
    [rejection] = [s for s in subjects if s.kind == "order_rejected"]
    assert rejection.data["reason"] == "insufficient balance" and rejection.bot_id == bot_id
    protection = _subjects(world, before)
    assert [s.kind for s in protection] == ["protection_fired"]  # the denied attempt makes none
    assert protection[0].data == {
        "bot_id": str(bot_id),
        "symbol": "BTC/USDT",
        "kind": "stop_loss",
        "level": "48000",
        "mark": "47990.5",
        "order_id": str(closing),
    }


def test_signals_rejected_and_executed(world: World) -> None:
    bot_id = signals_bot(world)
    before = world.store.last_position()
    send(world, bot_id, "good morning everyone", message_id="m0")
    send(world, bot_id, ZONE, message_id="m1")
    subjects = [s for s in _subjects(world, before) if s.kind.startswith("signal_")]
    assert [s.kind for s in subjects] == ["signal_rejected", "signal_executed"]
    assert subjects[0].data["reasons"] and subjects[0].data["message_id"] == "m0"
    assert len(subjects[1].data["orders"]) == 2 and subjects[1].data["denied"] == []  # type: ignore[arg-type]
    assert {s.bot_id for s in subjects} == {bot_id}


def test_every_kind_is_documented_and_the_daily_summary_reads_plainly() -> None:
    assert set(KINDS) == {
        "order_filled",
        "order_rejected",
        "risk_denied",
        "kill_switch",
        "protection_fired",
        "bot_lifecycle",
        "signal_rejected",
        "signal_executed",
        "daily_pnl",
    }
    end = datetime(2026, 11, 22, tzinfo=UTC)
    bot_id = uuid4()
    summary = daily_subject(
        bot_id, "b", Decimal("-12.50"), 3, Decimal("420.199"), end - timedelta(days=1), end
    )
    assert summary.text == "Bot 'b': realized PnL -12.50 over the last 24 h (3 fills); 420.199 in all"
    assert summary.data["realized_pnl"] == "-12.50" and summary.data["fills"] == 3
