"""Trading signals as channels post them: ``parse_signal`` reads a message into a
``ParsedSignal``, a ``SignalCancel`` or a ``SignalRejection`` (docs/signals.md), ``judge`` holds
a reading made elsewhere (a ``SignalCandidate``) to the same rules, and ``signal_document``
writes any of them as one JSON-ready document."""

from domain.signals.candidate import CandidateTarget, SignalCandidate, judge
from domain.signals.document import signal_document
from domain.signals.model import (
    CancelAction,
    EntryKind,
    ParsedSignal,
    RejectionReason,
    SignalCancel,
    SignalRejection,
    SignalResult,
    TakeProfit,
)
from domain.signals.parser import parse_signal

__all__ = [
    "CancelAction",
    "CandidateTarget",
    "EntryKind",
    "ParsedSignal",
    "RejectionReason",
    "SignalCancel",
    "SignalCandidate",
    "SignalRejection",
    "SignalResult",
    "TakeProfit",
    "judge",
    "parse_signal",
    "signal_document",
]
