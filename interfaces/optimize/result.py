"""What an optimisation found, as ``result.json`` (docs/optimisation.md, "result.json"): the study,
its inputs, the trial counts and, per fold, the best parameters chosen on the in-sample figures
with their in-sample and out-of-sample figures. Decimals are strings, keys are sorted, and nothing
depends on the clock: the same inputs and seed on a fresh SQLite study give the same bytes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial

from domain.market import Candle
from domain.performance import Performance
from infrastructure.candle_files import CandleFileReport
from interfaces.decimals import plain
from interfaces.optimize.study import Search, counts, ranked
from interfaces.optimize.windows import Fold


@dataclass(frozen=True)
class FoldResult:
    """One fold's study after this run: every trial it holds (other processes' and earlier runs'
    too), how many this run added, the best of them and its figures out of sample."""

    fold: Fold
    study: str
    trials: Sequence[FrozenTrial]
    this_run: int
    out_of_sample: Performance | None

    @property
    def best(self) -> FrozenTrial | None:
        found = ranked(self.trials)
        return found[0] if found else None


def part(candles: Sequence[Candle]) -> dict[str, Any]:
    """A part of the history: its first and last candles' opening times and how many it has."""
    return {
        "first": _time(candles[0].opened_at),
        "last": _time(candles[-1].opened_at),
        "candles": len(candles),
    }


def setup(search: Search, source: CandleFileReport, train: Sequence[Candle]) -> dict[str, Any]:
    """What a study's trials depend on: a study is continued only with the same."""
    return {
        "strategy": search.strategy,
        "symbol": str(search.symbol),
        "fixed_params": dict(search.fixed),
        "space": {d.name: d.text() for d in search.space},
        "objective": search.objective,
        "constraints": [c.text() for c in search.constraints],
        "candles_sha256": source.sha256,
        "in_sample": part(train),
        "cash": plain(search.cash),
        "fee_rate": plain(search.fee_rate),
        "slippage_bps": plain(search.slippage_bps),
        "limits": dict(search.limits) if search.limits is not None else None,
    }


def document(
    search: Search,
    source: CandleFileReport,
    candles: Sequence[Candle],
    storage: str,
    seed: int | None,
    sample: Mapping[str, Any],
    folds: Sequence[FoldResult],
    best_params: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The whole of result.json; ``sample`` says how the history was cut."""
    return {
        "strategy": search.strategy,
        "symbol": str(search.symbol),
        "fixed_params": dict(search.fixed),
        "space": {d.name: d.text() for d in search.space},
        "objective": search.objective,
        "constraints": [c.text() for c in search.constraints],
        "storage": storage,
        "seed": seed,
        "candles": {"source": source.source, "sha256": source.sha256, **part(candles)},
        "cash": plain(search.cash),
        "fee_rate": plain(search.fee_rate),
        "slippage_bps": plain(search.slippage_bps),
        "limits": dict(search.limits) if search.limits is not None else None,
        "out_of_sample": dict(sample),
        "folds": [_fold(result, candles) for result in folds],
        "best_params": dict(best_params) if best_params is not None else None,
    }


def _fold(result: FoldResult, candles: Sequence[Candle]) -> dict[str, Any]:
    best = result.best
    return {
        "fold": result.fold.number,
        "study": result.study,
        "in_sample": part(candles[result.fold.train.start : result.fold.train.stop]),
        "out_of_sample": part(candles[result.fold.test.start : result.fold.test.stop]),
        "trials": {**counts(result.trials), "this_run": result.this_run},
        "best": None
        if best is None
        else {
            "trial": best.number,
            "params": best.user_attrs["params"],
            "in_sample": best.user_attrs["in_sample"],
            "out_of_sample": result.out_of_sample.plain() if result.out_of_sample is not None else None,
        },
    }


def write_result(folder: Path, content: Mapping[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "result.json"
    path.write_text(json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def _time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
