"""The scripted scenario `make run` plays through the real command handlers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from application import commands as c
from application.bus import CommandBus
from application.errors import OrderDenied
from application.store import TradingApplication
from domain.market import Candle
from domain.position_math import PositionState
from domain.values import Symbol
from projections import queries
from projections.engine.read_models import ReadModels
from projections.ports import LiveStore

ACTOR = "demo-trader"
BTC = Symbol("BTC", "USDT")
LIMITS = {
    "max_order_notional": "50000",
    "max_position_notional": "40000",
    "max_open_orders": 5,
    "daily_loss_limit": "1000",
    "price_band_pct": "0.05",
    "max_orders_per_minute": 30,
}


class Market(Protocol):
    def set(self, symbol: Symbol, price: Decimal) -> None:
        """Marks ``symbol`` at ``price`` from now on."""
        ...


@dataclass(frozen=True)
class DemoReport:
    bot_id: UUID
    steps: list[str]
    denial: OrderDenied
    mark_price: Decimal
    last_position: int


@dataclass(frozen=True)
class PositionLine:
    symbol: str
    quantity: Decimal
    average_price: Decimal
    realized_pnl: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal


@dataclass(frozen=True)
class ReadBack:
    """The demo bot as the read models show it, after the projections caught up."""

    orders: list[dict[str, Any]]
    positions: list[PositionLine]
    pnl: list[Mapping[str, Any]]
    decisions: list[dict[str, Any]]
    live_pnl: dict[str, str]


def read_back(read_models: ReadModels, live_store: LiveStore, report: DemoReport) -> ReadBack:
    with read_models.engine.connect() as conn:
        orders = queries.rows(
            conn, queries.in_order(queries.orders(None, bot_id=report.bot_id), queries.ORDERS_SORT)
        )
        positions = [
            PositionLine(
                row["symbol"],
                row["quantity"],
                row["average_price"],
                row["realized_pnl"],
                report.mark_price,
                PositionState(row["quantity"], row["average_price"], row["realized_pnl"]).unrealized_pnl(
                    report.mark_price
                ),
            )
            for row in queries.rows(conn, queries.positions(None, bot_id=report.bot_id))
        ]
        pnl = queries.pnl_series_points(conn, read_models.backend, report.bot_id, str(BTC), "1m")
        decisions = queries.rows(
            conn, queries.in_order(queries.risk_decisions(None, bot_id=report.bot_id), queries.DECISIONS_SORT)
        )
    return ReadBack(orders, positions, pnl, decisions, live_store.bot_pnl(str(report.bot_id)))


def run_demo(bus: CommandBus, store: TradingApplication, prices: Market) -> DemoReport:
    steps: list[str] = []
    prices.set(BTC, Decimal("60000"))
    bot = bus.dispatch(
        c.CreateBot(
            actor=ACTOR,
            name="demo by hand",
            strategy="manual",
            allowed_symbols=["BTC/USDT", "ETH/USDT"],
            limits=LIMITS,
        )
    )
    bot_id = bot.aggregate_id
    steps.append(f"created bot {bot_id} with limits {LIMITS}")
    bus.dispatch(c.StartBot(actor=ACTOR, bot_id=bot_id))
    steps.append("started the bot")

    buy = bus.dispatch(
        c.PlaceOrder(
            actor=ACTOR,
            bot_id=bot_id,
            client_order_id="demo-buy-1",
            symbol="BTC/USDT",
            side="buy",
            order_type="limit",
            quantity="0.5",
            price="60000",
        )
    )
    buy_id = buy.order_id
    bus.dispatch(c.RecordOrderSubmitted(actor="paper-exchange", order_id=buy_id))
    bus.dispatch(c.RecordOrderAccepted(actor="paper-exchange", order_id=buy_id, exchange_order_id="P-1"))
    bus.dispatch(
        c.RecordFill(
            actor="paper-exchange",
            order_id=buy_id,
            trade_id="T-1",
            quantity="0.2",
            price="59990",
            fee="0.0002",
            fee_currency="BTC",
        )
    )
    steps.append("limit buy 0.5 BTC @ 60000: partial fill 0.2 @ 59990 (fee 0.0002 BTC)")
    bus.dispatch(
        c.RecordFill(
            actor="paper-exchange",
            order_id=buy_id,
            trade_id="T-2",
            quantity="0.3",
            price="60010",
            fee="18.003",
            fee_currency="USDT",
        )
    )
    steps.append("  rest filled 0.3 @ 60010 (fee 18.003 USDT): long 0.5")

    prices.set(BTC, Decimal("61000"))
    sell = bus.dispatch(
        c.PlaceOrder(
            actor=ACTOR,
            bot_id=bot_id,
            client_order_id="demo-sell-1",
            symbol="BTC/USDT",
            side="sell",
            order_type="market",
            quantity="0.8",
        )
    )
    sell_id = sell.order_id
    bus.dispatch(c.RecordOrderSubmitted(actor="paper-exchange", order_id=sell_id))
    bus.dispatch(
        c.RecordFill(
            actor="paper-exchange",
            order_id=sell_id,
            trade_id="T-3",
            quantity="0.8",
            price="61000",
            fee="48.8",
            fee_currency="USDT",
        )
    )
    steps.append("market sell 0.8 BTC filled @ 61000 (fee 48.8 USDT): the position flips to short 0.3")

    try:
        bus.dispatch(
            c.PlaceOrder(
                actor=ACTOR,
                bot_id=bot_id,
                client_order_id="demo-buy-2",
                symbol="BTC/USDT",
                side="buy",
                order_type="limit",
                quantity="1",
                price="61000",
            )
        )
    except OrderDenied as denied:
        denial = denied
    else:  # pragma: no cover - the limits above make this impossible
        raise AssertionError("the oversized order was not denied")
    steps.append("limit buy 1 BTC @ 61000: denied by the risk policy")

    mark = Decimal("60500")
    prices.set(BTC, mark)
    return DemoReport(bot_id, steps, denial, mark, store.last_position())


SMA_BOT = {"fast": 3, "slow": 8, "quantity": "0.01"}
"""The parameters of the demo's second bot, which trades by itself with `sma_cross`."""


def demo_history(until: datetime, close: Decimal, minutes: int = 60) -> list[Candle]:
    """BTC/USDT's past for the demo: a slow slide over the ``minutes`` before ``until``'s minute,
    then a last candle that jumps, so the fast average of the demo's `sma_cross` bot crosses above
    the slow one on the latest closed candle: the bot buys on its first decision, within a minute
    of `tbot run` starting. The last close is ``close``, where the live random walk goes on."""
    end = until.replace(second=0, microsecond=0)
    jump = close * Decimal("0.004")
    candles = []
    for back in range(minutes, 0, -1):
        if back == 1:
            opened_at, price = close - jump, close
        else:
            opened_at = close - jump + Decimal(back) * close * Decimal("0.0002")
            price = opened_at - close * Decimal("0.0002")
        low, high = min(opened_at, price), max(opened_at, price)
        candles.append(Candle(BTC, end - timedelta(minutes=back), opened_at, high, low, price, Decimal(1)))
    return candles
