"""`tbot signals parse`: read a trading-signal message as a channel posts it (docs/signals.md,
"Reading signals") and show what it says, or why it is refused."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Collection
from typing import Annotated

import structlog
import typer
from rich.console import Console
from rich.table import Table

from application.signals import RulesThenLlm
from domain.errors import InvalidInput
from domain.signals import (
    ParsedSignal,
    SignalCancel,
    SignalRejection,
    SignalResult,
    parse_signal,
    signal_document,
)
from domain.signals.document import plain
from domain.values import Symbol
from infrastructure.settings import MarketDataSettings, SignalSettings
from interfaces.errors import clear_errors, fail_usage

signals_app = typer.Typer(no_args_is_help=True, help="Trading signals as channels post them.")
console = Console()
MARKETS_RULE = "a comma-separated list of BASE/QUOTE markets, e.g. BTC/USDT,ETH/USDT"
SYMBOLS_SETTING = "TBOT_MARKETDATA_SYMBOLS"
LLM_SETTING = "TBOT_SIGNALS_LLM_URL"


def parse_markets(text: str) -> list[Symbol]:
    """``--markets``: BASE/QUOTE symbols separated by commas, in any case; exit 2 otherwise."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        fail_usage(f"--markets: empty; give {MARKETS_RULE}")
    markets = []
    for item in items:
        try:
            markets.append(Symbol.parse(item.upper(), "--markets"))
        except InvalidInput:
            fail_usage(f"--markets: {item!r} is not a market; give {MARKETS_RULE}")
    return markets


def settings_markets() -> list[Symbol]:
    """The market-data symbols the settings name (TBOT_MARKETDATA_SYMBOLS): reading them touches
    no database."""
    markets = []
    for text in MarketDataSettings().symbols:
        try:
            markets.append(Symbol.parse(text, SYMBOLS_SETTING))
        except InvalidInput as error:
            fail_usage(f"invalid setting {SYMBOLS_SETTING}: {text!r} {error.rule}")
    return markets


@signals_app.command("parse")
@clear_errors
def parse(
    text: Annotated[str, typer.Argument(help="the message, as posted (quote it; new lines are kept)")],
    markets: Annotated[
        str | None,
        typer.Option(
            help="the markets the account trades, comma-separated (BTC/USDT,ETH/USDT): a pair not "
            "among them is UNKNOWN_SYMBOL, and a base written alone takes the quote of its one "
            "market. Default: the market-data symbols of the settings (TBOT_MARKETDATA_SYMBOLS)"
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print one JSON object: parsed, cancel or rejected")
    ] = False,
    llm: Annotated[
        bool,
        typer.Option(
            "--llm",
            help="when the rules cannot read TEXT (no pair, direction or entry found), ask the LLM "
            f"of {LLM_SETTING}; its reading is held to the same rules",
        ),
    ] = False,
) -> None:
    """Read TEXT as a trading signal: the pair, direction, entry (market, limit prices or a
    zone), stop loss, targets and leverage; or a cancel/close of an earlier signal; or the
    reasons it is refused. A refusal is an answer, not an error: the exit code is 0 whatever the
    message says."""
    known = parse_markets(markets) if markets is not None else settings_markets()
    result = _rules_then_llm(text, known) if llm else parse_signal(text, known)
    if as_json:
        typer.echo(json.dumps(signal_document(result)))
        return
    console.print(_table(result))


def _rules_then_llm(text: str, markets: Collection[Symbol]) -> SignalResult:
    """The rules, then the configured LLM when they cannot read ``text``; exit 2 when no LLM is
    configured. Its warnings go to stderr; openai is imported only here (most of a second)."""
    from infrastructure.llm_signals import LlmSignalReader  # noqa: PLC0415

    to_stderr = structlog.wrap_logger(structlog.PrintLogger(sys.stderr))
    reader = LlmSignalReader.from_settings(SignalSettings(), log=to_stderr)
    if reader is None:
        fail_usage(f"--llm: no LLM configured; set {LLM_SETTING} to an OpenAI-compatible API's base URL")
    return asyncio.run(RulesThenLlm(reader).read(text, markets))


def _table(result: ParsedSignal | SignalCancel | SignalRejection) -> Table:
    if isinstance(result, SignalRejection):
        table = Table(title="rejected")
        table.add_column("reason")
        table.add_column("meaning")
        for reason in result.reasons:
            table.add_row(reason.value, reason.explanation)
        return table
    table = Table(title="cancel" if isinstance(result, SignalCancel) else "signal", show_header=False)
    table.add_column("field")
    table.add_column("value")
    if isinstance(result, SignalCancel):
        table.add_row("action", result.action.value)
        table.add_row("symbol", str(result.symbol))
        return table
    targets = [
        plain(target.price) + (f" ({plain(target.fraction * 100)}%)" if target.fraction is not None else "")
        for target in result.take_profits
    ]
    table.add_row("symbol", str(result.symbol))
    table.add_row("side", result.side.value)
    table.add_row("entry", result.entry_kind.value)
    table.add_row("entries", ", ".join(plain(price) for price in result.entries) or "-")
    table.add_row("stop loss", plain(result.stop_loss) if result.stop_loss is not None else "-")
    table.add_row("take profits", ", ".join(targets) or "-")
    table.add_row("leverage", f"{plain(result.leverage)}x" if result.leverage is not None else "-")
    return table
