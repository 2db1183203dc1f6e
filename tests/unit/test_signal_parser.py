"""The signal parser on messages in the styles real channels post (one-liners, emoji-laden
multi-line posts, Binance/Bybit futures tags, Cornix), each with its full expected reading or its
exact reasons for refusal; then properties: what a canonical rendering writes is read back, any
text gives one of the three answers without raising, and a parsed signal's prices are always on
their sides."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.signals import (
    CancelAction,
    EntryKind,
    ParsedSignal,
    RejectionReason,
    SignalCancel,
    SignalRejection,
    SignalResult,
    TakeProfit,
    parse_signal,
    signal_document,
)
from domain.signals.document import plain
from domain.values import Side, Symbol

R = RejectionReason
BTC, ETH, SOL = Symbol("BTC", "USDT"), Symbol("ETH", "USDT"), Symbol("SOL", "USDT")
DOGE, XRP, PEPE = Symbol("DOGE", "USDT"), Symbol("XRP", "USDT"), Symbol("1000PEPE", "USDT")
NEAR, SUI, LINK = Symbol("NEAR", "USDT"), Symbol("SUI", "USDT"), Symbol("LINK", "USDT")
MARKETS = frozenset({BTC, ETH, SOL, DOGE, XRP, PEPE, NEAR, SUI, LINK})
LONG, SHORT = Side.BUY, Side.SELL
MARKET, LIMIT, ZONE = EntryKind.MARKET, EntryKind.LIMIT, EntryKind.ZONE


def sig(
    symbol: Symbol,
    side: Side,
    kind: EntryKind,
    entries: tuple[str, ...],
    stop: str | None,
    targets: tuple[str, ...],
    leverage: str | None = None,
    fractions: tuple[str | None, ...] | None = None,
) -> ParsedSignal:
    """A ParsedSignal from strings, to keep the table readable."""
    parts = fractions or (None,) * len(targets)
    return ParsedSignal(
        symbol,
        side,
        kind,
        tuple(Decimal(price) for price in entries),
        None if stop is None else Decimal(stop),
        tuple(
            TakeProfit(Decimal(price), None if part is None else Decimal(part))
            for price, part in zip(targets, parts, strict=True)
        ),
        None if leverage is None else Decimal(leverage),
    )


ACCEPTED = [
    pytest.param(
        "BTC/USDT LONG  Entry: 60000 - 60500  SL: 58000  TP1: 62000  TP2: 65000",
        sig(BTC, LONG, ZONE, ("60000", "60500"), "58000", ("62000", "65000")),
        id="one-liner-zone",
    ),
    pytest.param(
        "🚀 VIP Signal 🚀\n\n📈 #BTCUSDT.P LONG\n\nEntry: 60000 - 60500\n🎯 TP1: 62000\n🎯 TP2: 63000\n"
        "🎯 TP3: 65000\n⛔ SL: 58000\n\nLeverage: 10x",
        sig(BTC, LONG, ZONE, ("60000", "60500"), "58000", ("62000", "63000", "65000"), "10"),
        id="vip-emoji-perp-tag",
    ),
    pytest.param(
        "btc/usdt long entry 60k sl 58k tp 62k",
        sig(BTC, LONG, LIMIT, ("60000",), "58000", ("62000",)),
        id="lower-case-k",
    ),
    pytest.param(
        "#SOLUSDT\nDirection: Short\nEntry zone: 150 - 152\nTargets: 145 - 140 - 135\nStop loss: 156\n"
        "Leverage: Cross 20x",
        sig(SOL, SHORT, ZONE, ("150", "152"), "156", ("145", "140", "135"), "20"),
        id="short-zone-dashed-targets",
    ),
    pytest.param(
        "BUY BTC/USDT NOW\nSL: 58000\nTP: 62000",
        sig(BTC, LONG, MARKET, (), "58000", ("62000",)),
        id="buy-now-market",
    ),
    pytest.param(
        "$ETH Long CMP\nTargets: 3600, 3700, 3800\nStop: 3400",
        sig(ETH, LONG, MARKET, (), "3400", ("3600", "3700", "3800")),
        id="dollar-base-cmp",
    ),
    pytest.param(
        "BTCUSDT Buy @ 60,000 SL 58,000 TP 62,000",
        sig(BTC, LONG, LIMIT, ("60000",), "58000", ("62000",)),
        id="joined-pair-thousands",
    ),
    pytest.param(
        "Long ETH\nEntry: 3000, 2950, 2900\nSL: 2800\nTP1: 3100 (50%)\nTP2: 3200 (50%)",
        sig(ETH, LONG, LIMIT, ("3000", "2950", "2900"), "2800", ("3100", "3200"), fractions=("0.5", "0.5")),
        id="limit-ladder-fractions",
    ),
    pytest.param(
        "BTC/USDT\nEntry between 60000 and 60500\nStop 58000\nTarget 1: 62000\nTarget 2: 64000",
        sig(BTC, LONG, ZONE, ("60000", "60500"), "58000", ("62000", "64000")),
        id="between-and-inferred-long",
    ),
    pytest.param(
        "ETH/USDT short\nentry 3000\nsl 3100\ntp 2900",
        sig(ETH, SHORT, LIMIT, ("3000",), "3100", ("2900",)),
        id="lower-case-multiline-short",
    ),
    pytest.param(
        "#1000PEPEUSDT.P Long\nEntry: 0.0123 - 0.0125\nSL: 0.0118\nTP1: 0.0130\nTP2: 0.0140",
        sig(PEPE, LONG, ZONE, ("0.0123", "0.0125"), "0.0118", ("0.013", "0.014")),
        id="digits-in-base",
    ),
    pytest.param(
        "🟢 LONG #DOGEUSDT\nEntry ➡️ 0.15\nTargets ➡️ 0.16 - 0.17 - 0.18\nStop ➡️ 0.14",
        sig(DOGE, LONG, LIMIT, ("0.15",), "0.14", ("0.16", "0.17", "0.18")),
        id="arrows",
    ),
    pytest.param(
        "🔴 SHORT $SOL\n• Entry: 150\n• TP1: 145\n• TP2: 140\n• SL: 155",
        sig(SOL, SHORT, LIMIT, ("150",), "155", ("145", "140")),
        id="bullets",
    ),
    pytest.param(
        "#BTC/USDT\nClient: Binance Futures\nTrade Type: Regular (Long)\nLeverage: Cross (10.0X)\n"
        "Entry Targets:\n1) 60000\n2) 59500\nTake-Profit Targets:\n1) 62000\n2) 63000\n"
        "Stop Targets:\n1) 58000",
        sig(BTC, LONG, LIMIT, ("60000", "59500"), "58000", ("62000", "63000"), "10"),
        id="cornix",
    ),
    pytest.param(
        "⚡️⚡️ #SOL/USDT ⚡️⚡️\nExchanges: Bybit USDT\nSignal Type: Regular (Short)\n"
        "Leverage: Isolated (5.0X)\nEntry Zone:\n150 - 152\nTake-Profit Targets:\n1) 145 - 40%\n"
        "2) 140 - 30%\n3) 135 - 30%\nStop Targets:\n1) 158",
        sig(SOL, SHORT, ZONE, ("150", "152"), "158", ("145", "140", "135"), "5", ("0.4", "0.3", "0.3")),
        id="cornix-zone-fractions",
    ),
    pytest.param(
        "BTC/USDT LONG\nBuy zone:\n60000 - 60500\nSL 58000",
        sig(BTC, LONG, ZONE, ("60000", "60500"), "58000", ()),
        id="buy-zone-over-values",
    ),
    pytest.param(
        "Short ETH/USDT at market price\nSL 3100\nTP 2900",
        sig(ETH, SHORT, MARKET, (), "3100", ("2900",)),
        id="at-market-price",
    ),
    pytest.param(
        "BTC-USDT LONG Entry 60000 Stop-loss 58000 Take-profit 62000",
        sig(BTC, LONG, LIMIT, ("60000",), "58000", ("62000",)),
        id="dashed-pair-and-labels",
    ),
    pytest.param(
        "BTC/USDT:USDT long entry 60000 sl 58000",
        sig(BTC, LONG, LIMIT, ("60000",), "58000", ()),
        id="ccxt-futures-pair",
    ),
    pytest.param(
        "BTCUSDTPERP SHORT entry 61000 sl 62000 tp 59000",
        sig(BTC, SHORT, LIMIT, ("61000",), "62000", ("59000",)),
        id="perp-suffix",
    ),
    pytest.param(
        "#XRPUSDT LONG Entry: 0.5000 SL: 0.4800 TP: 0.5200, 0.5400",
        sig(XRP, LONG, LIMIT, ("0.5",), "0.48", ("0.52", "0.54")),
        id="decimals",
    ),
    pytest.param(
        "BTC/USDT LONG\nEntry: 60000\nTP1 (50%): 62000\nTP2 (50%): 63000",
        sig(BTC, LONG, LIMIT, ("60000",), None, ("62000", "63000"), fractions=("0.5", "0.5")),
        id="percent-before-price",
    ),
    pytest.param(
        "BTC/USDT LONG\nEntry 60000\nTargets:\n1️⃣ 62000\n2️⃣ 63000\n3️⃣ 65000",
        sig(BTC, LONG, LIMIT, ("60000",), None, ("62000", "63000", "65000")),
        id="keycap-targets",
    ),
    pytest.param(
        "BTC/USDT LONG\nEntry: 60000\nTake Profit:\nTP1: 62000\nTP2: 63000",
        sig(BTC, LONG, LIMIT, ("60000",), None, ("62000", "63000")),
        id="take-profit-heading",
    ),
    pytest.param(
        "BTC/USDT LONG\nEntry: 60000\nStop: 58000 (-3.3%)\nTP1: 62000 (+3.3%)",
        sig(BTC, LONG, LIMIT, ("60000",), "58000", ("62000",)),
        id="signed-percent-is-a-gain",
    ),
    pytest.param(
        "BTC/USDT LONG\nEntry: CMP (60,000)\nSL: 58,000\nTP: 62,000",
        sig(BTC, LONG, MARKET, (), "58000", ("62000",)),
        id="cmp-with-reference",
    ),
    pytest.param(
        "BTC/USDT LONG Lev x5 Entry 60000",
        sig(BTC, LONG, LIMIT, ("60000",), None, (), "5"),
        id="lev-x5",
    ),
    pytest.param(
        "ETH SHORT\nSell zone: 3000-3050\nTP 2900\nSL 3100",
        sig(ETH, SHORT, ZONE, ("3000", "3050"), "3100", ("2900",)),
        id="sell-zone",
    ),
    pytest.param(
        "Buy BTC at 60000, stop 58000, target 62000",
        sig(BTC, LONG, LIMIT, ("60000",), "58000", ("62000",)),
        id="sentence",
    ),
    pytest.param(
        "T1: 62000 T2: 63000 BTC/USDT LONG entry 60000",
        sig(BTC, LONG, LIMIT, ("60000",), None, ("62000", "63000")),
        id="t1-t2-first",
    ),
    pytest.param(
        "LONG\n#BTCUSDT\nEntry 60000",
        sig(BTC, LONG, LIMIT, ("60000",), None, ()),
        id="direction-above-pair",
    ),
    pytest.param(
        "BTC/USDT LONG Entry 60000 and 59500 SL 58000 TP 62000",
        sig(BTC, LONG, LIMIT, ("60000", "59500"), "58000", ("62000",)),
        id="entries-joined-by-and",
    ),
    pytest.param(
        "BTC/USDT LONG Entry 60000 to 60500 SL 58000 TP 62000",
        sig(BTC, LONG, ZONE, ("60000", "60500"), "58000", ("62000",)),
        id="zone-with-to",
    ),
    pytest.param(
        "BTC/USDT ENTRY 60000 TP 58000",
        sig(BTC, SHORT, LIMIT, ("60000",), None, ("58000",)),
        id="inferred-short-from-target",
    ),
    pytest.param(
        "BTC/USDT ENTRY 60000 SL 58000",
        sig(BTC, LONG, LIMIT, ("60000",), "58000", ()),
        id="inferred-long-from-stop",
    ),
    pytest.param(
        "BTC/USDT LONG Entry: 60000 (50%) 59000 (50%) SL 58000 TP 62000",
        sig(BTC, LONG, LIMIT, ("60000", "59000"), "58000", ("62000",)),
        id="entry-percentages-left-out",
    ),
    pytest.param(
        "BTC/USDT LONG\nEntry: 60000\nTP1: 62000 - 30%\nTP2: 63000 - 30%\nTP3: 65000 - 40%",
        sig(BTC, LONG, LIMIT, ("60000",), None, ("62000", "63000", "65000"), fractions=("0.3", "0.3", "0.4")),
        id="fractions-after-dash",
    ),
    pytest.param(
        "BTC/USDT.P SHORT 📉\nEntry: 61000\nSL: 62,500\nTP: 59k / 58.5k / 57k",
        sig(BTC, SHORT, LIMIT, ("61000",), "62500", ("59000", "58500", "57000")),
        id="k-decimals",
    ),
    pytest.param(
        "SOL/USDT LONG\nEntry = 150\nStoploss = 140\nTP1 = 160\nTP2 = 170\nTP3 = 180\nTP4 = 200",
        sig(SOL, LONG, LIMIT, ("150",), "140", ("160", "170", "180", "200")),
        id="equals-signs",
    ),
    pytest.param(
        "📢 VIP SIGNAL\nExchange: Binance Futures\nCoin: #LINKUSDT\nPosition: LONG\nEntry: 14.20 - 14.50\n"
        "Targets: 15.00 - 15.50 - 16.00\nSL: 13.80\nLeverage: 10",
        sig(LINK, LONG, ZONE, ("14.2", "14.5"), "13.8", ("15", "15.5", "16"), "10"),
        id="extra-words-leverage-number",
    ),
    pytest.param(
        "BTC/USDT LONG — Entry 60000 — SL 58000 — TP 62000",
        sig(BTC, LONG, LIMIT, ("60000",), "58000", ("62000",)),
        id="em-dashes",
    ),
    pytest.param(
        "BTC/USDT LONG NOW SL 58000 TP 62000 65000",
        sig(BTC, LONG, MARKET, (), "58000", ("62000", "65000")),
        id="long-now",
    ),
    pytest.param(
        "NEAR/USDT LONG entry 5 SL 4.5 TP 6",
        sig(NEAR, LONG, LIMIT, ("5",), "4.5", ("6",)),
        id="english-word-ticker-as-pair",
    ),
    pytest.param(
        "SUI/USDT LONG entry 2.5 SL 2 TP 3",
        sig(SUI, LONG, LIMIT, ("2.5",), "2", ("3",)),
        id="small-prices-not-indexes",
    ),
    pytest.param(
        "#BTC #VIP #Binance\nLONG 60000 - 60500\nSL 58000\nTP 62000",
        sig(BTC, LONG, ZONE, ("60000", "60500"), "58000", ("62000",)),
        id="hashtag-base",
    ),
    pytest.param(
        "BTC/USDT LONG 🚀\nEntry: 60,000.5\nSL: 58,000\nTP: 62,000, 65,000",
        sig(BTC, LONG, LIMIT, ("60000.5",), "58000", ("62000", "65000")),
        id="thousands-list",
    ),
    pytest.param(
        "ETH/USDT Long Setup 📈\n➡️ Entry: 3,000\n🎯 Target 1 - 3,100\n🎯 Target 2 - 3,200\n🛑 Stop: 2,900",
        sig(ETH, LONG, LIMIT, ("3000",), "2900", ("3100", "3200")),
        id="long-setup",
    ),
    pytest.param("cancel BTC/USDT", SignalCancel(BTC, CancelAction.CANCEL), id="cancel"),
    pytest.param("close ETH long", SignalCancel(ETH, CancelAction.CLOSE), id="close-long"),
    pytest.param("❌ Cancelled BTC signal", SignalCancel(BTC, CancelAction.CANCEL), id="cancelled-emoji"),
    pytest.param("Exit BTC/USDT now", SignalCancel(BTC, CancelAction.CLOSE), id="exit-now"),
    pytest.param("#SOLUSDT signal invalidated ⛔", SignalCancel(SOL, CancelAction.CANCEL), id="invalidated"),
    pytest.param("Close ETH long at 3500", SignalCancel(ETH, CancelAction.CLOSE), id="close-at-price"),
    pytest.param("ETH long closed ✅ +12%", SignalCancel(ETH, CancelAction.CLOSE), id="closed-report"),
    pytest.param("ETH long closed at 3500 ✅", SignalCancel(ETH, CancelAction.CLOSE), id="closed-at-price"),
    pytest.param(
        "BTC LONG 60000, close below 58000",
        sig(BTC, LONG, LIMIT, ("60000",), None, ()),
        id="signal-with-close-condition",
    ),
    pytest.param(
        "BTC/USDT LONG Entry 60000 SL 58000, cancel if 4h closes below 59000",
        sig(BTC, LONG, LIMIT, ("60000",), "58000", ()),
        id="signal-with-cancel-condition",
    ),
    pytest.param(
        "BTC/USDT Leverage 10x LONG 60000USDT SL 58000$",
        sig(BTC, LONG, LIMIT, ("60000",), "58000", (), "10"),
        id="currency-suffixes",
    ),
]

REFUSED = [
    pytest.param("Good morning traders! 🚀", {R.NOT_A_SIGNAL}, id="chatter"),
    pytest.param("BTC/USDT 🚀🚀🚀 to the moon", {R.NOT_A_SIGNAL}, id="pair-without-direction"),
    pytest.param("BTC/USDT Long-term hold", {R.NOT_A_SIGNAL}, id="long-term"),
    pytest.param("🟢 Good morning, market is open", {R.NOT_A_SIGNAL}, id="emoji-alone"),
    pytest.param("Long near 60000", {R.NO_SYMBOL}, id="no-symbol"),
    pytest.param("LONG", {R.NO_SYMBOL, R.NO_ENTRY}, id="direction-alone"),
    pytest.param("ADA/USDT LONG Entry 0.5 SL 0.45 TP 0.6", {R.UNKNOWN_SYMBOL}, id="unknown-pair"),
    pytest.param("ETH/EUR LONG entry 3000 SL 2900 TP 3100", {R.UNKNOWN_SYMBOL}, id="unknown-quote"),
    pytest.param("$WIF LONG entry 2.5 SL 2.2 TP 3", {R.UNKNOWN_SYMBOL}, id="unknown-dollar-base"),
    pytest.param("BTC/USDT Entry 60000", {R.NO_DIRECTION}, id="no-direction"),
    pytest.param("BTC/USDT ENTRY 60000 SL 58000 TP 59000", {R.NO_DIRECTION}, id="stop-and-target-disagree"),
    pytest.param(
        "BTC/USDT Entry zone 59000 - 61000 SL 60000 TP 62000", {R.NO_DIRECTION}, id="stop-inside-zone"
    ),
    pytest.param("BTC/USDT long short entry 60000", {R.CONFLICTING_DIRECTIONS}, id="long-and-short"),
    pytest.param("🟢 BTC/USDT SHORT\nEntry: 60000", {R.CONFLICTING_DIRECTIONS}, id="emoji-against-word"),
    pytest.param(
        "BTC/USDT LONG\nEntry: 60000\nSL: 61000\nTP: 62000", {R.STOP_LOSS_WRONG_SIDE}, id="long-stop-above"
    ),
    pytest.param(
        "ETH/USDT SHORT Entry: 3000 - 3050 SL 3040 TP 2900", {R.STOP_LOSS_WRONG_SIDE}, id="short-stop-in-zone"
    ),
    pytest.param(
        "BTC/USDT LONG\nEntry: 60000\nSL: 58000\nTP: 59000",
        {R.TAKE_PROFIT_WRONG_SIDE},
        id="long-target-below",
    ),
    pytest.param(
        "BTC/USDT LONG Entry 60000 - 60500 SL 58000 TP1 60200 TP2 62000",
        {R.TAKE_PROFIT_WRONG_SIDE},
        id="target-inside-zone",
    ),
    pytest.param(
        "BTC/USDT SHORT Entry 60000 SL 59000 TP 61000",
        {R.STOP_LOSS_WRONG_SIDE, R.TAKE_PROFIT_WRONG_SIDE},
        id="short-written-as-long",
    ),
    pytest.param(
        "BTC/USDT LONG CMP SL 63000 TP 62000", {R.STOP_LOSS_WRONG_SIDE}, id="market-stop-above-target"
    ),
    pytest.param(
        "BTC/USDT LONG Entry 60000 SL 58000 TP 62000\nETH/USDT SHORT Entry 3000 SL 3100 TP 2900",
        {R.MULTIPLE_SIGNALS},
        id="two-signals",
    ),
    pytest.param(
        "$BTC LONG entry 60000 SL 58000 TP 62000\nETH SHORT entry 3000",
        {R.MULTIPLE_SIGNALS},
        id="two-signals-mixed-spellings",
    ),
    pytest.param(
        "BTC LONG entry 60000, ETH looks weak", {R.MULTIPLE_SIGNALS}, id="second-pair-on-the-same-line"
    ),
    pytest.param("BTC LONG", {R.NO_ENTRY}, id="no-entry"),
    pytest.param("ETH/USDT SHORT\nSL 3100\nTP 2900", {R.NO_ENTRY}, id="no-entry-with-levels"),
    pytest.param("BTC/USDT LONG Entry: 0,5", {R.BAD_NUMBER}, id="decimal-comma"),
    pytest.param("BTC/USDT long 🚀 entry 1.2.3", {R.BAD_NUMBER}, id="two-points"),
    pytest.param("BTC/USDT LONG\nEntry: 60000\nSL: 5%\nTP: 62000", {R.BAD_NUMBER}, id="relative-stop"),
    pytest.param("BTC/USDT long entry 0 sl 0 tp 0", {R.BAD_NUMBER}, id="zero-prices"),
    pytest.param("BTC/USDT long entry 60 000", {R.BAD_NUMBER}, id="space-thousands"),
    pytest.param("BTC/USDT LONG Entry 60000 SL TBA TP 62000", {R.BAD_NUMBER}, id="stop-to-be-announced"),
    pytest.param(
        "BTC/USDT LONG Entry 60000 SL 58000 / 57000 TP 62000", {R.AMBIGUOUS_VALUE}, id="two-stop-losses"
    ),
    pytest.param("BTC/USDT LONG 10x-20x Entry 60000", {R.AMBIGUOUS_VALUE}, id="leverage-range"),
    pytest.param("BTC/USDT LONG Entry: 60000 - CMP SL 58000", {R.AMBIGUOUS_VALUE}, id="price-then-market"),
    pytest.param(
        "BTC/USDT LONG Entry 60000 SL 58000 TP1: 62000 (60%) TP2: 65000 (60%)",
        {R.BAD_FRACTIONS},
        id="fractions-over-100",
    ),
    pytest.param(
        "BTC/USDT: cancel the order and close the position", {R.CONFLICTING_ACTIONS}, id="cancel-and-close"
    ),
    pytest.param("Cancel all signals", {R.NO_SYMBOL}, id="cancel-without-pair"),
    pytest.param("Cancel ADA/USDT", {R.UNKNOWN_SYMBOL}, id="cancel-unknown-pair"),
    pytest.param(
        "ADA/USDT LONG entry 1,5 SL 2 TP 1",
        {R.UNKNOWN_SYMBOL, R.BAD_NUMBER, R.STOP_LOSS_WRONG_SIDE},
        id="several-reasons",
    ),
    pytest.param("BTC/USDT TP1 hit ✅", {R.NO_DIRECTION, R.NO_ENTRY, R.BAD_NUMBER}, id="target-hit-update"),
    pytest.param(
        "Hello, BTC/USDT looks strong. Target 70k soon",
        {R.NO_DIRECTION, R.NO_ENTRY},
        id="chatter-with-target",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_a_message_is_read_as_written(text: str, expected: ParsedSignal | SignalCancel) -> None:
    assert parse_signal(text, MARKETS) == expected


@pytest.mark.parametrize(("text", "reasons"), REFUSED)
def test_a_message_is_refused_with_every_reason(text: str, reasons: set[RejectionReason]) -> None:
    result = parse_signal(text, MARKETS)
    assert isinstance(result, SignalRejection), result
    assert set(result.reasons) == reasons
    assert list(result.reasons) == sorted(result.reasons, key=list(RejectionReason).index)


def test_the_table_is_large_enough() -> None:
    assert len(ACCEPTED) >= 45
    assert len(REFUSED) >= 25


def test_a_base_alone_takes_the_quote_of_its_one_market() -> None:
    assert parse_signal("BTC LONG entry 60000", {BTC, ETH}) == sig(BTC, LONG, LIMIT, ("60000",), None, ())
    ambiguous = parse_signal("BTC LONG entry 60000", {BTC, Symbol("BTC", "USDC")})
    assert ambiguous == SignalRejection((R.AMBIGUOUS_SYMBOL,))


def test_a_joined_pair_is_split_at_a_known_quote() -> None:
    eth_btc = Symbol("ETH", "BTC")
    assert parse_signal("ETHBTC long entry 0.052 sl 0.05 tp 0.055", {BTC, ETH, eth_btc}) == sig(
        eth_btc, LONG, LIMIT, ("0.052",), "0.05", ("0.055",)
    )
    assert parse_signal("ETH long entry 3000", {ETH, eth_btc}) == SignalRejection((R.AMBIGUOUS_SYMBOL,))


def test_no_market_known_makes_every_pair_unknown() -> None:
    assert parse_signal("BTC/USDT LONG entry 60000", ()) == SignalRejection((R.UNKNOWN_SYMBOL,))


def test_a_pair_named_twice_is_one_pair_and_a_bare_mention_beside_a_pair_does_not_count() -> None:
    text = "#SOL/USDT LONG\nEntry 150\nSL 140\nSOL.P follows BTC today; chart: SOLUSDT"
    assert parse_signal(text, MARKETS) == sig(SOL, LONG, LIMIT, ("150",), "140", ())


def test_the_document_writes_plain_decimals_and_fractions_only_when_given() -> None:
    parsed = parse_signal("BTC/USDT LONG Entry: 60k - 60.5k SL: 58000 TP1: 62000 (50%) TP2: 65000", MARKETS)
    assert signal_document(parsed) == {
        "status": "parsed",
        "symbol": "BTC/USDT",
        "side": "buy",
        "entry_kind": "zone",
        "entries": ["60000", "60500"],
        "stop_loss": "58000",
        "take_profits": ["62000", "65000"],
        "leverage": None,
        "take_profit_fractions": ["0.5", None],
    }
    assert "take_profit_fractions" not in signal_document(parse_signal("BTC LONG entry 1 tp 2", MARKETS))
    assert signal_document(SignalCancel(BTC, CancelAction.CLOSE)) == {
        "status": "cancel",
        "action": "close",
        "symbol": "BTC/USDT",
    }
    assert signal_document(SignalRejection.of([R.NO_ENTRY, R.NO_SYMBOL])) == {
        "status": "rejected",
        "reasons": ["NO_SYMBOL", "NO_ENTRY"],
    }


# Properties ---------------------------------------------------------------------------------------

SYMBOLS = sorted(MARKETS)


@st.composite
def signals(draw: st.DrawFn) -> ParsedSignal:
    """A valid signal: distinct prices, the stop loss beyond every entry on the losing side and
    the targets beyond every entry on the winning side (at the market: the stop beyond the
    targets)."""
    side = draw(st.sampled_from(Side))
    kind = draw(st.sampled_from(EntryKind))
    entries_count = {EntryKind.MARKET: 0, EntryKind.ZONE: 2, EntryKind.LIMIT: draw(st.integers(1, 3))}[kind]
    targets_count = draw(st.integers(0 if kind is not EntryKind.MARKET else 1, 4))
    has_stop = draw(st.booleans())
    places = draw(st.integers(0, 4))
    units = draw(
        st.lists(
            st.integers(1, 10**7),
            min_size=entries_count + targets_count + 1,
            max_size=entries_count + targets_count + 1,
            unique=True,
        )
    )
    prices = sorted(Decimal(unit).scaleb(-places) for unit in units)
    if side is Side.SELL:
        prices.reverse()
    stop, entries, targets = prices[0], prices[1 : 1 + entries_count], prices[1 + entries_count :]
    if kind is EntryKind.ZONE:
        entries = sorted(entries)
    elif draw(st.booleans()):
        entries.reverse()
    fractions: list[Decimal | None] = [None] * len(targets)
    with_fractions = draw(st.booleans())
    if targets and with_fractions:
        share = 100 // len(targets)
        fractions = [Decimal(draw(st.integers(1, share))).scaleb(-2) for _ in targets]
    leverage = draw(st.one_of(st.none(), st.integers(1, 125).map(Decimal)))
    return ParsedSignal(
        draw(st.sampled_from(SYMBOLS)),
        side,
        kind,
        tuple(entries),
        stop if has_stop else None,
        tuple(TakeProfit(price, part) for price, part in zip(targets, fractions, strict=True)),
        leverage,
    )


def _percent(target: TakeProfit, before: str = " (", after: str = ")") -> str:
    return "" if target.fraction is None else f"{before}{plain(target.fraction * 100)}%{after}"


def one_line(signal: ParsedSignal) -> str:
    """``BTC/USDT LONG Entry: 60,000 - 60,500 SL: 58,000 TP1: 62,000 (50%) ... Leverage: 10x``."""
    direction = "LONG" if signal.side is Side.BUY else "SHORT"
    entry = {
        EntryKind.MARKET: "CMP",
        EntryKind.ZONE: " - ".join(f"{price:,f}" for price in signal.entries),
        EntryKind.LIMIT: ", ".join(f"{price:,f}" for price in signal.entries),
    }[signal.entry_kind]
    parts = [f"{signal.symbol} {direction} Entry: {entry}"]
    if signal.stop_loss is not None:
        parts.append(f"SL: {signal.stop_loss:,f}")
    parts += [f"TP{n}: {t.price:,f}{_percent(t)}" for n, t in enumerate(signal.take_profits, 1)]
    if signal.leverage is not None:
        parts.append(f"Leverage: {plain(signal.leverage)}x")
    return " ".join(parts)


def emoji_lines(signal: ParsedSignal) -> str:
    """A multi-line post with emoji: 📈 #BTCUSDT LONG, Entry zone, 🎯 TP lines, ⛔ Stop loss."""
    mark, direction = ("📈", "Long") if signal.side is Side.BUY else ("📉", "Short")
    entry = {
        EntryKind.MARKET: "Entry: market",
        EntryKind.ZONE: "Entry zone: " + " - ".join(plain(price) for price in signal.entries),
        EntryKind.LIMIT: "Entry: " + ", ".join(plain(price) for price in signal.entries),
    }[signal.entry_kind]
    lines = [f"{mark} #{signal.symbol.base}{signal.symbol.quote}.P {direction} 🚀", "", f"• {entry}"]
    lines += [f"🎯 TP{n}: {plain(t.price)}{_percent(t)}" for n, t in enumerate(signal.take_profits, 1)]
    if signal.stop_loss is not None:
        lines.append(f"⛔ Stop loss: {plain(signal.stop_loss)}")
    if signal.leverage is not None:
        lines.append(f"Leverage: Cross {plain(signal.leverage)}x")
    return "\n".join(lines)


def cornix(signal: ParsedSignal) -> str:
    """Cornix's layout: numbered Entry/Take-Profit/Stop Targets under a #BASE/QUOTE header."""
    direction = "Long" if signal.side is Side.BUY else "Short"
    lines = [f"#{signal.symbol}", "Client: Binance Futures", f"Trade Type: Regular ({direction})"]
    if signal.leverage is not None:
        lines.append(f"Leverage: Cross ({plain(signal.leverage)}.0X)")
    if signal.entry_kind is EntryKind.MARKET:
        lines.append("Entry: CMP")
    elif signal.entry_kind is EntryKind.ZONE:
        lines += ["Entry Zone:", " - ".join(plain(price) for price in signal.entries)]
    else:
        lines += ["Entry Targets:", *(f"{n}) {plain(p)}" for n, p in enumerate(signal.entries, 1))]
    if signal.take_profits:
        lines.append("Take-Profit Targets:")
        lines += [
            f"{n}) {plain(t.price)}{_percent(t, ' - ', '')}" for n, t in enumerate(signal.take_profits, 1)
        ]
    if signal.stop_loss is not None:
        lines += ["Stop Targets:", f"1) {plain(signal.stop_loss)}"]
    return "\n".join(lines)


@settings(max_examples=300)
@given(signals(), st.sampled_from([one_line, emoji_lines, cornix]))
def test_a_rendered_signal_is_read_back(signal: ParsedSignal, render: object) -> None:
    assert callable(render)
    text = render(signal)
    assert parse_signal(text, MARKETS) == signal, text


VOCABULARY = [
    "BTC/USDT", "#ETHUSDT.P", "$SOL", "BTC", "LONG", "short", "Buy", "sell", "Entry:", "SL", "Stop loss",
    "TP1:", "TP 2", "Targets:", "Target 1", "T1", "60000", "60,000", "59500", "62000", "58k", "0.5",
    "1,5", "-", "~", "to", ",", "/", "and", "between", "zone", "50%", "+3%", "(", ")", "10x", "x5",
    "Leverage:", "CMP", "now", "market", "cancel", "closed", "@", "1)", "2)", "\n", "\n\n", "📈", "🔴",
    "🟢", "✅", "🎯", "•", "1️⃣", "Trade Type:", "Regular (Long)",
]  # fmt: skip


@st.composite
def signal_shaped(draw: st.DrawFn) -> str:
    """A message laid out like a signal, with prices drawn from a few small values so that they
    fall on every side of one another (most such messages are refused; some are parsed)."""
    price = st.integers(1, 12).map(str)
    a, b, c, d, e, f = (draw(price) for _ in range(6))
    pieces = [
        draw(st.sampled_from(["BTC/USDT", "#ETHUSDT.P", "$SOL", "doge", "XRP-USDT"])),
        draw(st.sampled_from(["LONG", "short", "Buy", "SELL", "📈", "🔴", ""])),
        draw(
            st.sampled_from(
                [
                    f"Entry: {a}",
                    f"Entry: {a} - {b}",
                    f"Entry: {a}, {b}, {c}",
                    "Entry: CMP",
                    f"Buy zone: {a} - {b}",
                    f"@ {a}",
                    f"between {a} and {b}",
                    "",
                ]
            )
        ),
        draw(st.sampled_from([f"SL: {d}", f"Stop loss {d}", f"Stop Targets:\n1) {d}", ""])),
        draw(
            st.sampled_from(
                [
                    f"TP1: {e} TP2: {f}",
                    f"Targets: {e} - {f} - {c}",
                    f"TP: {e} (50%)",
                    f"Take-Profit Targets:\n1) {e}\n2) {f}",
                    "",
                ]
            )
        ),
        draw(st.sampled_from(["", "Leverage: 10x", "Cross 20x"])),
    ]
    return draw(st.sampled_from([" ", "\n"])).join(draw(st.permutations(pieces)))


def _messages() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(), st.lists(st.sampled_from(VOCABULARY), max_size=25).map(" ".join), signal_shaped()
    )


def _answers(text: str) -> SignalResult:
    result = parse_signal(text, MARKETS)
    assert isinstance(result, ParsedSignal | SignalCancel | SignalRejection)
    return result


@settings(max_examples=500)
@given(_messages())
@example("")
@example("\x00\ufe0f\u20e3%%%,,,...kkk")
def test_any_text_gets_one_of_the_three_answers(text: str) -> None:
    result = _answers(text)
    if isinstance(result, SignalRejection):
        assert result.reasons and len(set(result.reasons)) == len(result.reasons)


@settings(max_examples=1000)
@given(_messages())
@example("BTC/USDT LONG Entry 60000 - 60500 SL 58000 TP 62000")
@example("BTC/USDT SHORT CMP SL 63000 TP 62000")
def test_a_parsed_signal_has_its_prices_on_their_sides(text: str) -> None:
    result = _answers(text)
    if not isinstance(result, ParsedSignal):
        return
    sign = result.side.sign
    targets = [target.price for target in result.take_profits]
    assert result.symbol in MARKETS
    assert all(price > 0 for price in [*result.entries, *targets, *filter(None, [result.stop_loss])])
    if result.entry_kind is EntryKind.MARKET:
        assert result.entries == ()
        if result.stop_loss is not None:
            assert all((target - result.stop_loss) * sign > 0 for target in targets)
        return
    if result.entry_kind is EntryKind.ZONE:
        assert len(result.entries) == 2 and result.entries[0] <= result.entries[1]
    assert result.entries
    for entry in result.entries:
        if result.stop_loss is not None:
            assert (entry - result.stop_loss) * sign > 0
        assert all((target - entry) * sign > 0 for target in targets)
    fractions = [target.fraction for target in result.take_profits if target.fraction is not None]
    assert all(0 < fraction <= 1 for fraction in fractions) and sum(fractions, Decimal(0)) <= 1
