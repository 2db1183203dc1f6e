"""Every list of the query API that pages: following ``next_cursor`` from the first page to the last
gives every row exactly once, in the list's order, with rows of equal times ordered by their id; a
cursor the API did not give out is refused, naming ``query.cursor``. On both read stores."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from application import commands as c
from application.errors import InvalidInput
from domain.params import MAX_INTEGER
from infrastructure.adapters import PriceBook
from infrastructure.event_store import create_tables
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.http.app import create_app
from interfaces.http.queries import FILL_KEYS, ORDER_KEYS
from interfaces.tables import install_worker_tables
from interfaces.workers.projections import drain_projections
from projections.models.catalog import ALL_NAMES
from tests.support.clock import ManualClock
from tests.support.settings import changed
from tests.support.world import ACTOR, BTC, ETH, LIMITS

ROOMY = {**LIMITS, "max_open_orders": 100, "max_orders_per_minute": 1000}
PAGE = 3
LISTS = ["/v1/bots", "/v1/orders", "/v1/fills", "/v1/risk-decisions"]


@dataclass
class Server:
    container: Any
    http: TestClient
    clock: ManualClock

    def dispatch(self, command: Any) -> Any:
        return self.container.bus().dispatch(command)

    def bot(self) -> UUID:
        command = c.CreateBot(
            actor=ACTOR, name="b", strategy="manual", allowed_symbols=["BTC/USDT"], limits=ROOMY
        )
        bot_id: UUID = self.dispatch(command).aggregate_id
        self.dispatch(c.StartBot(actor=ACTOR, bot_id=bot_id))
        return bot_id

    def order(self, bot_id: UUID, coid: str) -> UUID:
        command = c.PlaceOrder(
            actor=ACTOR,
            bot_id=bot_id,
            client_order_id=coid,
            symbol="BTC/USDT",
            side="buy",
            order_type="limit",
            quantity="0.01",
            price="50000",
        )
        order_id: UUID = self.dispatch(command).order_id
        return order_id

    def walk(self, path: str, limit: int = PAGE) -> list[dict[str, Any]]:
        """Every page of a list, following next_cursor to the end."""
        rows: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": limit}
        while True:
            answer = self.http.get(path, params=params)
            assert answer.status_code == 200, answer.text
            page = answer.json()
            assert len(page["items"]) <= limit
            rows += page["items"]
            if page["next_cursor"] is None:
                return rows
            params["cursor"] = page["next_cursor"]


@contextmanager
def server_on(settings: Settings) -> Iterator[Server]:
    """The HTTP application in process, with a clock the test moves and a key for ACTOR."""
    clock = ManualClock()
    container = Container()
    container.settings.override(providers.Object(changed(settings, api={"rate_limit_per_second": 10_000})))
    container.clock.override(providers.Object(clock))
    container.prices.override(providers.Object(PriceBook({BTC: Decimal(50000), ETH: Decimal(2500)})))
    create_tables(settings)
    container.read_models().install()
    install_worker_tables(container.read_engine())
    identity = container.identity()
    identity.install()
    identity.create_user(ACTOR, "trader")
    key = identity.create_key(ACTOR)
    try:
        with TestClient(create_app(container), headers={"X-API-Key": key}) as http:
            yield Server(container, http, clock)
    finally:
        container.store().close()


@pytest.fixture
def server(read_settings: Settings) -> Iterator[Server]:
    """Bots, orders, fills and risk decisions, several of each made at one moment."""
    with server_on(read_settings) as running:
        bots = [running.bot() for _ in range(4)]
        running.clock.advance(seconds=1)
        bots += [running.bot() for _ in range(3)]
        for moment in range(3):
            running.clock.advance(seconds=1)
            for n, bot_id in enumerate(bots[:4]):
                order_id = running.order(bot_id, f"o-{moment}-{n}")
                if n % 2 == 0:
                    running.dispatch(c.RecordOrderSubmitted(actor="exchange", order_id=order_id))
                    running.dispatch(c.RecordOrderAccepted(actor="exchange", order_id=order_id))
                    running.dispatch(
                        c.RecordFill(
                            actor="exchange",
                            order_id=order_id,
                            trade_id=f"t-{order_id}",
                            quantity="0.01",
                            price="50000",
                        )
                    )
        assert drain_projections(running.container, list(ALL_NAMES)) == {}
        yield running


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("path", "key", "count"),
    [
        ("/v1/bots", lambda row: (_moment(row["created_at"]), UUID(row["bot_id"])), 7),
        ("/v1/orders", lambda row: (_moment(row["placed_at"]), UUID(row["order_id"])), 12),
        ("/v1/fills", lambda row: row["event_position"], 6),
        ("/v1/risk-decisions", lambda row: row["event_position"], 12),
    ],
)
def test_walking_every_page_gives_every_row_once_in_order(
    server: Server, path: str, key: Any, count: int
) -> None:
    walked = server.walk(path)

    assert len(walked) == count
    assert walked == server.walk(path, limit=500)  # the same rows as one page, in the same order
    keys = [key(row) for row in walked]
    assert keys == sorted(keys) and len(set(keys)) == count


def test_rows_of_one_moment_are_paged_by_their_id(server: Server) -> None:
    orders = server.walk("/v1/orders", limit=2)
    moments = [row["placed_at"] for row in orders]
    assert len(set(moments)) == 3  # four orders at each moment: the pages split them
    assert [UUID(row["order_id"]) for row in orders] == [
        UUID(row["order_id"])
        for row in sorted(orders, key=lambda r: (_moment(r["placed_at"]), UUID(r["order_id"])))
    ]


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


NOT_OURS = [
    "%%%",
    _cursor("not json"),
    _cursor('{"after": 1}'),
    _cursor("[]"),
    _cursor("[null]"),
    _cursor('["x"]'),
    _cursor("[true, true]"),
    _cursor('[1.5, "2026-11-21T12:00:00Z", "x"]'),
    _cursor('[1795262400, "0b4a0d2e-5a3c-4f7b-9a9e-2b0c7b4c1d10"]'),  # a number for a time
    _cursor('["0001-01-01T00:00:00+01:00", "0b4a0d2e-5a3c-4f7b-9a9e-2b0c7b4c1d10"]'),
    _cursor(f"[{2**63}]"),
    _cursor("[-1]"),
    _cursor('["2026-11-21T12:00:00Z", "not an id"]'),
]


def test_a_cursor_the_api_did_not_give_out_is_refused_naming_it(server: Server) -> None:
    for path in LISTS:
        for cursor in NOT_OURS:
            answer = server.http.get(path, params={"cursor": cursor})
            assert answer.status_code == 422, (path, cursor, answer.text)
            [problem] = answer.json()["error"]["problems"]
            assert problem["field"] == "query.cursor", (path, cursor)


MOMENTS = st.datetimes(  # hypothesis takes naive bounds and adds the zone
    min_value=datetime(1970, 1, 2),  # noqa: DTZ001
    max_value=datetime(9998, 12, 30),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(moment=MOMENTS, key=st.uuids(), position=st.integers(0, MAX_INTEGER))
def test_a_cursor_reads_back_as_the_key_it_was_made_of(moment: datetime, key: UUID, position: int) -> None:
    assert ORDER_KEYS.decode(ORDER_KEYS.encode({"placed_at": moment, "order_id": key})) == (moment, key)
    assert FILL_KEYS.decode(FILL_KEYS.encode({"event_position": position})) == (position,)


JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40))
CURSORS = st.one_of(
    st.text(max_size=400),
    st.binary(max_size=300).map(lambda raw: base64.urlsafe_b64encode(raw).decode()),
    st.lists(JSON_VALUES, max_size=3).map(lambda values: _cursor(json.dumps(values))),
)


@given(cursor=CURSORS)
def test_any_other_text_is_refused_or_is_a_key_of_the_right_types(cursor: str) -> None:
    for keys, kinds in [(ORDER_KEYS, (datetime, UUID)), (FILL_KEYS, (int,))]:
        try:
            values = keys.decode(cursor)
        except InvalidInput as refused:
            assert refused.field == "query.cursor"
        else:
            assert tuple(type(v) for v in values) == kinds
