"""The tables of the workers that are not projections: the paper accounts' journal, execution's
tracking and working orders, exchange accounts and their markets, mark prices, candles. Created by
`tbot db init` (and on the embedded default wherever the read models are); repeating it is
harmless."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from infrastructure.candles import CandleStore
from infrastructure.credentials import ACCOUNTS
from infrastructure.exchange_markets import MARKETS
from infrastructure.execution_state import SqlExecutionState
from infrastructure.mark_prices import MarkPriceStore
from infrastructure.paper_gateway import PaperJournal


def install_worker_tables(engine: Engine) -> None:
    PaperJournal(engine).install()
    SqlExecutionState(engine).install()
    ACCOUNTS.create(engine, checkfirst=True)
    MARKETS.create(engine, checkfirst=True)
    MarkPriceStore(engine).install()
    CandleStore(engine).install()


def require_tables(container: Any) -> None:
    """Fails before a worker starts on a database `tbot db init` has not prepared: the event
    store's query raises its missing-table error, the read models ReadModelsMissing (the command
    line says what to run)."""
    container.store().last_position()
    container.read_models().check_installed()
