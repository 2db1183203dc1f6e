"""The in-sample and out-of-sample parts of a history (interfaces/optimize/windows.py), for any
history: a split and the walk-forward folds cover the candles without overlap, and every
out-of-sample part comes after the in-sample part it is judged against."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from interfaces.optimize.windows import MIN_CANDLES, Fold, folds, split

START = datetime(2025, 1, 1, tzinfo=UTC)

# Opening times one minute apart with gaps of up to a day: gaps make cutting by time differ from
# cutting by count.
histories = st.lists(st.integers(min_value=1, max_value=1440), min_size=0, max_size=400).map(
    lambda steps: [START + timedelta(minutes=sum(steps[:n])) for n in range(len(steps) + 1)]
)


def _check_fold(fold: Fold, times: list[datetime]) -> None:
    assert fold.train.start == 0 and fold.train.stop == fold.test.start  # anchored, no overlap
    assert len(fold.train) >= MIN_CANDLES and len(fold.test) >= MIN_CANDLES
    assert times[fold.train.stop - 1] < times[fold.test.start]  # the test is after the train


@given(histories, st.integers(min_value=1, max_value=99).map(lambda n: Decimal(n) / 100))
def test_a_split_cuts_the_candles_in_two_by_time(times: list[datetime], fraction: Decimal) -> None:
    try:
        fold = split(times, fraction)
    except InvalidInput as refused:
        assert refused.field == "--split" and "fewer than" in refused.rule
        return
    _check_fold(fold, times)
    assert [*fold.train, *fold.test] == list(range(len(times)))
    cut = times[0] + (times[-1] - times[0]) * float(fraction)
    assert times[fold.test.start] >= cut - timedelta(seconds=1)
    assert times[fold.train.stop - 1] < cut


@given(histories, st.integers(min_value=1, max_value=8))
def test_walk_forward_folds_partition_the_candles(times: list[datetime], count: int) -> None:
    try:
        made = folds(times, count)
    except InvalidInput as refused:
        assert refused.field == "--folds" and "fewer than" in refused.rule
        return
    assert [fold.number for fold in made] == list(range(1, count + 1))
    for fold in made:
        _check_fold(fold, times)
    # the first in-sample part and the out-of-sample parts, in order, are every candle once
    assert [*made[0].train, *(i for fold in made for i in fold.test)] == list(range(len(times)))
    for earlier, later in pairwise(made):
        assert later.train.stop == earlier.test.stop  # each fold trains on all before its test


def test_evenly_spaced_candles_split_as_the_fraction_says() -> None:
    times = [START + timedelta(minutes=n) for n in range(100)]
    assert split(times, Decimal("0.7")) == Fold(1, range(70), range(70, 100))
    assert folds(times, 3) == [
        Fold(1, range(25), range(25, 50)),
        Fold(2, range(50), range(50, 75)),
        Fold(3, range(75), range(75, 100)),
    ]


@pytest.mark.parametrize("fraction", ["0", "1", "1.5", "-0.2"])
def test_a_split_outside_0_to_1_is_refused(fraction: str) -> None:
    with pytest.raises(InvalidInput, match="--split: must be more than 0 and less than 1"):
        split([START + timedelta(minutes=n) for n in range(10)], Decimal(fraction))


def test_too_many_folds_for_the_candles_are_refused_naming_the_fold() -> None:
    with pytest.raises(InvalidInput, match=r"--folds: fold 1's in-sample part has 1 candles, fewer than 2"):
        folds([START + timedelta(minutes=n) for n in range(10)], 9)
    with pytest.raises(InvalidInput, match="--folds: must be at least 1"):
        folds([START], 0)
