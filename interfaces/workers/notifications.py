"""The notifier (`tbot notifications run`): follows the event store from its own tracking position
and tells each bot's owner, on every channel of theirs that wants the event's kind, what happened.

One process at a time holds the ``notifications`` lock; others stand by. For each event a kind
covers (application/notifications/kinds.py), for each subscribed channel: unless a ``Delivery``
aggregate for (event position, channel) is recorded already, it is delivered with retries
(``deliver``) and recorded as ``Delivery.Sent`` or ``Delivery.DeadLettered``. Events are taken in
batches: each channel's deliveries go one after another in the events' order, different channels'
side by side; the batch's records are saved in one transaction, and only then does the tracking
position move past the batch, so a restart resumes at the first batch not finished and sends only
what was not recorded: at least once, and a repeat (a crash between sending and recording) carries
the same idempotency key. A failing channel, or anything a
user configured, never stops the worker: it becomes a dead letter."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError
from sqlalchemy import func, select

from application.notifications.kinds import Subject, daily_subject, subject_of
from application.notifications.ports import (
    Channel,
    Delivery,
    EmailDestination,
    Notification,
    RetryPolicy,
    Sleep,
    TelegramDestination,
    WebhookDestination,
    deliver,
    notification_key,
    safe_error,
)
from application.store import TradingApplication
from domain.aggregate import TradingAggregate
from domain.bot import Bot
from domain.errors import InvalidInput
from domain.ids import user_id
from domain.notification import Delivery as DeliveryRecord
from domain.notification import delivery_id_for, event_source
from domain.values import EventMeta, Stamp
from infrastructure.notification_channels import ChannelConfig, DeliveryRow, NotificationChannels
from infrastructure.notify.email import EmailChannel
from infrastructure.notify.telegram import TelegramChannel
from infrastructure.notify.webhook import WebhookChannel
from infrastructure.settings import NotifierSettings
from interfaces.composition import Container
from interfaces.workers.supervisor import Ownership, Supervisor
from projections.engine.reader import EventReader
from projections.ports import Wakeup
from projections.queries import BOTS, BOTS_SORT, PNL

log = structlog.get_logger("tbot.notifications")
NAME = "notifications"
DAILY = "notifications.daily_pnl"
"""The tracking row of the daily summaries: the ordinal of the last UTC day summed up."""


@dataclass(frozen=True)
class Origin:
    """What a notification is of: an event (``event:<position>``) or a day's summary."""

    source: str
    position: int | None
    occurred_at: datetime
    correlation_id: str
    causation_id: str


@dataclass(frozen=True)
class _Job:
    """One notification to send: what it is of, about, for whom, on which of their channels."""

    origin: Origin
    subject: Subject
    owner: str
    channel: ChannelConfig

    @property
    def delivery_id(self) -> UUID:
        return delivery_id_for(self.origin.source, self.channel.info.id)


class _Subscriptions:
    """A user's channels wanting a kind, read (and their secrets opened) once per batch."""

    def __init__(self, channels: NotificationChannels) -> None:
        self.channels = channels
        self.found: dict[tuple[str, str], list[ChannelConfig]] = {}

    def __call__(self, owner: str, kind: str) -> list[ChannelConfig]:
        if (owner, kind) not in self.found:
            self.found[owner, kind] = self.channels.subscribed(owner, kind)
        return self.found[owner, kind]


def _row(record: DeliveryRecord, channel: str) -> DeliveryRow:
    return DeliveryRow(
        id=record.id,
        user_id=record.user_id,
        channel_id=record.channel_id,
        channel=channel,
        kind=record.kind,
        source=record.source,
        position=record.position,
        status=record.status,
        attempts=record.attempts,
        error=record.error,
        at=record.modified_on,
    )


D = TypeVar("D")
T = TypeVar("T")
ACTOR = "system:notifier"


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global or ip.is_multicast


async def private_host(url: str) -> bool:
    """Whether the URL's host is, or resolves to, an address that is not public (loopback,
    private, link-local, ...). A name that does not resolve is not private (the delivery fails)."""
    host = urlsplit(url).hostname or ""
    try:
        return _private(host)
    except ValueError:
        pass
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return any(_private(str(info[4][0])) for info in infos)


class Senders:
    """The delivery channels, made on first use in the notifier's event loop (email and Telegram
    only when configured)."""

    def __init__(self, settings: NotifierSettings) -> None:
        self.settings = settings
        self._webhook: WebhookChannel | None = None
        self._telegram: TelegramChannel | None = None
        self._email: EmailChannel | None = None

    def webhook(self) -> WebhookChannel:
        if self._webhook is None:
            self._webhook = WebhookChannel()
        return self._webhook

    def email(self) -> EmailChannel | None:
        s = self.settings
        if self._email is None and s.smtp_host:
            password = s.smtp_password.get_secret_value() if s.smtp_password else None
            self._email = EmailChannel(
                host=s.smtp_host,
                port=s.smtp_port,
                sender=s.smtp_sender,
                username=s.smtp_user,
                password=password,
                starttls=s.smtp_starttls,
            )
        return self._email

    def telegram(self) -> TelegramChannel | None:
        s = self.settings
        if self._telegram is None and s.telegram_token is not None:
            self._telegram = TelegramChannel(s.telegram_token.get_secret_value(), api_url=s.telegram_api_url)
        return self._telegram

    async def aclose(self) -> None:
        if self._webhook is not None:
            await self._webhook.aclose()
        if self._telegram is not None:
            await self._telegram.aclose()
        self._webhook = self._telegram = None


class NotifierJob:
    """A job for the workers' supervisor; ``drain`` runs it to the store's head, for tests."""

    name = NAME

    def __init__(
        self,
        *,
        reader: EventReader,
        store: TradingApplication,
        channels: NotificationChannels,
        settings: NotifierSettings,
        wakeup: Wakeup,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        from_start: bool = False,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.reader = reader
        self.store = store
        self.channels = channels
        self.settings = settings
        self.wakeup = wakeup
        self.now = now
        self.from_start = from_start
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.policy = RetryPolicy(
            attempts=settings.retry_attempts,
            first_delay_seconds=min(settings.retry_first_delay_seconds, settings.retry_max_delay_seconds),
            max_delay_seconds=settings.retry_max_delay_seconds,
        )
        self.senders = Senders(settings)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._owners: dict[UUID, str] = {}
        self.position: int | None = None

    # the supervisor's job

    def begin(self) -> None:
        """Reads the tracking position; on the first run starts at the store's head (or at the
        start with ``from_start``)."""
        position = self.channels.position(NAME)
        if position is None:
            position = 0 if self.from_start else self.reader.head()
            self.channels.track(NAME, position)
        self.position = position

    def turn(self) -> float:
        done = self.step()
        self.daily()
        return 0.0 if done >= self.settings.batch_size else self.settings.poll_seconds

    def idle(self, seconds: float) -> None:
        self.wakeup.wait(seconds)

    def interrupt(self) -> None:
        self.wakeup.poke()

    def end(self) -> None:
        self.position = None

    def close(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(self.senders.aclose())
            self._loop.close()
            self._loop = None
        self.wakeup.close()

    def drain(self) -> int:
        """Up to the store's head; returns how many events were read."""
        if self.position is None:
            self.begin()
        total = 0
        while (done := self.step()) > 0:
            total += done
        self.daily()
        return total

    # the work

    def step(self) -> int:
        """One batch: its events' deliveries sent (each channel's in order, channels side by side),
        recorded in one transaction, then logged with the tracking moved past the batch."""
        if self.position is None:
            self.begin()
        assert self.position is not None
        notifications = self.reader.notifications(self.position, self.settings.batch_size)
        if not notifications:
            return 0
        subscribed = _Subscriptions(self.channels)
        jobs: list[_Job] = []
        for stored in notifications:
            try:
                envelope = self.reader.decode(stored)
            except Exception as error:  # an event this process cannot read: nobody is told of it
                log.warning("undecodable event skipped", position=stored.id, error=type(error).__name__)
            else:
                jobs.extend(self._jobs(envelope.position, envelope.event, subscribed))
        self._handle(jobs, track=(NAME, notifications[-1].id))
        self.position = notifications[-1].id
        return len(notifications)

    def _load(self, aggregate_id: UUID) -> TradingAggregate:
        found = self.store.find(TradingAggregate, aggregate_id, read_only=True)
        if found is None:
            raise LookupError(f"aggregate {aggregate_id} not found")
        return found

    def _owner(self, bot_id: UUID) -> str | None:
        if bot_id not in self._owners:
            bot = self.store.find(Bot, bot_id, read_only=True)
            if bot is None:
                return None
            self._owners[bot_id] = bot.owner
        return self._owners[bot_id]

    def _jobs(self, position: int, event: TradingAggregate.Event, subscribed: _Subscriptions) -> list[_Job]:
        if isinstance(event, DeliveryRecord.Sent | DeliveryRecord.DeadLettered):
            return []
        try:
            subject = subject_of(event, self._load)
        except LookupError as error:
            log.warning("event not notified", position=position, error=str(error))
            return []
        if subject is None:
            return []
        owner = self._owner(subject.bot_id)
        if owner is None:
            return []
        cause = f"{event.originator_id}:{event.originator_version}"
        origin = Origin(event_source(position), position, event.timestamp, event.meta.correlation_id, cause)
        return [_Job(origin, subject, owner, channel) for channel in subscribed(owner, subject.kind)]

    def _handle(self, jobs: list[_Job], track: tuple[str, int]) -> None:
        """Sends what was not recorded before (a restart: never again), records every outcome in
        one transaction, then logs them and moves the tracking ``track`` names."""
        done: list[tuple[DeliveryRecord, str]] = []
        to_send: list[_Job] = []
        for job in jobs:
            recorded = self.store.find(DeliveryRecord, job.delivery_id, read_only=True)
            if recorded is None:
                to_send.append(job)
            else:
                done.append((recorded, job.channel.info.channel))
        results = self._run(self._send_all(to_send)) if to_send else []
        records = [self._record_of(job, result) for job, result in zip(to_send, results, strict=True)]
        for job, record in zip(to_send, self._saved(records), strict=True):
            done.append((record, job.channel.info.channel))
            self._report(job, record)
        self.channels.log([_row(record, channel) for record, channel in done], track=track)

    async def _send_all(self, jobs: list[_Job]) -> list[Delivery]:
        """Each channel's jobs one after another, in order; the channels side by side."""
        results: dict[int, Delivery] = {}
        by_channel: dict[UUID, list[int]] = {}
        for index, job in enumerate(jobs):
            by_channel.setdefault(job.channel.info.id, []).append(index)

        async def one_channel(indexes: list[int]) -> None:
            for index in indexes:
                results[index] = await self._attempt(jobs[index])

        await asyncio.gather(*(one_channel(indexes) for indexes in by_channel.values()))
        return [results[index] for index in range(len(jobs))]

    async def _attempt(self, job: _Job) -> Delivery:
        notification = Notification(
            key=notification_key(job.origin.source, str(job.channel.info.id)),
            kind=job.subject.kind,
            title=job.subject.title,
            text=job.subject.text,
            data=job.subject.data,
            occurred_at=job.origin.occurred_at,
        )
        try:
            return await self._deliver(notification, job.channel)
        except Exception as error:  # a channel's own bug: a dead letter, never a stopped worker
            log.exception("delivery failed unexpectedly", channel_id=str(job.channel.info.id))
            return Delivery(False, 1, safe_error(f"internal error: {type(error).__name__}"), permanent=True)

    def _record_of(self, job: _Job, result: Delivery) -> DeliveryRecord:
        origin, info = job.origin, job.channel.info
        stamp = Stamp(self.now(), EventMeta(user_id(ACTOR), origin.correlation_id, origin.causation_id))
        return DeliveryRecord.record(
            user_id=job.owner,
            channel_id=info.id,
            channel=info.channel,
            kind=job.subject.kind,
            source=origin.source,
            position=origin.position,
            attempts=result.attempts,
            error=None if result.delivered else (result.error or "failed"),
            stamp=stamp,
        )

    def _saved(self, records: list[DeliveryRecord]) -> list[DeliveryRecord]:
        """The records as stored: all in one transaction, or, when another notifier recorded some
        of them first, one by one with theirs in place of ours."""
        if not records:
            return []
        try:
            self.store.record(*records)
            return records
        except IntegrityError:
            pass
        saved = []
        for record in records:
            try:
                self.store.record(record)
                saved.append(record)
            except IntegrityError:
                found = self.store.find(DeliveryRecord, record.id, read_only=True)
                if found is None:
                    raise
                saved.append(found)
        return saved

    def _report(self, job: _Job, record: DeliveryRecord) -> None:
        log.info(
            "notification delivered" if record.error is None else "notification dead-lettered",
            channel=job.channel.info.channel,
            channel_id=str(job.channel.info.id),
            kind=job.subject.kind,
            source=job.origin.source,
            attempts=record.attempts,
            error=record.error,
        )

    # the daily summary

    def daily(self) -> None:
        """Once the configured hour of a UTC day has come, each bot's summary of the 24 hours before
        it, to its owner's channels that want ``daily_pnl`` (from the bots and pnl read models)."""
        now = self.now().astimezone(UTC)
        end = datetime.combine(now.date(), dt_time(self.settings.daily_summary_hour), UTC)
        if now < end:
            end -= timedelta(days=1)
        day = end.date().toordinal()
        if (self.channels.position(DAILY) or 0) >= day:
            return
        start = end - timedelta(days=1)
        owners = self.channels.subscribers("daily_pnl")
        with self.channels.engine.connect() as conn:
            bots = conn.execute(select(BOTS).where(BOTS.c.owner.in_(owners)).order_by(*BOTS_SORT)).all()
            window = PNL.c.bot_id, func.coalesce(func.sum(PNL.c.realized_delta), 0), func.count()
            sums = {
                row[0]: (Decimal(str(row[1])), int(row[2]))
                for row in conn.execute(
                    select(*window).where(PNL.c.at >= start, PNL.c.at < end).group_by(PNL.c.bot_id)
                )
            }
        subscribed = _Subscriptions(self.channels)
        jobs: list[_Job] = []
        for bot in bots:
            realized, fills = sums.get(bot.bot_id, (Decimal(0), 0))
            subject = daily_subject(bot.bot_id, bot.name, realized, fills, bot.realized_pnl, start, end)
            source = f"daily_pnl:{end.date().isoformat()}:{bot.bot_id}"
            origin = Origin(source, None, end, f"daily_pnl:{end.date().isoformat()}", source)
            jobs.extend(_Job(origin, subject, bot.owner, c) for c in subscribed(bot.owner, "daily_pnl"))
        self._handle(jobs, track=(DAILY, day))

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(work)

    async def _send(self, channel: Channel[D], notification: Notification, destination: D) -> Delivery:
        return await deliver(channel, notification, destination, self.policy, self.sleep, self.rng)

    async def _deliver(self, notification: Notification, channel: ChannelConfig) -> Delivery:
        info = channel.info
        try:
            if info.channel == "webhook":
                if channel.secret is None:
                    return Delivery.refused("the webhook's secret cannot be opened (was the key changed?)")
                destination = WebhookDestination(info.target, channel.secret)
                if not self.settings.allow_private_urls and await private_host(info.target):
                    return Delivery.refused("the webhook URL is a private or loopback address")
                return await deliver(
                    self.senders.webhook(), notification, destination, self.policy, self.sleep, self.rng
                )
            if info.channel == "email":
                email = self.senders.email()
                if email is None:
                    return Delivery.refused("email is not configured on this server")
                return await deliver(
                    email, notification, EmailDestination(info.target), self.policy, self.sleep, self.rng
                )
            if info.channel == "telegram":
                telegram = self.senders.telegram()
                if telegram is None:
                    return Delivery.refused("Telegram is not configured on this server")
                chat = TelegramDestination(info.target)
                return await self._send(telegram, notification, chat)
        except InvalidInput as error:
            return Delivery.refused(safe_error(f"bad destination: {error}"))
        return Delivery.refused(f"unknown channel {info.channel!r}")


def notifier_job(container: Container, from_start: bool = False) -> NotifierJob:
    return NotifierJob(
        reader=container.reader(),
        store=container.store(),
        channels=container.notification_channels(),
        settings=container.settings().notify,
        wakeup=container.wakeup(),
        now=container.clock().now,
        from_start=from_start,
    )


def build_notifier(
    container: Container, from_start: bool = False, locks: Ownership | None = None
) -> Supervisor[NotifierJob]:
    return Supervisor(notifier_job(container, from_start), locks or container.locks())
