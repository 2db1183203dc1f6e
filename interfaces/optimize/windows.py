"""In-sample and out-of-sample parts of a candle history, cut by time (docs/optimisation.md,
"Out of sample"): one train/test split, or anchored walk-forward folds. A part is a range of
indices into the candles, oldest first; a test part always starts where its train part ends."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from domain.errors import InvalidInput

MIN_CANDLES = 2
"""The fewest candles a part may have: fewer give no return to measure."""

_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Fold:
    """One fold: the optimiser sees ``train`` only; its best parameters are then run on ``test``."""

    number: int  # from 1
    train: range
    test: range


def split(times: Sequence[datetime], fraction: Decimal) -> Fold:
    """One fold: the candles opened before ``fraction`` of the time from the first candle to the
    last are in-sample, the rest out-of-sample."""
    if not Decimal(0) < fraction < Decimal(1):
        raise InvalidInput("--split", "must be more than 0 and less than 1")
    cut = _cut(times, fraction)
    fold = Fold(1, range(cut), range(cut, len(times)))
    _check(fold, "--split")
    return fold


def folds(times: Sequence[datetime], count: int) -> list[Fold]:
    """Anchored walk-forward: the time from the first candle to the last in ``count + 1`` equal
    blocks; fold ``k`` trains on blocks 1 to ``k`` (everything before its test) and tests on block
    ``k + 1``. The tests follow one another and cover every candle after the first block."""
    if count < 1:
        raise InvalidInput("--folds", "must be at least 1")
    cuts = [_cut(times, Decimal(k) / (count + 1)) for k in range(1, count + 1)] + [len(times)]
    made = [Fold(k + 1, range(cuts[k]), range(cuts[k], cuts[k + 1])) for k in range(count)]
    for fold in made:
        _check(fold, "--folds")
    return made


def _cut(times: Sequence[datetime], fraction: Decimal) -> int:
    """The index of the first candle opened at or after ``fraction`` of the way from the first
    candle's time to the last's."""
    if not times:
        return 0
    span = (times[-1] - times[0]) // _MICROSECOND
    offset = int((span * fraction).to_integral_value(rounding=ROUND_FLOOR))
    return bisect_left(times, times[0] + offset * _MICROSECOND)


def _check(fold: Fold, option: str) -> None:
    for part, candles in (("in-sample", fold.train), ("out-of-sample", fold.test)):
        if len(candles) < MIN_CANDLES:
            raise InvalidInput(
                option,
                f"fold {fold.number}'s {part} part has {len(candles)} candles, fewer than {MIN_CANDLES}: "
                "give more candles or fewer folds",
            )
