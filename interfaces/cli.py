"""The `tbot` command line."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from infrastructure.container import Container
from infrastructure.event_store import create_tables
from interfaces.cli_read_side import audit_app, events_app, projections_app
from interfaces.demo import run_demo
from interfaces.errors import clear_errors
from interfaces.read_side import ReadSideContainer

app = typer.Typer(no_args_is_help=True, help="tbot: an event-sourced trading backend for crypto bots.")
db_app = typer.Typer(no_args_is_help=True, help="The event store's and read models' tables.")
app.add_typer(db_app, name="db")
app.add_typer(projections_app, name="projections")
app.add_typer(events_app, name="events")
app.add_typer(audit_app, name="audit")
console = Console()


@db_app.command("init")
@clear_errors
def db_init() -> None:
    """Create the event store's tables and the read models (once per database; repeating it is
    harmless)."""
    container = ReadSideContainer()
    settings = container.settings()
    create_tables(settings)
    backend = container.read_models().install()
    console.print(f"event store tables ready on {settings.backend}")
    console.print(f"read models ready; time series on {backend.value}")


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
