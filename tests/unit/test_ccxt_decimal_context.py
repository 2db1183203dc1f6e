"""ccxt's precision functions change the current decimal context (rounding half up, underflow
trapped). Our money arithmetic must not notice: a gateway call leaves the caller's context as it
was. (Found when a rebuild's realized PnL differed in the 28th digit after the ccxt tests ran.)"""

from __future__ import annotations

import asyncio
import decimal
from decimal import ROUND_HALF_EVEN, Decimal

import ccxt.async_support as ccxt

from domain.ids import ClientOrderId
from domain.orders import OrderRequest
from domain.values import OrderType, Side, Symbol, TimeInForce
from infrastructure.ccxt_exchanges import open_exchange
from infrastructure.ccxt_gateway import CcxtGateway
from infrastructure.credentials import ExchangeCredentials
from tests.support.fake_binance import API_KEY, SECRET, FakeBinance


def test_ccxt_itself_changes_the_current_decimal_context() -> None:
    """The reason for the isolation below; if ccxt stops doing this, the wrapper can go."""

    async def format_amount() -> decimal.Context:
        with decimal.localcontext() as mine:
            exchange = ccxt.binance()
            exchange.decimal_to_precision("1.25", 1, 1)
            await exchange.close()
            return mine

    assert asyncio.run(format_amount()).rounding != ROUND_HALF_EVEN


def test_a_gateway_call_leaves_the_callers_decimal_context_alone(fake: FakeBinance) -> None:
    before = decimal.getcontext().copy()

    async def submit() -> None:
        credentials = ExchangeCredentials("bn", "binance", False, fake.url, API_KEY, SECRET)
        gateway = CcxtGateway("bn", open_exchange(credentials, 5))
        request = OrderRequest(
            ClientOrderId("d1"),
            Symbol("BTC", "USDT"),
            Side.BUY,
            OrderType.LIMIT,
            Decimal("0.01"),
            Decimal("49000"),
            None,
            TimeInForce.GTC,
        )
        await gateway.submit(request)
        await gateway.close()

    asyncio.run(submit())
    after = decimal.getcontext()
    assert (after.rounding, after.prec, after.traps) == (before.rounding, before.prec, before.traps)
    assert Decimal("2.5").quantize(Decimal(1)) == Decimal(2)  # still half-even
