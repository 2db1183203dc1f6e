"""The `tbot` command line."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from infrastructure.container import Container
from infrastructure.event_store import StoreUnavailable, create_tables
from interfaces.demo import run_demo

P = ParamSpec("P")
T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="tbot: an event-sourced trading backend for crypto bots.")
db_app = typer.Typer(no_args_is_help=True, help="The event store's tables.")
app.add_typer(db_app, name="db")
console = Console()
errors = Console(stderr=True)


def clear_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Bad settings exit 2 naming the setting and the rule; an unreachable store exits 1."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except ValidationError as error:
            for problem in error.errors():
                name = ".".join(str(part) for part in problem["loc"]) or "settings"
                errors.print(f"invalid setting {name}: {problem['msg']}")
            raise typer.Exit(2) from None
        except StoreUnavailable as error:
            errors.print(str(error))
            raise typer.Exit(1) from None

    return run


@db_app.command("init")
@clear_errors
def db_init() -> None:
    """Create the event store's tables (once per database; repeating it is harmless)."""
    container = Container()
    settings = container.settings()
    create_tables(settings)
    console.print(f"event store tables ready on {settings.backend}")


@app.command()
@clear_errors
def demo() -> None:
    """Play a short scripted scenario through the real command handlers and print the result."""
    container = Container()
    settings = container.settings()
    if settings.backend == "sqlite":
        create_tables(settings)
    store = container.store()
    report = run_demo(container.bus(), store, container.prices())
    console.print(f"[bold]tbot demo[/bold] on the {settings.backend} event store")
    for step in report.steps:
        console.print(f" - {step}")
    table = Table(title="Positions")
    for column in ("symbol", "quantity", "avg price", "realized PnL", "mark", "unrealized PnL"):
        table.add_column(column, justify="right")
    for line in report.positions:
        table.add_row(
            line.symbol,
            str(line.quantity),
            str(line.average_price),
            str(line.realized_pnl),
            str(line.mark_price),
            str(line.unrealized_pnl),
        )
    console.print(table)
    denial = report.denial
    codes = ", ".join(code.value for code in denial.reason_codes)
    console.print(f"denied order {denial.client_order_id}: [bold red]{codes}[/bold red]")
    console.print(f"  the denial is recorded on the bot as {denial.denial_id}")
    console.print(f"events recorded up to global position {report.last_position}")
    store.close()


def main() -> None:
    app()
