"""`tbot backtest run`: a strategy on history, through the live code (docs/backtesting.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from domain.strategy import Timeframe
from domain.values import Symbol, decimal_field
from infrastructure.candle_files import CandleHistory, load_candles, load_candles_store
from infrastructure.candles import CandleStore
from infrastructure.logging import configure_logging
from interfaces.backtest.charts import equity_chart, price_chart
from interfaces.backtest.page import write_page
from interfaces.backtest.report import ReportInputs, report, write_report
from interfaces.backtest.runner import run_backtest
from interfaces.backtest.world import BacktestInputs
from interfaces.cli_options import parse_limits, parse_params, parse_time
from interfaces.composition import Container
from interfaces.errors import clear_errors, fail_usage
from interfaces.process import prepare_process
from interfaces.tables import prepare_tables
from interfaces.workers.backtests import build_backtests_worker
from interfaces.workers.threads import run_until_signalled

backtest_app = typer.Typer(
    no_args_is_help=True, help="Backtests: strategies on history, through the live code."
)
console = Console()
DATABASE = "db:"
"""``--candles`` naming the candles table of the read database rather than a file."""
ONE_MINUTE = Timeframe.parse("1m")


def _candles(candles: str, market: Symbol, start: datetime | None, end: datetime | None) -> CandleHistory:
    """The candles from a file, or from the candles table of the read database the settings
    name (as `tbot marketdata fetch --to-store` writes it)."""
    if candles != DATABASE:
        return load_candles(Path(candles), market, ONE_MINUTE, start, end)
    container = Container()
    prepare_tables(container)
    engine = container.read_engine()
    try:
        return load_candles_store(CandleStore(engine), market, start, end)
    finally:
        engine.dispose()


def _one_minute(timeframe: str) -> None:
    if timeframe != ONE_MINUTE.name:
        fail_usage(
            "--timeframe: only 1m candles are supported: the strategy runtime builds longer "
            "timeframes from them"
        )


@backtest_app.command("run")
@clear_errors
def run(
    strategy: Annotated[str, typer.Option(help="a strategy of `tbot strategies list`")],
    symbol: Annotated[str, typer.Option(help="the market, e.g. BTC/USDT")],
    candles: Annotated[
        str,
        typer.Option(
            help="one-minute candles: a .csv or .parquet file, or db: for the candles table of the "
            "read database the settings name"
        ),
    ],
    out: Annotated[Path, typer.Option(help="the folder for report.json, report.html and the charts")],
    param: Annotated[list[str] | None, typer.Option(help="a strategy parameter, name=value (repeat)")] = None,
    start: Annotated[str | None, typer.Option(help="first candle (ISO 8601), inclusive")] = None,
    end: Annotated[str | None, typer.Option(help="last candle (ISO 8601), exclusive")] = None,
    cash: Annotated[str, typer.Option(help="what the account starts with, in the quote currency")] = "10000",
    fee_rate: Annotated[str, typer.Option(help="fee as a fraction of the traded value")] = "0.001",
    slippage_bps: Annotated[str, typer.Option(help="how far market fills move against the order")] = "0",
    limits: Annotated[Path | None, typer.Option(help="risk limits as JSON, as the API takes them")] = None,
    events: Annotated[Path | None, typer.Option(help="write the event log to this SQLite file")] = None,
    timeframe: Annotated[
        str, typer.Option(help="the candles' length: 1m (strategies of longer timeframes build theirs)")
    ] = "1m",
) -> None:
    """Run STRATEGY on SYMBOL's candles: its decisions on each closed candle, the risk rules,
    and fills on the paper exchange (market orders at the next open, limits and stops where a
    later candle reaches them); writes report.json, report.html (one page with everything,
    readable offline), equity.png and price.png to OUT."""
    configure_logging("console", "WARNING")
    market = Symbol.parse(symbol, "--symbol")
    _one_minute(timeframe)
    if events is not None and events.exists():
        fail_usage(f"--events: {events} exists already; choose a new file")
    history = _candles(candles, market, parse_time(start, "--start"), parse_time(end, "--end"))
    if not history.candles:
        fail_usage(f"--candles: no candles of {market} in {history.report.source} between --start and --end")
    inputs = BacktestInputs(
        strategy=strategy,
        params=parse_params(param or []),
        candles={market: history.candles},
        cash=decimal_field(cash, "--cash"),
        fee_rate=decimal_field(fee_rate, "--fee-rate"),
        slippage_bps=decimal_field(slippage_bps, "--slippage-bps"),
        limits=parse_limits(limits),
        events=events,
    )
    columns = (TextColumn("backtest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("candles", total=len(history.candles))
        done = run_backtest(inputs, lambda count: progress.update(task, completed=count))
    result, figures = done.outcome, done.performance
    costs = (inputs.cash, inputs.fee_rate, inputs.slippage_bps)
    report_inputs = ReportInputs(strategy, done.params, market, history.report, *costs, inputs.limits)
    document = report(report_inputs, result, figures)
    path = write_report(out, document)
    charts = {
        "Equity": equity_chart(out / "equity.png", history.candles, result.equity),
        "Price": price_chart(out / "price.png", history.candles, result.fills),
    }
    write_page(out, document, charts)
    _summary(figures.plain(), len(history.candles), result.orders, path)
    if result.rejections:
        console.print(
            f"[yellow]{len(result.rejections):,} orders were refused by the exchange[/yellow], the first: "
            f"{result.rejections[0]} (a fraction of 1 leaves nothing for the fees)",
            highlight=False,
        )


def _summary(metrics: dict[str, Any], candles: int, orders: int, path: Path) -> None:
    table = Table(title=f"backtest: {candles:,} candles, {orders:,} orders")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, "-" if value is None else str(value))
    console.print(table)
    folder = path.parent
    console.print(
        f"report: {path}, {folder / 'report.html'}  charts: {folder / 'equity.png'}, {folder / 'price.png'}"
    )


@backtest_app.command("worker")
@clear_errors
def worker() -> None:
    """Run the backtests queued through the API (POST /v1/backtests), one at a time, on the
    candles table, until stopped (Ctrl-C or SIGTERM). Several may run on PostgreSQL: each takes
    a different backtest, and a dead worker's backtest is run again by another."""
    container = Container()
    prepare_process(container.settings(), "tbot-backtests")
    prepare_tables(container)
    run_until_signalled([build_backtests_worker(container)])
