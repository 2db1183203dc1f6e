"""A signal message read before its command, when the optional LLM reader is configured
(``TBOT_SIGNALS_LLM_URL``): the rules first, the LLM only for text they cannot read. The API and the
Telegram bot call it on their own worker thread, outside the bot's turn, so a model taking seconds
never holds up the bot's other commands; without the setting the command's handler reads with the
rules."""

from __future__ import annotations

import asyncio
from uuid import UUID

from application.signals import RulesThenLlm
from application.store import TradingApplication
from domain.bot import Bot
from domain.signal import Signal, signal_id_for
from domain.signals import SignalResult
from domain.values import Symbol
from infrastructure.settings import SignalSettings

RULES = (None, "rules")


def read_signal(
    settings: SignalSettings,
    store: TradingApplication,
    bot_id: UUID,
    text: str,
    source: str,
    message_id: str | None,
) -> tuple[SignalResult | None, str]:
    """The reading to put in ``ReceiveSignal`` and which reader gave it; ``(None, "rules")`` when
    the LLM is off, the bot is unknown (the command says so), or the message was read before."""
    if settings.llm_url is None:
        return RULES
    bot = store.find(Bot, bot_id, read_only=True)
    if bot is None:
        return RULES
    if message_id is not None:
        earlier = store.find(Signal, signal_id_for(bot.bot_id, source, message_id), read_only=True)
        if earlier is not None and earlier.text == text:
            return RULES  # a repeat: answered with its first outcome, read no more
    from infrastructure.llm_signals import LlmSignalReader  # noqa: PLC0415 (openai loads in ~0.6 s)

    llm = LlmSignalReader.from_settings(settings)
    assert llm is not None
    markets = [Symbol.parse(symbol) for symbol in bot.allowed_symbols]
    return asyncio.run(RulesThenLlm(llm).reading(text, markets))
