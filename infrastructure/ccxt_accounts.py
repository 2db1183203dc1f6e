"""The ccxt gateways of the exchange accounts stored with credentials, made on first use. Each
gateway's markets are saved for the risk rules whenever they are loaded."""

from __future__ import annotations

from functools import partial

import structlog

from application.gateway import UnknownAccount
from infrastructure.ccxt_exchanges import open_exchange
from infrastructure.ccxt_gateway import CcxtGateway, RetryPolicy
from infrastructure.credentials import CredentialStore, CredentialsUnavailable
from infrastructure.exchange_markets import ExchangeMarketStore

log = structlog.get_logger("tbot.accounts")


class CcxtAccounts:
    def __init__(
        self,
        credentials: CredentialStore,
        markets: ExchangeMarketStore,
        timeout_seconds: float,
        retry: RetryPolicy | None = None,
        streams: bool = True,
    ) -> None:
        self._credentials = credentials
        self._markets = markets
        self._timeout = timeout_seconds
        self._retry = retry or RetryPolicy()
        self._streams = streams
        self._gateways: dict[str, CcxtGateway] = {}

    def gateway(self, account: str) -> CcxtGateway:
        gateway = self._gateways.get(account)
        if gateway is None:
            try:
                credentials = self._credentials.load(account)
            except CredentialsUnavailable as error:
                log.error("exchange credentials unavailable", account=account, error=str(error))
                raise UnknownAccount(f"exchange account {account!r} cannot be opened: {error}") from error
            if credentials is None:
                raise UnknownAccount(f"exchange account {account!r} is not configured")
            exchange = open_exchange(credentials, self._timeout)
            save = partial(self._markets.save, account)
            gateway = CcxtGateway(account, exchange, self._retry, save, streams=self._streams)
            self._gateways[account] = gateway
        return gateway

    async def load_markets(self) -> None:
        """Loads every stored account's markets (so the risk rules know them); an exchange that
        cannot be reached now is logged and tried again on its first order."""
        for info in self._credentials.accounts():
            try:
                await self.gateway(info.account).markets()
            except Exception as error:  # one unreachable exchange must not stop the others
                log.warning("could not load markets", account=info.account, error=str(error))

    async def close(self) -> None:
        for gateway in self._gateways.values():
            await gateway.close()
        self._gateways.clear()
