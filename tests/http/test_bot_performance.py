"""`GET /v1/bots/{bot_id}/performance` on both read stores, in process with a clock the test
moves: a bot with known fills, candles and a denied order gets the figures `measure` gives on the
equity curve worked out by hand (cash plus holdings at the latest price); a position open at the
period's start is carried in; another trader's bot is 404; bad input is 422 naming the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient

from application import commands as c
from application.errors import OrderDenied
from domain.market import Candle
from domain.performance import Fill, measure
from domain.values import Side
from infrastructure.adapters import PriceBook
from infrastructure.candles import CandleStore
from infrastructure.event_store import create_tables
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.http.app import create_app
from interfaces.tables import install_worker_tables
from interfaces.workers.projections import drain_projections
from projections.models.catalog import ALL_NAMES
from tests.integration.cli_support import invoke
from tests.support.clock import ManualClock
from tests.support.settings import changed, embedded_store
from tests.support.world import ACTOR, BTC, ETH, LIMITS

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CAPITAL = Decimal(10_000)
# BTC's closes minute by minute from T0 (None: no candle that minute); ETH has no candles at all.
CLOSES = [50_010, 50_020, 50_000, 50_100, None, None, 50_200, 50_150, 50_300, 50_250]
# (seconds after T0, symbol, side, quantity, price, fee)
FILLS = [
    (30, "BTC/USDT", "buy", "0.1", "50000", "1"),
    (130, "ETH/USDT", "buy", "1", "2500", "0.5"),
    (210, "BTC/USDT", "buy", "0.1", "50100", "1"),
    (390, "BTC/USDT", "sell", "0.2", "50300", "2"),
]


@dataclass
class Server:
    container: Any
    clock: ManualClock
    keys: dict[str, str]
    app: Any
    bot_id: UUID | None = None  # the bot ``_trade`` made

    def client(self, user: str) -> TestClient:
        return TestClient(self.app, headers={"X-API-Key": self.keys[user]})

    def dispatch(self, command: Any) -> Any:
        return self.container.bus().dispatch(command)


@contextmanager
def server_on(settings: Settings) -> Iterator[Server]:
    clock = ManualClock(T0)
    container = Container()
    container.settings.override(providers.Object(changed(settings, api={"rate_limit_per_second": 10_000})))
    container.clock.override(providers.Object(clock))
    container.prices.override(providers.Object(PriceBook({BTC: Decimal(50_000), ETH: Decimal(2500)})))
    create_tables(settings)
    container.read_models().install()
    install_worker_tables(container.read_engine())
    identity = container.identity()
    identity.install()
    keys = {}
    for user, role in ((ACTOR, "trader"), ("bob", "trader"), ("audrey", "auditor")):
        identity.create_user(user, role)
        keys[user] = identity.create_key(user)
    try:
        yield Server(container, clock, keys, create_app(container))
    finally:
        container.store().close()


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def server(read_settings: Settings) -> Iterator[Server]:
    with server_on(read_settings) as running:
        _trade(running)
        yield running


def _trade(running: Server) -> None:
    """Alice's bot trading BTC and ETH as ``FILLS`` says, with one order denied, and BTC's candles."""
    roomy = {**LIMITS, "max_order_notional": "12000", "max_open_orders": 100}
    command = c.CreateBot(
        actor=ACTOR, name="b", strategy="manual", allowed_symbols=["BTC/USDT", "ETH/USDT"], limits=roomy
    )
    bot_id = running.dispatch(command).aggregate_id
    running.dispatch(c.StartBot(actor=ACTOR, bot_id=bot_id))
    for n, (seconds, symbol, side, quantity, price, fee) in enumerate(FILLS):
        running.clock.set(_at(seconds))
        order = c.PlaceOrder(
            actor=ACTOR,
            bot_id=bot_id,
            client_order_id=f"o-{n}",
            symbol=symbol,
            side=side,
            order_type="limit",
            quantity=quantity,
            price=price,
        )
        order_id = running.dispatch(order).order_id
        running.dispatch(c.RecordOrderSubmitted(actor="exchange", order_id=order_id))
        running.dispatch(c.RecordOrderAccepted(actor="exchange", order_id=order_id))
        fill = c.RecordFill(
            actor="exchange",
            order_id=order_id,
            trade_id=f"t-{n}",
            quantity=quantity,
            price=price,
            fee=fee,
            fee_currency="USDT",
        )
        running.dispatch(fill)
        if n == 1:  # too big for max_order_notional: denied
            with pytest.raises(OrderDenied):
                running.dispatch(
                    c.PlaceOrder(
                        actor=ACTOR,
                        bot_id=bot_id,
                        client_order_id="too-big",
                        symbol="BTC/USDT",
                        side="buy",
                        order_type="limit",
                        quantity="1",
                        price="50000",
                    )
                )
    candles = [
        Candle(BTC, T0 + timedelta(minutes=m), Decimal(p), Decimal(p), Decimal(p), Decimal(p), Decimal(1))
        for m, p in enumerate(CLOSES)
        if p is not None
    ]
    CandleStore(running.container.read_engine()).write(candles)
    assert drain_projections(running.container, list(ALL_NAMES)) == {}
    running.bot_id = bot_id


def _fills() -> list[Fill]:
    return [
        Fill(_at(s), BTC if symbol == "BTC/USDT" else ETH, Side(side), Decimal(q), Decimal(p), Decimal(f))
        for s, symbol, side, q, p, f in FILLS
    ]


def _btc_close_by(moment: datetime) -> tuple[datetime, Decimal] | None:
    """The latest BTC candle closed by ``moment``: when it closed and its close."""
    closed = [
        (T0 + timedelta(minutes=m + 1), Decimal(p))
        for m, p in enumerate(CLOSES)
        if p is not None and T0 + timedelta(minutes=m + 1) <= moment
    ]
    return closed[-1] if closed else None


def _curve(times: list[datetime]) -> tuple[list[tuple[datetime, Decimal]], int]:
    """By hand: cash plus what is held at the latest price known (the latest candle's close, or
    the last fill's price when that is later), and how many points held something."""
    curve, exposed = [], 0
    for moment in times:
        cash, held, last = CAPITAL, {BTC: Decimal(0), ETH: Decimal(0)}, {}
        for fill in _fills():
            if fill.time < moment:
                signed = fill.quantity * fill.side.sign
                cash -= signed * fill.price + fill.fee
                held[fill.symbol] += signed
                last[fill.symbol] = (fill.time, fill.price)
        value = cash
        for symbol, quantity in held.items():
            if quantity:
                candle = _btc_close_by(moment) if symbol == BTC else None
                price = candle[1] if candle and candle[0] >= last[symbol][0] else last[symbol][1]
                value += quantity * price
        curve.append((moment, value))
        exposed += any(held.values())
    return curve, exposed


def _get(server: Server, user: str = ACTOR, **params: Any) -> Any:
    bot_id = params.pop("bot_id", server.bot_id)
    sent = {name: value for name, value in {"capital": "10000", **params}.items() if value is not None}
    with server.client(user) as http:
        return http.get(f"/v1/bots/{bot_id}/performance", params=sent)


def test_the_figures_are_measure_on_the_curve_worked_out_by_hand(server: Server) -> None:
    end = T0 + timedelta(minutes=10)
    answer = _get(server, start=T0.isoformat(), end=end.isoformat(), step="1m", with_trades="true")
    assert answer.status_code == 200, answer.text
    body = answer.json()

    times = [T0 + timedelta(minutes=m) for m in range(11)]
    curve, exposed = _curve(times)
    expected = measure(curve, _fills(), exposed=exposed, denials=1)
    assert body["metrics"] == expected.plain()
    assert body["counts"] == {"fills": 4, "trades": 1, "denials": 1}
    assert (body["points"], body["step"], body["quote"], body["capital"]) == (11, "1m", "USDT", "10000")
    assert body["carried"] == []
    # ETH never had a candle: valued at its fill's price from its fill on
    assert (body["valuation"], body["valued_at_fills"], body["valued_at_candles"]) == ("mixed", 8, 2)
    [trade] = body["trades"]
    assert (trade["symbol"], trade["side"], trade["entry_price"], trade["exit_price"]) == (
        "BTC/USDT",
        "long",
        "50050",
        "50300",
    )
    assert (trade["fees"], trade["pnl"]) == ("4", "46")
    assert body["metrics"]["final_equity"] == str(CAPITAL + 46 - Decimal("0.5"))


def test_a_position_open_at_the_start_is_carried_in_at_its_average_price(server: Server) -> None:
    start, end = T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)
    body = _get(server, start=start.isoformat(), end=end.isoformat(), step="1m", with_trades="true").json()

    assert body["carried"] == [
        {"symbol": "BTC/USDT", "quantity": "0.2", "average_price": "50050"},
        {"symbol": "ETH/USDT", "quantity": "1", "average_price": "2500"},
    ]
    assert body["counts"] == {"fills": 1, "trades": 1, "denials": 0}
    [trade] = body["trades"]
    assert (trade["entry_time"], trade["pnl"], trade["fees"]) == ("2026-11-21T12:05:00Z", "48", "2")
    times = [T0 + timedelta(minutes=m) for m in range(5, 11)]
    curve, exposed = _curve(times)
    assert body["metrics"]["final_equity"] == str(curve[-1][1])
    assert body["metrics"]["exposure"] == str(Decimal(exposed) / len(times))


def test_steps_are_whole_hours_between_a_start_and_an_end_off_them(server: Server) -> None:
    start, end = T0 - timedelta(minutes=30), T0 + timedelta(hours=2, minutes=15)
    body = _get(server, start=start.isoformat(), end=end.isoformat()).json()
    assert (body["step"], body["points"]) == ("1h", 5)  # 11:30, 12:00, 13:00, 14:00, 14:15
    curve, exposed = _curve([start, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2), end])
    hourly = measure(curve, _fills(), exposed=exposed, denials=1, periods_per_year=24 * 365)
    assert body["metrics"] == hourly.plain()


def test_the_defaults_are_from_the_bots_creation_to_now(server: Server) -> None:
    server.clock.set(T0 + timedelta(days=2))
    body = _get(server, step="1d").json()
    assert (body["start"], body["end"], body["points"]) == (
        "2026-11-21T12:00:00Z",
        "2026-11-23T12:00:00Z",
        4,
    )


def test_another_traders_bot_is_not_found_and_an_auditor_reads_it(server: Server) -> None:
    assert _get(server, "bob").status_code == 404
    assert _get(server, "bob", bot_id=UUID(int=7)).status_code == 404
    assert _get(server, "audrey").status_code == 200
    assert _get(server, "audrey", bot_id=UUID(int=7)).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-11-21T12:00:00Z", "end": "2026-11-21T12:00:00Z"}, "query.end"),
        ({"start": "2026-11-21T12:00:00Z", "end": "2026-11-21T11:00:00Z"}, "query.end"),
        ({"start": "2020-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z", "step": "1m"}, "query.step"),
        ({"step": "2m"}, "query.step"),
        ({"capital": "0"}, "query.capital"),
        ({"capital": "-5"}, "query.capital"),
        ({"capital": "1e999"}, "query.capital"),
        ({"capital": None}, "query.capital"),
        ({"start": "yesterday"}, "query.start"),
        ({"min_position": "99999999"}, "query.min_position"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(server: Server, params: dict[str, Any], field: str) -> None:
    answer = _get(server, **params)
    assert answer.status_code == 422, answer.text
    assert [p["field"] for p in answer.json()["error"]["problems"]] == [field]


def test_the_command_line_prints_the_apis_document(tmp_path: Path) -> None:
    settings = Settings(store=embedded_store(tmp_path))
    with server_on(settings) as running:
        _trade(running)
        window = {"start": T0.isoformat(), "end": (T0 + timedelta(minutes=10)).isoformat(), "step": "1m"}
        api = _get(running, **window, with_trades="true").json()
    env = {
        "TBOT_SQLITE_PATH": str(settings.store.sqlite_path),
        "TBOT_READ_SQLITE_PATH": str(settings.store.read_sqlite_path),
    }
    command = ["bots", "performance", str(running.bot_id), "--capital", "10000"]
    options = [f"--{name}={value}" for name, value in window.items()]
    printed = invoke(*command, *options, "--trades", "--json", **env)
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == api

    table = invoke(*command, *options, **env)
    assert table.exit_code == 0 and "sharpe" in table.stdout and "1 round trips" in table.stdout

    refused = invoke(*command, "--step", "5m", **env)
    assert refused.exit_code == 2 and "--step: must be one of 1m, 1h, 1d" in refused.stderr
