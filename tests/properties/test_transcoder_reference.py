"""Our faster transcoder reads back exactly what the library's own JSONTranscoder reads back,
for any state built from the values our events hold, and writes the same bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.ids import ClientOrderId, UserId
from domain.orders import OrderRequest
from domain.values import EventMeta, OrderType, Side, Symbol, TimeInForce
from infrastructure.transcodings import DomainTranscoder, register_domain_transcodings


def _with_registrations(transcoder: JSONTranscoder) -> JSONTranscoder:
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_domain_transcodings(transcoder)
    return transcoder


REFERENCE = _with_registrations(JSONTranscoder())
OURS = _with_registrations(DomainTranscoder())

decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None)
times = st.datetimes(  # hypothesis takes naive bounds and adds the zone
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
texts = st.text(max_size=12)
metas = st.builds(EventMeta, st.builds(UserId, texts), texts, texts)
symbols = st.sampled_from([Symbol("BTC", "USDT"), Symbol("ETH", "BTC")])
requests = st.builds(
    OrderRequest,
    client_order_id=st.builds(ClientOrderId, st.text(alphabet="abc123-", min_size=1, max_size=20)),
    symbol=symbols,
    side=st.sampled_from(Side),
    order_type=st.just(OrderType.LIMIT),
    quantity=st.integers(1, 10**6).map(lambda n: Decimal(n) / 1000),
    price=st.integers(1, 10**8).map(lambda n: Decimal(n) / 100),
    stop_price=st.none(),
    time_in_force=st.sampled_from(TimeInForce),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # beyond 64 bits too: orjson would read those as floats
    st.floats(allow_nan=False),  # inexact JSON numbers: read by the library's own decoder
    texts,
    decimals,
    st.uuids(),
    times,
    metas,
    requests,
    symbols,
    st.sampled_from(Side),
)
keys = st.sampled_from(["a", "price", "meta", "request", "levels", "é"])
states: st.SearchStrategy[dict[str, Any]] = st.dictionaries(
    keys,
    st.recursive(
        leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4)
    ),
    max_size=8,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states)
@example({"count": -9223372036854775809, "levels": [2**70]})  # beyond 64 bits: orjson reads floats
@example({"spread": 0.1, "grid": [1e308, float("inf")]})
def test_decoding_equals_the_library_reference(state: dict[str, Any]) -> None:
    encoded = REFERENCE.encode(state)
    assert OURS.encode(state) == encoded
    decoded = OURS.decode(encoded)
    assert decoded == REFERENCE.decode(encoded)
    assert decoded == state


def test_a_decoded_value_object_is_the_recorded_one_without_re_validation() -> None:
    """A fact recorded under older rules still loads: decoding does not run the checks again."""
    stale = (
        b'{"request":{"_type_":"value:OrderRequest","_data_":{"client_order_id":"c",'
        b'"symbol":{"_type_":"symbol","_data_":"BTC/USDT"},"side":{"_type_":"enum:Side","_data_":"buy"},'
        b'"order_type":{"_type_":"enum:OrderType","_data_":"limit"},'
        b'"quantity":{"_type_":"decimal_str","_data_":"-1"},"price":null,"stop_price":null,'
        b'"time_in_force":{"_type_":"enum:TimeInForce","_data_":"GTC"}}}}'
    )
    request = OURS.decode(stale)["request"]
    assert isinstance(request, OrderRequest) and request.quantity == Decimal(-1) and request.side is Side.BUY
