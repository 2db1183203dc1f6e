"""`tbot execution run`: the execution worker (``interfaces/workers/execution.py``)."""

from __future__ import annotations

import typer

from interfaces.composition import Container
from interfaces.errors import clear_errors
from interfaces.process import prepare_process
from interfaces.tables import require_tables
from interfaces.workers.execution import build_execution_worker
from interfaces.workers.threads import run_until_signalled

execution_app = typer.Typer(no_args_is_help=True, help="Order execution on the exchanges.")


@execution_app.command("run")
@clear_errors
def run() -> None:
    """Work the orders until stopped (Ctrl-C or SIGTERM): send placed orders to their exchange
    account, record what happens to them, carry out cancels; reconcile with the exchanges first."""
    container = Container()
    prepare_process(container.settings(), "tbot-execution")
    require_tables(container)
    run_until_signalled([build_execution_worker(container)])
