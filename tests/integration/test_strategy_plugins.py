"""A strategy from another package: a tiny project with an entry point in the `tbot.strategies`
group, installed with pip into a directory of its own (offline: no dependencies, no build
isolation), is listed by `tbot strategies list --json` with its schema when that directory is on
PYTHONPATH, and decides through the catalog like a built-in. A second entry point of the same
package that fails to load is left out and named, without harm to the others."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from application.strategies.catalog import StrategyCatalog
from domain.errors import InvalidInput
from domain.strategy import Place
from domain.values import Side
from tests.support.processes import TBOT
from tests.unit.strategies.market import BTC, candles, view

PYPROJECT = """\
[build-system]
requires = ["setuptools>=70.1"]
build-backend = "setuptools.build_meta"

[project]
name = "tbot-breakout"
version = "0.1.0"

[project.entry-points."tbot.strategies"]
breakout = "tbot_breakout:Breakout"
broken = "tbot_breakout:NoSuchClass"

[tool.setuptools]
py-modules = ["tbot_breakout"]
"""

MODULE = '''\
"""Buys when the close breaks above the highest high of the candles before it."""

from application.strategies.base import Amount, Strategy, StrategyParams
from domain.strategy import Place
from domain.values import Side
from pydantic import Field


class BreakoutParams(StrategyParams):
    lookback: int = Field(default=3, strict=True, ge=1, le=100)
    quantity: Amount


class Breakout(Strategy[BreakoutParams]):
    name = "breakout"
    description = "Buys a breakout above the last highs."
    Params = BreakoutParams

    def warmup(self, params):
        return params.lookback + 1

    def decide(self, params, candles, view):
        intents = []
        for symbol in sorted(candles):
            window = candles[symbol][-self.warmup(params):]
            if len(window) < self.warmup(params) or view.quantity(symbol):
                continue
            if window[-1].close > max(candle.high for candle in window[:-1]):
                intents.append(Place(symbol, Side.BUY, params.quantity))
        return intents
'''


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plug-in, installed with pip into a directory of its own."""
    project = tmp_path_factory.mktemp("tbot-breakout")
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "tbot_breakout.py").write_text(MODULE)
    target = tmp_path_factory.mktemp("site")
    pip = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
    ]
    done = subprocess.run(
        [*pip, "--target", str(target), str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / "tbot_breakout.py").exists()
    return target


def test_the_command_line_lists_the_plug_in_with_its_schema(installed: Path) -> None:
    environment = {**os.environ, "PYTHONPATH": str(installed)}
    done = subprocess.run(
        [TBOT, "strategies", "list", "--json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    strategies = {strategy["name"]: strategy for strategy in listed["strategies"]}
    assert {
        "breakout",
        "external",
        "grid",
        "manual",
        "rebalance",
        "rsi_reversion",
        "signals",
        "sma_cross",
    } == set(strategies)
    breakout = strategies["breakout"]
    assert breakout["description"] == "Buys a breakout above the last highs."
    assert breakout["timeframe"] is None  # quantity is required
    assert breakout["params_schema"]["required"] == ["quantity"]
    assert breakout["params_schema"]["properties"]["lookback"]["default"] == 3
    [left_out] = listed["left_out"]
    assert (left_out["name"], left_out["distribution"]) == ("broken", "tbot-breakout")
    assert left_out["reason"].startswith("AttributeError")
    assert "broken" in done.stderr  # the warning, on stderr: stdout holds only the document

    table = subprocess.run(
        [TBOT, "strategies", "list"], env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert table.returncode == 0 and "breakout" in table.stdout and "lookback" in table.stdout


def test_without_it_on_the_path_only_the_built_ins_are_listed() -> None:
    done = subprocess.run(
        [TBOT, "strategies", "list", "--json"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [s["name"] for s in listed["strategies"]] == [
        "external",
        "grid",
        "manual",
        "rebalance",
        "rsi_reversion",
        "signals",
        "sma_cross",
    ]
    assert listed["left_out"] == []


def test_the_plug_in_decides_through_the_catalog(installed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(installed))  # importlib.metadata now finds its distribution
    catalog = StrategyCatalog.from_entry_points()
    assert "breakout" in catalog.names() and [f.name for f in catalog.failures] == ["broken"]
    assert catalog.validate("breakout", {"quantity": "0.25"}) == {"lookback": 3, "quantity": "0.25"}
    with pytest.raises(InvalidInput) as refused:
        catalog.validate("breakout", {"quantity": 0.25})
    assert refused.value.field == "params.quantity"

    strategy = catalog.get("breakout")
    params = strategy.parse({"quantity": "0.25", "lookback": 2})
    assert strategy.warmup(params) == 3
    breaking = candles(BTC, [100, 101, 100, 103])
    assert strategy.decide(params, {BTC: breaking}, view()) == [Place(BTC, Side.BUY, Decimal("0.25"))]
    assert strategy.decide(params, {BTC: candles(BTC, [100, 104, 100, 103])}, view()) == []
