"""Exchange accounts and their API credentials, stored encrypted in the read database.

The key and secret are sealed together with the account's name using Fernet (AES-128-CBC with an
HMAC-SHA256 tag) under the operator's keys (``TBOT_CREDENTIALS_KEY``: one or more Fernet keys,
comma-separated; the first seals, any of them opens, so keys can be rotated). A sealed row copied
to another account's name does not open. Credentials are never logged, put in events, or returned
by the API: ``ExchangeCredentials`` hides them from ``repr``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Boolean, Column, Engine, MetaData, String, Table, Text, delete, select

from domain.errors import InvalidInput
from infrastructure.columns import UtcTime
from infrastructure.exchange_markets import is_paper
from infrastructure.upserts import upsert

ACCOUNTS = Table(
    "exchange_accounts",
    MetaData(),
    Column("name", String, primary_key=True),
    Column("exchange_id", String, nullable=False),
    Column("sandbox", Boolean, nullable=False),
    Column("api_url", String, nullable=True),
    Column("sealed", Text, nullable=False),
    Column("created_at", UtcTime, nullable=False),
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class CredentialsUnavailable(Exception):
    """Credentials cannot be opened: no key configured, or none of the keys fits."""


@dataclass(frozen=True)
class ExchangeCredentials:
    account: str
    exchange_id: str
    sandbox: bool
    api_url: str | None
    api_key: str = field(repr=False)
    secret: str = field(repr=False)


@dataclass(frozen=True)
class AccountInfo:
    """What may be shown about an account: everything but its credentials."""

    account: str
    exchange_id: str
    sandbox: bool
    api_url: str | None
    created_at: datetime


def new_key() -> str:
    return Fernet.generate_key().decode()


def account_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput("name", "must be 1-64 lower-case letters, digits, '_', '.' or '-'")
    if name.startswith("paper"):
        raise InvalidInput("name", "names starting with 'paper' are the paper exchange's")
    return name


def exchange_id(name: str) -> str:
    import ccxt  # noqa: PLC0415 - few processes check a name, and ccxt takes most of a second to import

    if name not in ccxt.exchanges:
        raise InvalidInput("exchange", f"{name!r} is not an exchange ccxt knows (e.g. binance, kraken, okx)")
    return name


def api_url(url: str | None) -> str | None:
    if url is not None and not re.match(r"^https?://[^/\s]+/?$", url):
        raise InvalidInput("api_url", "must be a scheme and host, e.g. https://api.example.com")
    return url.rstrip("/") if url else None


class CredentialStore:
    def __init__(self, engine: Engine, keys: str | None, now: Callable[[], datetime]) -> None:
        self.engine = engine
        self._keys = [k.strip() for k in (keys or "").split(",") if k.strip()]
        self._now = now

    def _cipher(self) -> MultiFernet:
        if not self._keys:
            raise CredentialsUnavailable("TBOT_CREDENTIALS_KEY is not set (make one: tbot accounts new-key)")
        try:
            return MultiFernet([Fernet(key.encode()) for key in self._keys])
        except ValueError as error:
            raise CredentialsUnavailable(f"TBOT_CREDENTIALS_KEY: not Fernet keys: {error}") from error

    def save(self, credentials: ExchangeCredentials) -> None:
        """Adds the account, or replaces it."""
        body = {"account": credentials.account, "api_key": credentials.api_key, "secret": credentials.secret}
        sealed = self._cipher().encrypt(json.dumps(body).encode()).decode()
        row = dict(
            name=credentials.account,
            exchange_id=credentials.exchange_id,
            sandbox=credentials.sandbox,
            api_url=credentials.api_url,
            sealed=sealed,
            created_at=self._now(),
        )
        with self.engine.begin() as conn:
            upsert(conn, ACCOUNTS, [row])

    def load(self, account: str) -> ExchangeCredentials | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(ACCOUNTS).where(ACCOUNTS.c.name == account)).first()
        if row is None:
            return None
        try:
            body = json.loads(self._cipher().decrypt(row.sealed.encode()))
        except InvalidToken as error:
            raise CredentialsUnavailable(f"no configured key opens the credentials of {account!r}") from error
        if body.get("account") != account:
            raise CredentialsUnavailable(f"the credentials stored for {account!r} belong to another account")
        return ExchangeCredentials(
            account, row.exchange_id, row.sandbox, row.api_url, body["api_key"], body["secret"]
        )

    def accounts(self) -> list[AccountInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(ACCOUNTS).order_by(ACCOUNTS.c.name)).all()
        return [AccountInfo(r.name, r.exchange_id, r.sandbox, r.api_url, r.created_at) for r in rows]

    def remove(self, account: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(ACCOUNTS).where(ACCOUNTS.c.name == account)).rowcount > 0


class ConfiguredAccounts:
    """The KnownAccounts port: paper accounts, and the accounts stored here (only their names are
    read, so no credentials key is needed)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def exists(self, account: str) -> bool:
        if is_paper(account):
            return True
        with self.engine.connect() as conn:
            found = conn.execute(select(ACCOUNTS.c.name).where(ACCOUNTS.c.name == account)).first()
        return found is not None
