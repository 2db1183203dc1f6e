"""The Telegram bot on python-telegram-bot's ``Application``: by long polling (``getUpdates``) or by
webhook (a small uvicorn server on ``--listen``/``--port`` that checks the
``X-Telegram-Bot-Api-Secret-Token`` header and hands each update to the application; ``setWebhook``
tells Telegram the public URL and the secret).

The token is a secret that python-telegram-bot puts in every request URL and in some of its error
messages: while the bot runs, a logging filter masks it on the ``httpx`` and ``telegram`` loggers
(as infrastructure/notify/telegram.py does), and a token Telegram rejects ends the run with our own
words, never its message."""

from __future__ import annotations

import asyncio
import hmac
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from infrastructure.notify.telegram import RedactToken
from interfaces.telegram.bot import UPDATES, TelegramBot

log = structlog.get_logger("tbot.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_REDACTED_LOGGERS = (
    "httpx",
    "httpcore",
    "telegram",
    "telegram.Bot",
    "telegram.ext",
    "telegram.ext.Application",
    "telegram.ext.Updater",
    "telegram.ext.ExtBot",
)


class TokenRejected(Exception):
    """Telegram did not take the bot's token (our words: its own quote the token)."""


@contextmanager
def token_masked(token: str) -> Iterator[None]:
    """The token masked on python-telegram-bot's and httpx's loggers while inside."""
    redact = RedactToken(token)
    for name in _REDACTED_LOGGERS:
        logging.getLogger(name).addFilter(redact)
    try:
        yield
    finally:
        for name in _REDACTED_LOGGERS:
            logging.getLogger(name).removeFilter(redact)


def build_application(token: str, api_url: str, bot: TelegramBot) -> Application:  # type: ignore[type-arg]
    """The python-telegram-bot Application, pointed at ``api_url`` (Telegram's or a local fake),
    with one handler for every update and one for errors."""
    api_url = api_url.rstrip("/")
    builder = (
        ApplicationBuilder().token(token).base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot")
    )
    with token_masked(token):  # the Bot logs its URLs, token included, as it is made
        application = builder.build()
    application.add_handler(TypeHandler(Update, bot.on_update))
    application.add_error_handler(_log_error)
    return application


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    message = error.message if isinstance(error, TelegramError) else str(error)
    token = context.bot.token
    log.error("telegram error", error=type(error).__name__, detail=message.replace(token, "<token>")[:300])


@dataclass(frozen=True)
class Webhook:
    url: str
    """The public URL Telegram posts updates to; its path is the path served."""
    host: str
    port: int
    secret: str


class BotApiUnreachable(Exception):
    """The Bot API did not answer when the bot started (our words, the token masked)."""


async def _started(application: Application) -> None:  # type: ignore[type-arg]
    try:
        await application.initialize()
    except InvalidToken:
        raise TokenRejected("Telegram rejected the bot token (TBOT_TELEGRAM_TOKEN)") from None
    except TelegramError as error:
        detail = error.message.replace(application.bot.token, "<token>")
        raise BotApiUnreachable(
            f"cannot reach the Telegram Bot API at {_host(application.bot.base_url)}: {detail}"
        ) from None
    await application.start()


async def run_polling(application: Application, stop: asyncio.Event, poll_timeout: int) -> None:  # type: ignore[type-arg]
    """Long polling until ``stop`` is set (the webhook, if one is set, is deleted first)."""
    with token_masked(application.bot.token):
        await _started(application)
        try:
            assert application.updater is not None
            await application.updater.start_polling(
                poll_interval=0.0, timeout=poll_timeout, allowed_updates=UPDATES
            )
            log.info("telegram bot polling", api=_host(application.bot.base_url))
            await stop.wait()
            await application.updater.stop()
        finally:
            await application.stop()
            await application.shutdown()


def webhook_app(application: Application, path: str, secret: str) -> Starlette:  # type: ignore[type-arg]
    """The webhook's HTTP side: ``POST path`` with the secret header, the update as JSON."""
    expected = secret.encode()

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("telegram webhook refused: wrong or missing secret token", client=_client(request))
            return Response(status_code=403)
        try:
            update = Update.de_json(await request.json(), application.bot)
        except Exception as error:  # a bad body is answered, not raised
            log.warning("telegram webhook refused: not an update", error=type(error).__name__)
            return Response(status_code=400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return Starlette(routes=[Route(path, receive, methods=["POST"])])


async def run_webhook(application: Application, stop: asyncio.Event, webhook: Webhook) -> None:  # type: ignore[type-arg]
    """Serves the webhook and sets it at Telegram, until ``stop`` is set (or the server ends)."""
    path = urlsplit(webhook.url).path or "/"
    config = uvicorn.Config(
        webhook_app(application, path, webhook.secret),
        host=webhook.host,
        port=webhook.port,
        lifespan="off",
        access_log=False,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    listening = listen(webhook.host, webhook.port)
    with token_masked(application.bot.token):
        try:
            await _started(application)
        except BaseException:
            listening.close()
            raise
        serving = asyncio.create_task(server.serve(sockets=[listening]))
        try:
            while not server.started:
                if serving.done():
                    serving.result()
                    raise OSError(f"the webhook server on {webhook.host}:{webhook.port} did not start")
                await asyncio.sleep(0.02)
            await application.bot.set_webhook(
                url=webhook.url, secret_token=webhook.secret, allowed_updates=UPDATES
            )
            log.info("telegram bot on webhook", url=webhook.url, listen=f"{webhook.host}:{webhook.port}")
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
        finally:
            server.should_exit = True
            await serving
            await application.stop()
            await application.shutdown()


class PortInUse(Exception):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"port {port} on {host} is in use (or not ours to listen on)")


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` before anything is asked of Telegram."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise PortInUse(host, port) from None
    sock.set_inheritable(True)
    return sock


def _host(url: str) -> str:
    """A Bot API URL without its path (where the token is)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _client(request: Request) -> str:
    return request.client.host if request.client is not None else "?"
