"""`tbot backtest run` as a user runs it: a CSV of candles (or the candles table) in, report.json,
report.html and two charts out; the same inputs give the same bytes; the event log written with
--events is read by `tbot events replay` and `tbot audit state` like a live one; bad input exits 2
with one line."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.values import Symbol
from infrastructure.candle_files import load_candles, write_candles_csv
from infrastructure.candles import CandleStore
from infrastructure.read_database import create_read_engine
from infrastructure.settings import Settings
from tests.support.candle_walk import write_walk
from tests.support.processes import TBOT, tbot
from tests.support.settings import changed, embedded_store

MINUTES = 3000
BTC = Symbol("BTC", "USDT")


@pytest.fixture(scope="module")
def candles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded walk of one-minute BTC/USDT candles, two days of them."""
    return write_walk(Path(tmp_path_factory.mktemp("candles")) / "btc.csv", MINUTES)


def _backtest(
    candles: Path | str, out: Path, *extra: str, settings: Settings | None = None
) -> subprocess.CompletedProcess[str]:
    args = [
        "backtest",
        "run",
        "--strategy",
        "sma_cross",
        "--param",
        "fast=10",
        "--param",
        "slow=30",
        "--param",
        "fraction=0.9",
        "--param",
        "capital=10000",
        "--symbol",
        "BTC/USDT",
        "--candles",
        str(candles),
        "--out",
        str(out),
        *extra,
    ]
    if settings is not None:
        return tbot(settings, *args)
    return subprocess.run([TBOT, *args], capture_output=True, text=True, timeout=300, check=False)


def test_a_backtest_writes_its_report_and_charts_and_the_same_inputs_give_the_same_report(
    candles: Path, tmp_path: Path
) -> None:
    first = _backtest(candles, tmp_path / "one")
    assert first.returncode == 0, first.stderr
    assert "final_equity" in first.stdout
    report: dict[str, Any] = json.loads((tmp_path / "one" / "report.json").read_text())
    assert set(report) == {"metrics", "counts", "fills", "trades", "inputs"}
    assert report["counts"]["fills"] == len(report["fills"]) > 0
    assert report["metrics"]["trades"] == len(report["trades"])
    assert report["inputs"]["params"]["fast"] == 10 and report["inputs"]["candles"]["candles"] == MINUTES
    assert all(isinstance(f["price"], str) and f["time"].endswith("Z") for f in report["fills"])
    for chart in ("equity.png", "price.png"):
        assert (tmp_path / "one" / chart).read_bytes().startswith(b"\x89PNG")
    page = (tmp_path / "one" / "report.html").read_text()
    assert f">{report['metrics']['final_equity']}<" in page
    assert page.count('src="data:image/png;base64,') == 2
    assert report["fills"][-1]["price"] in page and report["inputs"]["candles"]["sha256"] in page
    assert not re.search(r"https?:", page), "the page must open offline"
    second = _backtest(candles, tmp_path / "two")
    assert second.returncode == 0, second.stderr
    for name in ("report.json", "report.html", "equity.png", "price.png"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_the_event_log_of_a_backtest_reads_like_a_live_one(candles: Path, tmp_path: Path) -> None:
    log = tmp_path / "backtest.sqlite3"
    done = _backtest(candles, tmp_path / "out", "--events", str(log))
    assert done.returncode == 0, done.stderr
    settings = changed(Settings(store=embedded_store(tmp_path)), store={"sqlite_path": log})
    replayed = tbot(settings, "events", "replay", "--json")
    assert replayed.returncode == 0, replayed.stderr
    events = [json.loads(line) for line in replayed.stdout.splitlines()]
    types = {event["type"] for event in events}
    assert {"Bot.Created", "Bot.DecisionMade", "Order.Placed", "Order.Filled"} <= types
    bot = next(event["aggregate_id"] for event in events if event["type"] == "Bot.Created")
    state = tbot(settings, "audit", "state", bot)
    assert state.returncode == 0, state.stderr
    assert json.loads(state.stdout)["state"]["strategy"] == "sma_cross"
    again = _backtest(candles, tmp_path / "again", "--events", str(log))
    assert again.returncode == 2 and "exists already" in again.stderr


@pytest.mark.postgres
def test_a_backtest_on_the_candles_table_reports_as_one_on_the_same_candles_in_a_file(
    candles: Path, postgres_settings: Settings, tmp_path: Path
) -> None:
    assert tbot(postgres_settings, "db", "init").returncode == 0
    engine = create_read_engine(postgres_settings)
    try:
        CandleStore(engine).write(load_candles(candles, BTC).candles)
    finally:
        engine.dispose()
    start, end = datetime(2025, 1, 1, 6, tzinfo=UTC), datetime(2025, 1, 2, 6, tzinfo=UTC)
    day = tmp_path / "day.csv"  # the same day's candles in a file of their own
    write_candles_csv(day, load_candles(candles, BTC, start=start, end=end).candles)
    window = ("--start", "2025-01-01T06:00:00Z", "--end", "2025-01-02T06:00:00Z")
    # run where DATABASE_URL names the read database: the backtest itself keeps to its own files
    from_file = _backtest(day, tmp_path / "file", settings=postgres_settings)
    assert from_file.returncode == 0, from_file.stderr
    from_table = _backtest("db:", tmp_path / "table", *window, settings=postgres_settings)
    assert from_table.returncode == 0, from_table.stderr
    by_file = json.loads((tmp_path / "file" / "report.json").read_text())
    by_table = json.loads((tmp_path / "table" / "report.json").read_text())
    assert by_file["inputs"]["candles"].pop("source") == str(day)
    assert by_table["inputs"]["candles"].pop("source") == "candles table"
    assert by_table == by_file and by_table["counts"]["fills"] > 0
    assert by_table["inputs"]["candles"]["candles"] == 24 * 60
    empty = _backtest("db:", tmp_path / "none", "--start", "2030-01-01", settings=postgres_settings)
    assert empty.returncode == 2 and "no candles of BTC/USDT in candles table" in empty.stderr


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--param", "fast=50"], "params.fast: must be less than slow"),
        (["--param", "nonsense"], "--param: 'nonsense' must be name=value"),
        (["--fee-rate", "1e999"], "--fee-rate"),
        (["--start", "yesterday"], "--start"),
        (["--timeframe", "5m"], "--timeframe: only 1m candles are supported"),
    ],
)
def test_bad_input_exits_2_with_one_line(candles: Path, tmp_path: Path, extra: list[str], said: str) -> None:
    done = _backtest(candles, tmp_path / "out", *extra)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
