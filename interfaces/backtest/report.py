"""A backtest's report: ``report.json`` (the metrics, every fill, every round trip, and the inputs
that produced them, decimals as strings; the same inputs give the same bytes) and the summary a
person reads on the terminal."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from itertools import repeat
from operator import add, attrgetter
from pathlib import Path
from typing import Any

from application.backtest.results import Outcome
from application.backtest.series import ONE_MINUTE
from domain.market import Candle
from domain.performance import Performance, measure, round_trips
from domain.values import Symbol
from infrastructure.candle_files import CandleFileReport
from interfaces.decimals import plain


@dataclass(frozen=True)
class ReportInputs:
    """What a backtest was run on, recorded with its results."""

    strategy: str
    params: Mapping[str, Any]
    symbol: Symbol
    candles: CandleFileReport
    cash: Decimal
    fee_rate: Decimal
    slippage_bps: Decimal
    limits: Mapping[str, Any] | None


def code_version() -> str:
    try:
        return version("tbot")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree never installed
        return "unknown"


def performance(outcome: Outcome, candles: list[Candle]) -> Performance:
    closed = map(add, map(attrgetter("opened_at"), candles), repeat(ONE_MINUTE))  # each candle's close
    curve = list(zip(closed, outcome.equity, strict=True))
    return measure(curve, outcome.fills, exposed=sum(outcome.exposure), denials=outcome.denials)


def report(inputs: ReportInputs, outcome: Outcome, figures: Performance) -> dict[str, Any]:
    candles = inputs.candles
    return {
        "metrics": figures.plain(),
        "counts": {
            "decisions": outcome.decisions,
            "orders": outcome.orders,
            "fills": len(outcome.fills),
            "denied": outcome.denials,
            "rejected": len(outcome.rejections),
        },
        "fills": [
            {
                "time": _time(f.time),
                "symbol": str(f.symbol),
                "side": f.side.value,
                "quantity": plain(f.quantity),
                "price": plain(f.price),
                "fee": plain(f.fee),
            }
            for f in outcome.fills
        ],
        "trades": [
            {
                "symbol": str(t.symbol),
                "side": t.side.value,
                "entry_time": _time(t.entry_time),
                "exit_time": _time(t.exit_time),
                "quantity": plain(t.quantity),
                "entry_price": plain(t.entry_price),
                "exit_price": plain(t.exit_price),
                "fees": plain(t.fees),
                "pnl": plain(t.pnl),
            }
            for t in round_trips(outcome.fills)
        ],
        "inputs": {
            "strategy": inputs.strategy,
            "params": dict(inputs.params),
            "symbol": str(inputs.symbol),
            "candles": {
                "source": candles.source,
                "sha256": candles.sha256,
                "timeframe": candles.timeframe,
                "candles": candles.candles,
                "first": _time(candles.first),
                "last": _time(candles.last),
                "gaps": candles.gaps,
                "missing": candles.missing,
            },
            "cash": plain(inputs.cash),
            "fee_rate": plain(inputs.fee_rate),
            "slippage_bps": plain(inputs.slippage_bps),
            "limits": dict(inputs.limits) if inputs.limits is not None else None,
            "code_version": code_version(),
        },
    }


def write_report(folder: Path, document: Mapping[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.json"
    path.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
