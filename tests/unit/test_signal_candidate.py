"""``judge``: a reading made elsewhere (an LLM's) held to the rule parser's rules. A table of
candidates, each with its full reading or its exact reasons; then properties: whatever the rule
parser reads, handed over as a candidate, is judged to the very same result, and no candidate
makes ``judge`` raise or pass a signal with a price on the wrong side."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.signals import (
    CancelAction,
    CandidateTarget,
    ParsedSignal,
    RejectionReason,
    SignalCancel,
    SignalCandidate,
    SignalRejection,
    SignalResult,
    judge,
    parse_signal,
)
from domain.signals.document import plain
from domain.values import Side, Symbol
from tests.unit.test_signal_parser import (
    BTC,
    ETH,
    LIMIT,
    LONG,
    MARKET,
    MARKETS,
    SHORT,
    SOL,
    ZONE,
    _messages,
    cornix,
    emoji_lines,
    one_line,
    sig,
    signals,
)

R = RejectionReason
SURE = Decimal("0.8")


def candidate(
    symbol: str | None = "BTC/USDT",
    side: str | None = "long",
    kind: str | None = "limit",
    entries: tuple[str | float, ...] = ("60000",),
    stop: str | float | None = "58000",
    targets: tuple[str | float | tuple[str | float, str | float], ...] = ("62000",),
    leverage: str | float | None = None,
    action: str = "signal",
    confidence: str = "0.9",
) -> SignalCandidate:
    """A candidate from short arguments: a target is a price or (price, fraction)."""
    return SignalCandidate(
        action=action,  # type: ignore[arg-type]  # the table also tries words outside the Literal
        confidence=Decimal(confidence),
        symbol=symbol,
        side=side,
        entry_kind=kind,
        entries=entries,
        stop_loss=stop,
        take_profits=tuple(
            CandidateTarget(*target) if isinstance(target, tuple) else CandidateTarget(target)
            for target in targets
        ),
        leverage=leverage,
    )


def candidate_of(result: ParsedSignal | SignalCancel) -> SignalCandidate:
    """What a reader that read the message right would hand over."""
    if isinstance(result, SignalCancel):
        return SignalCandidate(action=result.action.value, confidence=Decimal(1), symbol=str(result.symbol))
    return SignalCandidate(
        action="signal",
        confidence=Decimal(1),
        symbol=str(result.symbol),
        side="long" if result.side is Side.BUY else "short",
        entry_kind=result.entry_kind.value,
        entries=tuple(plain(price) for price in result.entries),
        stop_loss=None if result.stop_loss is None else plain(result.stop_loss),
        take_profits=tuple(
            CandidateTarget(plain(t.price), None if t.fraction is None else plain(t.fraction))
            for t in result.take_profits
        ),
        leverage=None if result.leverage is None else plain(result.leverage),
    )


ACCEPTED = [
    pytest.param(candidate(), sig(BTC, LONG, LIMIT, ("60000",), "58000", ("62000",)), id="limit-long"),
    pytest.param(
        candidate(kind="zone", entries=("60500", "60000"), targets=("62000", "65000")),
        sig(BTC, LONG, ZONE, ("60000", "60500"), "58000", ("62000", "65000")),
        id="zone-low-then-high",
    ),
    pytest.param(
        candidate(kind="limit", entries=("60000", "59500", "59000"), stop="57000"),
        sig(BTC, LONG, LIMIT, ("60000", "59500", "59000"), "57000", ("62000",)),
        id="limits-in-the-order-given",
    ),
    pytest.param(
        candidate(side=None, kind="market", entries=(), stop="58000", targets=("62000",)),
        sig(BTC, LONG, MARKET, (), "58000", ("62000",)),
        id="market-side-from-stop-and-target",
    ),
    pytest.param(
        candidate(side=None, kind=None, entries=("3000",), stop="3100", targets=("2900",), symbol="ETH"),
        sig(ETH, SHORT, LIMIT, ("3000",), "3100", ("2900",)),
        id="one-price-no-kind-side-inferred-base-alone",
    ),
    pytest.param(
        candidate(symbol="#BTCUSDT.P", side="buy", entries=("60k",), stop="58,000", targets=("62000$",)),
        sig(BTC, LONG, LIMIT, ("60000",), "58000", ("62000",)),
        id="the-rule-parsers-number-grammar",
    ),
    pytest.param(
        candidate(
            symbol="sol-usdt",
            side="sell",
            entries=("150",),
            stop="155",
            targets=(("145", "50%"), ("140", "0.25"), "135"),
            leverage="20x",
        ),
        sig(SOL, SHORT, LIMIT, ("150",), "155", ("145", "140", "135"), "20", ("0.5", "0.25", None)),
        id="fractions-and-leverage",
    ),
    pytest.param(
        candidate(leverage="x5", stop=None, targets=()),
        sig(BTC, LONG, LIMIT, ("60000",), None, (), "5"),
        id="no-stop-no-targets",
    ),
    pytest.param(candidate(action="cancel"), SignalCancel(BTC, CancelAction.CANCEL), id="cancel"),
    pytest.param(
        candidate(action="close", symbol="ETHUSDT", side=None, entries=(), stop=None, targets=()),
        SignalCancel(ETH, CancelAction.CLOSE),
        id="close",
    ),
    pytest.param(
        candidate(confidence="0.8"), sig(BTC, LONG, LIMIT, ("60000",), "58000", ("62000",)), id="at-threshold"
    ),
]

REFUSED = [
    pytest.param(candidate(action="none"), {R.NOT_A_SIGNAL}, id="none"),
    pytest.param(
        candidate(action="none", symbol=None, confidence="0.1"), {R.NOT_A_SIGNAL}, id="none-is-alone"
    ),
    pytest.param(candidate(confidence="0.79"), {R.LOW_CONFIDENCE}, id="low-confidence"),
    pytest.param(candidate(action="cancel", confidence="0"), {R.LOW_CONFIDENCE}, id="low-confidence-cancel"),
    pytest.param(candidate(symbol=None), {R.NO_SYMBOL}, id="no-symbol"),
    pytest.param(candidate(symbol="  "), {R.NO_SYMBOL}, id="blank-symbol"),
    pytest.param(candidate(action="cancel", symbol=None), {R.NO_SYMBOL}, id="cancel-without-symbol"),
    pytest.param(candidate(symbol="ADA/USDT"), {R.UNKNOWN_SYMBOL}, id="unknown-pair"),
    pytest.param(candidate(symbol="ETH/EUR"), {R.UNKNOWN_SYMBOL}, id="unknown-quote"),
    pytest.param(candidate(symbol="bitcoin"), {R.UNKNOWN_SYMBOL}, id="no-pair-in-the-name"),
    pytest.param(candidate(symbol="BTC/USDT ETH/USDT"), {R.AMBIGUOUS_SYMBOL}, id="two-pairs"),
    pytest.param(candidate(entries=(60000.0,)), {R.BAD_NUMBER}, id="float-entry"),
    pytest.param(candidate(stop=58000.5), {R.BAD_NUMBER}, id="float-stop"),
    pytest.param(candidate(targets=(62000.0,)), {R.BAD_NUMBER}, id="float-target"),
    pytest.param(candidate(targets=(("62000", 0.5),)), {R.BAD_NUMBER}, id="float-fraction"),
    pytest.param(candidate(leverage=10.0), {R.BAD_NUMBER}, id="float-leverage"),
    pytest.param(candidate(entries=("0,5",)), {R.BAD_NUMBER}, id="decimal-comma"),
    pytest.param(candidate(entries=("1.2.3",)), {R.BAD_NUMBER}, id="two-points"),
    pytest.param(candidate(entries=("0",)), {R.BAD_NUMBER}, id="zero-entry"),
    pytest.param(candidate(stop="-58000"), {R.BAD_NUMBER}, id="negative-stop"),
    pytest.param(candidate(entries=("60000,59500",)), {R.BAD_NUMBER}, id="two-prices-in-one"),
    pytest.param(candidate(stop="5%"), {R.BAD_NUMBER}, id="relative-stop"),
    pytest.param(candidate(leverage="0x"), {R.BAD_NUMBER}, id="zero-leverage"),
    pytest.param(candidate(leverage="cross"), {R.BAD_NUMBER}, id="leverage-word"),
    pytest.param(candidate(targets=(("62000", "half"),)), {R.BAD_NUMBER}, id="fraction-word"),
    pytest.param(candidate(kind="zone", entries=("60000",)), {R.AMBIGUOUS_VALUE}, id="zone-of-one"),
    pytest.param(
        candidate(kind="zone", entries=("60000", "60500", "61000"), targets=("63000",)),
        {R.AMBIGUOUS_VALUE},
        id="zone-of-three",
    ),
    pytest.param(candidate(kind="market", entries=("60000",)), {R.AMBIGUOUS_VALUE}, id="market-and-price"),
    pytest.param(candidate(kind=None, entries=("60000", "60500")), {R.AMBIGUOUS_VALUE}, id="no-kind-two"),
    pytest.param(candidate(entries=()), {R.NO_ENTRY}, id="limit-without-price"),
    pytest.param(candidate(kind=None, entries=(), stop=None, targets=()), {R.NO_ENTRY}, id="no-entry"),
    pytest.param(candidate(side=None, stop=None, targets=()), {R.NO_DIRECTION}, id="no-direction"),
    pytest.param(candidate(side=None, targets=("59000",)), {R.NO_DIRECTION}, id="stop-and-target-disagree"),
    pytest.param(
        candidate(side=None, kind=None, entries=(), stop=None, targets=("70000",)),
        {R.NO_DIRECTION, R.NO_ENTRY},
        id="a-target-alone",
    ),
    pytest.param(candidate(stop="61000"), {R.STOP_LOSS_WRONG_SIDE}, id="long-stop-above"),
    pytest.param(candidate(stop="60000"), {R.STOP_LOSS_WRONG_SIDE}, id="stop-at-entry"),
    pytest.param(candidate(targets=("59000",)), {R.TAKE_PROFIT_WRONG_SIDE}, id="long-target-below"),
    pytest.param(
        candidate(kind="zone", entries=("60000", "60500"), targets=("60200", "62000")),
        {R.TAKE_PROFIT_WRONG_SIDE},
        id="target-inside-zone",
    ),
    pytest.param(
        candidate(side="short"),
        {R.STOP_LOSS_WRONG_SIDE, R.TAKE_PROFIT_WRONG_SIDE},
        id="short-written-as-long",
    ),
    pytest.param(
        candidate(kind="market", entries=(), stop="63000"),
        {R.STOP_LOSS_WRONG_SIDE},
        id="market-stop-beyond-target",
    ),
    pytest.param(
        candidate(targets=(("62000", "60%"), ("65000", "60%"))), {R.BAD_FRACTIONS}, id="fractions-over-100"
    ),
    pytest.param(candidate(targets=(("62000", "0%"),)), {R.BAD_FRACTIONS}, id="zero-fraction"),
    pytest.param(candidate(targets=(("62000", "1.5"),)), {R.BAD_FRACTIONS}, id="fraction-above-one"),
    pytest.param(
        candidate(symbol="ADA/USDT", entries=("1,5",), stop="2", targets=("1",), confidence="0.5"),
        {R.UNKNOWN_SYMBOL, R.BAD_NUMBER, R.STOP_LOSS_WRONG_SIDE, R.LOW_CONFIDENCE},
        id="every-reason-that-applies",
    ),
]


@pytest.mark.parametrize(("given_candidate", "expected"), ACCEPTED)
def test_a_candidate_that_keeps_the_rules_is_read(
    given_candidate: SignalCandidate, expected: ParsedSignal | SignalCancel
) -> None:
    assert judge(given_candidate, MARKETS, SURE) == expected


@pytest.mark.parametrize(("given_candidate", "reasons"), REFUSED)
def test_a_candidate_is_refused_with_every_reason(
    given_candidate: SignalCandidate, reasons: set[RejectionReason]
) -> None:
    result = judge(given_candidate, MARKETS, SURE)
    assert isinstance(result, SignalRejection), result
    assert set(result.reasons) == reasons
    assert list(result.reasons) == sorted(result.reasons, key=list(RejectionReason).index)


def test_a_base_shared_by_two_markets_is_ambiguous_as_in_the_rule_parser() -> None:
    markets = {BTC, Symbol("BTC", "USDC")}
    assert judge(candidate(symbol="BTC"), markets, SURE) == SignalRejection((R.AMBIGUOUS_SYMBOL,))
    assert parse_signal("BTC LONG entry 60000", markets) == SignalRejection((R.AMBIGUOUS_SYMBOL,))
    assert judge(candidate(symbol="BTC/USDC"), markets, SURE) == sig(
        Symbol("BTC", "USDC"), LONG, LIMIT, ("60000",), "58000", ("62000",)
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"action": "maybe"},
        {"side": "up"},
        {"entry_kind": "range"},
        {"confidence": Decimal("1.5")},
        {"confidence": Decimal("-0.1")},
        {"confidence": Decimal("NaN")},
        {"confidence": 0.9},
    ],
)
def test_a_candidate_out_of_its_shape_cannot_be_made(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(fields))):
        SignalCandidate(**{"action": "signal", "confidence": Decimal(1), **fields})  # type: ignore[arg-type]


# Properties ---------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(signals(), st.sampled_from([one_line, emoji_lines, cornix]))
def test_a_signal_the_rule_parser_reads_is_judged_the_same(signal: ParsedSignal, render: object) -> None:
    assert callable(render)
    parsed = parse_signal(render(signal), MARKETS)
    assert isinstance(parsed, ParsedSignal)
    assert judge(candidate_of(parsed), MARKETS, SURE) == parsed


@settings(max_examples=1000)
@given(_messages())
def test_whatever_the_rule_parser_reads_from_any_text_is_judged_the_same(text: str) -> None:
    parsed = parse_signal(text, MARKETS)
    if isinstance(parsed, ParsedSignal | SignalCancel):
        assert judge(candidate_of(parsed), MARKETS, SURE) == parsed


_NUMBERS = st.one_of(
    st.sampled_from(["60000", "58000", "62000", "60k", "60,000", "0,5", "0", "-1", "1.2.3", "50%", "x"]),
    st.integers(1, 12).map(str),
    st.floats(allow_nan=True),
    st.text(max_size=8),
)

_OPTIONAL_NUMBERS = st.one_of(st.none(), _NUMBERS)
_TEXT = st.text(max_size=20)


@st.composite
def candidates(draw: st.DrawFn) -> SignalCandidate:
    """Any candidate of the right shape, its values anything a reader might write."""
    return SignalCandidate(
        action=draw(st.sampled_from(["signal", "cancel", "close", "none"])),
        confidence=draw(st.decimals(0, 1, places=2)),
        symbol=draw(
            st.one_of(st.none(), st.sampled_from(["BTC/USDT", "eth", "ADA/USDT", "$SOL"]), st.text())
        ),
        side=draw(st.sampled_from([None, "long", "short", "buy", "sell"])),
        entry_kind=draw(st.sampled_from([None, "market", "limit", "zone"])),
        entries=tuple(draw(st.lists(_NUMBERS, max_size=3))),
        stop_loss=draw(_OPTIONAL_NUMBERS),
        take_profits=tuple(
            CandidateTarget(price, fraction)
            for price, fraction in draw(
                st.lists(st.tuples(_NUMBERS, st.one_of(st.none(), _NUMBERS)), max_size=3)
            )
        ),
        leverage=draw(_OPTIONAL_NUMBERS),
    )


def _judged(given_candidate: SignalCandidate) -> SignalResult:
    result = judge(given_candidate, MARKETS, SURE)
    assert isinstance(result, ParsedSignal | SignalCancel | SignalRejection)
    return result


@settings(max_examples=1000)
@given(candidates())
def test_no_candidate_passes_a_price_on_the_wrong_side(given_candidate: SignalCandidate) -> None:
    result = _judged(given_candidate)
    if isinstance(result, SignalRejection):
        assert len(set(result.reasons)) == len(result.reasons)
        return
    assert given_candidate.confidence >= SURE
    assert result.symbol in MARKETS
    if isinstance(result, SignalCancel):
        return
    targets = tuple(target.price for target in result.take_profits)
    prices = [*result.entries, *targets, *filter(None, [result.stop_loss])]
    assert all(isinstance(price, Decimal) and price > 0 for price in prices)
    sign = result.side.sign
    if result.stop_loss is not None:
        for other in result.entries or targets:
            assert (other - result.stop_loss) * sign > 0
    for entry in result.entries:
        assert all((target - entry) * sign > 0 for target in targets)
