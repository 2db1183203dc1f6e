"""`tbot marketdata fetch` against the local fake Binance through the real ccxt library: a symbol's
past candles, paged by startTime and limit, into a CSV file or the candles read model, exactly as
the exchange has them; a bad account, symbol or option exits 2 with one line, an exchange out of
reach 1. `tbot marketdata check` reports on a file."""

from __future__ import annotations

import hashlib
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from domain.market import Candle
from domain.values import Symbol
from infrastructure.candle_files import load_candles_csv, load_candles_store
from infrastructure.candles import CandleStore
from infrastructure.credentials import new_key
from infrastructure.read_database import create_read_engine
from infrastructure.settings import Settings, StoreSettings
from tests.integration.cli_support import assert_user_error, invoke, sqlite_env
from tests.support.fake_binance import API_KEY, SECRET, FakeBinance, Kline

BTC = Symbol("BTC", "USDT")
MINUTES = 2_500  # three pages of 1,000
MISSING = {700, 701, 702, 1_999}  # the exchange was down: two gaps


@pytest.fixture
def start() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=3)


@pytest.fixture
def history(fake: FakeBinance, start: datetime) -> list[Candle]:
    """BTC/USDT's minutes at the exchange, from three days ago: what a fetch must bring back."""
    klines: list[Kline] = []
    for n in range(MINUTES):
        if n in MISSING:
            continue
        price = Decimal(60_000) + Decimal(n) / 4
        opened = int((start + timedelta(minutes=n)).timestamp() * 1000)
        numbers = (price, price + 5, price - Decimal("5.5"), price + Decimal("0.01"), Decimal(n) / 1000)
        open_, high, low, close, volume = (f"{v:.8f}" for v in numbers)  # as Binance writes them
        klines.append((opened, open_, high, low, close, volume))
    fake.set_klines("BTCUSDT", "1m", klines)
    return [
        Candle(BTC, datetime.fromtimestamp(k[0] / 1000, UTC), *(Decimal(v) for v in k[1:])) for k in klines
    ]


@pytest.fixture
def env(tmp_path: Path, fake: FakeBinance) -> dict[str, str]:
    """The embedded default with an account `binance-test` on the fake exchange."""
    env = sqlite_env(tmp_path, TBOT_CREDENTIALS_KEY=new_key())
    added = invoke(
        "accounts",
        "add",
        "binance-test",
        "--exchange",
        "binance",
        "--api-url",
        fake.url,
        TBOT_EXCHANGE_API_KEY=API_KEY,
        TBOT_EXCHANGE_API_SECRET=SECRET,
        **env,
    )
    assert added.exit_code == 0, added.output
    return env


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_fetch_writes_exactly_the_exchanges_candles_paged(
    env: dict[str, str], fake: FakeBinance, history: list[Candle], start: datetime, tmp_path: Path
) -> None:
    out = tmp_path / "btc.csv"
    result = invoke(
        "marketdata", "fetch", "--account", "binance-test", "--symbol", "BTC/USDT", "--since", _iso(start),
        "--out", str(out), **env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    loaded = load_candles_csv(out, BTC)
    assert loaded.candles == history
    assert fake.requests["GET /api/v3/klines"] >= 3  # pages of 1,000, the last one short
    report = loaded.report
    assert (report.candles, report.gaps, report.missing) == (MINUTES - 4, 2, 4)
    assert f"sha256 {hashlib.sha256(out.read_bytes()).hexdigest()}" in result.stdout
    assert "gaps: 2, 4 candles missing; largest: 3 after" in result.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_fetch_between_two_times_goes_to_the_candles_table(
    env: dict[str, str], fake: FakeBinance, history: list[Candle], start: datetime, tmp_path: Path
) -> None:
    since, until = start + timedelta(minutes=650), start + timedelta(minutes=2_050)
    result = invoke(
        "marketdata", "fetch", "--account", "binance-test", "--symbol", "BTC/USDT", "--since", _iso(since),
        "--until", _iso(until), "--to-store", "--page-size", "500", **env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "into the candles table in 3 pages" in result.stdout
    engine = create_read_engine(
        Settings(store=StoreSettings(read_sqlite_path=Path(env["TBOT_READ_SQLITE_PATH"])))
    )
    try:
        stored = load_candles_store(CandleStore(engine), BTC)
    finally:
        engine.dispose()
    assert stored.candles == [c for c in history if since <= c.opened_at < until]
    assert stored.report.sha256 in result.stdout


def test_rate_limits_are_waited_out(
    env: dict[str, str], fake: FakeBinance, history: list[Candle], start: datetime, tmp_path: Path
) -> None:
    fake.faults.throttle = 2  # two requests answered 429
    out = tmp_path / "btc.csv"
    result = invoke(
        "marketdata", "fetch", "--account", "binance-test", "--symbol", "BTC/USDT", "--since", _iso(start),
        "--out", str(out), **env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert load_candles_csv(out, BTC).candles == history


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--symbol", "DOGE/USDT"], ["symbol", "binance lists no spot market DOGE/USDT"]),
        (["--symbol", "btc-usdt"], ["--symbol", "BASE/QUOTE"]),
        (["--account", "nobody"], ["--account", "no exchange account 'nobody'", "tbot accounts add"]),
        (["--timeframe", "7m"], ["timeframe", "must be one of 1m, 5m"]),
        (["--since", "last week"], ["--since", "ISO 8601"]),
        (["--until", "2020-01-01"], ["--until", "must be after --since"]),
        (["--to-store"], ["--out or --to-store", "one of them"]),
        (["--out", "btc.parquet"], ["--out", "must be a .csv file"]),
    ],
)
def test_a_bad_account_symbol_or_option_exits_2_with_one_line(
    env: dict[str, str], tmp_path: Path, args: list[str], words: list[str]
) -> None:
    options = {"--account": "binance-test", "--symbol": "BTC/USDT", "--since": "2026-01-01T00:00:00Z"}
    options |= {"--out": str(tmp_path / "btc.csv")}
    flags = [a for a in args if a == "--to-store"]
    values = [a for a in args if a != "--to-store"]
    options |= dict(zip(values[::2], values[1::2], strict=True))
    command = [part for option in options.items() for part in option]
    result = invoke("marketdata", "fetch", *command, *flags, **env)
    assert_user_error(result.exit_code, result.stderr, *words)
    assert not (tmp_path / "btc.csv").exists()


def test_to_the_candles_table_only_one_minute_candles(env: dict[str, str]) -> None:
    result = invoke(
        "marketdata", "fetch", "--account", "binance-test", "--symbol", "BTC/USDT", "--since", "2026-01-01",
        "--timeframe", "1h", "--to-store", **env,
    )  # fmt: skip
    assert_user_error(result.exit_code, result.stderr, "--to-store", "one-minute candles")


def test_an_exchange_out_of_reach_exits_1_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = sqlite_env(tmp_path, TBOT_CREDENTIALS_KEY=new_key())
    added = invoke(
        "accounts", "add", "binance-gone", "--exchange", "binance", "--api-url", f"http://127.0.0.1:{port}",
        TBOT_EXCHANGE_API_KEY=API_KEY, TBOT_EXCHANGE_API_SECRET=SECRET, **env,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    out = tmp_path / "btc.csv"
    result = invoke(
        "marketdata", "fetch", "--account", "binance-gone", "--symbol", "BTC/USDT", "--since", "2026-01-01",
        "--out", str(out), **env,
    )  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach binance"), lines
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_check_reports_on_a_file_and_names_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "btc.csv"
    path.write_text(
        "time,open,high,low,close,volume\n"
        "2026-01-01T00:00:00Z,100,101,99,100,1\n"
        "2026-01-01T00:03:00Z,100,101,99,100,1\n"
        "2026-01-01T00:03:00Z,100,101,99,100,1\n"
    )
    result = invoke("marketdata", "check", str(path), "--symbol", "BTC/USDT")
    assert result.exit_code == 0, result.output
    assert f"BTC/USDT 1m from {path}: 2 candles (3 rows)" in result.stdout
    assert "gaps: 1, 2 candles missing; largest: 2 after 2026-01-01T00:00:00Z" in result.stdout
    assert "duplicates: 1 exact repeats dropped (at 4, ...)" in result.stdout
    assert f"sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}" in result.stdout
    window = invoke("marketdata", "check", str(path), "--symbol", "BTC/USDT", "--start", "2026-01-01T00:01")
    assert "1 candles (3 rows), 2026-01-01T00:03:00Z to 2026-01-01T00:03:00Z" in window.stdout
    path.write_text(path.read_text() + "2026-01-01T00:04:00Z,100,101,99,1e999,1\n")
    bad = invoke("marketdata", "check", str(path), "--symbol", "BTC/USDT")
    assert_user_error(bad.exit_code, bad.stderr, "btc.csv line 5: close: must be a decimal number")
