"""The `tbot` command line: its groups are imported when used (interfaces/cli_lazy.py)."""

from __future__ import annotations

import typer
from rich.console import Console

from interfaces.cli_lazy import LazyGroup
from interfaces.composition import Container
from interfaces.errors import clear_errors
from interfaces.tables import install_tables


class TbotCommands(LazyGroup):
    GROUPS = {
        "projections": ("interfaces.cli_read_side", "projections_app"),
        "events": ("interfaces.cli_read_side", "events_app"),
        "audit": ("interfaces.cli_read_side", "audit_app"),
        "users": ("interfaces.cli_http", "users_app"),
        "keys": ("interfaces.cli_http", "keys_app"),
        "execution": ("interfaces.execution", "execution_app"),
        "accounts": ("interfaces.accounts", "accounts_app"),
        "protection": ("interfaces.protection", "protection_app"),
        "marketdata": ("interfaces.market_data", "marketdata_app"),
        "bots": ("interfaces.cli_bots", "bots_app"),
        "strategies": ("interfaces.cli_strategies", "strategies_app"),
        "backtest": ("interfaces.cli_backtest", "backtest_app"),
        "optimize": ("interfaces.cli_optimize", "optimize_app"),
        "signals": ("interfaces.cli_signals", "signals_app"),
        "notifications": ("interfaces.cli_notifications", "notifications_app"),
        "telegram": ("interfaces.telegram.cli", "telegram_app"),
    }
    COMMANDS = {
        "serve": ("interfaces.cli_http", "serve_cli"),
        "demo": ("interfaces.cli_run", "demo_app"),
        "run": ("interfaces.cli_run", "run_app"),
    }


app = typer.Typer(
    cls=TbotCommands, no_args_is_help=True, help="tbot: an event-sourced trading backend for crypto bots."
)
db_app = typer.Typer(no_args_is_help=True, help="The event store's and read models' tables.")
app.add_typer(db_app, name="db")
console = Console()


@db_app.command("init")
@clear_errors
def db_init() -> None:
    """Create the event store's tables and the read models (once per database; repeating it is
    harmless)."""
    container = Container()
    backend = install_tables(container)
    console.print(f"event store tables ready on {container.settings().store.backend}")
    console.print(f"read models ready; time series on {backend.kind}")


def main() -> None:
    app()
