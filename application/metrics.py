"""What the core tells the metrics (ports; infrastructure/metrics.py implements them with
Prometheus), and how a command's end is named there. Every label is from a small, fixed set (a
command's type, an outcome, a reason code, a strategy's name): never a bot, user or order id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, Protocol

from application.errors import ConcurrencyConflict, DomainError, OrderDenied

CommandOutcome = Literal["ok", "denied", "conflict", "refused", "error"]


class CommandMetrics(Protocol):
    def command_done(self, command: str, outcome: CommandOutcome, seconds: float) -> None:
        """A command of type ``command`` ended with ``outcome`` after ``seconds``."""
        ...

    def risk_denied(self, reasons: Iterable[str]) -> None:
        """The risk rules refused an order, with these reason codes."""
        ...

    def signal_received(self, outcome: str) -> None:
        """A new signal message came to ``outcome`` (parsed, rejected, executed, called_off)."""
        ...


class DecisionMetrics(Protocol):
    def decided(self, strategy: str, acted: bool) -> None:
        """A bot's strategy decided on a candle: ``acted`` when it asked for orders."""
        ...


class NoMetrics:
    """Counts nothing: for a bus or runtime nobody scrapes (backtests, tests)."""

    def command_done(self, command: str, outcome: CommandOutcome, seconds: float) -> None:
        pass

    def risk_denied(self, reasons: Iterable[str]) -> None:
        pass

    def signal_received(self, outcome: str) -> None:
        pass

    def decided(self, strategy: str, acted: bool) -> None:
        pass


NO_METRICS = NoMetrics()


def command_outcome(error: BaseException | None) -> CommandOutcome:
    """How a command ended: ``ok`` (done, or nothing to do), ``denied`` by the risk rules,
    ``conflict`` (other writers kept changing its aggregates, or its bot was busy), ``refused``
    (any other rule: bad input, not found, an illegal transition) or ``error`` (a fault)."""
    if error is None:
        return "ok"
    if isinstance(error, OrderDenied):
        return "denied"
    if isinstance(error, ConcurrencyConflict):
        return "conflict"
    if isinstance(error, DomainError):
        return "refused"
    return "error"
