"""`tbot backtest run` as a user runs it: a CSV of candles in, report.json and two charts out; the
same inputs give the same bytes; the event log written with --events is read by `tbot events
replay` and `tbot audit state` like a live one; bad input exits 2 with one line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infrastructure.settings import Settings
from tests.support.candle_walk import write_walk
from tests.support.processes import TBOT, tbot
from tests.support.settings import changed, embedded_store

MINUTES = 3000


@pytest.fixture(scope="module")
def candles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded walk of one-minute BTC/USDT candles, two days of them."""
    return write_walk(Path(tmp_path_factory.mktemp("candles")) / "btc.csv", MINUTES)


def _backtest(candles: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
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
    second = _backtest(candles, tmp_path / "two")
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "one" / "report.json").read_bytes() == (tmp_path / "two" / "report.json").read_bytes()


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


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--param", "fast=50"], "params.fast: must be less than slow"),
        (["--param", "nonsense"], "--param: 'nonsense' must be name=value"),
        (["--fee-rate", "1e999"], "--fee-rate"),
        (["--start", "yesterday"], "--start"),
    ],
)
def test_bad_input_exits_2_with_one_line(candles: Path, tmp_path: Path, extra: list[str], said: str) -> None:
    done = _backtest(candles, tmp_path / "out", *extra)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
