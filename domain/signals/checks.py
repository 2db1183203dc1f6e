"""The rules a signal must pass however it was read, shared by the rule-based parser
(``parser.parse_signal``) and the check of a reading from elsewhere (``candidate.judge``): which
one known market the mentions of a pair name, the direction the prices tell, the sides of the
prices, and the targets' fractions."""

from __future__ import annotations

from decimal import Decimal

from domain.signals.model import RejectionReason, TakeProfit
from domain.signals.pairs import Mention, Status
from domain.values import Side, Symbol

R = RejectionReason


def named_symbol(mentions: tuple[Mention, ...]) -> tuple[Symbol | None, set[RejectionReason]]:
    """The one market ``mentions`` name, or the reasons they name none for certain."""
    keys = {mention.key: mention.status for mention in mentions}
    if not keys:
        return None, {R.NO_SYMBOL}
    if len(keys) > 1:
        return None, {R.AMBIGUOUS_SYMBOL}
    ((key, status),) = keys.items()
    if status is Status.AMBIGUOUS:
        return None, {R.AMBIGUOUS_SYMBOL}
    if status is Status.UNKNOWN or not isinstance(key, Symbol):
        return None, {R.UNKNOWN_SYMBOL}
    return key, set()


def infer_side(
    entries: tuple[Decimal, ...], stop: Decimal | None, targets: tuple[Decimal, ...]
) -> Side | None:
    """The direction the prices tell when no word does: a stop loss below every entry or targets
    above every entry say long, the mirror says short; both must agree when both are given. At
    the market, only a stop loss and targets together tell (the stop below every target: long)."""
    if not entries:
        return _stop_says(stop, targets) if stop is not None and targets else None
    votes = []
    if stop is not None:
        votes.append(_stop_says(stop, entries))
    if targets:
        votes.append(_targets_say(targets, entries))
    return votes[0] if votes and all(vote is not None and vote == votes[0] for vote in votes) else None


def _stop_says(stop: Decimal, others: tuple[Decimal, ...]) -> Side | None:
    """Long when the stop loss is below every one of ``others``, short when above every one."""
    if stop < min(others):
        return Side.BUY
    if stop > max(others):
        return Side.SELL
    return None


def _targets_say(targets: tuple[Decimal, ...], entries: tuple[Decimal, ...]) -> Side | None:
    """Long when every target is above every entry, short when every target is below every one."""
    if min(targets) > max(entries):
        return Side.BUY
    if max(targets) < min(entries):
        return Side.SELL
    return None


def wrong_sides(
    side: Side, entries: tuple[Decimal, ...], stop: Decimal | None, targets: tuple[Decimal, ...]
) -> set[RejectionReason]:
    """For a long, the stop loss must be below every entry and every target above every entry
    (for a zone: below its low end, above its high end); for a short the mirror. At the market,
    where no entry price is known, the stop loss must be below every target of a long (above
    every target of a short)."""
    found: set[RejectionReason] = set()
    if not entries:
        if stop is not None and targets and not _on_side(stop, targets, -side.sign):
            found.add(R.STOP_LOSS_WRONG_SIDE)
        return found
    if stop is not None and not _on_side(stop, entries, -side.sign):
        found.add(R.STOP_LOSS_WRONG_SIDE)
    if any(not _on_side(target, entries, side.sign) for target in targets):
        found.add(R.TAKE_PROFIT_WRONG_SIDE)
    return found


def _on_side(price: Decimal, others: tuple[Decimal, ...], sign: int) -> bool:
    """Whether ``price`` is above every one of ``others`` (sign 1) or below every one (sign -1)."""
    return price > max(others) if sign > 0 else price < min(others)


def fractions_fit(targets: list[TakeProfit] | tuple[TakeProfit, ...]) -> bool:
    """Each percentage above 0 and at most 100%, and all of them together at most 100%."""
    fractions = [target.fraction for target in targets if target.fraction is not None]
    return all(0 < fraction <= 1 for fraction in fractions) and sum(fractions, Decimal(0)) <= 1
