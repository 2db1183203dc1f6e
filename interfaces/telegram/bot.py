"""What the Telegram bot does with an update: a post (or its edit) in a chat linked as a bot's signal
source becomes a `ReceiveSignal` of that bot, in its owner's name; a command in a private chat
linked as a user's owner chat is answered by the `OwnerDesk`; anything else is refused and logged
with the chat id. The command bus and the databases are synchronous, so each runs in a thread. A
refused or failing message is logged and never stops the bot."""

from __future__ import annotations

import asyncio
from uuid import UUID

import structlog
from telegram import Chat, Message, Update
from telegram.ext import ContextTypes

from application import commands as c
from application.access import StoreOwners
from application.errors import NotFound
from application.results import SignalAck
from application.store import TradingApplication
from infrastructure.settings import SignalSettings
from infrastructure.telegram_links import LinkKind, TelegramLink, TelegramLinks
from interfaces.signal_reading import read_signal
from interfaces.telegram.owner import HELP, Dispatcher, OwnerDesk

log = structlog.get_logger("tbot.telegram")

UPDATES = ["message", "edited_message", "channel_post", "edited_channel_post"]
"""The only updates the bot asks Telegram for."""
NOT_LINKED = "This chat (id {chat_id}) is not linked to tbot, so I cannot take anything from it."


def signal_source(chat_id: int) -> str:
    return f"telegram-{chat_id}"


class SignalDesk:
    """Posts of a signal-source chat, as signals of its bot sent in the bot owner's name, read as
    the API reads them (with the optional LLM reader when it is configured)."""

    def __init__(self, bus: Dispatcher, store: TradingApplication, settings: SignalSettings) -> None:
        self.bus = bus
        self.store = store
        self.settings = settings

    def receive(
        self, bot_id: UUID, chat_id: int, message_id: int, text: str, correlation_id: str
    ) -> SignalAck:
        owner = StoreOwners(self.store).owner_of(bot_id)
        if owner is None:
            raise NotFound("bot", bot_id)
        source = signal_source(chat_id)
        reading, reader = read_signal(self.settings, self.store, bot_id, text, source, str(message_id))
        ack: SignalAck = self.bus.dispatch(
            c.ReceiveSignal(
                actor=owner,
                bot_id=bot_id,
                text=text,
                source=source,
                message_id=str(message_id),
                correlation_id=correlation_id,
                reading=reading,
                reader=reader,
            )
        )
        return ack


class TelegramBot:
    def __init__(self, links: TelegramLinks, signals: SignalDesk, owners: OwnerDesk) -> None:
        self.links = links
        self.signals = signals
        self.owners = owners

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """python-telegram-bot's handler for every update."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        with structlog.contextvars.bound_contextvars(chat_id=chat.id, update_id=update.update_id):
            try:
                await self._route(update, message, chat, context)
            except Exception as error:  # one bad update never stops the bot
                detail = str(error).replace(context.bot.token, "<token>")[:300]
                log.error("telegram update failed", error=type(error).__name__, detail=detail)

    async def _route(
        self, update: Update, message: Message, chat: Chat, context: ContextTypes.DEFAULT_TYPE
    ) -> None:
        link = await asyncio.to_thread(self.links.link, chat.id)
        edited = update.edited_message is not None or update.edited_channel_post is not None
        if link is not None and link.kind is LinkKind.SIGNALS:
            await self._signal(link, message, chat, edited, update.update_id)
        elif link is not None and link.kind is LinkKind.OWNER and chat.type == Chat.PRIVATE:
            if edited:
                return  # an edited command is not a new one
            await self._command(link, message, chat, context, update.update_id)
        else:
            log.warning("telegram chat refused", chat_type=chat.type, linked=link is not None)
            if chat.type == Chat.PRIVATE and not edited:
                await context.bot.send_message(chat_id=chat.id, text=NOT_LINKED.format(chat_id=chat.id))

    async def _signal(
        self, link: TelegramLink, message: Message, chat: Chat, edited: bool, update_id: int
    ) -> None:
        text = message.text or message.caption
        if not text:
            log.info("telegram post without text ignored", message_id=message.message_id)
            return
        assert link.bot_id is not None
        try:
            ack = await asyncio.to_thread(
                self.signals.receive, link.bot_id, chat.id, message.message_id, text, f"telegram:{update_id}"
            )
        except Exception as error:  # refused or failing, the bot goes on
            log.warning(
                "telegram signal refused",
                bot_id=str(link.bot_id),
                message_id=message.message_id,
                edited=edited,
                error=type(error).__name__,
                detail=str(error)[:300],
            )
            return
        log.info(
            "telegram signal",
            bot_id=str(link.bot_id),
            message_id=message.message_id,
            edited=edited,
            signal_id=str(ack.signal_id),
            status=ack.status,
            changed=ack.changed,
            reasons=list(ack.reasons),
            placed=len(ack.placed),
            denied=[coid for coid, _ in ack.denied],
        )

    async def _command(
        self,
        link: TelegramLink,
        message: Message,
        chat: Chat,
        context: ContextTypes.DEFAULT_TYPE,
        update_id: int,
    ) -> None:
        assert link.user_id is not None
        text = message.text or ""
        if not text.startswith("/"):
            reply = HELP
        else:
            reply = await asyncio.to_thread(self.owners.answer, link.user_id, text, f"telegram:{update_id}")
        log.info("telegram command", user_id=link.user_id, command=text.split(" ", 1)[0][:40])
        await context.bot.send_message(chat_id=chat.id, text=reply)
