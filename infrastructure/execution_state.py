"""The execution manager's tracking position and working orders, in the read database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    MetaData,
    String,
    Table,
    Uuid,
    delete,
    select,
)

from application.execution.state import WorkingOrder
from domain.values import Symbol
from infrastructure.columns import UtcTime
from infrastructure.upserts import upsert

_METADATA = MetaData()
TRACKING = Table(
    "execution_tracking",
    _METADATA,
    Column("name", String, primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UtcTime, nullable=False),
)
WORKING = Table(
    "execution_orders",
    _METADATA,
    Column("order_id", Uuid, primary_key=True),
    Column("account", String, nullable=False),
    Column("symbol", String, nullable=False),
    Column("client_order_id", String, nullable=False),
    Column("correlation_id", String, nullable=False),
)
NAME = "execution"


class SqlExecutionState:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def install(self) -> None:
        _METADATA.create_all(self.engine, checkfirst=True)

    def load(self) -> tuple[int, list[WorkingOrder]]:
        with self.engine.connect() as conn:
            position = conn.execute(select(TRACKING.c.position).where(TRACKING.c.name == NAME)).scalar()
            rows = conn.execute(select(WORKING).order_by(WORKING.c.order_id)).all()
        working = [
            WorkingOrder(r.order_id, r.account, Symbol.parse(r.symbol), r.client_order_id, r.correlation_id)
            for r in rows
        ]
        return int(position or 0), working

    def save(self, position: int, opened: Sequence[WorkingOrder], closed: Sequence[UUID]) -> None:
        """Moves the tracking position and the working orders together; an order both opened and
        closed in the same batch leaves no row."""
        ended = set(closed)
        rows = [
            dict(
                order_id=o.order_id,
                account=o.account,
                symbol=str(o.symbol),
                client_order_id=o.client_order_id,
                correlation_id=o.correlation_id,
            )
            for o in {o.order_id: o for o in opened}.values()
            if o.order_id not in ended
        ]
        tracking = dict(name=NAME, position=position, updated_at=datetime.now(UTC))
        with self.engine.begin() as conn:
            upsert(conn, TRACKING, [tracking])
            if ended:
                conn.execute(delete(WORKING).where(WORKING.c.order_id.in_(ended)))
            upsert(conn, WORKING, rows)
