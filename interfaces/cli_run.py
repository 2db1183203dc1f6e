"""`tbot demo` and `tbot run`: the scripted demo through the real handlers, and the whole system
in one process on top of it (the API, every worker, a demo user and a bot that trades by itself)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from application import commands as c
from domain.bot import Bot, BotStatus
from infrastructure.candles import CandleStore
from interfaces.cli_http import (
    api_socket,
    prepared_container,
    serve_app,
)
from interfaces.composition import Container
from interfaces.decimals import plain, rounded
from interfaces.demo import (
    ACTOR,
    BTC,
    LIMITS,
    SMA_BOT,
    DemoReport,
    ReadBack,
    demo_history,
    read_back,
    run_demo,
)
from interfaces.errors import clear_errors
from interfaces.tables import prepare_tables
from interfaces.workers.backtests import build_backtests_worker
from interfaces.workers.execution import build_execution_worker
from interfaces.workers.market_data import build_market_data_worker
from interfaces.workers.projection_lag import measure_projection_lag
from interfaces.workers.projections import drain_projections, projection_worker
from interfaces.workers.protection import build_protection_worker
from interfaces.workers.strategies import build_strategies_worker
from interfaces.workers.supervisor import Supervisor
from projections.models.catalog import ALL_NAMES

demo_app = typer.Typer()
run_app = typer.Typer()
console = Console()


@demo_app.command()
@clear_errors
def demo() -> None:
    """Play a scripted scenario through the real command handlers, run the projections, and show
    the read models (orders, positions, PnL, risk decisions) as the query side reads them."""
    container = Container()
    _play_demo(container)
    container.store().close()


@run_app.command("run")
@clear_errors
def run_all(
    host: Annotated[str | None, typer.Option(help="address to listen on (TBOT_API_HOST)")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="port (TBOT_API_PORT)")] = None,
) -> None:
    """The demo, then the whole system in one process: the HTTP API, the projection workers,
    execution on the paper exchange, offline market data (a random walk), the strategies and the
    stop-loss and take-profit worker, with a demo user, a fresh API key, and a second bot that
    trades by itself (`sma_cross`); serves until stopped (Ctrl-C)."""
    container = Container()
    with api_socket(container.settings(), host, port) as listener:
        prepared_container(container)
        report = _play_demo(container)
        sma_bot = _start_strategy_bot(container, report)
        key = _demo_key(container)
        bound_host, bound_port = listener.getsockname()[:2]
        url = f"http://{bound_host}:{bound_port}"
        console.print(f"\n[bold]serving[/bold] {url}  (dashboard: {url}/, interactive API docs: {url}/docs)")
        console.print(f"demo user {ACTOR}, API key (shown once): {key}", soft_wrap=True, highlight=False)
        console.print(f"demo bot {report.bot_id}; try:", highlight=False)
        console.print(f"  curl -H 'X-API-Key: {key}' {url}/v1/positions", soft_wrap=True, highlight=False)
        order = '{"symbol": "BTC/USDT", "side": "buy", "order_type": "market", "quantity": "0.01"}'
        console.print(
            f"  curl -H 'X-API-Key: {key}' -H 'Content-Type: application/json' -d '{order}' "
            f"{url}/v1/bots/{report.bot_id}/orders",
            soft_wrap=True,
            highlight=False,
        )
        console.print(
            f"strategy bot {sma_bot} trades BTC/USDT by itself (sma_cross {SMA_BOT}); watch its "
            f"decisions and orders:\n  curl -H 'X-API-Key: {key}' {url}/v1/bots/{sma_bot}/decisions\n"
            f"  curl -H 'X-API-Key: {key}' '{url}/v1/orders?bot_id={sma_bot}'",
            soft_wrap=True,
            highlight=False,
        )
        workers: list[Supervisor[Any]] = [
            projection_worker(container, list(ALL_NAMES)),
            build_execution_worker(container),
            build_market_data_worker(container),
            build_strategies_worker(container),
            build_protection_worker(container),
            build_backtests_worker(container),
        ]
        measure_projection_lag(container, list(ALL_NAMES))  # on the API's /metrics
        serve_app(container, listener, workers)


def _start_strategy_bot(container: Container, report: DemoReport) -> UUID:
    """A bot of the demo user that trades BTC/USDT by itself with `sma_cross`, and, on a fresh
    store, BTC/USDT's past shaped so that its first decision buys (interfaces/demo.py)."""
    candles = CandleStore(container.read_engine())
    if BTC not in candles.newest([BTC]):
        candles.write(demo_history(container.clock().now(), report.mark_price))
    bus = container.bus()
    created = bus.dispatch(
        c.CreateBot(
            actor=ACTOR,
            name="demo sma_cross",
            strategy="sma_cross",
            params=SMA_BOT,
            allowed_symbols=["BTC/USDT"],
            limits=LIMITS,
            idempotency_key="demo-sma-cross",
        )
    )
    bot = container.store().load(Bot, created.aggregate_id)
    if bot.status is BotStatus.CREATED:
        bus.dispatch(c.StartBot(actor=ACTOR, bot_id=created.aggregate_id))
    return created.aggregate_id


def _demo_key(container: Container) -> str:
    identity = container.identity()
    if identity.user(ACTOR) is None:
        identity.create_user(ACTOR, "trader")
    return identity.create_key(ACTOR)


def _play_demo(container: Container) -> DemoReport:
    settings = container.settings()
    backend = prepare_tables(container)
    read_models = container.read_models()
    report = run_demo(container.bus(), container.store(), container.prices())
    console.print(f"[bold]tbot demo[/bold] on the {settings.store.backend} event store")
    for step in report.steps:
        console.print(f" - {step}")
    failures = drain_projections(container, list(ALL_NAMES))
    if failures:
        for message in failures.values():
            console.print(f"[red]{message}[/red]")
        raise typer.Exit(1)
    shown = read_back(read_models, container.live_store(), report)
    console.print(f"projections caught up to position {report.last_position}; time series on {backend.kind}")
    _print_read_back(shown)
    denial = report.denial
    codes = ", ".join(code.value for code in denial.reason_codes)
    console.print(f"denied order {denial.client_order_id}: [bold red]{codes}[/bold red]")
    console.print(f"  the denial is recorded on the bot as {denial.denial_id}")
    return report


def _computed(value: Decimal | None) -> str:
    return "-" if value is None else rounded(value)


def _print_read_back(shown: ReadBack) -> None:
    """The read models as tables, their decimals written as the API writes them (docs/api.md)."""
    orders = Table(title="orders (read model)")
    for column in (
        "client order id",
        "side",
        "type",
        "quantity",
        "status",
        "filled",
        "avg fill price",
        "fees",
    ):
        orders.add_column(column, justify="right")
    for o in shown.orders:
        orders.add_row(
            o["client_order_id"],
            o["side"],
            o["order_type"],
            plain(o["quantity"]),
            o["status"],
            plain(o["filled_quantity"]),
            _computed(o["average_fill_price"]),
            _computed(o["fees_quote"]),
        )
    console.print(orders)
    positions = Table(title="positions (read model)")
    for column in ("symbol", "quantity", "avg price", "realized PnL", "mark", "unrealized PnL"):
        positions.add_column(column, justify="right")
    for line in shown.positions:
        positions.add_row(
            line.symbol,
            plain(line.quantity),
            rounded(line.average_price),
            rounded(line.realized_pnl),
            plain(line.mark_price),
            rounded(line.unrealized_pnl),
        )
    console.print(positions)
    pnl = Table(title="PnL by minute (read model `pnl`, bucketed)")
    for column in ("minute", "quantity", "avg price", "realized PnL"):
        pnl.add_column(column, justify="right")
    for row in shown.pnl:
        pnl.add_row(
            row["bucket"].isoformat(),
            plain(row["quantity"]),
            rounded(row["average_price"]),
            rounded(row["realized_pnl"]),
        )
    console.print(pnl)
    decisions = ", ".join(f"{d['client_order_id']}: {d['decision']}" for d in shown.decisions)
    console.print(f"risk decisions (read model): {decisions}")
    live = shown.live_pnl
    realized = live.get("realized_pnl")
    shown_pnl = "-" if realized is None else rounded(Decimal(realized))
    console.print(f"live model: realized PnL {shown_pnl} at event #{live.get('event_position')}")
