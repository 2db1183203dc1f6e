"""`tbot protection run`: the stop-loss and take-profit worker (``interfaces/workers/protection.py``)."""

from __future__ import annotations

import typer

from interfaces.composition import Container
from interfaces.errors import clear_errors
from interfaces.process import prepare_process
from interfaces.tables import require_tables
from interfaces.workers.protection import build_protection_worker
from interfaces.workers.threads import run_until_signalled

protection_app = typer.Typer(no_args_is_help=True, help="Stop losses and take profits.")


@protection_app.command("run")
@clear_errors
def run() -> None:
    """Watch mark prices until stopped (Ctrl-C or SIGTERM) and close every position whose stop loss
    or take profit they reach through the normal (risk-checked) order path; a closing order that
    is denied is asked for again, 1 s after, then doubling up to 60 s apart."""
    container = Container()
    prepare_process(container.settings(), "tbot-protection")
    require_tables(container)
    run_until_signalled([build_protection_worker(container)])
