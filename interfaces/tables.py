"""Every table tbot keeps, made in one place: the event store's, the read models', the workers'
(the paper accounts' journal, execution's tracking and working orders, exchange accounts and their
markets, mark prices, candles) and the API's users, keys and queued backtests. `tbot db init`
makes them (repeating it is harmless). On the embedded default every command makes them as it
starts, so nothing has to be run first; on PostgreSQL a process only checks that they are there,
and says to run `tbot db init` when they are not: processes never race to create tables."""

from __future__ import annotations

from sqlalchemy import Engine

from infrastructure.candles import CandleStore
from infrastructure.credentials import ACCOUNTS
from infrastructure.event_store import create_tables
from infrastructure.exchange_markets import MARKETS
from infrastructure.execution_state import SqlExecutionState
from infrastructure.mark_prices import MarkPriceStore
from infrastructure.paper_gateway import PaperJournal
from infrastructure.telegram_links import TelegramLinks
from interfaces.composition import Container
from projections.ports import TimeSeries


def install_tables(container: Container) -> TimeSeries:
    """Makes every table that is missing; returns the read models' time-series backend."""
    create_tables(container.settings())
    backend = container.read_models().install()
    install_worker_tables(container.read_engine())
    container.notification_channels().install()
    container.identity().install()
    TelegramLinks(container.read_engine(), container.clock().now).install()
    container.backtests().install()
    return backend


def install_worker_tables(engine: Engine) -> None:
    PaperJournal(engine).install()
    SqlExecutionState(engine).install()
    ACCOUNTS.create(engine, checkfirst=True)
    MARKETS.create(engine, checkfirst=True)
    MarkPriceStore(engine).install()
    CandleStore(engine).install()


def prepare_tables(container: Container) -> TimeSeries:
    """The tables in place: made on the embedded default, checked on PostgreSQL."""
    if container.settings().store.backend == "sqlite":
        return install_tables(container)
    return require_tables(container)


def require_tables(container: Container) -> TimeSeries:
    """Fails before a process starts on a database `tbot db init` has not prepared: the event
    store's query raises its missing-table error, the read models ReadModelsMissing (the command
    line says what to run)."""
    container.store().last_position()
    return container.read_models().check_installed()
