"""Candle history for backtests: one symbol's candles from a CSV file, a Parquet file or the candles
read model, checked and reported on rather than fixed in silence; and candles written to CSV.

A file holds the candles of ONE symbol and timeframe, under the columns ``time, open, high, low,
close, volume``:

- CSV: the header is exactly ``time,open,high,low,close,volume``; ``time`` is ISO 8601 (a time
  without an offset is UTC) or epoch milliseconds (all digits; from 2000 on, so epoch seconds are
  not taken for milliseconds); prices and volume are read by the project's number grammar
  (``domain.values.DECIMAL_PATTERN``: ASCII digits, a sign, a point, a short exponent), never as
  floats.
- Parquet: the same columns, in any order; ``time`` a timestamp (without a time zone: UTC) or int64
  epoch milliseconds; prices and volume decimal128/decimal256, strings (read by the same grammar)
  or integers. Float columns are refused, naming the column: a binary float cannot say which
  decimal the writer meant.

What is checked, over the whole file (whatever ``start`` and ``end`` keep):

- every row: a bad one stops the read with ``InvalidInput`` naming the file, the line (CSV; the
  header is line 1) or row (Parquet; the first is row 1), the field and the rule; the candle's own
  rules (``domain.market.Candle``) included;
- order: each candle opens after the one before it, on the timeframe's grid; a row out of order is
  an error naming its line;
- duplicates: a row that repeats the one before it exactly (same time, same values, as exports
  joined end to end often have) is dropped and reported; the same time with other values is an
  error naming both lines, since either could be the right one;
- gaps: missing candles are not an error (exchanges go down), they are reported: how many gaps,
  how many candles they miss, and the largest.

A read gives the candles (``domain.market.Candle``, exact Decimals) opened at or after ``start``
and before ``end``, and a ``CandleFileReport`` with the file's SHA-256, which a backtest records.
The candles read model's report carries the SHA-256 of the CSV file ``write_candles_csv`` would
write of the candles read, so the same candles have the same digest from either.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import os
import re
import uuid
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import repeat
from operator import attrgetter
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from domain.errors import InvalidInput
from domain.market import Candle
from domain.strategy import EPOCH, Timeframe
from domain.values import MAX_DECIMAL_TEXT, Symbol, decimal_field, non_negative_decimal
from infrastructure.candles import CandleStore

COLUMNS = ("time", "open", "high", "low", "close", "volume")
HEADER = ",".join(COLUMNS)
PRICES = COLUMNS[1:5]
ONE_MINUTE = Timeframe.parse("1m")
LARGEST_GAPS = 5
"""How many of the largest gaps a report names."""
DUPLICATE_LINES = 5
"""How many of the dropped duplicates' lines a report names."""
EARLIEST_MS = 946_684_800_000
"""2000-01-01 in epoch milliseconds: an earlier number is taken for epoch seconds and refused."""

NUMBER_PATTERN = r"[+-]?+(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][+-]?+[0-9]{1,2}+)?+"
"""``domain.values.DECIMAL_PATTERN`` (the project's number grammar) with possessive quantifiers:
the same numbers (a test holds them equal), matched twice as fast, since nothing is tried again
after a run of digits. A file is a million rows of five numbers."""
# The five numbers of a row joined by commas, each by the grammar and its length limit, checked by
# one match: a row that fails is looked at field by field (decimal_field) for the error.
_NUMBERS = re.compile(",".join([rf"(?=[^,]{{1,{MAX_DECIMAL_TEXT}}}(?:,|\Z)){NUMBER_PATTERN}"] * 5)).fullmatch
_ONE_NUMBER = re.compile(NUMBER_PATTERN).fullmatch


@dataclass(frozen=True)
class Gap:
    """Candles missing between two that are there: ``after`` opened the last candle before the
    gap, ``resumed`` the first after it."""

    after: datetime
    resumed: datetime
    missing: int


@dataclass(frozen=True)
class CandleFileReport:
    """What a read found. ``rows`` counts the source's rows; ``candles`` those returned (between
    ``start`` and ``end``, duplicates dropped); ``first``, ``last`` and the gaps are the returned
    candles'; ``duplicate_lines`` names the first few dropped duplicates (CSV lines, Parquet rows)."""

    source: str
    sha256: str
    symbol: Symbol
    timeframe: str
    rows: int
    candles: int
    first: datetime | None
    last: datetime | None
    duplicates: int
    duplicate_lines: tuple[int, ...]
    gaps: int
    missing: int
    largest_gaps: tuple[Gap, ...]


@dataclass(frozen=True)
class CandleHistory:
    candles: list[Candle]
    report: CandleFileReport


class _Survey:
    """The order of a source's candles, checked at once from their opening times (epoch seconds,
    one per candle): out of order or off the grid is an error, an exact repeat is dropped and
    counted, a gap is noted. The ``i``-th candle is ``label`` number ``i + first`` (a file's line
    or row)."""

    def __init__(
        self, candles: list[Candle], seconds: Any, timeframe: Timeframe, label: str, first: int
    ) -> None:
        self.candles = candles
        self.duplicates: list[int] = []
        self.gaps: list[Gap] = []

        def where(index: int) -> str:
            return f"{label} {index + first}"

        if not candles:
            return
        opened = candles[0].opened_at
        if timeframe.opening(opened) != opened:
            raise InvalidInput(where(0), f"time: {opened.isoformat()} is not on the {timeframe.name} grid")
        step = timeframe.minutes * 60
        steps = np.diff(np.asarray(seconds, dtype=np.int64))
        odd = np.flatnonzero(steps != step).tolist()  # the usual file has none
        dropped = []
        for index in odd:
            previous, candle, seconds_apart = candles[index], candles[index + 1], int(steps[index])
            here = where(index + 1)
            if seconds_apart < 0:
                raise InvalidInput(
                    here,
                    f"time: out of order: {candle.opened_at.isoformat()} comes after "
                    f"{previous.opened_at.isoformat()} ({where(index)})",
                )
            if seconds_apart == 0:
                if candle != previous:
                    raise InvalidInput(
                        here,
                        f"time: {candle.opened_at.isoformat()} again, with other values than {where(index)}",
                    )
                self.duplicates.append(index + 1 + first)
                dropped.append(index + 1)
            elif seconds_apart % step:
                raise InvalidInput(
                    here,
                    f"time: {candle.opened_at.isoformat()} is not a whole number of {timeframe.name} "
                    f"candles after {previous.opened_at.isoformat()}",
                )
            else:
                self.gaps.append(Gap(previous.opened_at, candle.opened_at, seconds_apart // step - 1))
        if dropped:
            gone = set(dropped)
            self.candles = [c for i, c in enumerate(candles) if i not in gone]


def _report(
    source: str,
    sha256: str,
    symbol: Symbol,
    timeframe: Timeframe,
    rows: int,
    survey: _Survey,
    start: datetime | None,
    end: datetime | None,
) -> CandleHistory:
    candles = survey.candles
    low = 0 if start is None else bisect_left(candles, start, key=attrgetter("opened_at"))
    high = len(candles) if end is None else bisect_left(candles, end, key=attrgetter("opened_at"))
    kept = candles if (low, high) == (0, len(candles)) else candles[low:high]
    first = kept[0].opened_at if kept else None
    last = kept[-1].opened_at if kept else None
    gaps = [g for g in survey.gaps if first is not None and last is not None and first <= g.after < last]
    largest = sorted(gaps, key=lambda g: (-g.missing, g.after))[:LARGEST_GAPS]
    report = CandleFileReport(
        source=source,
        sha256=sha256,
        symbol=symbol,
        timeframe=timeframe.name,
        rows=rows,
        candles=len(kept),
        first=first,
        last=last,
        duplicates=len(survey.duplicates),
        duplicate_lines=tuple(survey.duplicates[:DUPLICATE_LINES]),
        gaps=len(gaps),
        missing=sum(g.missing for g in gaps),
        largest_gaps=tuple(largest),
    )
    return CandleHistory(kept, report)


def _checked_range(start: datetime | None, end: datetime | None) -> None:
    for name, moment in (("start", start), ("end", end)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput(name, "must carry a time zone (UTC)")
    if start is not None and end is not None and end <= start:
        raise InvalidInput("end", "must be after start")


class _QuietCollector:
    """Holds the cyclic garbage collector back while a file's candles are made: a million new
    objects would otherwise set off collections that walk every candle made so far, again and
    again. Candles hold no cycles, so nothing is left for the collector meanwhile."""

    def __enter__(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._was_enabled:
            gc.enable()


def _file_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidInput(str(path), f"cannot be read: {error.strerror or error}") from None


def load_candles(
    path: Path,
    symbol: Symbol,
    timeframe: Timeframe = ONE_MINUTE,
    start: datetime | None = None,
    end: datetime | None = None,
) -> CandleHistory:
    """A CSV (``.csv``) or Parquet (``.parquet``, ``.pq``) file's candles, by its name's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return load_candles_csv(path, symbol, timeframe, start, end)
    if suffix in (".parquet", ".pq"):
        return load_candles_parquet(path, symbol, timeframe, start, end)
    raise InvalidInput(str(path), "must be a .csv or a .parquet file")


# CSV


def load_candles_csv(
    path: Path,
    symbol: Symbol,
    timeframe: Timeframe = ONE_MINUTE,
    start: datetime | None = None,
    end: datetime | None = None,
) -> CandleHistory:
    """The candles of a CSV file with the header ``time,open,high,low,close,volume``."""
    _checked_range(start, end)
    data = _file_bytes(path)
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        return _read_csv(
            io.TextIOWrapper(io.BytesIO(data), "utf-8-sig", newline=""),
            sha256,
            path,
            symbol,
            timeframe,
            start,
            end,
        )
    except UnicodeDecodeError:
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise InvalidInput(f"{path.name} line {line}", "is not UTF-8 text") from None
        raise


def _read_csv(
    text: Iterable[str],
    sha256: str,
    path: Path,
    symbol: Symbol,
    timeframe: Timeframe,
    start: datetime | None,
    end: datetime | None,
) -> CandleHistory:
    name = path.name
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        raise InvalidInput(f"{name} line 1", f"the header must be {HEADER}, the file is empty")
    if header != list(COLUMNS):
        raise InvalidInput(f"{name} line 1", f"the header must be {HEADER}, not {','.join(header)}")
    candles: list[Candle] = []
    seconds: list[float] = []
    keep, mark = candles.append, seconds.append
    with _QuietCollector():
        for line, row in enumerate(reader, start=2):
            try:
                at, open_, high, low, close, volume = row
            except ValueError:
                raise InvalidInput(
                    f"{name} line {line}", f"has {len(row)} fields, the header {len(COLUMNS)}"
                ) from None
            if not _NUMBERS(f"{open_},{high},{low},{close},{volume}"):
                raise _bad_number(f"{name} line {line}", row)
            try:
                try:
                    opened = datetime.fromisoformat(at)
                except ValueError:
                    opened = _csv_time(at)
                if opened.tzinfo is None:
                    opened = opened.replace(tzinfo=UTC)
                elif opened.tzinfo is not UTC:
                    opened = opened.astimezone(UTC)
                candle = Candle(
                    symbol,
                    opened,
                    Decimal(open_),
                    Decimal(high),
                    Decimal(low),
                    Decimal(close),
                    Decimal(volume),
                )
            except (ValueError, InvalidInput) as error:
                raise _bad_candle(f"{name} line {line}", error, row) from None
            keep(candle)
            mark(opened.timestamp())
        survey = _Survey(candles, seconds, timeframe, f"{name} line", 2)
    return _report(str(path), sha256, symbol, timeframe, len(candles), survey, start, end)


def _csv_time(text: str) -> datetime:
    """A time that is not ISO 8601: epoch milliseconds, or an error."""
    if text.isdigit() and text.isascii():
        return _epoch_ms(int(text))
    raise InvalidInput("time", "must be an ISO 8601 time (2026-01-01T00:00:00Z) or epoch milliseconds")


def _epoch_ms(ms: int) -> datetime:
    if ms < EARLIEST_MS:
        raise InvalidInput("time", "epoch milliseconds must be from 2000 on (epoch seconds are not taken)")
    try:
        return EPOCH + timedelta(milliseconds=ms)
    except OverflowError:
        raise InvalidInput("time", "is too far in the future") from None


def _bad_number(where: str, row: Sequence[str]) -> InvalidInput:
    """The first of a row's numbers the grammar refuses, named with its rule."""
    for field, text in zip(COLUMNS[1:], row[1:], strict=True):
        try:
            decimal_field(text, field)
        except InvalidInput as error:
            return InvalidInput(where, f"{field}: {error.rule}")
    return InvalidInput(where, "a number does not follow the grammar")  # pragma: no cover


def _bad_candle(where: str, error: ValueError | InvalidInput, values: Sequence[Any]) -> InvalidInput:
    """The field and the rule a row breaks, from the Candle's refusal (or the time's)."""
    if isinstance(error, InvalidInput):
        return InvalidInput(where, f"{error.field}: {error.rule}")
    _, open_, high, low, close, volume = (
        values[0],
        *(v if isinstance(v, Decimal) else Decimal(v) for v in values[1:]),
    )
    for field, price in zip(PRICES, (open_, high, low, close), strict=True):
        if price <= 0:
            return InvalidInput(where, f"{field}: must be greater than 0")
    try:
        non_negative_decimal(volume, "volume")
    except InvalidInput as problem:
        return InvalidInput(where, f"volume: {problem.rule}")
    if high < max(open_, close, low):
        return InvalidInput(where, "high: must be at least the open, the close and the low")
    if low > min(open_, close):
        return InvalidInput(where, "low: must be at most the open and the close")
    if "whole minute" in str(error):
        return InvalidInput(where, "time: a candle opens on a whole minute")
    return InvalidInput(where, f"candle: {error}")


# Parquet


def load_candles_parquet(
    path: Path,
    symbol: Symbol,
    timeframe: Timeframe = ONE_MINUTE,
    start: datetime | None = None,
    end: datetime | None = None,
) -> CandleHistory:
    """The candles of a Parquet file with the columns ``time, open, high, low, close, volume``."""
    import pyarrow as pa  # noqa: PLC0415 - only Parquet reads need it
    import pyarrow.parquet as pq  # noqa: PLC0415

    _checked_range(start, end)
    data = _file_bytes(path)
    sha256 = hashlib.sha256(data).hexdigest()
    name = path.name
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as error:
        raise InvalidInput(name, f"is not a Parquet file: {error}") from None
    del data
    found = list(table.column_names)
    missing = [c for c in COLUMNS if c not in found]
    if missing:
        raise InvalidInput(name, f"has no column {', '.join(missing)} (it needs {', '.join(COLUMNS)})")
    unknown = [c for c in found if c not in COLUMNS]
    if unknown:
        raise InvalidInput(name, f"has columns the format does not know: {', '.join(unknown)}")
    where: Callable[[int], str] = lambda row: f"{name} row {row}"  # noqa: E731
    with _QuietCollector():
        seconds, times = _parquet_times(table.column("time"), name, where)
        numbers = [_parquet_numbers(table.column(c), c, name, where) for c in COLUMNS[1:]]
        candles: list[Candle] = []
        keep = candles.append
        for row, (at, open_, high, low, close, volume) in enumerate(zip(times, *numbers, strict=True), 1):
            try:
                keep(Candle(symbol, at, open_, high, low, close, volume))
            except ValueError as error:
                raise _bad_candle(where(row), error, (at, open_, high, low, close, volume)) from None
        survey = _Survey(candles, seconds, timeframe, f"{name} row", 1)
    return _report(str(path), sha256, symbol, timeframe, len(candles), survey, start, end)


def _first_null(column: Any) -> int | None:
    import pyarrow.compute as pc  # noqa: PLC0415

    if column.null_count == 0:
        return None
    return int(pc.index(pc.is_null(column), True).as_py())


def _parquet_times(column: Any, name: str, where: Callable[[int], str]) -> tuple[Any, list[datetime]]:
    """The time column as epoch seconds (a numpy array) and as UTC datetimes."""
    import pyarrow as pa  # noqa: PLC0415

    null = _first_null(column)
    if null is not None:
        raise InvalidInput(where(null + 1), "time: is missing")
    kind = column.type
    if pa.types.is_timestamp(kind):
        per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[kind.unit]
        raw = column.cast(pa.int64()).to_numpy()
    elif pa.types.is_integer(kind):
        per_second = 1_000
        raw = column.cast(pa.int64()).to_numpy()
        early = np.flatnonzero(raw < EARLIEST_MS)
        if early.size:
            raise InvalidInput(
                where(int(early[0]) + 1),
                "time: epoch milliseconds must be from 2000 on (epoch seconds are not taken)",
            )
    else:
        raise InvalidInput(name, f"time: a {kind} column: must be a timestamp or int64 epoch milliseconds")
    odd = np.flatnonzero(raw % (60 * per_second))
    if odd.size:
        raise InvalidInput(where(int(odd[0]) + 1), "time: a candle opens on a whole minute")
    seconds = raw // per_second
    try:
        times = list(map(datetime.fromtimestamp, seconds.tolist(), repeat(UTC)))
    except (OverflowError, OSError, ValueError) as error:
        raise InvalidInput(name, f"time: out of range: {error}") from None
    return seconds, times


def _parquet_numbers(column: Any, field: str, name: str, where: Callable[[int], str]) -> list[Decimal]:
    import pyarrow as pa  # noqa: PLC0415

    kind = column.type
    if pa.types.is_floating(kind):
        raise InvalidInput(
            name,
            f"{field}: a {kind} column: binary floats cannot hold prices exactly; "
            "write it as decimal128 or as strings",
        )
    null = _first_null(column)
    if null is not None:
        raise InvalidInput(where(null + 1), f"{field}: is missing")
    if pa.types.is_decimal(kind):
        # arrow writes a decimal's exact digits (with its scale), so its text is the number itself
        return [Decimal(text) for text in column.cast(pa.string()).to_pylist()]
    if pa.types.is_integer(kind):
        return [Decimal(value) for value in column.to_pylist()]
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        numbers = []
        for row, text in enumerate(column.to_pylist(), 1):
            if len(text) > MAX_DECIMAL_TEXT or not _ONE_NUMBER(text):
                try:
                    decimal_field(text, field)
                except InvalidInput as error:
                    raise InvalidInput(where(row), f"{field}: {error.rule}") from None
            numbers.append(Decimal(text))
        return numbers
    raise InvalidInput(name, f"{field}: a {kind} column: must be decimal128, string or integer")


# The candles read model


def load_candles_store(
    store: CandleStore,
    symbol: Symbol,
    start: datetime | None = None,
    end: datetime | None = None,
) -> CandleHistory:
    """The read model's one-minute candles of ``symbol`` between ``start`` and ``end``, with the
    same report (the table keeps one candle a minute, in order, so only gaps can show)."""
    _checked_range(start, end)
    with _QuietCollector():
        candles = store.between(symbol, start, end)
        seconds = [c.opened_at.timestamp() for c in candles]
        survey = _Survey(candles, seconds, ONE_MINUTE, "candles table row", 1)
    digest = hashlib.sha256()
    for chunk in csv_chunks(candles):
        digest.update(chunk)
    return _report("candles table", digest.hexdigest(), symbol, ONE_MINUTE, len(candles), survey, None, None)


# Writing


def csv_line(candle: Candle) -> str:
    """One candle as a line of the CSV format: the time in ISO 8601 UTC, the numbers as written
    (plain notation, every digit kept)."""
    return (
        f"{candle.opened_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ},{candle.open:f},{candle.high:f},"
        f"{candle.low:f},{candle.close:f},{candle.volume:f}\n"
    )


def csv_chunks(candles: Iterable[Candle], header: bool = True, size: int = 10_000) -> Iterator[bytes]:
    """The CSV file of ``candles``, in chunks of ``size`` lines."""
    if header:
        yield (HEADER + "\n").encode()
    lines: list[str] = []
    for candle in candles:
        lines.append(csv_line(candle))
        if len(lines) == size:
            yield "".join(lines).encode()
            lines = []
    if lines:
        yield "".join(lines).encode()


class CandleCsvWriter:
    """Writes one symbol's candles, oldest first, to a CSV file as they come: into a temporary
    file beside it that takes the file's name only when the writer closes without an error, so a
    file is never left half written. ``sha256`` is the finished file's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._digest = hashlib.sha256()
        self._last: Candle | None = None
        self._handle: Any = None
        self._temporary: str | None = None

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def __enter__(self) -> CandleCsvWriter:
        temporary = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:12]}.part")
        self._handle = temporary.open("xb")  # made as any new file is (the umask applies)
        self._temporary = str(temporary)
        self._put((HEADER + "\n").encode())
        return self

    def write(self, candles: Sequence[Candle]) -> None:
        if not candles:
            return
        last = self._last
        for candle in candles:
            if last is not None and (candle.symbol != last.symbol or candle.opened_at <= last.opened_at):
                raise ValueError("candles are written one symbol at a time, oldest first, once each")
            last = candle
        for chunk in csv_chunks(candles, header=False):
            self._put(chunk)
        self._last = last
        self.rows += len(candles)

    def _put(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self._digest.update(chunk)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._temporary is not None
        try:
            if kind is None:
                self._handle.flush()
                os.fsync(self._handle.fileno())
            self._handle.close()
            if kind is None:
                os.replace(self._temporary, self.path)
        finally:
            if os.path.exists(self._temporary):
                os.unlink(self._temporary)


def write_candles_csv(path: Path, candles: Sequence[Candle]) -> str:
    """Writes ``candles`` (one symbol, oldest first) to ``path`` as a CSV file with the header
    ``time,open,high,low,close,volume``; returns the file's SHA-256."""
    with CandleCsvWriter(path) as writer:
        writer.write(candles)
    return writer.sha256
