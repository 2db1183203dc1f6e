"""Two `tbot optimize run` processes on one study in the real PostgreSQL: their trials add up, each
trial has its own number and was run by exactly one of the processes, once."""

from __future__ import annotations

import json
import socket
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import optuna
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.support.candle_walk import write_walk
from tests.support.processes import TBOT

pytestmark = pytest.mark.postgres
TRIALS = 3  # per process


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    """A schema of its own for Optuna's tables, dropped afterwards."""
    schema = f"optuna_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield schema
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_two_processes_share_one_study_and_no_trial_runs_twice(
    postgres_url: str, schema: str, tmp_path: Path
) -> None:
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    storage = url.render_as_string(hide_password=False)
    candles = write_walk(tmp_path / "btc.csv", 300)
    study = f"shared-{uuid.uuid4().hex[:8]}"
    args = ["optimize", "run", "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--candles", str(candles)]
    args += ["--param", "capital=10000", "--space", "fast=int:3:12", "--space", "slow=int:13:40"]
    args += ["--space", "fraction=float:0.2:1:0.1", "--objective", "total_return", "--trials", str(TRIALS)]
    args += ["--storage", storage, "--study", study]
    processes = [
        subprocess.Popen(
            [TBOT, *args, "--out", str(tmp_path / name)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for process in processes:
        _, errors = process.communicate(timeout=240)
        assert process.returncode == 0, errors

    driver = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    held = optuna.load_study(study_name=study, storage=driver).get_trials(deepcopy=False)
    assert len(held) == 2 * TRIALS
    assert all(t.state.is_finished() and t.state != optuna.trial.TrialState.FAIL for t in held)
    assert sorted(t.number for t in held) == list(range(2 * TRIALS))
    assert len({t._trial_id for t in held}) == 2 * TRIALS
    runners = Counter(t.user_attrs["runner"] for t in held)
    host = socket.gethostname()
    assert runners == {f"{host}:{p.pid}": TRIALS for p in processes}  # each ran its own, once
    for name in ("a", "b"):
        counted = json.loads((tmp_path / name / "result.json").read_text())["folds"][0]["trials"]
        assert counted["this_run"] == TRIALS
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT trial_id, param_name, count(*) FROM {}.trial_params GROUP BY 1, 2").format(
                sql.Identifier(schema)
            )
        ).fetchall()
    assert len(rows) == 3 * 2 * TRIALS and {count for _, _, count in rows} == {1}  # one set per trial
