"""`tbot telegram link-signals|link-owner|unlink|links|run`: which chats the Telegram bot listens to,
and the bot itself (interfaces/telegram/app.py)."""

from __future__ import annotations

import asyncio
import secrets
import signal
from typing import Annotated
from uuid import UUID

import structlog
import typer
from rich.console import Console
from rich.table import Table

from domain.bot import Bot
from infrastructure.telegram_links import MAX_CHAT_ID, TelegramLinks
from interfaces.cli_http import prepared_container
from interfaces.composition import Container
from interfaces.errors import clear_errors, fail_usage, report
from interfaces.process import prepare_process
from interfaces.telegram.app import (
    BotApiUnreachable,
    PortInUse,
    TokenRejected,
    Webhook,
    build_application,
    run_polling,
    run_webhook,
)
from interfaces.telegram.bot import SignalDesk, TelegramBot
from interfaces.telegram.owner import OwnerDesk

log = structlog.get_logger("tbot.telegram")
telegram_app = typer.Typer(no_args_is_help=True, help="The Telegram bot: signal channels and owner chats.")
console = Console()


def _chat_id(text: str, *, private: bool = False) -> int:
    try:
        chat_id = int(text)
    except ValueError:
        fail_usage("CHAT_ID: must be a whole number (Telegram's chat id, e.g. -1001234567890)")
    if private and not 0 < chat_id < MAX_CHAT_ID:
        fail_usage("CHAT_ID: an owner chat is a private chat, whose id is a positive number")
    if chat_id == 0 or abs(chat_id) >= MAX_CHAT_ID:
        fail_usage(f"CHAT_ID: must be a non-zero number of at most {len(str(MAX_CHAT_ID)) - 1} digits")
    return chat_id


def links_of(container: Container) -> TelegramLinks:
    return TelegramLinks(container.read_engine(), container.clock().now)


def _say(text: str) -> None:
    console.print(text, soft_wrap=True, highlight=False, markup=False)


_NEGATIVE_IDS = {"ignore_unknown_options": True}  # a channel's id, -100..., is no option


@telegram_app.command("link-signals", context_settings=_NEGATIVE_IDS)
@clear_errors
def link_signals(
    bot_id: Annotated[str, typer.Argument(help="the bot (strategy signals) whose signals the chat posts")],
    chat_id: Annotated[str, typer.Argument(help="the channel's or group's chat id")],
) -> None:
    """Posts in the chat (a channel or a group the Telegram bot is in) become signals of the bot,
    sent in the name of the bot's owner. Replaces any link the chat had."""
    try:
        bot = UUID(bot_id)
    except ValueError:
        fail_usage("BOT_ID: must be a UUID")
    chat = _chat_id(chat_id)
    container = prepared_container()
    try:
        found = container.store().find(Bot, bot, read_only=True)
        if found is None:
            fail_usage(f"BOT_ID: no bot {bot}")
        if found.strategy != "signals":
            fail_usage(f"BOT_ID: bot {bot} has strategy {found.strategy}; signals are for strategy signals")
        links_of(container).link_signals(chat, bot)
    finally:
        container.store().close()
    _say(f"chat {chat} linked: its posts are signals of bot {bot}")


@telegram_app.command("link-owner", context_settings=_NEGATIVE_IDS)
@clear_errors
def link_owner(
    user: Annotated[str, typer.Argument(help="the tbot user")],
    chat_id: Annotated[
        str, typer.Argument(help="the user's private chat with the bot (their Telegram user id)")
    ],
) -> None:
    """The private chat takes the user's commands (/status, /positions, /pnl, /pause, /resume,
    /kill) with the user's role. Replaces any link the chat had."""
    chat = _chat_id(chat_id, private=True)
    container = prepared_container()
    try:
        if container.identity().user(user) is None:
            fail_usage(f"USER: no user {user}")
        links_of(container).link_owner(chat, user)
    finally:
        container.store().close()
    _say(f"chat {chat} linked: owner chat of user {user}")


@telegram_app.command("unlink", context_settings=_NEGATIVE_IDS)
@clear_errors
def unlink(chat_id: Annotated[str, typer.Argument(help="the chat id")]) -> None:
    """The chat is no longer listened to."""
    chat = _chat_id(chat_id)
    container = prepared_container()
    try:
        removed = links_of(container).unlink(chat)
    finally:
        container.store().close()
    _say(f"chat {chat} unlinked" if removed else f"chat {chat} was not linked: nothing changed")


@telegram_app.command("links")
@clear_errors
def links() -> None:
    """Every linked chat."""
    container = prepared_container()
    try:
        found = links_of(container).all()
    finally:
        container.store().close()
    table = Table("chat id", "kind", "bot or user", "linked at")
    for link in found:
        table.add_row(
            str(link.chat_id), link.kind.value, str(link.bot_id or link.user_id), link.linked_at.isoformat()
        )
    console.print(table)


@telegram_app.command("run")
@clear_errors
def run(
    webhook: Annotated[
        str | None,
        typer.Option(
            "--webhook",
            help="take updates by webhook at this public URL (https://...); without it, long polling",
            show_default=False,
        ),
    ] = None,
    polling: Annotated[
        bool, typer.Option("--polling", help="take updates by long polling (the default)")
    ] = False,
    listen: Annotated[str, typer.Option("--listen", help="the webhook server's address")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="the webhook server's port")] = 8443,
) -> None:
    """Run the Telegram bot until stopped (Ctrl-C or SIGTERM): signal-source chats' posts become
    their bots' signals, owner chats' commands are answered; everything else is refused."""
    if polling and webhook is not None:
        fail_usage("--polling and --webhook: choose one")
    if webhook is not None and not webhook.startswith(("https://", "http://")):
        fail_usage("--webhook: must be an https:// URL (http:// only for a local Bot API server)")
    container = Container()
    settings = container.settings()
    token = settings.telegram.token.get_secret_value() if settings.telegram.token else ""
    if not token:
        fail_usage("TBOT_TELEGRAM_TOKEN: must be set to run the Telegram bot")
    prepare_process(settings, "tbot-telegram")
    prepared_container(container)
    linked = links_of(container).all()  # on a database `tbot db init` has not prepared, exits 2 here
    if not linked:
        log.warning("no Telegram chat is linked yet: see tbot telegram link-signals and link-owner")
    secret = settings.telegram.webhook_secret
    hook = (
        None
        if webhook is None
        else Webhook(
            webhook, listen, port, secret.get_secret_value() if secret else secrets.token_urlsafe(32)
        )
    )
    try:
        asyncio.run(_serve(container, token, hook))
    except TokenRejected as error:
        fail_usage(str(error))
    except PortInUse as error:
        fail_usage(f"--port: {error}")
    except BotApiUnreachable as error:
        report(f"error: {error}")
        raise typer.Exit(1) from None
    finally:
        container.store().close()


async def _serve(container: Container, token: str, webhook: Webhook | None) -> None:
    settings = container.settings()
    bot = TelegramBot(
        links_of(container),
        SignalDesk(container.bus(), container.store(), settings.signals),
        OwnerDesk(container.bus(), container.store(), container.read_engine(), container.identity()),
    )
    application = build_application(token, settings.telegram.api_url, bot)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if webhook is None:
        await run_polling(application, stop, settings.telegram.poll_timeout_seconds)
    else:
        await run_webhook(application, stop, webhook)
