"""Given/when/then for every bot command, through the real handlers on a SQLite event store."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from uuid import uuid4

import pytest

from application import commands as c
from application.errors import IdempotencyMismatch, IllegalTransition, InvalidInput, NotFound
from domain.bot import Bot, BotStatus
from domain.order import Order
from domain.order_states import OrderStatus
from tests.support.world import ACTOR, BTC, LIMITS, World


def create(world: World, **overrides: object) -> c.CreateBot:
    fields: dict[str, object] = {
        "actor": ACTOR,
        "name": "bot",
        "strategy": "manual",
        "allowed_symbols": ["BTC/USDT"],
        "limits": LIMITS,
    }
    fields.update(overrides)
    return c.CreateBot(**fields)  # type: ignore[arg-type]


def test_create_bot_records_created_with_owner_limits_and_metadata(world: World) -> None:
    ack = world.bus.dispatch(create(world, correlation_id="req-1", causation_id="cmd-1"))
    events = world.new_events(0)
    assert [type(e).__qualname__ for e in events] == ["Bot.Created"]
    created = events[0]
    assert created.owner == ACTOR
    assert created.allowed_symbols == ["BTC/USDT"]
    assert str(created.limits.max_order_notional) == "10000"
    assert (created.meta.actor, created.meta.correlation_id, created.meta.causation_id) == (
        ACTOR,
        "req-1",
        "cmd-1",
    )
    assert created.timestamp == world.clock.now()
    assert ack.position == 1 and ack.changed


def test_create_bot_twice_with_one_idempotency_key_appends_once(world: World) -> None:
    first = world.bus.dispatch(create(world, idempotency_key="k-1"))
    second = world.bus.dispatch(create(world, idempotency_key="k-1"))
    assert first.aggregate_id == second.aggregate_id
    assert not second.changed
    assert world.event_names(0) == ["Bot.Created"]


def test_one_idempotency_key_for_a_different_bot_is_refused_and_appends_nothing(world: World) -> None:
    world.bus.dispatch(create(world, idempotency_key="k-2"))
    before = world.store.last_position()
    with pytest.raises(IdempotencyMismatch):
        world.bus.dispatch(replace(create(world, idempotency_key="k-2"), name="another name"))
    assert world.new_events(before) == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"allowed_symbols": ["btc-usdt"]}, "allowed_symbols[0]"),
        ({"allowed_symbols": []}, "allowed_symbols"),
        ({"name": "  "}, "name"),
        ({"limits": {**LIMITS, "max_open_orders": 0}}, "limits.max_open_orders"),
        ({"limits": {**LIMITS, "daily_loss_limit": "-1"}}, "limits.daily_loss_limit"),
        ({"limits": {k: v for k, v in LIMITS.items() if k != "price_band_pct"}}, "limits.price_band_pct"),
        ({"limits": {**LIMITS, "max_leverage": "3"}}, "limits.max_leverage"),
        ({"limits": {**LIMITS, "max_order_notional": 1.5}}, "limits.max_order_notional"),
        ({"actor": "bad actor!"}, "actor"),
    ],
)
def test_create_bot_with_bad_input_names_the_field_and_appends_nothing(
    world: World, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        world.bus.dispatch(create(world, **overrides))
    assert error.value.field == field
    assert world.new_events(0) == []


@pytest.mark.parametrize(
    ("steps", "expected_status", "expected_events"),
    [
        ([c.StartBot], BotStatus.RUNNING, ["Bot.Started"]),
        ([c.StartBot, c.PauseBot], BotStatus.PAUSED, ["Bot.Started", "Bot.Paused"]),
        (
            [c.StartBot, c.PauseBot, c.ResumeBot],
            BotStatus.RUNNING,
            ["Bot.Started", "Bot.Paused", "Bot.Resumed"],
        ),
        ([c.StartBot, c.StopBot], BotStatus.STOPPED, ["Bot.Started", "Bot.Stopped"]),
        ([c.StopBot, c.StartBot], BotStatus.RUNNING, ["Bot.Stopped", "Bot.Started"]),
    ],
)
def test_lifecycle_commands(
    world: World, steps: list[type[c.BotCommand]], expected_status: BotStatus, expected_events: list[str]
) -> None:
    bot_id = world.bus.dispatch(create(world)).aggregate_id
    for step in steps:
        world.bus.dispatch(step(actor=ACTOR, bot_id=bot_id))  # type: ignore[call-overload]
    assert world.store.load(Bot, bot_id).status is expected_status
    assert world.event_names(1) == expected_events


@pytest.mark.parametrize(
    ("steps", "illegal"),
    [
        ([], c.PauseBot),
        ([], c.ResumeBot),
        ([c.StartBot], c.StartBot),
        ([c.StartBot], c.ResumeBot),
        ([c.StopBot], c.StopBot),
        ([c.StopBot], c.PauseBot),
    ],
)
def test_illegal_lifecycle_change_is_refused_and_appends_nothing(
    world: World, steps: list[type[c.BotCommand]], illegal: type[c.BotCommand]
) -> None:
    bot_id = world.bus.dispatch(create(world)).aggregate_id
    for step in steps:
        world.bus.dispatch(step(actor=ACTOR, bot_id=bot_id))  # type: ignore[call-overload]
    before = world.store.last_position()
    with pytest.raises(IllegalTransition):
        world.bus.dispatch(illegal(actor=ACTOR, bot_id=bot_id))  # type: ignore[call-overload]
    assert world.new_events(before) == []


def test_update_risk_limits(world: World) -> None:
    bot_id = world.bus.dispatch(create(world)).aggregate_id
    world.bus.dispatch(
        c.UpdateRiskLimits(actor=ACTOR, bot_id=bot_id, limits={**LIMITS, "max_open_orders": 7})
    )
    assert world.store.load(Bot, bot_id).limits.max_open_orders == 7
    assert world.event_names(1) == ["Bot.RiskLimitsUpdated"]


def test_kill_switch_trip_and_reset_are_recorded_once(world: World) -> None:
    bot_id = world.bus.dispatch(create(world)).aggregate_id
    tripped = world.bus.dispatch(c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="exchange outage"))
    again = world.bus.dispatch(c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="again"))
    assert tripped.changed and not again.changed
    assert world.store.load(Bot, bot_id).kill_switch_reason == "exchange outage"
    world.bus.dispatch(c.ResetKillSwitch(actor="risk-desk", bot_id=bot_id, reason="  outage over  "))
    assert not world.bus.dispatch(c.ResetKillSwitch(actor=ACTOR, bot_id=bot_id, reason="again")).changed
    assert world.event_names(1) == ["Bot.KillSwitchTripped", "Bot.KillSwitchReset"]
    reset = world.new_events(2)[0]
    assert (reset.reason, reset.meta.actor) == ("outage over", "risk-desk")
    assert not world.store.load(Bot, bot_id).kill_switch


@pytest.mark.parametrize(
    ("reason", "rule"),
    [
        ("   ", "must not be empty"),
        ("x" * 501, "must be at most 500 characters"),
        ("line\nbreak", "must not contain control characters"),
        ("\ud800", "must be valid Unicode (no lone surrogates)"),
    ],
)
@pytest.mark.parametrize("tripped", [True, False])
def test_a_kill_switch_reset_with_a_bad_reason_names_it_and_appends_nothing(
    world: World, reason: str, rule: str, tripped: bool
) -> None:
    bot_id = world.bus.dispatch(create(world)).aggregate_id
    if tripped:
        world.bus.dispatch(c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="halt"))
    before = world.store.last_position()
    with pytest.raises(InvalidInput) as error:
        world.bus.dispatch(c.ResetKillSwitch(actor=ACTOR, bot_id=bot_id, reason=reason))
    assert (error.value.field, error.value.rule) == ("reason", rule)
    assert world.new_events(before) == []


def test_stop_and_start_leave_the_kill_switch_on(world: World) -> None:
    bot_id = world.running_bot()
    world.bus.dispatch(c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="halt"))
    world.bus.dispatch(c.StopBot(actor=ACTOR, bot_id=bot_id))
    world.bus.dispatch(c.StartBot(actor=ACTOR, bot_id=bot_id))
    bot = world.store.load(Bot, bot_id)
    assert bot.status is BotStatus.RUNNING and bot.kill_switch_reason == "halt"


def test_tripping_the_kill_switch_cancels_every_open_order_in_its_transaction(world: World) -> None:
    bot_id = world.running_bot()
    unsent = world.place(bot_id, "unsent", "buy", "0.01", "50000")
    resting = world.place(bot_id, "resting", "sell", "0.01", "51000")
    world.accept(resting, "X-1")
    before = world.store.last_position()
    ack = world.bus.dispatch(
        c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="halt", correlation_id="r-9")
    )
    events = world.new_events(before)
    assert sorted(type(e).__qualname__ for e in events) == [
        "Bot.KillSwitchTripped",
        "Bot.OrderReleased",
        "Order.CancelRequested",
        "Order.Cancelled",
    ]
    assert ack.position == before + len(events)  # one command, one append
    assert {e.meta.correlation_id for e in events} == {"r-9"}
    assert world.store.load(Order, unsent).status is OrderStatus.CANCELLED  # never sent: at once
    assert world.store.load(Order, resting).status is OrderStatus.PENDING_CANCEL  # for the exchange
    assert list(world.store.load(Bot, bot_id).open_orders) == [resting.hex]
    again = world.store.last_position()
    assert not world.bus.dispatch(c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="halt")).changed
    assert world.new_events(again) == []


def test_the_daily_loss_limit_trip_cancels_the_open_orders_with_the_fill(world: World) -> None:
    bot_id = world.running_bot(limits={**LIMITS, "daily_loss_limit": "100"})
    buy = world.place(bot_id, "b", "buy", "0.2", "50000")
    world.accept(buy)
    world.fill(buy, "t1", "0.2", "50000")
    world.prices.set(BTC, Decimal("49000"))
    sell = world.place(bot_id, "s", "sell", "0.2", "49000")
    world.accept(sell)
    other = world.place(bot_id, "o", "buy", "0.01", "48000")
    before = world.store.last_position()
    world.fill(sell, "t2", "0.1", "49000")  # realizes -100: the switch trips, the rest is cancelled
    events = world.new_events(before)
    assert {type(e).__qualname__ for e in events} == {
        "Order.Filled",
        "Position.FillApplied",
        "Bot.FillBooked",
        "Bot.KillSwitchTripped",
        "Order.CancelRequested",
        "Order.Cancelled",
        "Bot.OrderReleased",
    }
    assert world.store.load(Order, sell).status is OrderStatus.PENDING_CANCEL  # part filled, then asked
    assert world.store.load(Order, other).status is OrderStatus.CANCELLED


def test_commands_on_an_unknown_bot_raise_not_found(world: World) -> None:
    with pytest.raises(NotFound) as error:
        world.bus.dispatch(c.StartBot(actor=ACTOR, bot_id=uuid4()))
    assert error.value.kind == "bot"
    assert world.new_events(0) == []
