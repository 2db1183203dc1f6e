"""Tripping a bot's kill switch, by hand or by the daily loss limit, cancels its resting orders at the
paper exchange through the execution manager, so they can no longer fill."""

from __future__ import annotations

from decimal import Decimal

from application import commands as c
from domain.bot import Bot
from domain.order_states import OrderStatus
from tests.support.execution import Execution
from tests.support.world import ACTOR, BTC, LIMITS


def _resting_at_the_exchange(execution: Execution) -> int:
    return len(execution.accounts.paper("paper").account.exchange.open_orders(BTC))


def test_a_trip_by_hand_cancels_a_resting_order_at_the_exchange(execution: Execution) -> None:
    world = execution.world
    bot_id = world.running_bot()
    resting = world.place(bot_id, "rest-1", "buy", "0.1", "49000")
    execution.cycle()
    assert execution.status(resting) is OrderStatus.ACCEPTED
    assert _resting_at_the_exchange(execution) == 1

    world.bus.dispatch(c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason="halt"))
    assert execution.status(resting) is OrderStatus.PENDING_CANCEL
    execution.cycle()
    assert execution.status(resting) is OrderStatus.CANCELLED
    assert _resting_at_the_exchange(execution) == 0
    assert world.store.load(Bot, bot_id).open_orders == {}
    execution.prices.set(BTC, Decimal("48900"))  # would have filled it
    execution.cycle()
    assert execution.order(resting).filled_quantity == 0


def test_the_daily_loss_limit_cancels_the_resting_orders_when_it_trips(execution: Execution) -> None:
    world = execution.world
    bot_id = world.running_bot(limits={**LIMITS, "daily_loss_limit": "100"})
    world.place(bot_id, "open", "buy", "0.2")  # fills at 50,050 (10 bps of slippage)
    resting = world.place(bot_id, "rest-2", "buy", "0.05", "48000")
    execution.cycle()
    assert execution.status(resting) is OrderStatus.ACCEPTED

    execution.prices.set(BTC, Decimal("49000"))
    world.place(bot_id, "loss", "sell", "0.1")  # realizes about -154: the switch trips
    execution.cycle()
    bot = world.store.load(Bot, bot_id)
    assert bot.kill_switch_reason == "DAILY_LOSS_LIMIT"
    execution.cycle()
    assert execution.status(resting) is OrderStatus.CANCELLED
    assert _resting_at_the_exchange(execution) == 0
    execution.prices.set(BTC, Decimal("47900"))
    execution.cycle()
    assert execution.order(resting).filled_quantity == 0
