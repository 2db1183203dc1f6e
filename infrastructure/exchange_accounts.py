"""The gateway of each exchange account a bot names. Paper accounts ("paper", or "paper:<name>")
are journaled paper exchanges, one per name, each starting with the configured balances; any other
account is a real exchange through ccxt, configured with `tbot accounts add`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from application.gateway import ExchangeGateway, UnknownAccount
from application.ports import ReferencePrices
from domain.values import MarketSpec, Symbol
from infrastructure.ccxt_accounts import CcxtAccounts
from infrastructure.exchange_markets import is_paper
from infrastructure.paper_exchange import PaperSettings
from infrastructure.paper_gateway import PaperAccount, PaperGateway, PaperJournal


class ExchangeAccounts:
    def __init__(
        self,
        journal: PaperJournal,
        balances: dict[str, Decimal],
        markets: dict[Symbol, MarketSpec],
        paper: PaperSettings,
        now: Callable[[], datetime],
        prices: ReferencePrices,
        live: CcxtAccounts | None = None,
    ) -> None:
        self._live = live
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
        if is_paper(account) or self._live is None:
            return self.paper(account)
        return self._live.gateway(account)

    async def load_markets(self) -> None:
        """Loads the markets of the real exchange accounts, for the risk rules."""
        if self._live is not None:
            await self._live.load_markets()

    async def close(self) -> None:
        """Lets go of the exchanges' connections and of the paper accounts, which ``open`` then
        rebuilds from their journal (another worker may have moved them on meanwhile)."""
        self._gateways.clear()
        if self._live is not None:
            await self._live.close()

    def paper(self, account: str) -> PaperGateway:
        if not is_paper(account):
            raise UnknownAccount(f"exchange account {account!r} is not configured")
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
