"""Reading trading-signal messages through a port: ``SignalReader`` (the rule parser, or an
adapter such as the optional LLM reader) and ``RulesThenLlm``, which asks a second reader only
when the rules could not read the message (docs/signals.md, "Free text: the optional LLM
reader")."""

from application.signals.ports import SignalReader
from application.signals.readers import FALLBACK_REASONS, RulesReader, RulesThenLlm

__all__ = ["FALLBACK_REASONS", "RulesReader", "RulesThenLlm", "SignalReader"]
