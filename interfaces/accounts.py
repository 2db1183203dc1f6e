"""`tbot accounts`: the real exchange accounts bots can trade on, with their API credentials stored
encrypted (TBOT_CREDENTIALS_KEY). Keys are read from TBOT_EXCHANGE_API_KEY / TBOT_EXCHANGE_API_SECRET
or prompted for without echo, never taken as arguments (they would land in shell history)."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from application.gateway import ExchangeUnavailable
from infrastructure.ccxt_accounts import CcxtAccounts
from infrastructure.credentials import (
    CredentialStore,
    ExchangeCredentials,
    account_name,
    api_url,
    exchange_id,
    new_key,
)
from interfaces.composition import Container
from interfaces.errors import clear_errors, fail_usage, report
from interfaces.tables import prepare_tables

accounts_app = typer.Typer(no_args_is_help=True, help="Real exchange accounts and their credentials.")
console = Console()


def _store(container: Container) -> CredentialStore:
    prepare_tables(container)
    store: CredentialStore = container.credentials()
    return store


def _secret(variable: str, prompt: str) -> str:
    value = os.environ.get(variable) or typer.prompt(prompt, hide_input=True)
    if not value.strip():
        fail_usage(f"{prompt} ({variable}): must not be empty")
    return value.strip()


@accounts_app.command("new-key")
def accounts_new_key() -> None:
    """Print a new encryption key for TBOT_CREDENTIALS_KEY (keep it as safe as the credentials)."""
    console.print(new_key(), soft_wrap=True, highlight=False)


@accounts_app.command("add")
@clear_errors
def accounts_add(
    name: Annotated[str, typer.Argument(help="the account's name, as bots will name it")],
    exchange: Annotated[str, typer.Option(help="the ccxt exchange id, e.g. binance")],
    sandbox: Annotated[bool, typer.Option("--sandbox", help="the exchange's test network")] = False,
    url: Annotated[
        str | None, typer.Option("--api-url", help="another host for the exchange's API, e.g. a proxy")
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="overwrite an account of that name")] = False,
) -> None:
    """Store an exchange account's API key and secret, encrypted."""
    container = Container()
    credentials_name, credentials_exchange = account_name(name), exchange_id(exchange)
    credentials_url = api_url(url)
    store = _store(container)
    if not replace and any(info.account == name for info in store.accounts()):
        fail_usage(f"name: an account {name!r} exists already (--replace overwrites it)")
    api_key = _secret("TBOT_EXCHANGE_API_KEY", "API key")
    secret = _secret("TBOT_EXCHANGE_API_SECRET", "API secret")
    credentials = ExchangeCredentials(
        credentials_name, credentials_exchange, sandbox, credentials_url, api_key, secret
    )
    store.save(credentials)
    console.print(f"account {name} ({exchange}{', sandbox' if sandbox else ''}) stored")


@accounts_app.command("list")
@clear_errors
def accounts_list() -> None:
    """The stored accounts (never their credentials)."""
    container = Container()
    table = Table("name", "exchange", "sandbox", "api url", "added")
    for info in _store(container).accounts():
        table.add_row(
            info.account,
            info.exchange_id,
            "yes" if info.sandbox else "no",
            info.api_url or "",
            str(info.created_at),
        )
    console.print(table)


@accounts_app.command("remove")
@clear_errors
def accounts_remove(name: Annotated[str, typer.Argument(help="the account's name")]) -> None:
    """Forget an account and its credentials."""
    if not _store(Container()).remove(name):
        fail_usage(f"name: no account {name!r}")
    console.print(f"account {name} removed")


@accounts_app.command("markets")
@clear_errors
def accounts_markets(name: Annotated[str, typer.Argument(help="the account's name")]) -> None:
    """Load the account's markets from the exchange now, for the risk rules (the execution worker
    also does this when it starts). Exits 1 when the exchange cannot be reached."""
    container = Container()
    settings = container.settings()
    store = _store(container)
    accounts = CcxtAccounts(store, container.market_store(), settings.exchange.timeout_seconds)

    async def load() -> int:
        try:
            return len(await accounts.gateway(name).refresh_markets())
        finally:
            await accounts.close()

    try:
        count = asyncio.run(load())
    except ExchangeUnavailable as error:
        report(f"error: cannot reach the exchange: {error}")
        raise typer.Exit(1) from None
    console.print(f"{count} markets loaded for {name}")
