"""Readers composed over the port: the rule parser as a ``SignalReader``, and the rules first
with a second reader (the LLM's) asked only when the rules could not read the message at all."""

from __future__ import annotations

from collections.abc import Collection

from application.signals.ports import SignalReader
from domain.signals import RejectionReason, SignalRejection, SignalResult, parse_signal
from domain.values import Symbol

R = RejectionReason
FALLBACK_REASONS = frozenset({R.NOT_A_SIGNAL, R.NO_SYMBOL, R.NO_DIRECTION, R.NO_ENTRY})
"""The rules' refusals that mean "could not read" rather than "read, and found wrong": only a
refusal with no reason outside these is handed to the second reader. A wrong side, an unknown or
ambiguous pair, a bad number, conflicting directions, several signals stay refused."""


class RulesReader:
    """``parse_signal`` behind the port: deterministic, no I/O."""

    async def read(self, text: str, markets: Collection[Symbol]) -> SignalResult:
        return parse_signal(text, markets)


class RulesThenLlm:
    """The rules' answer whenever they read the message (a signal, a cancel, or a refusal for
    what they found wrong); otherwise ``llm``'s answer as it is, whatever it is (its own refusal,
    PARSER_UNAVAILABLE included), since the rules had nothing to say."""

    def __init__(self, llm: SignalReader, rules: SignalReader | None = None) -> None:
        self._llm = llm
        self._rules = rules if rules is not None else RulesReader()

    async def read(self, text: str, markets: Collection[Symbol]) -> SignalResult:
        result, _ = await self.reading(text, markets)
        return result

    async def reading(self, text: str, markets: Collection[Symbol]) -> tuple[SignalResult, str]:
        """The result and which reader gave it: ``rules`` or ``llm``."""
        result = await self._rules.read(text, markets)
        if isinstance(result, SignalRejection) and set(result.reasons) <= FALLBACK_REASONS:
            return await self._llm.read(text, markets), "llm"
        return result, "rules"
