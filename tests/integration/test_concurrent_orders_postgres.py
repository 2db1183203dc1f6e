"""8 threads place orders on one bot against PostgreSQL: the limits hold exactly and every
command is accounted for (placed, denied with a recorded denial, or a typed conflict)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from application.errors import ConcurrencyConflict, OrderDenied
from domain.bot import Bot
from domain.order import Order
from domain.risk import ReasonCode
from tests.support.world import BTC, LIMITS, World

THREADS, PER_THREAD = 8, 10


@pytest.mark.parametrize(
    ("limits", "expected_placed", "binding_code"),
    [
        (
            {**LIMITS, "max_open_orders": 15, "max_position_notional": "1000000"},
            15,
            ReasonCode.MAX_OPEN_ORDERS,
        ),
        ({**LIMITS, "max_open_orders": 1000, "max_position_notional": "10000"}, 20, ReasonCode.MAX_POSITION),
    ],
)
def test_limits_hold_exactly_under_eight_writers(
    pg_world: World, limits: dict[str, Any], expected_placed: int, binding_code: ReasonCode
) -> None:
    world = pg_world
    bot_id = world.running_bot(limits={**limits, "max_orders_per_minute": 10_000})
    start = threading.Barrier(THREADS)

    def worker(thread: int) -> Counter[str]:
        outcomes: Counter[str] = Counter()
        start.wait()
        for i in range(PER_THREAD):
            try:
                world.place(bot_id, f"t{thread}-{i}", "buy", "0.01", "50000")  # 500 USDT each
                outcomes["placed"] += 1
            except OrderDenied as denied:
                assert denied.reason_codes == [binding_code]
                outcomes["denied"] += 1
            except ConcurrencyConflict:
                outcomes["conflict"] += 1
        return outcomes

    with ThreadPoolExecutor(THREADS) as pool:
        totals = sum((f.result() for f in [pool.submit(worker, t) for t in range(THREADS)]), Counter())

    assert sum(totals.values()) == THREADS * PER_THREAD  # no command lost
    assert totals["placed"] == expected_placed
    bot = world.store.load(Bot, bot_id)
    assert len(bot.open_orders) == expected_placed
    assert bot.exposure(BTC).open_buy == Decimal("0.01") * expected_placed
    names = [type(e).__qualname__ for e in world.new_events(0)]
    assert names.count("Order.Placed") == names.count("Bot.OrderAdmitted") == expected_placed
    assert names.count("Bot.OrderDenied") == totals["denied"]
    for key in bot.open_orders:
        assert world.store.load(Order, UUID(key)).status.value == "pending_new"
