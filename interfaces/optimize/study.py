"""An Optuna study over tbot's backtests (docs/optimisation.md): each trial is one backtest of the
strategy with the parameters Optuna suggests, on the in-sample candles only; its objective is a
figure of the result, maximised, with the constraints given to Optuna as constraint values so an
infeasible trial is never the best. A trial whose parameters the strategy refuses, or whose
objective or constrained figure is undefined, is pruned with the reason in its user attributes.

The study lives in an Optuna RDB storage (SQLite or PostgreSQL): several processes on one study
each add their own trials, and the storage gives every trial its own number."""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import optuna
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from application.strategies.catalog import default_catalog
from domain.errors import InvalidInput
from domain.market import Candle
from domain.performance import Performance
from domain.values import Symbol
from interfaces.backtest.runner import run_backtest
from interfaces.backtest.world import BacktestInputs
from interfaces.optimize.space import Constraint, Dimension

DEFAULT_STORAGE = "optuna.sqlite3"
"""The SQLite file in the output folder that holds the study when no ``--storage`` is given."""

SETUP_LOCK = 0x74626F745F6F7074  # "tbot_opt"
"""The PostgreSQL advisory lock key that serialises creating Optuna's tables and studies."""

SETUP_KEY = "tbot_setup"
"""The study's user attribute that records what its trials were run on: a study is only
continued with the same inputs."""


@dataclass(frozen=True)
class Search:
    """What every trial of an optimisation shares: the strategy and market, the fixed parameters,
    the space, the objective, the constraints and the costs of the backtests."""

    strategy: str
    symbol: Symbol
    fixed: Mapping[str, Any]
    space: Sequence[Dimension]
    objective: str
    constraints: Sequence[Constraint]
    cash: Decimal
    fee_rate: Decimal
    slippage_bps: Decimal
    limits: Mapping[str, Any] | None

    def check_names(self) -> None:
        """Every searched and fixed parameter is one the strategy takes, and none is both."""
        try:
            known = default_catalog().get(self.strategy).Params.model_fields
        except InvalidInput as error:
            raise InvalidInput("--strategy", error.rule) from None
        for dimension in self.space:
            if dimension.name not in known:
                rule = f"is not a parameter of {self.strategy} (its parameters: {', '.join(known)})"
                raise InvalidInput("--space", f"{dimension.name} {rule}")
            if dimension.name in self.fixed:
                raise InvalidInput("--param", f"{dimension.name} is searched (--space): it cannot be fixed")

    def backtest(self, params: Mapping[str, Any], candles: list[Candle]) -> Performance:
        """The figures of one backtest of the strategy with ``params`` on ``candles``."""
        inputs = BacktestInputs(
            strategy=self.strategy,
            params=params,
            candles={self.symbol: candles},
            cash=self.cash,
            fee_rate=self.fee_rate,
            slippage_bps=self.slippage_bps,
            limits=self.limits,
        )
        return run_backtest(inputs).performance


class TrialObjective:
    """Optuna's objective: one backtest on the in-sample candles per trial."""

    def __init__(self, search: Search, candles: list[Candle]) -> None:
        self.search = search
        self.candles = candles
        self.runner = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, trial: optuna.Trial) -> float:
        search = self.search
        params = {**search.fixed, **{d.name: d.suggest(trial) for d in search.space}}
        trial.set_user_attr("params", params)
        trial.set_user_attr("runner", self.runner)
        try:
            default_catalog().validate(search.strategy, params)
        except InvalidInput as error:
            _prune(trial, f"the strategy refuses the parameters: {error}")
        figures = search.backtest(params, self.candles)
        trial.set_user_attr("in_sample", figures.plain())
        value = getattr(figures, search.objective)
        if value is None or not math.isfinite(float(value)):
            _prune(
                trial, f"{search.objective} is undefined on the in-sample candles ({figures.trades} trades)"
            )
        for constraint in search.constraints:
            violation = constraint.violation(figures)
            if violation is None:
                _prune(trial, f"{constraint.figure} is undefined on the in-sample candles")
            trial.set_constraint(constraint.text(), float(violation))
        return float(value)


def _prune(trial: optuna.Trial, reason: str) -> NoReturn:
    trial.set_user_attr("pruned", reason)
    raise optuna.TrialPruned(reason)


def open_storage(url: str | None, folder: Path) -> optuna.storages.RDBStorage:
    """The storage ``--storage`` names (PostgreSQL through psycopg 3), or the SQLite file
    ``DEFAULT_STORAGE`` in ``folder``."""
    if url is None:
        folder.mkdir(parents=True, exist_ok=True)
        return optuna.storages.RDBStorage(f"sqlite:///{folder.resolve() / DEFAULT_STORAGE}")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput("--storage", "must be a database URL, e.g. postgresql://user@host/db") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif not parsed.drivername.startswith(("postgresql+", "sqlite")):
        raise InvalidInput("--storage", "must be a postgresql:// or sqlite:/// URL")
    with _setup_lock(parsed):
        return optuna.storages.RDBStorage(parsed.render_as_string(hide_password=False))


@contextmanager
def _setup_lock(url: URL) -> Iterator[None]:
    """Holds a PostgreSQL session advisory lock (``SETUP_LOCK``) while Optuna creates its tables or
    a study: processes starting together on a fresh database would otherwise race to create the
    same tables (and one fail). SQLite files need no lock here."""
    if not url.drivername.startswith("postgresql"):
        yield
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SETUP_LOCK})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SETUP_LOCK})
    finally:
        engine.dispose()


def storage_text(url: str | None) -> str:
    """The storage as result.json records it: the URL without its password, or the default file's
    name (beside result.json)."""
    return DEFAULT_STORAGE if url is None else make_url(url).render_as_string(hide_password=True)


def open_study(
    storage: optuna.storages.RDBStorage, name: str, seed: int | None, setup: Mapping[str, Any]
) -> optuna.Study:
    """The study ``name``, created if new (a TPE sampler, maximising), or continued when it was
    made with the same ``setup``."""
    with _setup_lock(make_url(storage.url)):
        study = optuna.create_study(
            storage=storage,
            study_name=name,
            sampler=optuna.samplers.TPESampler(seed=seed),
            direction="maximize",
            load_if_exists=True,
        )
        recorded = study.user_attrs.get(SETUP_KEY)
        if recorded is None:
            study.set_user_attr(SETUP_KEY, dict(setup))
    if recorded is not None and recorded != setup:
        differ = sorted(key for key in {*recorded, *setup} if recorded.get(key) != setup.get(key))
        raise InvalidInput(
            "--study",
            f"{name!r} exists in the storage with other inputs ({', '.join(differ)}): "
            "choose another --study or --storage",
        )
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise InvalidInput("--study", f"{name!r} exists in the storage and does not maximise")
    return study


def feasible(trial: FrozenTrial) -> bool:
    return trial.state == TrialState.COMPLETE and all(v <= 0 for v in trial.constraints.values())


def ranked(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The complete trials within every constraint, the best first (the earlier of equals)."""
    return sorted((t for t in trials if feasible(t)), key=lambda t: (-(t.value or 0.0), t.number))


def counts(trials: Sequence[FrozenTrial]) -> dict[str, int]:
    """How many trials of the study are in each state (``failed`` is Optuna's FAIL: the objective
    raised), and how many complete ones broke a constraint (``infeasible``)."""
    names = {TrialState.FAIL: "failed"}
    found = {names.get(state, state.name.lower()): 0 for state in TrialState}
    for trial in trials:
        found[names.get(trial.state, trial.state.name.lower())] += 1
    found["infeasible"] = sum(1 for t in trials if t.state == TrialState.COMPLETE and not feasible(t))
    return found
