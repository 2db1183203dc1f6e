"""`tbot bots reset-kill-switch`: what an operator does to a bot from the command line, through the
command bus with the same rules as the HTTP API (the bot's owner or an admin)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console

from application import commands as c
from application.access import Forbidden, StoreOwners, check_bot, require_writer
from application.errors import InvalidInput, NotFound
from application.results import Ack
from interfaces.cli_http import prepared_container
from interfaces.composition import Container
from interfaces.errors import clear_errors, fail_usage

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
