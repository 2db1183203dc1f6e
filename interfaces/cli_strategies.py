"""`tbot strategies list`: the strategies a bot may use, built-in and installed plug-ins;
`tbot strategies run`: the strategy worker (``interfaces/workers/strategies.py``)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import structlog
import typer
from rich.console import Console
from rich.table import Table

from application.strategies.catalog import StrategyCatalog
from interfaces.composition import Container
from interfaces.errors import clear_errors
from interfaces.process import prepare_process
from interfaces.tables import require_tables
from interfaces.workers.strategies import build_strategies_worker
from interfaces.workers.threads import run_until_signalled

strategies_app = typer.Typer(no_args_is_help=True, help="Strategies: the built-ins and installed plug-ins.")
console = Console()


def _parameters(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    return ", ".join(f"{name}{'*' if name in required else ''}" for name in schema.get("properties", {}))


def _plain(catalog: StrategyCatalog) -> dict[str, Any]:
    return {
        "strategies": [described.plain() for described in catalog.describe()],
        "left_out": [
            {
                "name": failure.name,
                "target": failure.target,
                "distribution": failure.distribution,
                "reason": failure.reason,
            }
            for failure in catalog.failures
        ],
    }


@strategies_app.command("list")
@clear_errors
def list_strategies(
    as_json: Annotated[
        bool,
        typer.Option("--json", help="print one JSON document: each strategy with its parameters' schema"),
    ] = False,
) -> None:
    """Every strategy installed (entry point group `tbot.strategies`): name, timeframe with its
    default parameters, what it does and its parameters (* required). Entry points that fail to
    load are named on stderr and left out."""
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))  # stdout is the answer
    catalog = Container().strategies()
    if as_json:
        typer.echo(json.dumps(_plain(catalog), indent=2))
        return
    table = Table(title="strategies")
    for column in ("name", "timeframe", "description", "parameters (* required)"):
        table.add_column(column)
    for described in catalog.describe():
        table.add_row(
            described.name,
            described.timeframe or "-",
            described.description,
            _parameters(described.params_schema) or "-",
        )
    console.print(table)


@strategies_app.command("run")
@clear_errors
def run() -> None:
    """Run the bots' strategies until stopped (Ctrl-C or SIGTERM): each running bot's strategy is
    called once per closed candle of its timeframe (candles from `tbot marketdata run`), its
    decision recorded and its orders placed through the risk-checked command path. Several may
    run on PostgreSQL: they share the bots, and take over those of one that dies."""
    container = Container()
    prepare_process(container.settings(), "tbot-strategies")
    require_tables(container)
    run_until_signalled([build_strategies_worker(container)])
