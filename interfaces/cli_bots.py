"""`tbot bots reset-kill-switch`: what an operator does to a bot from the command line, through the
command bus with the same rules as the HTTP API (the bot's owner or an admin); `tbot bots
performance`: how a bot performed, read from the read models as the API reads them."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from application import commands as c
from application.access import Forbidden, StoreOwners, check_bot, require_writer
from application.bot_performance import BotPerformance, bot_performance
from application.errors import InvalidInput, NotFound
from application.results import Ack
from domain.equity import STEPS, Period
from domain.values import decimal_field
from interfaces.bot_performance import document
from interfaces.cli_http import prepared_container
from interfaces.cli_options import parse_time
from interfaces.composition import Container
from interfaces.errors import clear_errors, fail_usage
from projections import queries
from projections.performance_queries import performance_inputs

bots_app = typer.Typer(no_args_is_help=True, help="Bots.")
console = Console()


@bots_app.command("reset-kill-switch")
@clear_errors
def reset_kill_switch(
    bot_id: Annotated[str, typer.Argument(help="the bot's id", show_default=False)],
    reason: Annotated[str, typer.Option(help="why trading may resume (recorded)", show_default=False)],
    as_user: Annotated[
        str,
        typer.Option("--as", help="the user resetting it: the bot's owner or an admin", show_default=False),
    ],
) -> None:
    """Reset a bot's kill switch, recorded with the user and the reason. Only this turns the
    switch off (stopping and starting the bot leaves it on)."""
    try:
        bot = UUID(bot_id)
    except ValueError:
        fail_usage("BOT_ID: must be a UUID")
    container = prepared_container()
    try:
        ack = _reset(container, bot, reason, as_user)
    finally:
        container.store().close()
    if ack.changed:
        console.print(
            f"kill switch of bot {bot} reset (event position {ack.position})", soft_wrap=True, highlight=False
        )
    else:
        console.print(
            f"the kill switch of bot {bot} was not on: nothing changed", soft_wrap=True, highlight=False
        )


def _reset(container: Container, bot: UUID, reason: str, as_user: str) -> Ack:
    caller = container.identity().user(as_user)
    if caller is None:
        fail_usage(f"--as: no user {as_user}")
    try:
        require_writer(caller)
        check_bot(StoreOwners(container.store()), caller, bot)
        return container.bus().dispatch(c.ResetKillSwitch(actor=caller.user_id, bot_id=bot, reason=reason))
    except Forbidden as error:
        fail_usage(f"--as: {error}")
    except NotFound:
        fail_usage(f"BOT_ID: no such bot that {as_user} may act on")
    except InvalidInput as error:
        fail_usage(f"--{error.field}: {error.rule}")


# Where each field the measurement may refuse is on the command line.
_OPTIONS = {"bot_id": "BOT_ID", "capital": "--capital", "end": "--end", "step": "--step"}


@bots_app.command("performance")
@clear_errors
def performance(
    bot_id: Annotated[str, typer.Argument(help="the bot's id", show_default=False)],
    capital: Annotated[
        str,
        typer.Option(
            help="what the bot started with, in the quote currency of its markets", show_default=False
        ),
    ],
    start: Annotated[
        str | None, typer.Option(help="the first point, ISO 8601 (default: the bot's creation)")
    ] = None,
    end: Annotated[str | None, typer.Option(help="the last point, ISO 8601 (default: now)")] = None,
    step: Annotated[str, typer.Option(help=f"between points: {', '.join(STEPS)}")] = "1h",
    trades: Annotated[
        bool, typer.Option("--trades", help="list the round trips closed in the period")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="the API's JSON document instead of tables")
    ] = False,
) -> None:
    """How a running bot performed from START to END, measured like a backtest from the read
    models: capital plus realized PnL plus its positions at the candles' closes, one point per
    STEP (docs/backtesting.md, "Performance of a running bot")."""
    try:
        bot = UUID(bot_id)
    except ValueError:
        fail_usage("BOT_ID: must be a UUID")
    amount = decimal_field(capital, "--capital")
    first, last = parse_time(start, "--start"), parse_time(end, "--end")
    container = prepared_container()
    read_models = container.read_models()
    try:
        with read_models.engine.connect() as conn:
            row = conn.execute(queries.bot(bot)).mappings().first()
            if row is None:
                fail_usage(f"BOT_ID: no bot {bot} in the read models")
            period = Period.of(first or row["created_at"], last or container.clock().now(), step)
            inputs = performance_inputs(conn, read_models.backend, bot, period)
        report = bot_performance(amount, period, inputs.fills, inputs.marks, inputs.denials)
    except InvalidInput as refused:
        fail_usage(f"{_OPTIONS.get(refused.field, refused.field)}: {refused.rule}")
    finally:
        container.store().close()
    answer = document(bot, report, with_trades=trades)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
    else:
        _tables(answer, report)


def _tables(answer: dict[str, Any], report: BotPerformance) -> None:
    counts = answer["counts"]
    title = (
        f"bot {answer['bot_id']}: {answer['start']} to {answer['end']}, {answer['points']:,} points of "
        f"{answer['step']}; capital {answer['capital']} {answer['quote'] or ''}".rstrip()
    )
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in answer["metrics"].items():
        table.add_row(name, "-" if value is None else str(value))
    console.print(table)
    console.print(
        f"{counts['fills']:,} fills, {counts['trades']:,} round trips, {counts['denials']:,} denied orders; "
        f"valued at {answer['valuation']} ({answer['valued_at_fills']:,} points at a last fill's price)",
        highlight=False,
    )
    for carried in answer["carried"]:
        console.print(
            f"carried in: {carried['quantity']} {carried['symbol']} at {carried['average_price']}",
            highlight=False,
        )
    if "trades" in answer:
        trips = Table(title=f"round trips closed in the period ({len(report.trips):,})")
        columns = ("symbol", "side", "entry_time", "exit_time", "quantity", "entry_price", "exit_price")
        for column in (*columns, "fees", "pnl"):
            trips.add_column(column, justify="right" if column not in columns[:4] else "left")
        for trip in answer["trades"]:
            trips.add_row(*(str(trip[column]) for column in (*columns, "fees", "pnl")))
        console.print(trips)
