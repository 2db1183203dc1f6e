"""Users' notification channels, the notifier's tracking and its log of deliveries: plain tables in
the read database (configuration and the worker's bookkeeping, not events).

A channel is a user's destination (a webhook URL, an email address, a Telegram chat) with the kinds
of notification it wants and an enabled flag. A webhook's signing secret is sealed with Fernet under
the exchange credentials' keys (``TBOT_CREDENTIALS_KEY``: the first seals, any opens), bound to the
channel's id so a sealed value copied to another row does not open; it is never logged, put in
events or returned (``has_secret`` only). The deliveries table mirrors the ``Delivery`` aggregates
(the facts, in the event store) for the API's list of a user's deliveries."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    Uuid,
    delete,
    select,
    update,
)

from infrastructure.columns import UtcTime
from infrastructure.credentials import CredentialsUnavailable
from infrastructure.upserts import upsert

_METADATA = MetaData()
CHANNELS = Table(
    "notification_channels",
    _METADATA,
    Column("id", Uuid, primary_key=True),
    Column("user_id", String, nullable=False),
    Column("channel", String, nullable=False),  # webhook, email or telegram
    Column("target", String, nullable=False),  # the URL, the address or the chat id
    Column("sealed", Text, nullable=True),  # the webhook's secret, sealed
    Column("kinds", Text, nullable=False),  # a JSON list of kinds
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UtcTime, nullable=False),
    Index("notification_channels_user", "user_id"),
)
TRACKING = Table(
    "notifier_tracking",
    _METADATA,
    Column("name", String, primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UtcTime, nullable=False),
)
DELIVERIES = Table(
    "notification_deliveries",
    _METADATA,
    Column("id", Uuid, primary_key=True),
    Column("user_id", String, nullable=False),
    Column("channel_id", Uuid, nullable=False),
    Column("channel", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("source", String, nullable=False),  # event:<position> or daily_pnl:<day>:<bot id>
    Column("position", BigInteger, nullable=True),
    Column("status", String, nullable=False),  # sent or dead
    Column("attempts", Integer, nullable=False),
    Column("error", String, nullable=True),
    Column("at", UtcTime, nullable=False),
    Index("notification_deliveries_user", "user_id", "at"),
)


@dataclass(frozen=True)
class ChannelInfo:
    """What may be shown of a channel: everything but its secret."""

    id: UUID
    user_id: str
    channel: str
    target: str
    has_secret: bool
    kinds: list[str]
    enabled: bool
    created_at: datetime


@dataclass(frozen=True)
class ChannelConfig:
    """A channel as the notifier needs it: with its secret opened (never in the repr)."""

    info: ChannelInfo
    secret: str | None = field(repr=False)


@dataclass(frozen=True)
class DeliveryRow:
    id: UUID
    user_id: str
    channel_id: UUID
    channel: str
    kind: str
    source: str
    position: int | None
    status: str
    attempts: int
    error: str | None
    at: datetime


class NotificationChannels:
    def __init__(self, engine: Engine, keys: str | None, now: Callable[[], datetime]) -> None:
        self.engine = engine
        self._keys = [k.strip() for k in (keys or "").split(",") if k.strip()]
        self._now = now

    def install(self) -> None:
        _METADATA.create_all(self.engine, checkfirst=True)

    def _cipher(self) -> MultiFernet:
        if not self._keys:
            raise CredentialsUnavailable("TBOT_CREDENTIALS_KEY is not set (make one: tbot accounts new-key)")
        try:
            return MultiFernet([Fernet(key.encode()) for key in self._keys])
        except ValueError as error:
            raise CredentialsUnavailable(f"TBOT_CREDENTIALS_KEY: not Fernet keys: {error}") from error

    def _seal(self, channel_id: UUID, secret: str) -> str:
        body = json.dumps({"channel": str(channel_id), "secret": secret}).encode()
        return self._cipher().encrypt(body).decode()

    def _open(self, channel_id: UUID, sealed: str) -> str:
        try:
            body = json.loads(self._cipher().decrypt(sealed.encode()))
        except InvalidToken as error:
            raise CredentialsUnavailable("no configured key opens this channel's secret") from error
        if body.get("channel") != str(channel_id):
            raise CredentialsUnavailable("the secret stored for this channel belongs to another channel")
        return str(body["secret"])

    @staticmethod
    def _info(r: Row[Any]) -> ChannelInfo:
        kinds = [str(kind) for kind in json.loads(r.kinds)]
        return ChannelInfo(
            r.id, r.user_id, r.channel, r.target, r.sealed is not None, kinds, r.enabled, r.created_at
        )

    def add(
        self, user_id: str, channel: str, target: str, secret: str | None, kinds: Sequence[str], enabled: bool
    ) -> ChannelInfo:
        channel_id = uuid4()
        row = dict(
            id=channel_id,
            user_id=user_id,
            channel=channel,
            target=target,
            sealed=self._seal(channel_id, secret) if secret is not None else None,
            kinds=json.dumps(sorted(set(kinds))),
            enabled=enabled,
            created_at=self._now(),
        )
        with self.engine.begin() as conn:
            conn.execute(CHANNELS.insert(), [row])
        found = self.get(user_id, channel_id)
        assert found is not None
        return found

    def of_user(self, user_id: str) -> list[ChannelInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(CHANNELS)
                .where(CHANNELS.c.user_id == user_id)
                .order_by(CHANNELS.c.created_at, CHANNELS.c.id)
            ).all()
        return [self._info(r) for r in rows]

    def get(self, user_id: str, channel_id: UUID) -> ChannelInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(CHANNELS).where(CHANNELS.c.id == channel_id, CHANNELS.c.user_id == user_id)
            ).first()
        return self._info(row) if row is not None else None

    def change(
        self, user_id: str, channel_id: UUID, kinds: Sequence[str] | None, enabled: bool | None
    ) -> ChannelInfo | None:
        values: dict[str, object] = {}
        if kinds is not None:
            values["kinds"] = json.dumps(sorted(set(kinds)))
        if enabled is not None:
            values["enabled"] = enabled
        if values:
            with self.engine.begin() as conn:
                conn.execute(
                    update(CHANNELS)
                    .where(CHANNELS.c.id == channel_id, CHANNELS.c.user_id == user_id)
                    .values(**values)
                )
        return self.get(user_id, channel_id)

    def remove(self, user_id: str, channel_id: UUID) -> bool:
        with self.engine.begin() as conn:
            statement = delete(CHANNELS).where(CHANNELS.c.id == channel_id, CHANNELS.c.user_id == user_id)
            return conn.execute(statement).rowcount > 0

    def subscribed(self, user_id: str, kind: str) -> list[ChannelConfig]:
        """The user's enabled channels that want ``kind``, secrets opened. A secret no key opens
        comes back as None (the notifier dead-letters that delivery)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(CHANNELS)
                .where(CHANNELS.c.user_id == user_id, CHANNELS.c.enabled.is_(True))
                .order_by(CHANNELS.c.created_at, CHANNELS.c.id)
            ).all()
        found = []
        for row in rows:
            info = self._info(row)
            if kind not in info.kinds:
                continue
            secret: str | None = None
            if row.sealed is not None:
                try:
                    secret = self._open(info.id, row.sealed)
                except CredentialsUnavailable:
                    secret = None
            found.append(ChannelConfig(info, secret))
        return found

    def subscribers(self, kind: str) -> list[str]:
        """The users with an enabled channel that wants ``kind``."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(CHANNELS.c.user_id, CHANNELS.c.kinds).where(CHANNELS.c.enabled.is_(True))
            ).all()
        return sorted({row.user_id for row in rows if kind in json.loads(row.kinds)})

    # the notifier's tracking position

    def position(self, name: str) -> int | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(TRACKING.c.position).where(TRACKING.c.name == name)).first()
        return int(row.position) if row is not None else None

    def track(self, name: str, position: int) -> None:
        with self.engine.begin() as conn:
            upsert(conn, TRACKING, [dict(name=name, position=position, updated_at=self._now())])

    # the log of deliveries

    def log(self, rows: Sequence[DeliveryRow], track: tuple[str, int] | None = None) -> None:
        """The deliveries' rows, and the tracking position ``track`` names, in one transaction."""
        with self.engine.begin() as conn:
            upsert(conn, DELIVERIES, [row.__dict__ for row in rows])
            if track is not None:
                name, position = track
                upsert(conn, TRACKING, [dict(name=name, position=position, updated_at=self._now())])

    def deliveries(self, user_id: str, status: str | None, limit: int = 100) -> list[DeliveryRow]:
        query = select(DELIVERIES).where(DELIVERIES.c.user_id == user_id)
        if status is not None:
            query = query.where(DELIVERIES.c.status == status)
        with self.engine.connect() as conn:
            newest_first = (DELIVERIES.c.at.desc(), DELIVERIES.c.id)
            rows = conn.execute(query.order_by(*newest_first).limit(limit)).all()
        return [DeliveryRow(**row._mapping) for row in rows]
