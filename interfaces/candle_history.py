"""`tbot marketdata fetch` and `tbot marketdata check`: candle history for backtests. Fetch
downloads a symbol's past candles from a stored exchange account (``tbot accounts add``) through
ccxt, a page at a time, into a CSV file or the candles read model; check reads a CSV or Parquet
file of candles and reports on it (infrastructure/candle_files.py says what is checked)."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from application.gateway import ExchangeUnavailable
from domain.strategy import Timeframe
from domain.values import Symbol
from infrastructure.candle_files import (
    CandleCsvWriter,
    CandleFileReport,
    load_candles,
    load_candles_csv,
    load_candles_store,
)
from infrastructure.candles import CandleStore
from infrastructure.ccxt_candles import CcxtHistory
from infrastructure.ccxt_exchanges import open_exchange
from interfaces.cli_options import parse_time
from interfaces.composition import Container
from interfaces.errors import fail_usage, report
from interfaces.tables import prepare_tables

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True)


def _iso(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def print_report(report: CandleFileReport) -> None:
    """What a read found, a few lines on stdout."""
    console.print(
        f"{report.symbol} {report.timeframe} from {report.source}: {report.candles:,} candles "
        f"({report.rows:,} rows), {_iso(report.first)} to {_iso(report.last)}"
    )
    console.print(f"sha256 {report.sha256}")
    if report.gaps:
        largest = ", ".join(f"{g.missing:,} after {_iso(g.after)}" for g in report.largest_gaps)
        console.print(f"gaps: {report.gaps:,}, {report.missing:,} candles missing; largest: {largest}")
    else:
        console.print("gaps: none")
    if report.duplicates:
        lines = ", ".join(str(n) for n in report.duplicate_lines)
        console.print(f"duplicates: {report.duplicates:,} exact repeats dropped (at {lines}, ...)")
    else:
        console.print("duplicates: none")


def check(
    file: Annotated[Path, typer.Argument(help="a .csv or .parquet file of one symbol's candles")],
    symbol: Annotated[str, typer.Option(help="whose candles they are, e.g. BTC/USDT")],
    timeframe: Annotated[str, typer.Option(help="the candles' length: 1m, 5m, 15m, 30m, 1h, 4h, 1d")] = "1m",
    start: Annotated[str | None, typer.Option(help="keep candles opened from then on (ISO 8601)")] = None,
    end: Annotated[str | None, typer.Option(help="keep candles opened before then (ISO 8601)")] = None,
) -> None:
    """Read a candle file as a backtest would and report on it: rows, first and last candle, gaps,
    duplicates and the file's SHA-256. A bad row exits 2 naming its line, field and rule."""
    history = load_candles(
        file,
        Symbol.parse(symbol, "--symbol"),
        Timeframe.parse(timeframe),
        parse_time(start, "--start"),
        parse_time(end, "--end"),
    )
    print_report(history.report)


def fetch(
    account: Annotated[str, typer.Option(help="the stored exchange account (tbot accounts add)")],
    symbol: Annotated[str, typer.Option(help="the market, e.g. BTC/USDT")],
    since: Annotated[str, typer.Option(help="the first candle's time (ISO 8601; no offset: UTC)")],
    until: Annotated[str | None, typer.Option(help="stop before this time (ISO 8601); default: now")] = None,
    timeframe: Annotated[str, typer.Option(help="1m, 5m, 15m, 30m, 1h, 4h or 1d")] = "1m",
    out: Annotated[Path | None, typer.Option("--out", help="write the candles to this .csv file")] = None,
    to_store: Annotated[
        bool, typer.Option("--to-store", help="write them to the candles read model (1m only)")
    ] = False,
    page_size: Annotated[int, typer.Option(min=1, max=5000, help="candles asked for per request")] = 1000,
) -> None:
    """Download a symbol's closed candles from an exchange, a page at a time at the exchange's
    rate limit, into a CSV file (written whole or not at all) or into the candles read model, then
    report on what was written. Exits 2 on a bad account, symbol or option, 1 when the exchange
    cannot be reached."""
    if (out is None) == (not to_store):
        fail_usage("--out or --to-store: give one of them")
    if out is not None and out.suffix.lower() != ".csv":
        fail_usage(f"--out: {out} must be a .csv file")
    if out is not None and not out.parent.is_dir():
        fail_usage(f"--out: no such directory {out.parent}")
    market = Symbol.parse(symbol, "--symbol")
    length = Timeframe.parse(timeframe)
    if to_store and length.minutes != 1:
        fail_usage("--to-store: the candles table holds one-minute candles (--timeframe 1m)")
    container = Container()
    now = container.clock().now()
    first = parse_time(since, "--since")
    last = parse_time(until, "--until") or now
    assert first is not None
    if last <= first:
        fail_usage("--until: must be after --since")
    prepare_tables(container)
    credentials = container.credentials().load(account)
    if credentials is None:
        fail_usage(f"--account: no exchange account {account!r} (add it with `tbot accounts add`)")
    history = CcxtHistory(open_exchange(credentials, container.settings().exchange.timeout_seconds))
    store = CandleStore(container.read_engine()) if to_store else None
    try:
        pages = asyncio.run(_download(history, market, length, first, last, now, page_size, out, store))
    except ExchangeUnavailable as error:
        report(f"error: {error}")
        raise typer.Exit(1) from None
    where = str(out) if out is not None else "the candles table"
    console.print(f"fetched {market} {length.name} candles from {account} into {where} in {pages} pages")
    if out is not None:
        print_report(load_candles_csv(out, market, length).report)
    else:
        assert store is not None
        print_report(load_candles_store(store, market, first, last).report)


async def _download(
    history: CcxtHistory,
    symbol: Symbol,
    timeframe: Timeframe,
    since: datetime,
    until: datetime,
    now: datetime,
    page_size: int,
    out: Path | None,
    store: CandleStore | None,
) -> int:
    """Checks the symbol and timeframe, then writes page after page; the number of pages."""
    try:
        await history.check(symbol, timeframe)
        expected = max(0, (min(until, now) - since) // timeframe.length)
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=errors,
            disable=not errors.is_terminal,  # a bar only where someone watches
        )
        with progress, ExitStack() as files:
            write = store.write if store is not None else None
            if out is not None:
                write = files.enter_context(CandleCsvWriter(out)).write
            assert write is not None
            task = progress.add_task(f"{symbol} {timeframe.name}", total=expected)
            pages = 0
            async for page in history.pages(symbol, timeframe, since, until, now, page_size):
                pages += 1
                write(page)
                reached = (page[-1].opened_at - since) // timeframe.length + 1
                progress.update(task, completed=min(reached, expected))
            return pages
    finally:
        await history.close()
