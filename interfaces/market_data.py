"""`tbot marketdata run`: the market data worker (``interfaces/workers/market_data.py``); `fetch`
and `check`: candle history for backtests (``interfaces/candle_history.py``)."""

from __future__ import annotations

import typer

from interfaces.candle_history import check, fetch
from interfaces.composition import Container
from interfaces.errors import clear_errors
from interfaces.process import prepare_process
from interfaces.tables import require_tables
from interfaces.workers.market_data import build_market_data_worker
from interfaces.workers.threads import run_until_signalled

marketdata_app = typer.Typer(no_args_is_help=True, help="Market data: candles and mark prices.")
marketdata_app.command("fetch")(clear_errors(fetch))
marketdata_app.command("check")(clear_errors(check))


@marketdata_app.command("run")
@clear_errors
def run() -> None:
    """Tick until stopped (Ctrl-C or SIGTERM): candles into the `candles` read model, the last
    close of each symbol as its mark price."""
    container = Container()
    prepare_process(container.settings(), "tbot-marketdata")
    require_tables(container)
    run_until_signalled([build_market_data_worker(container)])
