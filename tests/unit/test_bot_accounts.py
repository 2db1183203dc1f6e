"""A bot is created only on an exchange account that exists: a paper account, or one stored with
its credentials; any other name is refused naming ``exchange_account``, and nothing is recorded.
On SQLite and on PostgreSQL (the accounts' table lives in the read database)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from application import commands as c
from application.errors import InvalidInput
from infrastructure.credentials import CredentialStore, ExchangeCredentials, new_key
from infrastructure.read_database import create_read_engine
from infrastructure.settings import Settings
from interfaces.tables import install_worker_tables
from tests.support.world import ACTOR, LIMITS, World, world_on


@dataclass
class Accounts:
    world: World
    stored: CredentialStore

    def create(self, account: str) -> c.CreateBot:
        return c.CreateBot(
            actor=ACTOR,
            name="bot",
            strategy="manual",
            allowed_symbols=["BTC/USDT"],
            limits=LIMITS,
            exchange_account=account,
        )


@pytest.fixture
def accounts(any_settings: Settings) -> Iterator[Accounts]:
    engine = create_read_engine(any_settings)
    try:
        with world_on(any_settings) as world:  # makes the schema first
            install_worker_tables(engine)
            yield Accounts(world, CredentialStore(engine, new_key(), world.clock.now))
    finally:
        engine.dispose()


@pytest.mark.parametrize("account", ["paper", "paper:alt", "paper:grid-2"])
def test_a_bot_on_a_paper_account_is_created(accounts: Accounts, account: str) -> None:
    assert accounts.world.bus.dispatch(accounts.create(account)).changed


def test_a_bot_on_an_account_that_was_never_added_is_refused_and_nothing_is_recorded(
    accounts: Accounts,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        accounts.world.bus.dispatch(accounts.create("binance-main"))
    assert refused.value.field == "exchange_account"
    assert "tbot accounts add" in refused.value.rule and "paper" in refused.value.rule
    assert accounts.world.store.last_position() == 0


def test_a_bot_on_a_stored_account_is_created_and_not_once_the_account_is_removed(
    accounts: Accounts,
) -> None:
    accounts.stored.save(ExchangeCredentials("binance-main", "binance", False, None, "key", "secret"))
    assert accounts.world.bus.dispatch(accounts.create("binance-main")).changed

    assert accounts.stored.remove("binance-main")
    before = accounts.world.store.last_position()
    with pytest.raises(InvalidInput, match="exchange_account"):
        accounts.world.bus.dispatch(accounts.create("binance-main"))
    assert accounts.world.store.last_position() == before
