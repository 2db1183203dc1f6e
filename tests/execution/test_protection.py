"""Stop loss and take profit, end to end on the paper exchange: set on the order or as the bot's
fractions, fired by the mark price, closed through the normal order path, once per episode, even
when the worker stops between placing the closing order and recording that it fired; a closing
order the risk rules deny is asked for again with backoff, unless the position is too small."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from application import commands as c
from application.bus import CommandBus
from application.protection import PROTECTION_ACTOR, ProtectionManager
from domain.ids import BotId, position_id_for
from domain.order import Order
from domain.order_states import OrderStatus
from domain.position import Position
from interfaces.workers.projections import projection_job
from interfaces.workers.protection import ReadModelPositions
from tests.support.execution import Execution
from tests.support.world import ACTOR, BTC, LIMITS


class _Protection:
    """The protection manager over the real positions read model, kept caught up."""

    def __init__(self, execution: Execution, bus: Any = None) -> None:
        self.execution = execution
        container = execution.container
        container.read_models().install()
        self.projections = projection_job(container, ["positions"])
        positions = ReadModelPositions(container.read_engine())
        self.manager = ProtectionManager(
            bus or execution.world.bus,
            execution.world.store,
            positions,
            execution.prices,
            execution.clock,
            container.markets(),
        )

    def check(self) -> list[Any]:
        self.projections.drain()
        return self.manager.check()

    def close(self) -> None:
        self.projections.end()
        self.projections.close()


@pytest.fixture
def protection_on() -> Iterator[Callable[..., _Protection]]:
    """Makes protection managers for a test and closes them (their wake-ups and locks) after it."""
    made: list[_Protection] = []

    def make(execution: Execution, bus: Any = None) -> _Protection:
        made.append(_Protection(execution, bus))
        return made[-1]

    yield make
    for protection in made:
        protection.close()


def _position(execution: Execution, bot_id: Any) -> Position:
    return execution.world.store.load(Position, position_id_for(BotId(bot_id), "BTC/USDT"))


def _closing_orders(execution: Execution, since: int) -> list[Any]:
    return [
        e
        for e in execution.world.new_events(since)
        if type(e).__qualname__ == "Order.Placed" and e.meta.actor == PROTECTION_ACTOR
    ]


def test_a_stop_loss_set_on_the_order_closes_the_position_once(
    execution: Execution, protection_on: Callable[..., _Protection]
) -> None:
    world = execution.world
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "sl-1", "buy", "0.1", stop_loss="49000", take_profit="52000")
    execution.cycle()
    assert execution.status(order_id) is OrderStatus.FILLED
    position = _position(execution, bot_id)
    assert (position.stop_loss, position.take_profit, position.episode) == (Decimal(49000), Decimal(52000), 1)
    protection = protection_on(execution)
    before = world.store.last_position()
    assert protection.check() == []  # 50,000 is inside the band
    execution.prices.set(BTC, Decimal(48900))
    fired = protection.check()
    assert [(f.kind, f.mark, f.denied) for f in fired] == [("stop_loss", Decimal(48900), [])]
    closing = world.store.load(Order, fired[0].order_id)
    assert (closing.request.side.value, closing.request.quantity) == ("sell", Decimal("0.1"))
    assert closing.client_order_id == "protect-BTCUSDT-1"
    execution.cycle()
    assert _position(execution, bot_id).quantity == 0
    assert protection.check() == [] and protection.check() == []
    assert len(_closing_orders(execution, before)) == 1
    names = [
        type(e).__qualname__ for e in world.new_events(before) if type(e).__qualname__.startswith("Position")
    ]
    assert names.count("Position.ProtectionFired") == 1


def test_the_bots_take_profit_fraction_protects_every_position(
    execution: Execution, protection_on: Callable[..., _Protection]
) -> None:
    world = execution.world
    bot_id = world.running_bot(limits={**LIMITS, "take_profit_fraction": "0.02"})
    world.place(bot_id, "tp-1", "sell", "0.1")  # a short, filled at 49,950 (10 bps of slippage)
    execution.cycle()
    protection = protection_on(execution)
    execution.prices.set(BTC, Decimal(49000))  # above 49,950 x 0.98 = 48,951
    assert protection.check() == []
    execution.prices.set(BTC, Decimal(48951))
    fired = protection.check()
    assert [(f.kind, f.denied) for f in fired] == [("take_profit", [])]
    assert world.store.load(Order, fired[0].order_id).request.side.value == "buy"
    execution.cycle()
    assert _position(execution, bot_id).quantity == 0


def _attempts(execution: Execution, since: int) -> list[Any]:
    return [
        e for e in execution.world.new_events(since) if type(e).__qualname__ == "Position.ProtectionFired"
    ]


def _denials(execution: Execution, since: int) -> list[Any]:
    return [e for e in execution.world.new_events(since) if type(e).__qualname__ == "Bot.OrderDenied"]


def test_a_denied_closing_order_is_asked_for_again_with_backoff_until_placed(
    execution: Execution, protection_on: Callable[..., _Protection]
) -> None:
    world = execution.world
    bot_id = world.running_bot()
    world.place(bot_id, "d-1", "buy", "0.1", stop_loss="49000")
    execution.cycle()
    world.bus.dispatch(c.PauseBot(actor=ACTOR, bot_id=bot_id))
    protection = protection_on(execution)
    execution.prices.set(BTC, Decimal(48000))
    before = world.store.last_position()
    fired = protection.check()
    assert [(f.attempt, f.order_id, f.denied) for f in fired] == [(1, None, ["BOT_NOT_RUNNING"])]
    assert protection.check() == []  # not due yet
    execution.clock.advance(seconds=1)
    assert [(f.attempt, f.denied) for f in protection.check()] == [(2, ["BOT_NOT_RUNNING"])]
    execution.clock.advance(seconds=1)
    assert protection.check() == []  # the second wait is 2 s
    world.bus.dispatch(c.ResumeBot(actor=ACTOR, bot_id=bot_id))
    execution.clock.advance(seconds=1)
    [placed] = protection.check()
    assert placed.attempt == 3 and placed.denied == [] and placed.order_id is not None
    assert world.store.load(Order, placed.order_id).client_order_id == "protect-BTCUSDT-1-3"
    execution.cycle()
    assert _position(execution, bot_id).quantity == 0
    attempts = _attempts(execution, before)
    assert [(e.attempt, e.client_order_id, e.order_id is None) for e in attempts] == [
        (1, "protect-BTCUSDT-1", True),
        (2, "protect-BTCUSDT-1-2", True),
        (3, "protect-BTCUSDT-1-3", False),
    ]
    assert [e.retry_at - e.timestamp if e.retry_at else None for e in attempts] == [
        timedelta(seconds=1),
        timedelta(seconds=2),
        None,
    ]
    assert len(_denials(execution, before)) == 2


def test_a_stop_loss_denied_by_the_order_rate_is_placed_once_the_window_passes(
    execution: Execution, protection_on: Callable[..., _Protection]
) -> None:
    world = execution.world
    bot_id = world.running_bot(limits={**LIMITS, "max_orders_per_minute": 2})
    world.place(bot_id, "r-1", "buy", "0.1", stop_loss="49000")
    world.place(bot_id, "r-2", "buy", "0.01", "48000")  # rests: two orders in this minute
    execution.cycle()
    protection = protection_on(execution)
    execution.prices.set(BTC, Decimal(48900))
    before = world.store.last_position()
    waits = []
    for _ in range(120):  # one check a second, for two minutes
        fired = protection.check()
        if fired and fired[0].order_id is not None:
            break
        if fired:
            assert fired[0].denied == ["ORDER_RATE"]
            waits.append(_attempts(execution, before)[-1])
        execution.clock.advance(seconds=1)
    else:
        pytest.fail("the stop loss was never placed")
    assert [e.retry_at - e.timestamp for e in waits] == [timedelta(seconds=s) for s in (1, 2, 4, 8, 16, 32)]
    assert execution.clock.now() >= waits[0].timestamp + timedelta(minutes=1)  # the window passed
    execution.cycle()
    assert _position(execution, bot_id).quantity == 0
    assert len(_denials(execution, before)) == len(waits) == 6


def test_a_position_too_small_to_close_is_not_retried_until_its_quantity_changes(
    execution: Execution, protection_on: Callable[..., _Protection]
) -> None:
    world = execution.world
    bot_id = world.running_bot()
    world.place(bot_id, "dust-1", "buy", "0.1", stop_loss="49000")
    world.place(bot_id, "dust-2", "sell", "0.09995")  # leaves 0.00005 BTC: 2.5 USDT, below 5
    execution.cycle()
    protection = protection_on(execution)
    execution.prices.set(BTC, Decimal(48900))
    before = world.store.last_position()
    assert [f.denied for f in protection.check()] == [["BELOW_MIN_NOTIONAL"]]
    assert _attempts(execution, before)[0].retry_at is None  # final
    execution.clock.advance(minutes=5)
    assert protection.check() == []
    world.place(bot_id, "dust-3", "buy", "0.1")  # a fill changes the quantity: try again
    execution.cycle()
    [placed] = protection.check()
    assert placed.attempt == 2 and placed.order_id is not None
    execution.cycle()
    assert _position(execution, bot_id).quantity == 0


class _DiesBeforeRecording:
    """A bus whose process stops after placing the closing order, before recording the firing."""

    def __init__(self, bus: CommandBus) -> None:
        self.bus = bus

    def dispatch(self, command: Any) -> Any:
        if isinstance(command, c.RecordProtectionFired):
            raise SystemExit("killed")
        return self.bus.dispatch(command)


def test_a_worker_that_stops_between_placing_and_recording_places_nothing_twice(
    execution: Execution, protection_on: Callable[..., _Protection]
) -> None:
    world = execution.world
    bot_id = world.running_bot()
    world.place(bot_id, "k-1", "buy", "0.1", take_profit="51000")
    execution.cycle()
    execution.prices.set(BTC, Decimal(51500))
    before = world.store.last_position()
    with pytest.raises(SystemExit):
        protection_on(execution, _DiesBeforeRecording(world.bus)).check()
    fired = protection_on(execution).check()  # the next run
    assert [f.kind for f in fired] == ["take_profit"]
    assert len(_closing_orders(execution, before)) == 1
    assert _position(execution, bot_id).fired_episode == 1


def test_a_worker_that_stops_between_a_denial_and_recording_it_records_that_denial(
    execution: Execution, protection_on: Callable[..., _Protection]
) -> None:
    world = execution.world
    bot_id = world.running_bot()
    world.place(bot_id, "k-2", "buy", "0.1", stop_loss="49000")
    execution.cycle()
    world.bus.dispatch(c.PauseBot(actor=ACTOR, bot_id=bot_id))
    execution.prices.set(BTC, Decimal(48000))
    before = world.store.last_position()
    with pytest.raises(SystemExit):
        protection_on(execution, _DiesBeforeRecording(world.bus)).check()
    fired = protection_on(execution).check()  # the next run asks with the same client order id
    assert [(f.attempt, f.denied) for f in fired] == [(1, ["BOT_NOT_RUNNING"])]
    assert len(_denials(execution, before)) == 1


def test_a_new_episode_is_protected_anew(
    execution: Execution, protection_on: Callable[..., _Protection]
) -> None:
    world = execution.world
    bot_id = world.running_bot(limits={**LIMITS, "stop_loss_fraction": "0.01"})
    protection = protection_on(execution)
    for episode, coid in ((1, "e-1"), (2, "e-2")):
        execution.prices.set(BTC, Decimal(50000))
        world.place(bot_id, coid, "buy", "0.1")
        execution.cycle()
        execution.prices.set(BTC, Decimal(49000))
        fired = protection.check()
        assert len(fired) == 1
        assert world.store.load(Order, fired[0].order_id).client_order_id == f"protect-BTCUSDT-{episode}"
        execution.cycle()
        assert _position(execution, bot_id).quantity == 0


def test_a_signals_ladder_of_targets_closes_the_position_in_parts_then_the_stop_closes_the_rest(
    execution: Execution, protection_on: Callable[..., _Protection]
) -> None:
    world = execution.world
    created = world.bus.dispatch(
        c.CreateBot(
            actor=ACTOR,
            name="signals",
            strategy="signals",
            params={"quote_amount": "5000"},
            allowed_symbols=["BTC/USDT"],
            limits=LIMITS,
            exchange_account="paper",
        )
    )
    bot_id = created.aggregate_id
    world.bus.dispatch(c.StartBot(actor=ACTOR, bot_id=bot_id))
    text = "BTC/USDT LONG now\nSL: 48000\nTP1: 51000 (30%)\nTP2: 52000 (30%)\nTP3: 53000"
    [entry] = world.bus.dispatch(
        c.ReceiveSignal(actor=ACTOR, bot_id=bot_id, text=text, message_id="1")
    ).placed
    execution.cycle()
    assert execution.status(entry) is OrderStatus.FILLED
    held = _position(execution, bot_id).quantity  # 0.1 at the reference price
    assert held == Decimal("0.1")
    protection = protection_on(execution)
    before = world.store.last_position()
    execution.prices.set(BTC, Decimal(51000))
    [first] = protection.check()
    assert protection.check() == []  # that target's part is asked for once
    execution.cycle()
    assert _position(execution, bot_id).quantity == Decimal("0.07")
    execution.prices.set(BTC, Decimal(52500))  # past the second target, short of the third
    [second] = protection.check()
    execution.cycle()
    execution.prices.set(BTC, Decimal(47000))  # the stop closes what is left
    [stop] = protection.check()
    execution.cycle()
    assert _position(execution, bot_id).quantity == 0
    closing = [world.store.load(Order, fired.order_id) for fired in (first, second, stop)]
    assert [(o.client_order_id, o.request.quantity) for o in closing] == [
        ("protect-BTCUSDT-1-tp1", Decimal("0.03")),
        ("protect-BTCUSDT-1-tp2", Decimal("0.03")),
        ("protect-BTCUSDT-1", Decimal("0.04")),
    ]
    assert [f.kind for f in (first, second, stop)] == ["take_profit", "take_profit", "stop_loss"]
    assert protection.check() == [] and len(_closing_orders(execution, before)) == 3
