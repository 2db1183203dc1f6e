"""Candle files for backtests: one symbol's candles read from CSV or Parquet, checked (a bad row
names its file, line, field and rule; order, duplicates, gaps), filtered by time, with the file's
SHA-256; written back to CSV."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.market import Candle
from domain.strategy import Timeframe
from domain.values import DECIMAL_PATTERN, MAX_DECIMAL_TEXT, Symbol
from infrastructure.candle_files import (
    NUMBER_PATTERN,
    CandleCsvWriter,
    Gap,
    load_candles,
    load_candles_csv,
    load_candles_parquet,
    write_candles_csv,
)

BTC = Symbol("BTC", "USDT")
START = datetime(2026, 1, 1, tzinfo=UTC)
HEADER = "time,open,high,low,close,volume\n"


def _minute(n: int) -> datetime:
    return START + timedelta(minutes=n)


def _candle(n: int, close: str = "100.5", volume: str = "1.25") -> Candle:
    price = Decimal(close)
    return Candle(BTC, _minute(n), price, price + 1, price - 1, price, Decimal(volume))


def _csv(tmp_path: Path, *rows: str, name: str = "btc.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(row + "\n" for row in rows))
    return path


def _row(n: int, values: str = "100,101,99,100.5,2") -> str:
    return f"{_minute(n):%Y-%m-%dT%H:%M:%SZ},{values}"


def test_a_csv_file_reads_as_exact_candles_with_its_digest(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "2026-01-01T00:00:00Z,100.10,101,99.5,100.00,0.5",
        "2026-01-01T00:01:00,100,100.5,99,99.99,1e-8",  # no offset: UTC
        "2026-01-01T02:02:00+02:00,99.99,100,99,99.5,0",  # 00:02 UTC
        str(int(_minute(3).timestamp() * 1000)) + ",99.5,99.6,99.4,99.6,3",  # epoch milliseconds
    )
    history = load_candles_csv(path, BTC)
    first = history.candles[0]
    assert first == Candle(
        BTC, START, Decimal("100.10"), Decimal(101), Decimal("99.5"), Decimal("100.00"), Decimal("0.5")
    )
    assert str(first.open) == "100.10"  # every digit as written
    assert [c.opened_at for c in history.candles] == [_minute(n) for n in range(4)]
    assert history.candles[1].volume == Decimal("1e-8")
    report = history.report
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (report.rows, report.candles, report.first, report.last) == (4, 4, START, _minute(3))
    assert (report.gaps, report.missing, report.duplicates, report.largest_gaps) == (0, 0, 0, ())
    assert report.symbol == BTC and report.timeframe == "1m" and report.source == str(path)


def test_gaps_are_reported_not_refused_the_largest_first(tmp_path: Path) -> None:
    minutes = [0, 1, 4, 5, 6, 16, 17, 19]  # gaps: 2 missing after 1, 9 after 6, 1 after 17
    history = load_candles_csv(_csv(tmp_path, *(_row(n) for n in minutes)), BTC)
    report = history.report
    assert report.candles == 8 and (report.gaps, report.missing) == (3, 12)
    assert report.largest_gaps == (
        Gap(_minute(6), _minute(16), 9),
        Gap(_minute(1), _minute(4), 2),
        Gap(_minute(17), _minute(19), 1),
    )


def test_start_and_end_keep_the_candles_between_and_the_gaps_among_them(tmp_path: Path) -> None:
    minutes = [0, 1, 4, 5, 6, 16, 17, 19]
    path = _csv(tmp_path, *(_row(n) for n in minutes))
    history = load_candles_csv(path, BTC, start=_minute(2), end=_minute(17))
    assert [c.opened_at for c in history.candles] == [_minute(n) for n in (4, 5, 6, 16)]
    report = history.report
    assert (report.rows, report.candles, report.first, report.last) == (8, 4, _minute(4), _minute(16))
    assert report.largest_gaps == (Gap(_minute(6), _minute(16), 9),) and report.missing == 9
    assert load_candles_csv(path, BTC, start=_minute(30)).candles == []
    with pytest.raises(InvalidInput, match="end: must be after start"):
        load_candles_csv(path, BTC, start=_minute(5), end=_minute(5))


def test_an_exact_repeat_is_dropped_and_reported(tmp_path: Path) -> None:
    path = _csv(tmp_path, _row(0), _row(1), _row(1), _row(1), _row(2))
    history = load_candles_csv(path, BTC)
    assert [c.opened_at for c in history.candles] == [_minute(n) for n in range(3)]
    report = history.report
    assert (report.rows, report.candles, report.duplicates, report.duplicate_lines) == (5, 3, 2, (4, 5))
    assert report.gaps == 0


def test_the_same_time_with_other_values_names_both_lines(tmp_path: Path) -> None:
    path = _csv(tmp_path, _row(0), _row(1), _row(1, "100,101,99,100.6,2"))
    with pytest.raises(InvalidInput) as raised:
        load_candles_csv(path, BTC)
    assert raised.value.field == "btc.csv line 4"
    assert raised.value.rule == "time: 2026-01-01T00:01:00+00:00 again, with other values than btc.csv line 3"


def test_a_row_out_of_order_is_named(tmp_path: Path) -> None:
    path = _csv(tmp_path, _row(0), _row(2), _row(1), _row(3))
    with pytest.raises(InvalidInput) as raised:
        load_candles_csv(path, BTC)
    assert str(raised.value) == (
        "btc.csv line 4: time: out of order: 2026-01-01T00:01:00+00:00 comes after "
        "2026-01-01T00:02:00+00:00 (btc.csv line 3)"
    )


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ("2026-01-01T00:01:00Z,100,101,99,1_00,2", "close: must be a decimal number"),
        ("2026-01-01T00:01:00Z,100,101,99,\u0661\u0660\u0660,2", "close: must be a decimal number"),
        ("2026-01-01T00:01:00Z,100,101,99, 100,2", "close: must be a decimal number"),
        ("2026-01-01T00:01:00Z,NaN,101,99,100,2", "open: must be a decimal number"),
        ("2026-01-01T00:01:00Z,100,101,99,100,1e100", "volume: must be a decimal number"),
        ("2026-01-01T00:01:00Z,100,101,99,100," + "1" * (MAX_DECIMAL_TEXT + 1), "volume: must be a decimal"),
        ("2026-01-01T00:01:00Z,100,101,99,100,", "volume: must be a decimal number"),
        ("2026-01-01T00:01:00Z,0,101,0,100,2", "open: must be greater than 0"),
        ("2026-01-01T00:01:00Z,100,101,-1,100,2", "low: must be greater than 0"),
        ("2026-01-01T00:01:00Z,100,101,99,100,-2", "volume: must be 0 or greater"),
        ("2026-01-01T00:01:00Z,100,99,98,100,2", "high: must be at least the open, the close and the low"),
        ("2026-01-01T00:01:00Z,100,101,100.5,100.7,2", "low: must be at most the open and the close"),
        ("2026-01-01T00:01:30Z,100,101,99,100,2", "time: a candle opens on a whole minute"),
        ("yesterday,100,101,99,100,2", "time: must be an ISO 8601 time"),
        ("1767225660,100,101,99,100,2", "time: epoch milliseconds must be from 2000 on"),
        ("2026-01-01T00:01:00Z,100,101,99,100", "has 5 fields, the header 6"),
        ("", "has 0 fields, the header 6"),
        ('2026-01-01T00:01:00Z,"100,5",101,99,100,2', "open: must be a decimal number"),  # a quoted comma
    ],
)
def test_a_bad_row_names_the_file_line_field_and_rule(tmp_path: Path, row: str, rule: str) -> None:
    path = _csv(tmp_path, _row(0), row, _row(2))
    with pytest.raises(InvalidInput) as raised:
        load_candles_csv(path, BTC)
    assert raised.value.field == "btc.csv line 3"
    assert raised.value.rule.startswith(rule), raised.value.rule


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "btc.csv line 1: the header must be time,open,high,low,close,volume, the file is empty"),
        (b"opened_at,open,high,low,close,volume\n", "btc.csv line 1: the header must be"),
        (b"time,open,high,low,close,volume,symbol\n", "btc.csv line 1: the header must be"),
        (
            HEADER.encode() + b"2026-01-01T00:00:00Z,1,1,1,1,1\n2026\xff,1,1,1,1,1\n",
            "btc.csv line 3: is not UTF-8",
        ),
    ],
)
def test_a_bad_file_is_named(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "btc.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInput) as raised:
        load_candles_csv(path, BTC)
    assert str(raised.value).startswith(message)


def test_a_missing_file_or_another_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot be read: No such file"):
        load_candles(tmp_path / "nothing.csv", BTC)
    with pytest.raises(InvalidInput, match=r"must be a \.csv or a \.parquet file"):
        load_candles(tmp_path / "candles.json", BTC)


def test_a_byte_order_mark_and_crlf_lines_are_read(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(("\ufeff" + HEADER + _row(0) + "\n" + _row(1) + "\n").replace("\n", "\r\n").encode())
    assert len(load_candles_csv(path, BTC).candles) == 2


def test_other_timeframes_are_read_on_their_grid(tmp_path: Path) -> None:
    hourly = _csv(tmp_path, _row(0), _row(60), _row(180), name="hourly.csv")
    history = load_candles_csv(hourly, BTC, Timeframe.parse("1h"))
    assert history.report.timeframe == "1h"
    assert history.report.largest_gaps == (Gap(_minute(60), _minute(180), 1),)
    with pytest.raises(InvalidInput) as raised:  # minutes read as hours
        load_candles_csv(_csv(tmp_path, _row(0), _row(1)), BTC, Timeframe.parse("1h"))
    assert str(raised.value).startswith(
        "btc.csv line 3: time: 2026-01-01T00:01:00+00:00 is not a whole number"
    )
    with pytest.raises(InvalidInput, match=r"line 2: time: .* is not on the 1h grid"):
        load_candles_csv(_csv(tmp_path, _row(5), _row(65), name="off.csv"), BTC, Timeframe.parse("1h"))
    # hours read as minutes: every hour a gap of 59
    assert load_candles_csv(hourly, BTC).report.missing == 59 + 119


# Parquet


def _parquet(tmp_path: Path, columns: dict[str, Any], name: str = "btc.parquet") -> Path:
    path = tmp_path / name
    pq.write_table(pa.table(columns), path)
    return path


def _decimal_column(values: list[str]) -> pa.Array:
    return pa.array([Decimal(v) for v in values], pa.decimal128(18, 8))


def test_a_parquet_file_of_decimals_and_timestamps_reads_as_exact_candles(tmp_path: Path) -> None:
    times = [_minute(n) for n in (0, 1, 2, 5)]
    path = _parquet(
        tmp_path,
        {
            "time": pa.array(times, pa.timestamp("ms", tz="UTC")),
            "open": _decimal_column(["100.1", "100", "100", "100"]),
            "high": _decimal_column(["101", "101", "101", "101"]),
            "low": _decimal_column(["99", "99", "99", "99"]),
            "close": _decimal_column(["100", "100.12345678", "100", "100"]),
            "volume": _decimal_column(["0.5", "0", "1", "2"]),
        },
    )
    history = load_candles_parquet(path, BTC)
    assert [c.opened_at for c in history.candles] == times
    assert history.candles[1].close == Decimal("100.12345678")
    assert history.candles[0].open == Decimal("100.1")
    report = history.report
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (report.rows, report.gaps, report.missing) == (4, 1, 2)


def test_a_parquet_file_of_strings_and_epoch_milliseconds_reads_the_same(tmp_path: Path) -> None:
    minutes = [0, 1, 1, 2]  # with an exact repeat
    path = _parquet(
        tmp_path,
        {
            "volume": ["1", "2", "2", "3"],  # any order of columns
            "time": pa.array([int(_minute(n).timestamp() * 1000) for n in minutes], pa.int64()),
            "open": ["100", "100", "100", "100"],
            "high": ["101", "101", "101", "101"],
            "low": ["99", "99", "99", "99"],
            "close": ["100.5", "100.25", "100.25", "100"],
        },
    )
    history = load_candles(path, BTC, start=_minute(1))
    assert [(c.opened_at, c.close) for c in history.candles] == [
        (_minute(1), Decimal("100.25")),
        (_minute(2), Decimal(100)),
    ]
    assert (history.report.duplicates, history.report.duplicate_lines) == (1, (3,))


def _good_columns() -> dict[str, Any]:
    return {
        "time": pa.array([_minute(0), _minute(1)], pa.timestamp("s")),
        "open": ["100", "100"],
        "high": ["101", "101"],
        "low": ["99", "99"],
        "close": ["100", "100"],
        "volume": ["1", "1"],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"close": pa.array([100.5, 100.0])},
            "btc.parquet: close: a double column: binary floats cannot hold",
        ),
        ({"volume": pa.array([1.5, 2.0], pa.float32())}, "btc.parquet: volume: a float column"),
        ({"close": ["100", None]}, "btc.parquet row 2: close: is missing"),
        ({"close": ["100", "1e-1000"]}, "btc.parquet row 2: close: must be a decimal number"),
        ({"low": ["99", "100.5"]}, "btc.parquet row 2: low: must be at most the open and the close"),
        ({"time": pa.array([_minute(0), None], pa.timestamp("s"))}, "btc.parquet row 2: time: is missing"),
        (
            {"time": pa.array([_minute(0), _minute(0) + timedelta(seconds=1)], pa.timestamp("s"))},
            "btc.parquet row 2: time: a candle opens on a whole minute",
        ),
        (
            {"time": pa.array([1_767_225_600, 1_767_225_660], pa.int64())},
            "btc.parquet row 1: time: epoch milli",
        ),
        ({"time": ["2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"]}, "btc.parquet: time: a string column"),
        (
            {"time": pa.array([_minute(1), _minute(0)], pa.timestamp("s"))},
            "btc.parquet row 2: time: out of order",
        ),
        ({"symbol": ["BTC/USDT", "BTC/USDT"]}, "btc.parquet: has columns the format does not know: symbol"),
        ({"volume": None}, "btc.parquet: has no column volume"),
    ],
)
def test_a_bad_parquet_file_names_the_row_column_and_rule(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    columns = _good_columns() | change
    path = _parquet(tmp_path, {k: v for k, v in columns.items() if v is not None})
    with pytest.raises(InvalidInput) as raised:
        load_candles_parquet(path, BTC)
    assert str(raised.value).startswith(message), str(raised.value)


def test_a_file_that_is_not_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "btc.parquet"
    path.write_text(HEADER)
    with pytest.raises(InvalidInput, match=r"^btc\.parquet: is not a Parquet file"):
        load_candles_parquet(path, BTC)


# Writing


def test_written_candles_read_back_the_same_with_the_same_digest(tmp_path: Path) -> None:
    candles = [_candle(0, "1.00012300"), _candle(1, "65000.5", "1E-8"), _candle(3, "1E+3", "0")]
    path = tmp_path / "out.csv"
    digest = write_candles_csv(path, candles)
    history = load_candles_csv(path, BTC)
    assert history.candles == candles and history.report.sha256 == digest
    assert [str(c.open) for c in history.candles] == ["1.00012300", "65000.5", "1000"]


def test_the_written_lines_are_plain_notation_with_utc_times(tmp_path: Path) -> None:
    candle = Candle(
        BTC,
        datetime(2026, 1, 1, 2, 0, tzinfo=UTC),
        Decimal("1E+3"),
        Decimal("1000.50"),
        Decimal("999"),
        Decimal("1000"),
        Decimal("1E-8"),
    )
    path = tmp_path / "out.csv"
    write_candles_csv(path, [candle])
    assert path.read_text() == HEADER + "2026-01-01T02:00:00Z,1000,1000.50,999,1000,0.00000001\n"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),  # minutes after the last one (0: none, so a duplicate is not made)
            st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal(10**9), places=8),
            st.decimals(min_value=0, max_value=Decimal(10**6), places=5),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_candles_written_read_back_the_same(rows: list[tuple[int, Decimal, Decimal]]) -> None:
    candles, minute = [], 0
    for step, price, volume in rows:
        minute += max(step, 1)
        candles.append(Candle(BTC, _minute(minute), price, price * 2, price / 2, price, volume))
    import tempfile  # noqa: PLC0415 - hypothesis reruns the test; a fixture directory would be shared

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "any.csv"
        digest = write_candles_csv(path, candles)
        history = load_candles_csv(path, BTC)
    assert history.candles == candles
    assert history.report.sha256 == digest


def test_a_writer_that_fails_leaves_no_file_behind(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with pytest.raises(RuntimeError), CandleCsvWriter(path) as writer:
        writer.write([_candle(0), _candle(1)])
        raise RuntimeError("the exchange went away")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="oldest first"), CandleCsvWriter(path) as writer:
        writer.write([_candle(1), _candle(0)])
    assert list(tmp_path.iterdir()) == []


# The number grammar


_REFERENCE = re.compile(DECIMAL_PATTERN)
_FAST = re.compile(NUMBER_PATTERN)


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="0123456789+-.eE_ \u0661", max_size=12),
        st.from_regex(_REFERENCE, fullmatch=True),
    )
)
def test_the_fast_number_pattern_takes_exactly_what_the_grammar_takes(text: str) -> None:
    assert bool(_FAST.fullmatch(text)) == bool(_REFERENCE.fullmatch(text))
