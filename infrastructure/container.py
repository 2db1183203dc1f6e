"""The one place that assembles the application (dependency-injector)."""

from __future__ import annotations

from dependency_injector import containers, providers

from application.bus import CommandBus
from application.handlers.base import HandlerDeps
from domain.values import Symbol
from infrastructure.adapters import PriceBook, StaticMarketRules, SystemClock, UuidFactory
from infrastructure.event_store import open_store
from infrastructure.settings import Settings


def price_book(settings: Settings) -> PriceBook:
    return PriceBook(
        {Symbol.parse(text, "reference_prices"): price for text, price in settings.reference_prices.items()}
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UuidFactory)
    prices = providers.Singleton(price_book, settings=settings)
    markets = providers.Singleton(StaticMarketRules)
    store = providers.Singleton(open_store, settings=settings)
    handler_deps = providers.Singleton(
        HandlerDeps,
        store=store,
        clock=clock,
        ids=ids,
        prices=prices,
        markets=markets,
        max_attempts=settings.provided.max_command_attempts,
    )
    bus = providers.Singleton(CommandBus, deps=handler_deps)
