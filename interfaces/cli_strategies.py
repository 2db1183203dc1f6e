"""`tbot strategies list`: the strategies a bot may use, built-in and installed plug-ins."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import structlog
import typer
from rich.console import Console
from rich.table import Table

from application.strategies.catalog import StrategyCatalog, default_catalog
from interfaces.errors import clear_errors

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
    catalog = default_catalog()
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
