"""An admitted order records the reference price the risk rules judged it at, as a denial does, and
the risk decisions read model shows it for both."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.errors import OrderDenied
from domain.bot import Bot
from infrastructure.settings import Settings
from tests.support.read_side import read_side_on
from tests.support.world import BTC, world_on


def test_admitted_and_denied_decisions_record_their_reference_price(sqlite_settings: Settings) -> None:
    with world_on(sqlite_settings) as world, read_side_on(sqlite_settings) as read_side:
        bot_id = world.running_bot()
        world.prices.set(BTC, Decimal("50010.5"))
        world.place(bot_id, "small", "buy", "0.1", "50000")
        with pytest.raises(OrderDenied):
            world.place(bot_id, "big", "buy", "1", "50000")
        [admitted] = [e for e in world.new_events(0) if isinstance(e, Bot.OrderAdmitted)]
        assert admitted.reference_price == Decimal("50010.5")
        assert read_side.catch_up(["risk_decisions"]) == {}
        rows = read_side.typed_rows("risk_decisions", "event_position")
        assert [(r["client_order_id"], r["decision"], r["reference_price"]) for r in rows] == [
            ("small", "admitted", Decimal("50010.5")),
            ("big", "denied", Decimal("50010.5")),
        ]
