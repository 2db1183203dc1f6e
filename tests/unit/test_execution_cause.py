"""Every command the execution manager builds of an exchange's answer carries its cause unchanged:
the answer as one command, and the same answer split part by part."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from application.execution.reports import Cause, OrderReports, one_by_one
from application.gateway import ExchangeOrder, ExchangeStatus, ExchangeTrade
from domain.values import Side, Symbol

BTC = Symbol.parse("BTC/USDT")
ORDER = UUID(int=7)
texts = st.text(alphabet="abcdefghij:-0123456789", max_size=12)
causes = st.builds(Cause, texts, texts, texts)
amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(5), places=3)


def trade(index: int, quantity: Decimal) -> ExchangeTrade:
    return ExchangeTrade(
        trade_id=f"T-{index}",
        client_order_id="c",
        exchange_order_id="X-1",
        symbol=BTC,
        side=Side.BUY,
        quantity=quantity,
        price=Decimal(50000),
        fee=Decimal(0),
        fee_currency="USDT",
        maker=False,
        at=datetime(2024, 1, 1, tzinfo=UTC),
    )


@given(
    cause=causes,
    status=st.sampled_from([s for s in ExchangeStatus if s is not ExchangeStatus.REJECTED]),
    quantities=st.lists(amounts, max_size=4),
    accept=st.booleans(),
)
def test_an_answer_and_its_parts_carry_the_cause(
    cause: Cause, status: ExchangeStatus, quantities: list[Decimal], accept: bool
) -> None:
    filled = sum(quantities, Decimal(0))
    answer = ExchangeOrder("c", "X-1", BTC, Side.BUY, Decimal(5), filled, status)
    command = OrderReports(ORDER, cause).answer(answer, [trade(i, q) for i, q in enumerate(quantities)])
    parts = one_by_one(command, accept)
    ends = status in (ExchangeStatus.CANCELLED, ExchangeStatus.EXPIRED)
    assert len(parts) == accept + len(quantities) + ends
    for built in [command, *parts]:
        assert (built.order_id, built.actor, built.correlation_id, built.causation_id) == (
            ORDER,
            cause.actor,
            cause.correlation_id,
            cause.causation_id,
        )
