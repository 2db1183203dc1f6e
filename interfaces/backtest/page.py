"""A backtest's report as one HTML page, ``report.html``: the metrics, the counts, the inputs, the
two charts and the fills and round trips, in a single file that opens offline (styles inline, the
charts as PNG data URIs, nothing fetched). Made from report.json's document with Jinja2, every
value escaped; the same document and charts give the same bytes."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined

ROWS = 500
"""The most fills, and round trips, the page lists; report.json has every one."""

FILL_COLUMNS = ("time", "side", "quantity", "price", "fee")
TRADE_COLUMNS = ("side", "entry_time", "exit_time", "quantity", "entry_price", "exit_price", "fees", "pnl")


_ENVIRONMENT = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
_PAGE = _ENVIRONMENT.from_string(Path(__file__).with_name("report.html.j2").read_text(encoding="utf-8"))


def _shown(value: Any) -> Any:
    """A scalar as the page writes it (None as "-"), a list or mapping kept for JSON."""
    if value is None:
        return "-"
    if isinstance(value, Mapping | list):
        return value
    return str(value)


def _table(title: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> dict[str, Any]:
    return {
        "title": title,
        "columns": columns,
        "rows": rows[:ROWS],
        "shown": min(len(rows), ROWS),
        "total": len(rows),
    }


def page(document: Mapping[str, Any], charts: Mapping[str, Path]) -> str:
    """The page of report.json's ``document``, with ``charts`` (a title each, PNG files)."""
    inputs = document["inputs"]
    title = f"Backtest: {inputs['strategy']} on {inputs['symbol']}"
    return _PAGE.render(
        title=title,
        metrics=[(name, _shown(value)) for name, value in document["metrics"].items()],
        counts=[(name, _shown(value)) for name, value in document["counts"].items()],
        inputs=[(name, _shown(value)) for name, value in inputs.items()],
        charts=[(name, base64.b64encode(path.read_bytes()).decode("ascii")) for name, path in charts.items()],
        tables=[
            _table("Fills", document["fills"], FILL_COLUMNS),
            _table("Round trips", document["trades"], TRADE_COLUMNS),
        ],
    )


def write_page(folder: Path, document: Mapping[str, Any], charts: Mapping[str, Path]) -> Path:
    path = folder / "report.html"
    path.write_text(page(document, charts), encoding="utf-8")
    return path
