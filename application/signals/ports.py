"""What reading a signal needs from outside."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from domain.signals import SignalResult
from domain.values import Symbol


class SignalReader(Protocol):
    async def read(self, text: str, markets: Collection[Symbol]) -> SignalResult:
        """``text`` read against ``markets`` (those the account can trade) into a signal, a
        cancel/close or a refusal with reason codes. Never raises for what the text says or for a
        reader that cannot be reached: that is a refusal too (``PARSER_UNAVAILABLE``)."""
        ...
