"""The metrics' logic: how a command's end is named, what the bus counts of each command, how
exchange requests are counted, and several processes adding up their values in one directory."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest
from prometheus_client import CollectorRegistry

from application import commands as c
from application.errors import BotBusy, ConcurrencyConflict, InvalidInput, NotFound, OrderDenied
from application.gateway import (
    ExchangeOrder,
    ExchangeStatus,
    ExchangeTrade,
    ExchangeUnavailable,
    OrderRefused,
    OrderStream,
    OutcomeUnknown,
)
from application.metrics import command_outcome
from domain.ids import ClientOrderId
from domain.orders import OrderRequest
from domain.risk import ReasonCode
from domain.values import OrderType, Side, Symbol, TimeInForce
from infrastructure.metered_gateways import MeteredGateway
from infrastructure.metrics import Metrics, ProjectionLag, projection_lag_families
from tests.support.world import ACTOR, LIMITS, World

ZONE = "BTC/USDT LONG\nEntry: 49800 - 50000\nSL: 48000\nTP1: 52000\nTP2: 55000"

BTC = Symbol.parse("BTC/USDT", "symbol")


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "ok"),
        (OrderDenied(uuid4(), "o-1", uuid4(), [ReasonCode.MAX_POSITION]), "denied"),
        (ConcurrencyConflict(3), "conflict"),
        (BotBusy(uuid4()), "conflict"),
        (InvalidInput("quantity", "must be positive"), "refused"),
        (NotFound("bot", "b-1"), "refused"),
        (RuntimeError("a fault"), "error"),
    ],
)
def test_a_commands_end_is_named_by_its_error(error: BaseException | None, outcome: str) -> None:
    assert command_outcome(error) == outcome


def test_the_bus_counts_each_command_by_type_and_outcome_with_its_time(world: World) -> None:
    registry = CollectorRegistry()
    world.bus.metrics = Metrics(registry)
    bot_id = world.running_bot(symbols=["BTC/USDT"])  # CreateBot, StartBot
    world.place(bot_id, "o-1", "buy", "0.1", "50000")
    with pytest.raises(OrderDenied):
        world.place(bot_id, "o-2", "buy", "0.1", "50000", symbol="ETH/USDT")
    with pytest.raises(NotFound):
        world.bus.dispatch(c.PauseBot(actor=ACTOR, bot_id=uuid4()))

    def counted(command: str, outcome: str) -> tuple[float | None, float | None]:
        labels = {"command": command, "outcome": outcome}
        return (
            registry.get_sample_value("tbot_commands_total", labels),
            registry.get_sample_value("tbot_command_duration_seconds_count", labels),
        )

    assert counted("CreateBot", "ok") == counted("StartBot", "ok") == (1, 1)
    assert counted("PlaceOrder", "ok") == counted("PlaceOrder", "denied") == (1, 1)
    assert counted("PauseBot", "refused") == (1, 1)
    assert registry.get_sample_value("tbot_risk_denials_total", {"reason": "SYMBOL_NOT_ALLOWED"}) == 1
    seconds = registry.get_sample_value(
        "tbot_command_duration_seconds_sum", {"command": "PlaceOrder", "outcome": "ok"}
    )
    assert seconds is not None and 0 < seconds < 10


def test_signals_are_counted_by_outcome_once_and_their_denied_entries_by_reason(world: World) -> None:
    registry = CollectorRegistry()
    world.bus.metrics = Metrics(registry)
    created = world.bus.dispatch(
        c.CreateBot(
            actor=ACTOR,
            name="follows signals",
            strategy="signals",
            params={"quote_amount": "50000"},  # 25,000 an entry, over the bot's limit
            allowed_symbols=["BTC/USDT"],
            limits=LIMITS,
            exchange_account="paper",
        )
    )
    world.bus.dispatch(c.StartBot(actor=ACTOR, bot_id=created.aggregate_id))
    unreadable = "BTC/USDT LONG Entry 50000 SL 51000 TP 52000"  # its stop loss on the wrong side
    for message_id, text in [("m1", ZONE), ("m1", ZONE), ("m2", unreadable)]:
        world.bus.dispatch(
            c.ReceiveSignal(
                actor=ACTOR, bot_id=created.aggregate_id, text=text, source="api", message_id=message_id
            )
        )

    def signals(outcome: str) -> float | None:
        return registry.get_sample_value("tbot_signals_total", {"outcome": outcome})

    assert (signals("executed"), signals("rejected")) == (1, 1)  # the repeated message not again
    assert registry.get_sample_value("tbot_risk_denials_total", {"reason": "MAX_ORDER_NOTIONAL"}) == 2


def _order(status: ExchangeStatus = ExchangeStatus.OPEN) -> ExchangeOrder:
    return ExchangeOrder("o-1", "x-1", BTC, Side.BUY, Decimal(1), Decimal(0), status)


class Exchange:
    """An exchange answering each request with what ``answers`` holds for it next."""

    def __init__(self, **answers: list[ExchangeOrder | Exception]) -> None:
        self.answers = answers

    async def _next(self, request: str) -> ExchangeOrder:
        answer = self.answers[request].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def submit(self, request: OrderRequest) -> ExchangeOrder:
        return await self._next("submit")

    async def cancel(self, client_order_id: str, symbol: Symbol) -> ExchangeOrder:
        return await self._next("cancel")

    async def lookup(self, client_order_id: str, symbol: Symbol) -> ExchangeOrder | None:
        return await self._next("lookup")

    async def open_orders(self, symbol: Symbol) -> list[ExchangeOrder]:
        return [await self._next("open_orders")]

    async def order_trades(self, order: ExchangeOrder) -> list[ExchangeTrade]:
        return []

    async def close(self) -> None:
        pass


def test_orders_sent_and_failed_requests_are_counted_by_exchange_and_kind() -> None:
    registry = CollectorRegistry()
    exchange = Exchange(
        submit=[_order(), OrderRefused("funds"), OutcomeUnknown("timeout")],
        lookup=[ExchangeUnavailable("429")],
    )
    gateway = MeteredGateway(exchange, Metrics(registry))
    request = OrderRequest(
        ClientOrderId("o-1"), BTC, Side.BUY, OrderType.MARKET, Decimal(1), None, None, TimeInForce.GTC
    )

    async def work() -> None:
        await gateway.submit(request)
        for _ in range(2):
            with pytest.raises((OrderRefused, OutcomeUnknown)):
                await gateway.submit(request)
        with pytest.raises(ExchangeUnavailable):
            await gateway.lookup("o-1", BTC)

    asyncio.run(work())

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {"exchange": "paper", **labels})

    assert value("tbot_exchange_orders_total", outcome="answered") == 1
    assert value("tbot_exchange_orders_total", outcome="refused") == 1
    assert value("tbot_exchange_orders_total", outcome="outcome_unknown") == 1
    assert value("tbot_exchange_order_duration_seconds_count") == 3
    assert value("tbot_exchange_errors_total", operation="submit", kind="refused") == 1
    assert value("tbot_exchange_errors_total", operation="submit", kind="outcome_unknown") == 1
    assert value("tbot_exchange_errors_total", operation="lookup", kind="unavailable") == 1
    assert isinstance(gateway, OrderStream) and not gateway.streams_orders  # its exchange pushes nothing


def test_projection_lag_leaves_out_seconds_it_cannot_tell() -> None:
    events, seconds = projection_lag_families(
        [ProjectionLag("orders", 3, 1.5), ProjectionLag("bots", 7, None)]
    )
    assert [(s.labels, s.value) for s in events.samples] == [
        ({"projection": "orders"}, 3),
        ({"projection": "bots"}, 7),
    ]
    assert [(s.labels, s.value) for s in seconds.samples] == [({"projection": "orders"}, 1.5)]


SERVERS = """
import os, sys
from pathlib import Path
from infrastructure.metrics_exposition import exposition, process_ended, share_between_processes
share_between_processes(Path(sys.argv[1]))
from infrastructure.metrics import metrics
children = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        metrics().command_done("PlaceOrder", "ok", 0.01)
        metrics().feed_subscribers.inc()
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print(exposition()[0].decode())
print("---")
process_ended(children[0])
print(exposition()[0].decode())
"""


def _value(text: str, line_start: str) -> float:
    return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(line_start))


def test_server_processes_add_up_in_a_shared_directory_emptied_first(tmp_path: Path) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    (shared / "counter_1.db").write_bytes(b"an earlier run's")  # would be added in
    # a process of its own: a shared directory is chosen once per process, before its metrics
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SERVERS), str(shared)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    both, after_one_ended = done.stdout.split("---")
    placed = 'tbot_commands_total{command="PlaceOrder",outcome="ok"}'
    assert _value(both, placed) == 2
    assert _value(both, 'tbot_command_duration_seconds_count{command="PlaceOrder",outcome="ok"}') == 2
    assert _value(both, "tbot_feed_subscribers") == 2
    assert _value(after_one_ended, placed) == 2  # what an ended process counted stays counted
    assert _value(after_one_ended, "tbot_feed_subscribers") == 1  # its live gauges do not
