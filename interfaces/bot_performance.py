"""A running bot's performance as the API answers it and `tbot bots performance --json` prints
it: one JSON document (docs/api.md, "A bot's performance"). Decimals are written as the API
writes them: the figures as ``Performance.plain()`` does, the values the read side computes
(average prices, fees, PnL) rounded half-even to 8 places, the rest as recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from application.bot_performance import BotPerformance
from interfaces.decimals import plain, rounded


def document(bot_id: UUID, report: BotPerformance, *, with_trades: bool) -> dict[str, Any]:
    """The report as JSON values; the round trips only ``with_trades``."""
    period, curve = report.period, report.curve
    answer: dict[str, Any] = {
        "bot_id": str(bot_id),
        "start": _time(period.start),
        "end": _time(period.end),
        "step": period.step,
        "points": len(curve.points),
        "capital": plain(report.capital),
        "quote": report.quote,
        "valuation": curve.valuation,
        "valued_at_candles": curve.valued_at_candles,
        "valued_at_fills": curve.valued_at_fills,
        "carried": [
            {
                "symbol": str(c.symbol),
                "quantity": plain(c.quantity),
                "average_price": rounded(c.average_price),
            }
            for c in report.carried
        ],
        "counts": {"fills": report.fills, "trades": report.figures.trades, "denials": report.denials},
        "metrics": report.figures.plain(),
    }
    if with_trades:
        answer["trades"] = [
            {
                "symbol": str(t.symbol),
                "side": t.side.value,
                "entry_time": _time(t.entry_time),
                "exit_time": _time(t.exit_time),
                "quantity": plain(t.quantity),
                "entry_price": rounded(t.entry_price),
                "exit_price": rounded(t.exit_price),
                "fees": rounded(t.fees),
                "pnl": rounded(t.pnl),
            }
            for t in report.trips
        ]
    return answer


def _time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
