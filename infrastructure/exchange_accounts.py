"""The gateway of each exchange account a bot names. Paper accounts ("paper", or "paper:<name>")
are journaled paper exchanges, one per name, each starting with the configured balances."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from application.gateway import ExchangeGateway, UnknownAccount
from application.ports import ReferencePrices
from domain.values import MarketSpec, Symbol
from infrastructure.paper_exchange import PaperSettings
from infrastructure.paper_gateway import PaperAccount, PaperGateway, PaperJournal


def is_paper(account: str) -> bool:
    return account == "paper" or account.startswith("paper:")


class ExchangeAccounts:
    def __init__(
        self,
        journal: PaperJournal,
        balances: dict[str, Decimal],
        markets: dict[Symbol, MarketSpec],
        paper: PaperSettings,
        now: Callable[[], datetime],
        prices: ReferencePrices,
    ) -> None:
        self._prices = prices
        self._journal = journal
        self._balances = balances
        self._markets = markets
        self._paper = paper
        self._now = now
        self._gateways: dict[str, PaperGateway] = {}

    def open(self) -> None:
        """Rebuilds every paper account that has a journal (before the event loop needs them)."""
        for account in self._journal.accounts():
            self.gateway(account)

    def gateway(self, account: str) -> ExchangeGateway:
        return self.paper(account)

    def paper(self, account: str) -> PaperGateway:
        if not is_paper(account):
            raise UnknownAccount(account)
        gateway = self._gateways.get(account)
        if gateway is None:
            built = PaperAccount(
                account, self._journal, self._balances, self._markets, self._paper, self._now, self._prices
            )
            gateway = self._gateways[account] = PaperGateway(built)
        return gateway

    async def follow_prices(self) -> None:
        """Moves the open orders of every paper account to the latest prices."""
        for gateway in list(self._gateways.values()):
            await gateway.follow_prices()
