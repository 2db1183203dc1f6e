"""Whatever free-form input the command handlers accept, every projection applies: JSON-able bot
params of any shape (nested objects and lists, any Unicode including lone surrogates and control
characters, NaN and infinities, integers of any size), names and other texts. What the handlers
refuse, they refuse as InvalidInput naming the field, and nothing is recorded."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from application import commands as c
from domain.errors import DomainError, InvalidInput
from infrastructure.settings import Settings
from tests.support.read_side import ReadSide, read_side_on
from tests.support.schemas import fresh_schema
from tests.support.settings import changed, embedded_store
from tests.support.world import ACTOR, LIMITS, World, world_on

# Any code point, lone surrogates and control characters included; text that may be blank once
# trimmed; text that is always fine; and the edges of the rules.
weird_texts = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
storable_texts = st.text(st.characters(codec=None, exclude_categories=("Cs", "Cc")), max_size=30)
fine_texts = st.text(
    st.characters(codec=None, exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=40
)
edge_texts = st.sampled_from(["  padded  ", "", " ", "x" * 101, "tab\there", "nul\x00", "\ud800", "\udfff"])
texts = st.one_of(fine_texts, storable_texts, weird_texts, edge_texts)
storable_numbers = st.one_of(
    st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1), st.floats(allow_nan=False, allow_infinity=False)
)
numbers = st.one_of(
    storable_numbers,
    st.floats(),  # NaN and the infinities included
    st.integers(),
    st.sampled_from([2**63 - 1, -(2**63) + 1, 2**63, 2**70, 1e400, -1e400, 1e23, 5e-324, -0.0]),
)


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def _params(draw: st.DrawFn, free: st.SearchStrategy[str], number: st.SearchStrategy[Any]) -> dict[str, Any]:
    kind = draw(st.integers(0, 5))
    if kind == 4:
        return _nested(draw(st.integers(min_value=14, max_value=20)))  # around the depth bound
    if kind == 5:
        return {"blob": "x" * draw(st.integers(min_value=16_360, max_value=16_400))}  # the size bound
    values = st.recursive(
        st.one_of(st.none(), st.booleans(), number, free),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(free, children, max_size=4),
        max_leaves=12,
    )
    return draw(st.dictionaries(free, values, max_size=5))


@dataclass(frozen=True)
class Case:
    name: str
    strategy: str
    exchange_account: str
    params: dict[str, Any]
    reason: str
    client_order_id: str


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """Most cases have texts and numbers the rules take, so that they reach the projections;
    the others may break any rule anywhere."""
    fine = draw(st.integers(0, 3)) > 0
    free, number = (fine_texts, storable_numbers) if fine else (texts, numbers)
    accounts = st.one_of(st.just("paper"), st.builds("paper:{}".format, free))
    return Case(
        name=draw(free),
        strategy="external" if fine else draw(free),  # the strategy that records free-form params
        exchange_account=draw(accounts if fine else accounts | free),
        params=_params(draw, free, number),
        reason=draw(texts),  # any text: it comes after a bot was created
        client_order_id=draw(st.from_regex(r"[A-Za-z0-9._:\-]{1,64}", fullmatch=True) | free),
    )


def _number(value: Any) -> Any:
    """Numbers compared by value, whatever type a store hands them back as (PostgreSQL's jsonb
    gives 1e23 back as the integer it denotes)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _number(item) for key, item in value.items()}
    return [_number(item) for item in value]


def _dispatch(world: World, command: c.Command, any_refusal: bool = False) -> Any:
    """The handler's answer, or None when it refused. CreateBot refuses as InvalidInput, appending
    nothing; ``any_refusal`` lets a command refuse as any domain error."""
    before = world.store.last_position()
    try:
        return world.bus.dispatch(command)  # type: ignore[call-overload]
    except InvalidInput as refused:
        assert world.store.last_position() == before, f"{refused} yet events were recorded"
        event(f"{type(command).__name__} refused: {refused.field.split('.')[0].split('[')[0]}")
        return None
    except DomainError as refused:
        if not any_refusal:
            raise
        event(f"{type(command).__name__} refused: {type(refused).__name__}")
        return None


def exercise(world: World, rs: ReadSide, case: Case) -> None:
    created = _dispatch(
        world,
        c.CreateBot(
            actor=ACTOR,
            name=case.name,
            strategy=case.strategy,
            allowed_symbols=["BTC/USDT"],
            limits=LIMITS,
            exchange_account=case.exchange_account,
            params=case.params,
        ),
    )
    if created is not None:
        event("bot created")
        bot_id: UUID = created.aggregate_id
        world.bus.dispatch(c.StartBot(actor=ACTOR, bot_id=bot_id))
        _dispatch(
            world,
            c.PlaceOrder(
                actor=ACTOR,
                bot_id=bot_id,
                client_order_id=case.client_order_id,
                symbol="BTC/USDT",
                side="buy",
                order_type="limit",
                quantity="0.01",
                price="50000",
            ),
            any_refusal=True,
        )
        _dispatch(world, c.TripKillSwitch(actor=ACTOR, bot_id=bot_id, reason=case.reason))

    assert rs.catch_up() == {}

    if created is not None:
        (row,) = [r for r in rs.typed_rows("bots", "bot_id") if r["bot_id"] == bot_id]
        assert row["name"] == case.name.strip()
        assert _number(row["params"]) == _number(case.params)
        window = rs.live_store.feed_window(0, 10_000)
        entry = next(
            e for e in window.entries if e["aggregate_id"] == str(bot_id) and e["type"] == "Bot.Created"
        )
        assert _number(json.loads(entry["payload"])["params"]) == _number(case.params)


@contextmanager
def embedded() -> Iterator[Settings]:
    with tempfile.TemporaryDirectory() as scratch:
        yield Settings(store=embedded_store(Path(scratch)))


def run_case(settings_of: Any, case: Case) -> None:
    with settings_of() as chosen, world_on(chosen) as world, read_side_on(chosen) as rs:
        exercise(world, rs, case)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_what_the_handlers_accept_every_projection_applies(case: Case) -> None:
    run_case(embedded, case)


@pytest.mark.postgres
@pytest.mark.redis
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=cases())
def test_the_same_on_postgres_and_redis(postgres_url: str, redis_url: str, case: Case) -> None:
    @contextmanager
    def on_postgres() -> Iterator[Settings]:
        with fresh_schema(postgres_url) as chosen:
            yield changed(chosen, redis={"url": SecretStr(redis_url)})

    run_case(on_postgres, case)
