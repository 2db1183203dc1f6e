"""The one place that assembles tbot (dependency-injector): every entry point (the HTTP app, each
worker, each CLI command) builds what it needs from this container, typed by it. Providers are
lazy: a worker process makes only what its worker uses. Here each port gets its adapter: by the
settings (backend, Redis), the read database's dialect or the event store recorder's type."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from dependency_injector import containers, providers
from sqlalchemy import Engine

from application.bus import CommandBus
from application.handlers.base import HandlerDeps
from application.handlers.turns import BotTurns
from application.ports import Clock
from application.store import TradingApplication
from application.strategies.catalog import default_catalog
from domain.values import Symbol
from infrastructure.adapters import SystemClock, UuidFactory
from infrastructure.backtest_queue import BacktestQueue
from infrastructure.bot_turns import PostgresBotTurns, open_bot_turns
from infrastructure.credentials import ConfiguredAccounts, CredentialStore
from infrastructure.event_store import open_store
from infrastructure.exchange_markets import AccountMarketRules, ExchangeMarketStore
from infrastructure.identity import IdentityStore
from infrastructure.mark_prices import MarkPrices, MarkPriceStore, open_mark_price_store
from infrastructure.metrics import metrics as process_metrics
from infrastructure.notification_channels import NotificationChannels
from infrastructure.ownership import open_ownership
from infrastructure.rate_limits import open_rate_limiter
from infrastructure.read_database import create_async_read_engine, create_read_engine
from infrastructure.read_store.bulk import row_writer
from infrastructure.read_store.live_stores import open_live_store
from infrastructure.read_store.store_partitions import store_partitions
from infrastructure.read_store.timeseries import detect
from infrastructure.read_store.wakeup import open_wakeup
from infrastructure.settings import Settings
from infrastructure.tokens import TokenIssuer
from interfaces.http.feed_prices import PriceWatch
from projections.engine.feed import FeedSource
from projections.engine.read_models import ReadModels
from projections.engine.reader import EventReader
from projections.models.catalog import sql_projections
from projections.models.live import LiveProjection
from projections.ports import LiveStore, Wakeup


def reference_prices(settings: Settings) -> dict[Symbol, Decimal]:
    return {
        Symbol.parse(text, "reference_prices"): price
        for text, price in settings.marketdata.reference_prices.items()
    }


def credential_store(settings: Settings, engine: Engine, clock: Clock) -> CredentialStore:
    """The exchange accounts' credentials, sealed under TBOT_CREDENTIALS_KEY."""
    key = settings.exchange.credentials_key.get_secret_value() if settings.exchange.credentials_key else None
    return CredentialStore(engine, key, clock.now)


def open_notification_channels(settings: Settings, engine: Engine, clock: Clock) -> NotificationChannels:
    """Users' notification channels, their secrets sealed under TBOT_CREDENTIALS_KEY."""
    key = settings.exchange.credentials_key.get_secret_value() if settings.exchange.credentials_key else None
    return NotificationChannels(engine, key, clock.now)


def mark_prices(settings: Settings, store: MarkPriceStore, clock: Clock) -> MarkPrices:
    """Market data's mark prices, the configured reference prices where there is none yet."""
    return MarkPrices(store, reference_prices(settings), clock.now)


def read_engine_while_open(settings: Settings) -> Iterator[Engine]:
    """The read database's engine, its pool closed when the container's resources shut down."""
    engine = create_read_engine(settings)
    try:
        yield engine
    finally:
        engine.dispose()


def bot_turns_while_open(settings: Settings) -> Iterator[PostgresBotTurns | None]:
    """Shared bot turns (PostgreSQL), their pool closed when the container's resources shut down."""
    turns = open_bot_turns(settings)
    try:
        yield turns
    finally:
        if turns is not None:
            turns.close()


def read_models_on(engine: Engine) -> ReadModels:
    """Every SQL read model on this engine, written with the read database's own adapters (COPY
    on PostgreSQL, by the connection's dialect; the time-series layout the database supports)."""
    return ReadModels(engine, sql_projections(), writers=row_writer, time_series=detect)


def event_reader(store: TradingApplication) -> EventReader:
    """The event store's reader, with the partitioned read of a PostgreSQL store."""
    return EventReader(store, store_partitions(store))


def wakeup_on(store: TradingApplication) -> Wakeup:
    """LISTEN on a PostgreSQL store, polling alone on SQLite."""
    return open_wakeup(store)


def live_store_of(settings: Settings) -> LiveStore:
    """Redis with REDIS_URL, this process's memory without."""
    return open_live_store(settings)


class Container(containers.DeclarativeContainer):
    # the core: settings, time, ids, the event store and the command bus with what its handlers ask
    settings = providers.Singleton(Settings)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UuidFactory)
    read_engine = providers.Resource(read_engine_while_open, settings=settings)
    mark_price_store = providers.Singleton(open_mark_price_store, settings=settings, engine=read_engine)
    prices = providers.Singleton(mark_prices, settings=settings, store=mark_price_store, clock=clock)
    market_store = providers.Singleton(ExchangeMarketStore, engine=read_engine, now=clock.provided.now)
    markets = providers.Singleton(AccountMarketRules, store=market_store)
    credentials = providers.Singleton(credential_store, settings=settings, engine=read_engine, clock=clock)
    notification_channels = providers.Singleton(
        open_notification_channels, settings=settings, engine=read_engine, clock=clock
    )
    known_accounts = providers.Singleton(ConfiguredAccounts, engine=read_engine)
    store = providers.Singleton(open_store, settings=settings)
    turns = providers.Singleton(BotTurns, shared=providers.Resource(bot_turns_while_open, settings=settings))
    strategies = providers.Singleton(default_catalog)
    handler_deps = providers.Singleton(
        HandlerDeps,
        store=store,
        clock=clock,
        ids=ids,
        prices=prices,
        markets=markets,
        accounts=known_accounts,
        strategies=strategies,
        max_attempts=settings.provided.store.max_command_attempts,
        turns=turns,
    )
    metrics = providers.Singleton(process_metrics)  # the process's Prometheus metrics
    bus = providers.Singleton(CommandBus, deps=handler_deps, metrics=metrics)

    # the read side: read models, the event reader, the live model, locks, wake-ups
    read_models = providers.Singleton(read_models_on, engine=read_engine)
    reader = providers.Singleton(event_reader, store=store)
    live_store = providers.Singleton(live_store_of, settings=settings)
    live_projection = providers.Singleton(LiveProjection, max_feed_length=settings.provided.feed.max_length)
    locks = providers.Factory(open_ownership, settings=settings, engine=read_engine)
    wakeup = providers.Factory(wakeup_on, store=store)

    # the HTTP API: identities, tokens, the rate limit, the query engine, the live feed's sources
    identity = providers.Singleton(IdentityStore, engine=read_engine, now=clock.provided.now)
    tokens = providers.Singleton(TokenIssuer, settings=settings, now=clock.provided.now)
    rate_limiter = providers.Singleton(open_rate_limiter, settings=settings)
    query_engine = providers.Singleton(create_async_read_engine, settings=settings)
    backtests = providers.Singleton(BacktestQueue, engine=read_engine, now=clock.provided.now)
    feed_source = providers.Singleton(FeedSource, live_store=live_store.provided.bound, reader=reader)
    price_watch = providers.Singleton(
        PriceWatch,
        read=mark_price_store.provided.read,
        poll_seconds=settings.provided.feed.price_poll_seconds,
    )
