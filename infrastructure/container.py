"""The one place that assembles the application (dependency-injector)."""

from __future__ import annotations

from decimal import Decimal

from dependency_injector import containers, providers
from sqlalchemy import Engine

from application.bus import CommandBus
from application.handlers.base import HandlerDeps
from application.handlers.turns import BotTurns
from application.ports import Clock
from domain.values import Symbol
from infrastructure.adapters import SystemClock, UuidFactory
from infrastructure.bot_turns import open_bot_turns
from infrastructure.credentials import ConfiguredAccounts, CredentialStore
from infrastructure.event_store import open_store
from infrastructure.exchange_markets import AccountMarketRules, ExchangeMarketStore
from infrastructure.mark_prices import MarkPrices, MarkPriceStore, open_mark_price_store
from infrastructure.read_database import create_read_engine
from infrastructure.settings import Settings


def reference_prices(settings: Settings) -> dict[Symbol, Decimal]:
    return {
        Symbol.parse(text, "reference_prices"): price for text, price in settings.reference_prices.items()
    }


def credential_store(settings: Settings, engine: Engine, clock: Clock) -> CredentialStore:
    """The exchange accounts' credentials, sealed under TBOT_CREDENTIALS_KEY."""
    key = settings.credentials_key.get_secret_value() if settings.credentials_key else None
    return CredentialStore(engine, key, clock.now)


def mark_prices(settings: Settings, store: MarkPriceStore, clock: Clock) -> MarkPrices:
    """Market data's mark prices, the configured reference prices where there is none yet."""
    return MarkPrices(store, reference_prices(settings), clock.now)


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UuidFactory)
    read_engine = providers.Singleton(create_read_engine, settings=settings)
    mark_price_store = providers.Singleton(open_mark_price_store, settings=settings, engine=read_engine)
    prices = providers.Singleton(mark_prices, settings=settings, store=mark_price_store, clock=clock)
    market_store = providers.Singleton(ExchangeMarketStore, engine=read_engine, now=clock.provided.now)
    markets = providers.Singleton(AccountMarketRules, store=market_store)
    credentials = providers.Singleton(credential_store, settings=settings, engine=read_engine, clock=clock)
    known_accounts = providers.Singleton(ConfiguredAccounts, engine=read_engine)
    store = providers.Singleton(open_store, settings=settings)
    turns = providers.Singleton(BotTurns, shared=providers.Singleton(open_bot_turns, settings=settings))
    handler_deps = providers.Singleton(
        HandlerDeps,
        store=store,
        clock=clock,
        ids=ids,
        prices=prices,
        markets=markets,
        accounts=known_accounts,
        max_attempts=settings.provided.max_command_attempts,
        turns=turns,
    )
    bus = providers.Singleton(CommandBus, deps=handler_deps)
