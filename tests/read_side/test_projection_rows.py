"""Every projection: given events from the real command handlers, its rows are exactly right, on
the embedded default and on PostgreSQL with Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from application import commands as c
from application.errors import OrderDenied
from domain.ids import BotId, position_id_for
from domain.position import Position
from infrastructure.settings import Settings
from tests.support.read_side import ReadSide, read_side_on
from tests.support.world import ACTOR, LIMITS, World, world_on


class Scenario:
    """A bot whose orders fill, cancel and get denied; PnL with fees in quote and in base."""

    def __init__(self, world: World) -> None:
        self.world = w = world
        self.bot = w.running_bot()
        w.bus.dispatch(
            c.UpdateRiskLimits(actor=ACTOR, bot_id=self.bot, limits={**LIMITS, "max_open_orders": 4})
        )
        self.a = w.place(self.bot, "a", "buy", "0.1", price="50000")
        w.accept(self.a, "X-A")
        w.fill(self.a, "t1", "0.04", "50000", fee="1", fee_currency="USDT")
        w.clock.advance(minutes=2)
        w.fill(self.a, "t2", "0.06", "50100", fee="0.000006", fee_currency="BTC")
        w.clock.advance(minutes=2)
        self.b = w.place(self.bot, "b", "sell", "0.15", price="50200")
        w.accept(self.b, "X-B")
        w.fill(self.b, "t3", "0.15", "50200")
        self.c = w.place(self.bot, "c", "buy", "0.01", price="49000")
        w.bus.dispatch(c.CancelOrder(actor=ACTOR, order_id=self.c))
        with pytest.raises(OrderDenied) as denied:
            w.place(self.bot, "too-big", "buy", "1", price="50000")
        self.denial = denied.value
        w.bus.dispatch(c.TripKillSwitch(actor="risk-desk", bot_id=self.bot, reason="manual check"))
        w.bus.dispatch(c.ResetKillSwitch(actor="risk-desk", bot_id=self.bot, reason="checked"))
        self.position = w.store.load(Position, position_id_for(BotId(self.bot), "BTC/USDT"))


@pytest.fixture
def scenario_and_read_side(read_settings: Settings) -> Iterator[tuple[Scenario, ReadSide]]:
    with world_on(read_settings) as world, read_side_on(read_settings) as read_side:
        scenario = Scenario(world)
        assert read_side.catch_up() == {}
        yield scenario, read_side


def test_bots_row(scenario_and_read_side: tuple[Scenario, ReadSide]) -> None:
    s, rs = scenario_and_read_side
    [bot] = rs.typed_rows("bots", "bot_id")
    assert bot["bot_id"] == s.bot
    assert (bot["owner"], bot["status"], bot["kill_switch"], bot["kill_switch_reason"]) == (
        "alice",
        "running",
        False,
        None,
    )
    assert bot["limits"]["max_open_orders"] == 4
    assert (bot["orders_admitted"], bot["orders_denied"], bot["fills"]) == (3, 1, 3)
    assert bot["realized_pnl"] == Decimal("12.6994") == s.position.realized_pnl


def test_orders_rows(scenario_and_read_side: tuple[Scenario, ReadSide]) -> None:
    s, rs = scenario_and_read_side
    orders = {row["client_order_id"]: row for row in rs.typed_rows("orders", "placed_at,client_order_id")}
    assert set(orders) == {"a", "b", "c"}
    a = orders["a"]
    assert (a["status"], a["is_open"], a["exchange_order_id"], a["fills"]) == ("filled", False, "X-A", 2)
    assert a["filled_quantity"] == Decimal("0.10")
    assert a["average_fill_price"] == Decimal("50060")
    assert a["fees_quote"] == Decimal("1.3006")
    assert a["closed_at"] == a["last_fill_at"] == s.world.clock.now().replace(minute=4) - timedelta(minutes=2)
    b = orders["b"]
    assert (b["side"], b["status"], b["average_fill_price"]) == ("sell", "filled", Decimal("50200"))
    c_ = orders["c"]
    assert (c_["status"], c_["is_open"], c_["reason"], c_["fills"]) == (
        "cancelled",
        False,
        "cancelled before submission",
        0,
    )
    assert c_["filled_quantity"] == 0 and c_["submitted_at"] is None


def test_fills_rows(scenario_and_read_side: tuple[Scenario, ReadSide]) -> None:
    s, rs = scenario_and_read_side
    fills = rs.typed_rows("fills", "event_position")
    assert [(f["trade_id"], f["side"], f["quantity"], f["price"]) for f in fills] == [
        ("t1", "buy", Decimal("0.04"), Decimal("50000")),
        ("t2", "buy", Decimal("0.06"), Decimal("50100")),
        ("t3", "sell", Decimal("0.15"), Decimal("50200")),
    ]
    assert [(f["fee"], f["fee_currency"], f["fee_quote"]) for f in fills] == [
        (Decimal("1"), "USDT", Decimal("1")),
        (Decimal("0.000006"), "BTC", Decimal("0.3006")),
        (Decimal("0"), "USDT", Decimal("0")),
    ]
    assert {f["bot_id"] for f in fills} == {s.bot} and {f["symbol"] for f in fills} == {"BTC/USDT"}
    assert [f["order_id"] for f in fills] == [s.a, s.a, s.b]


def test_positions_and_pnl_rows(scenario_and_read_side: tuple[Scenario, ReadSide]) -> None:
    s, rs = scenario_and_read_side
    [position] = rs.typed_rows("positions", "position_id")
    assert (position["bot_id"], position["symbol"], position["fills"]) == (s.bot, "BTC/USDT", 3)
    assert (position["quantity"], position["average_price"], position["realized_pnl"]) == (
        Decimal("-0.05"),
        Decimal("50200"),
        Decimal("12.6994"),
    )
    assert (position["quantity"], position["average_price"], position["realized_pnl"]) == (
        s.position.quantity,
        s.position.average_price,
        s.position.realized_pnl,
    )
    assert position["fees_paid"] == Decimal("1.3006") == s.position.fees_paid
    pnl = rs.typed_rows("pnl", "event_position")
    assert [(p["quantity"], p["average_price"], p["realized_pnl"], p["realized_delta"]) for p in pnl] == [
        (Decimal("0.04"), Decimal("50000"), Decimal("-1"), Decimal("-1")),
        (Decimal("0.10"), Decimal("50060"), Decimal("-1.3006"), Decimal("-0.3006")),
        (Decimal("-0.05"), Decimal("50200"), Decimal("12.6994"), Decimal("14.0000")),
    ]


def test_risk_decision_rows(scenario_and_read_side: tuple[Scenario, ReadSide]) -> None:
    s, rs = scenario_and_read_side
    decisions = rs.typed_rows("risk_decisions", "event_position")
    assert [(d["client_order_id"], d["decision"]) for d in decisions] == [
        ("a", "admitted"),
        ("b", "admitted"),
        ("c", "admitted"),
        ("too-big", "denied"),
    ]
    denied = decisions[-1]
    assert denied["decision_id"] == s.denial.denial_id
    assert denied["reason_codes"] == [code.value for code in s.denial.reason_codes]
    assert denied["reason_codes"] == ["MAX_ORDER_NOTIONAL", "MAX_POSITION"]
    assert denied["reference_price"] == Decimal("50000")
    assert (denied["actor"], denied["quantity"], denied["price"]) == ("alice", Decimal("1"), Decimal("50000"))
    assert denied["request"]["quantity"] == "1" and denied["request"]["side"] == "buy"


def test_live_model(scenario_and_read_side: tuple[Scenario, ReadSide]) -> None:
    s, rs = scenario_and_read_side
    store = rs.live_store
    head = rs.reader.head()
    assert store.position() == head
    feed = store.feed_window(0, 1000).entries
    assert [int(e["position"]) for e in feed] == list(range(1, head + 1))
    assert {e["owner"] for e in feed} == {"alice"} and {e["bot_id"] for e in feed} == {str(s.bot)}
    fill = next(e for e in feed if e["type"] == "Order.Filled")
    assert json.loads(fill["payload"])["trade_id"] == "t1" and fill["aggregate_id"] == str(s.a)
    btc = json.loads(store.bot_positions(str(s.bot))["BTC/USDT"])
    exact = [Decimal(btc[k]) for k in ("quantity", "average_price", "realized_pnl", "fees_paid")]
    assert exact == [Decimal("-0.05"), Decimal("50200"), Decimal("12.6994"), Decimal("1.3006")]
    assert Decimal(store.bot_pnl(str(s.bot))["realized_pnl"]) == Decimal("12.6994")


def test_catching_up_again_changes_nothing(scenario_and_read_side: tuple[Scenario, ReadSide]) -> None:
    _, rs = scenario_and_read_side
    before = {name: rs.typed_rows(name, order) for name, order in ORDERING.items()}
    assert rs.catch_up() == {}
    assert {name: rs.typed_rows(name, order) for name, order in ORDERING.items()} == before


ORDERING = {
    "bots": "bot_id",
    "orders": "order_id",
    "fills": "event_position",
    "positions": "position_id",
    "pnl": "event_position",
    "risk_decisions": "event_position",
}


def test_orders_view_reads_the_same_rows(scenario_and_read_side: tuple[Scenario, ReadSide]) -> None:
    s, rs = scenario_and_read_side
    rows = rs.rows("orders", "client_order_id")
    assert [UUID(str(r["order_id"])) for r in rows] == [s.a, s.b, s.c]
