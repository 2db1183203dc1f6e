"""`tbot optimize run` as a user runs it, on SQLite: a CSV of candles in, result.json out with the
best parameters chosen on the in-sample figures and their out-of-sample figures beside them; the
same inputs and seed give the same bytes; a study continues only with the same inputs; bad
options exit 2 naming the option and the rule."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import optuna
import pytest

from application.strategies.catalog import default_catalog
from domain.values import Symbol
from infrastructure.candle_files import load_candles
from interfaces.backtest.runner import run_backtest
from interfaces.backtest.world import BacktestInputs
from interfaces.http.schemas import CreateBotBody
from tests.support.candle_walk import write_walk
from tests.support.processes import TBOT

MINUTES = 400
BTC = Symbol("BTC", "USDT")
# fast takes values slow does not exceed: the strategy refuses fast >= slow
SPACE = ["--space", "fast=int:8:20", "--space", "slow=int:5:30", "--space", "fraction=float:0.2:1:0.1"]


@pytest.fixture(scope="module")
def candles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded walk of one-minute BTC/USDT candles."""
    return write_walk(Path(tmp_path_factory.mktemp("candles")) / "btc.csv", MINUTES)


def _optimize(candles: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["optimize", "run", "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--candles", str(candles)]
    args += ["--param", "capital=10000", "--out", str(out), *extra]
    return subprocess.run([TBOT, *args], capture_output=True, text=True, timeout=300, check=False)


def _figures(params: dict[str, Any], candles: Path, part: dict[str, Any]) -> dict[str, Any]:
    """The figures of a backtest of ``params`` on the part of the candles that ``part`` names."""
    every = load_candles(candles, BTC).candles
    chosen = [
        c for c in every if part["first"] <= c.opened_at.isoformat().replace("+00:00", "Z") <= part["last"]
    ]
    assert len(chosen) == part["candles"]
    return dict(run_backtest(BacktestInputs("sma_cross", params, {BTC: chosen})).performance.plain())


def _taken(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` as sma_cross takes them, without the optional ones left unset."""
    return {k: v for k, v in default_catalog().validate("sma_cross", params).items() if v is not None}


def test_the_best_parameters_are_chosen_in_sample_and_shown_out_of_sample(
    candles: Path, tmp_path: Path
) -> None:
    judged = ["--constraint", "max_drawdown<=0.02"]
    args = [*SPACE, "--objective", "sharpe", *judged, "--trials", "6", "--seed", "5"]
    done = _optimize(candles, tmp_path / "one", *args)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads((tmp_path / "one" / "result.json").read_text())
    assert result["objective"] == "sharpe" and result["constraints"] == ["max_drawdown<=0.02"]
    assert result["space"] == {"fast": "int:8:20", "slow": "int:5:30", "fraction": "float:0.2:1:0.1"}
    assert result["storage"] == "optuna.sqlite3" and result["out_of_sample"] == {
        "method": "split",
        "split": "0.7",
    }
    [fold] = result["folds"]
    assert fold["in_sample"]["candles"] == 280 and fold["out_of_sample"]["candles"] == 120
    assert fold["in_sample"]["last"] < fold["out_of_sample"]["first"]
    counted = fold["trials"]
    assert counted["this_run"] == 6 and counted["complete"] + counted["pruned"] + counted["failed"] == 6
    assert counted["pruned"] >= 1  # this seed suggests a fast >= slow, which the strategy refuses

    storage = f"sqlite:///{tmp_path / 'one' / 'optuna.sqlite3'}"
    trials = optuna.load_study(study_name=fold["study"], storage=storage).get_trials()
    refused = [t for t in trials if t.state == optuna.trial.TrialState.PRUNED]
    assert all("must be less than slow" in t.user_attrs["pruned"] for t in refused)
    feasible = [
        t
        for t in trials
        if t.state == optuna.trial.TrialState.COMPLETE and all(v <= 0 for v in t.constraints.values())
    ]
    by_in_sample = max(feasible, key=lambda t: (float(t.user_attrs["in_sample"]["sharpe"]), -t.number))
    best = fold["best"]
    assert best["trial"] == by_in_sample.number and best["params"] == by_in_sample.user_attrs["params"]
    assert best["in_sample"]["max_drawdown"] is not None and float(best["in_sample"]["max_drawdown"]) <= 0.02
    assert best["in_sample"] == _figures(best["params"], candles, fold["in_sample"])
    assert best["out_of_sample"] == _figures(best["params"], candles, fold["out_of_sample"])

    ready = result["best_params"]
    assert ready == _taken(best["params"])
    body = {"name": "n", "strategy": "sma_cross", "allowed_symbols": ["BTC/USDT"], "params": ready}
    limits = {"max_order_notional": "1", "max_position_notional": "1", "max_open_orders": 1}
    limits |= {"daily_loss_limit": "1", "price_band_pct": "0.1", "max_orders_per_minute": 1}
    CreateBotBody.model_validate(body | {"limits": limits})
    assert json.dumps(ready, sort_keys=True) in done.stdout and "/v1/bots" in done.stdout

    again = _optimize(candles, tmp_path / "two", *args)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "one" / "result.json").read_bytes() == (tmp_path / "two" / "result.json").read_bytes()

    more = _optimize(candles, tmp_path / "one", *SPACE, "--objective", "sharpe", *judged, "--trials", "2")
    assert more.returncode == 0, more.stderr
    counted = json.loads((tmp_path / "one" / "result.json").read_text())["folds"][0]["trials"]
    assert counted["this_run"] == 2 and counted["complete"] + counted["pruned"] == 8
    other = _optimize(candles, tmp_path / "one", *SPACE, "--objective", "sortino", *judged, "--trials", "1")
    assert other.returncode == 2
    assert "--study: 'sma_cross BTC/USDT' exists in the storage with other inputs (objective)" in other.stderr


def test_walk_forward_optimises_each_fold_on_what_came_before_it(candles: Path, tmp_path: Path) -> None:
    done = _optimize(
        candles, tmp_path, *SPACE, "--objective", "total_return", "--folds", "2", "--trials", "3"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["out_of_sample"] == {"method": "walk-forward, anchored", "folds": 2}
    first, second = result["folds"]
    assert [first["study"], second["study"]] == ["sma_cross BTC/USDT fold 1/2", "sma_cross BTC/USDT fold 2/2"]
    assert [first["in_sample"]["candles"], first["out_of_sample"]["candles"]] == [133, 133]
    assert [second["in_sample"]["candles"], second["out_of_sample"]["candles"]] == [266, 134]
    assert first["in_sample"]["first"] == second["in_sample"]["first"]  # anchored at the start
    assert first["in_sample"]["last"] < first["out_of_sample"]["first"]
    assert first["out_of_sample"]["last"] == second["in_sample"]["last"]
    assert second["in_sample"]["last"] < second["out_of_sample"]["first"]
    assert result["best_params"] == _taken(second["best"]["params"])  # the latest fold's choice


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (
            ["--space", "fast=int:5"],
            "--space: 'fast=int:5': int takes whole numbers LOW:HIGH or LOW:HIGH:STEP",
        ),
        (["--space", "fast=int:5:50", "--objective", "cagr"], "--objective: must be one of sharpe, sortino"),
        (
            ["--space", "fast=int:5:50", "--constraint", "drawdown<0.2"],
            "--constraint: 'drawdown<0.2' must be",
        ),
        (["--space", "fast=int:5:50", "--trials", "0"], "--trials: must be at least 1"),
        (
            ["--space", "fast=int:5:50", "--split", "0.5", "--folds", "2"],
            "--split and --folds: give one of them",
        ),
        (["--space", "speed=int:5:50"], "--space: speed is not a parameter of sma_cross"),
        (["--space", "fast=int:5:50", "--storage", "nonsense"], "--storage: must be a database URL"),
    ],
)
def test_bad_options_exit_2_with_one_line(candles: Path, tmp_path: Path, extra: list[str], said: str) -> None:
    done = _optimize(candles, tmp_path, *extra)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
