"""A parse result as one JSON-ready document, for the command line and the API alike.

Prices are decimal strings in plain notation without trailing zeros ("60000", "0.0345", never
"6E+4"); a fraction likewise ("0.5")."""

from __future__ import annotations

from decimal import Decimal

from domain.signals.model import ParsedSignal, SignalCancel, SignalRejection, SignalResult


def plain(value: Decimal) -> str:
    """``value`` in plain notation without trailing zeros; zero as "0"."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _optional(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


def signal_document(result: SignalResult) -> dict[str, object]:
    """``{"status": "parsed" | "cancel" | "rejected", ...}`` (docs/signals.md, "JSON output")."""
    if isinstance(result, SignalRejection):
        return {"status": "rejected", "reasons": [reason.value for reason in result.reasons]}
    if isinstance(result, SignalCancel):
        return {"status": "cancel", "action": result.action.value, "symbol": str(result.symbol)}
    return _parsed(result)


def _parsed(signal: ParsedSignal) -> dict[str, object]:
    document: dict[str, object] = {
        "status": "parsed",
        "symbol": str(signal.symbol),
        "side": signal.side.value,
        "entry_kind": signal.entry_kind.value,
        "entries": [plain(price) for price in signal.entries],
        "stop_loss": _optional(signal.stop_loss),
        "take_profits": [plain(target.price) for target in signal.take_profits],
        "leverage": _optional(signal.leverage),
    }
    if any(target.fraction is not None for target in signal.take_profits):
        document["take_profit_fractions"] = [_optional(target.fraction) for target in signal.take_profits]
    return document
