"""The read side's container plus what the HTTP interface needs: identities, tokens, and the
query API's async engine."""

from __future__ import annotations

from dependency_injector import providers

from infrastructure.identity import IdentityStore
from infrastructure.rate_limits import open_rate_limiter
from infrastructure.read_database import create_async_read_engine
from infrastructure.tokens import TokenIssuer
from interfaces.http.feed_prices import PriceWatch
from interfaces.read_side import ReadSideContainer
from projections.engine.feed import FeedSource


class HttpContainer(ReadSideContainer):
    identity = providers.Singleton(
        IdentityStore, engine=ReadSideContainer.read_engine, now=ReadSideContainer.clock.provided.now
    )
    tokens = providers.Singleton(
        TokenIssuer, settings=ReadSideContainer.settings, now=ReadSideContainer.clock.provided.now
    )
    rate_limiter = providers.Singleton(open_rate_limiter, settings=ReadSideContainer.settings)
    query_engine = providers.Singleton(create_async_read_engine, settings=ReadSideContainer.settings)
    feed_source = providers.Singleton(
        FeedSource, live_store=ReadSideContainer.live_store.provided.bound, reader=ReadSideContainer.reader
    )
    price_watch = providers.Singleton(
        PriceWatch,
        read=ReadSideContainer.mark_price_store.provided.read,
        poll_seconds=ReadSideContainer.settings.provided.feed_price_poll_seconds,
    )
