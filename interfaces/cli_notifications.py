"""`tbot notifications run`: the notifier (``interfaces/workers/notifications.py``)."""

from __future__ import annotations

from typing import Annotated

import typer

from interfaces.composition import Container
from interfaces.errors import clear_errors
from interfaces.process import prepare_process
from interfaces.tables import prepare_tables
from interfaces.workers.notifications import NAME, build_notifier
from interfaces.workers.threads import run_until_signalled

notifications_app = typer.Typer(no_args_is_help=True, help="Telling users what their bots did.")


@notifications_app.command("run")
@clear_errors
def run(
    from_start: Annotated[
        bool,
        typer.Option(
            "--from-start", help="on the first run, notify from the store's first event, not its head"
        ),
    ] = False,
) -> None:
    """Follow the event store until stopped (Ctrl-C or SIGTERM) and deliver each event to the
    channels of its bot's owner that want its kind (docs/notifications.md). One process at a time
    holds the `notifications` lock; others stand by."""
    container = Container()
    prepare_process(container.settings(), "tbot-notifications")
    prepare_tables(container)
    container.notification_channels().position(NAME)  # its tables are there (else: run `tbot db init`)
    run_until_signalled([build_notifier(container, from_start)])
