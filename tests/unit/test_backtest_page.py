"""report.html: every value escaped, the long tables cut to their first rows with a note, the
charts inside the page, and the same document giving the same bytes."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from interfaces.backtest.page import ROWS, page

PNG = b"\x89PNG\r\n\x1a\nnot really a picture"


def _document(fills: int) -> dict[str, Any]:
    fill = {"time": "2025-01-01T00:01:00Z", "side": "buy", "quantity": "1", "price": "100", "fee": "0.1"}
    return {
        "metrics": {"final_equity": "10123.45", "sharpe": None, "trades": 0},
        "counts": {"fills": fills},
        "fills": [dict(fill, price=str(100 + n)) for n in range(fills)],
        "trades": [],
        "inputs": {
            "strategy": "<script>alert(1)</script>",
            "params": {"note": "</pre><b>bold</b>"},
            "symbol": "BTC/USDT",
            "limits": None,
        },
    }


def test_the_page_escapes_every_value_and_carries_its_charts(tmp_path: Path) -> None:
    chart = tmp_path / "equity.png"
    chart.write_bytes(PNG)
    html = page(_document(3), {"Equity": chart})
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html
    assert ">10123.45<" in html and ">-<" in html  # None shows as "-"
    assert f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in html
    assert "Round trips" in html and "None." in html
    assert page(_document(3), {"Equity": chart}) == html


def test_a_long_table_shows_its_first_rows_and_says_so(tmp_path: Path) -> None:
    html = page(_document(ROWS + 20), {})
    assert f"The first {ROWS} of {ROWS + 20}" in html
    assert f">{100 + ROWS - 1}<" in html and f">{100 + ROWS}<" not in html
