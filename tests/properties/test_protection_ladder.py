"""A ladder of targets closes the position in parts: whatever the targets' shares (given, some
given, none given), taking each target's closing order in turn, filled whole, closes exactly the
position the ladder was set on, never more than is held, each part its given share; and each
target is asked for once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.ids import BotId, OrderId, PositionId, TradeId, UserId
from domain.position import Position
from domain.risk import parse_risk_limits
from domain.values import EventMeta, MarketSpec, Stamp, Symbol
from tests.support.world import LIMITS

STAMP = Stamp(datetime(2026, 1, 1, tzinfo=UTC), EventMeta(UserId("t"), "c", "c"))
ENTRY = Decimal(50000)
STEP = MarketSpec(Decimal("0.00000001"), Decimal("0.01"), Decimal(0), Decimal(0))
NO_FRACTIONS = parse_risk_limits(dict(LIMITS))  # no stop loss or take profit of the bot's own


@st.composite
def ladders(draw: st.DrawFn) -> list[Decimal | None]:
    """The shares of 1 to 5 targets, in hundredths, adding up to at most 1, some left unsaid;
    every share more than nothing, as a signal's ladder is (``signal_targets``)."""
    count = draw(st.integers(1, 5))
    cuts = sorted(draw(st.lists(st.integers(1, 100), min_size=count, max_size=count, unique=True)))
    shares = [Decimal(b - a) / 100 for a, b in zip([0, *cuts], cuts, strict=False)]
    return [share if draw(st.booleans()) else None for share in shares]


def opened(quantity: Decimal, fractions: list[Decimal | None]) -> Position:
    position = Position.open(PositionId(uuid4()), BotId(uuid4()), Symbol("BTC", "USDT"), STAMP)
    position.apply_fill(OrderId(uuid4()), TradeId("entry"), quantity, ENTRY, Decimal(0), STAMP)
    targets = [(ENTRY + 1000 * (n + 1), fraction) for n, fraction in enumerate(fractions)]
    assert position.protect(Decimal(48000), targets[0][0], STAMP, targets=targets)
    return position


@given(fractions=ladders(), quantity=st.decimals(Decimal("0.001"), Decimal(10), places=3))
def test_the_targets_close_exactly_the_position_in_their_shares(
    fractions: list[Decimal | None], quantity: Decimal
) -> None:
    position = opened(quantity, fractions)
    closed: list[Decimal] = []
    for n in range(len(fractions)):
        mark = ENTRY + 1000 * (n + 1)
        hit = position.triggered(NO_FRACTIONS, mark, STAMP.at)
        assert hit == ("take_profit", mark)
        target = position.target_for("take_profit")
        assert target == n
        part = STEP.round_down(position.closing_quantity(target))  # as the protection worker does
        assert 0 < part <= abs(position.quantity)
        assert position.fire(
            1, "take_profit", mark, mark, f"tp{n}", OrderId(uuid4()), [], STAMP, target, part
        )
        assert not position.fire(
            1, "take_profit", mark, mark, f"tp{n}", OrderId(uuid4()), [], STAMP, target, part
        )
        position.apply_fill(OrderId(uuid4()), TradeId(f"tp{n}"), -part, mark, Decimal(0), STAMP)
        closed.append(part)
    assert sum(closed) == quantity and position.quantity == 0
    for part, fraction in zip(closed[:-1], fractions[:-1], strict=True):
        if fraction is not None:
            assert part == STEP.round_down(quantity * fraction)


@given(fractions=ladders(), reached=st.integers(0, 4))
def test_the_stop_closes_what_the_targets_left(fractions: list[Decimal | None], reached: int) -> None:
    position = opened(Decimal(1), fractions)
    for n in range(min(reached, len(fractions) - 1)):
        mark = ENTRY + 1000 * (n + 1)
        part = STEP.round_down(position.closing_quantity(n))
        position.fire(1, "take_profit", mark, mark, f"tp{n}", OrderId(uuid4()), [], STAMP, n, part)
        position.apply_fill(OrderId(uuid4()), TradeId(f"tp{n}"), -part, mark, Decimal(0), STAMP)
    assert position.triggered(NO_FRACTIONS, Decimal(47000), STAMP.at) == ("stop_loss", Decimal(48000))
    assert position.target_for("stop_loss") is None
    assert position.closing_quantity(None) == position.quantity > 0
