"""Typed identifiers.

Aggregate ids are UUIDs; ids that come from clients or exchanges are validated strings.
Ids that must be unique per natural key are derived with uuid5, so the event store's own
uniqueness on (aggregate id, version 1) makes a repeated creation fail instead of duplicating.
"""

from __future__ import annotations

import re
from typing import NewType
from uuid import UUID, uuid5

from domain.errors import InvalidInput

BotId = NewType("BotId", UUID)
OrderId = NewType("OrderId", UUID)
PositionId = NewType("PositionId", UUID)
DenialId = NewType("DenialId", UUID)
UserId = NewType("UserId", str)
ClientOrderId = NewType("ClientOrderId", str)
TradeId = NewType("TradeId", str)
ExchangeOrderId = NewType("ExchangeOrderId", str)

_NAMESPACE = UUID("6f1d3c1e-3b0e-4c55-9d55-2c1f6f0a7b10")
TOKEN_PATTERN = r"^[A-Za-z0-9._:\-]{1,64}$"
"""Ids that clients choose (client order ids, idempotency keys): 1 to 64 letters, digits, '.', '_',
':', '-'."""
_TOKEN = re.compile(TOKEN_PATTERN)


def _token(value: str, field: str) -> str:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise InvalidInput(field, "must be 1 to 64 characters of letters, digits, '.', '_', ':', '-'")
    return value


def client_order_id(value: str, field: str = "client_order_id") -> ClientOrderId:
    return ClientOrderId(_token(value, field))


def trade_id(value: str, field: str = "trade_id") -> TradeId:
    return TradeId(_token(value, field))


def exchange_order_id(value: str, field: str = "exchange_order_id") -> ExchangeOrderId:
    return ExchangeOrderId(_token(value, field))


def user_id(value: str, field: str = "actor") -> UserId:
    return UserId(_token(value, field))


def order_id_for(bot_id: BotId, coid: ClientOrderId) -> OrderId:
    """One order per (bot, client order id): the id is derived, never drawn."""
    return OrderId(uuid5(bot_id, f"order:{coid}"))


def exchange_client_order_id(order_id: OrderId) -> ClientOrderId:
    """The client order id an order carries at the exchange: its order id's 32 hex digits. A bot's
    own client order ids are unique only within the bot, while bots share exchange accounts; this
    one is unique, fits every exchange's format (Binance allows 36 characters, OKX 32 letters and
    digits), and is derived, so the order can be looked up by it after any crash."""
    return ClientOrderId(order_id.hex)


def order_id_of_exchange_client_order_id(client_order_id: str) -> OrderId:
    """The order an exchange client order id belongs to; ValueError if it is not one of ours."""
    if len(client_order_id) != 32:
        raise ValueError(f"not an exchange client order id of ours: {client_order_id!r}")
    return OrderId(UUID(hex=client_order_id))


def position_id_for(bot_id: BotId, symbol: str) -> PositionId:
    return PositionId(uuid5(bot_id, f"position:{symbol}"))


def bot_id_for_key(owner: UserId, idempotency_key: str) -> BotId:
    """A bot created with an idempotency key gets an id derived from it and its owner."""
    return BotId(uuid5(_NAMESPACE, f"bot:{owner}:{_token(idempotency_key, 'idempotency_key')}"))
