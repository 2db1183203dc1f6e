"""The notifier end to end on PostgreSQL: orders placed and filled through the command bus, the
notifier run over the store, and the local servers speaking the real protocols (a webhook
receiver, an SMTP server, a fake Telegram Bot API) checked for exactly what each channel's owner
subscribed to; retries, dead letters, restarts that send nothing twice (also after a crash between
sending and recording: the same Idempotency-Key), and events of kinds nobody wants."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from dependency_injector import providers
from pydantic import SecretStr
from sqlalchemy import delete, update

from domain.notification import Delivery, delivery_id_for
from infrastructure.credentials import new_key
from infrastructure.notification_channels import CHANNELS, TRACKING, NotificationChannels
from infrastructure.notify.webhook import verify_signature
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.tables import install_tables
from interfaces.workers.notifications import NAME, NotifierJob, build_notifier, notifier_job
from interfaces.workers.projections import drain_projections
from projections.models.catalog import ALL_NAMES, SQL_NAMES
from tests.support.fake_telegram import FakeTelegram
from tests.support.processes import start_tbot, stop
from tests.support.settings import changed
from tests.support.smtp_server import SmtpServer
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.world import ACTOR, World, world_on

pytestmark = pytest.mark.postgres

SECRET = "whsec_0123456789abcdef"
CHAT = 4242


@dataclass
class Setup:
    settings: Settings
    world: World
    container: Container
    channels: NotificationChannels
    webhook: WebhookReceiver
    smtp: SmtpServer
    telegram: FakeTelegram

    def job(self, from_start: bool = False) -> NotifierJob:
        """A new notifier, as a restarted process makes (the same tracking row)."""
        return notifier_job(self.container, from_start)

    def drain(self, from_start: bool = False) -> None:
        job = self.job(from_start)
        try:
            job.drain()
        finally:
            job.close()


@contextmanager
def _setup_on(base: Settings) -> Iterator[Setup]:
    with WebhookReceiver() as webhook, SmtpServer() as smtp, FakeTelegram() as telegram:
        telegram.add_chat(CHAT)
        settings = changed(
            base,
            exchange={"credentials_key": SecretStr(new_key())},
            notify={
                "retry_attempts": 3,
                "retry_first_delay_seconds": 0.01,
                "retry_max_delay_seconds": 0.05,
                "smtp_host": smtp.host,
                "smtp_port": smtp.port,
                "smtp_starttls": False,
                "smtp_sender": "bots@tbot.test",
                "telegram_token": SecretStr(telegram.token),
                "telegram_api_url": telegram.url,
                "allow_private_urls": True,
                "poll_seconds": 0.1,
            },
        )
        container = Container()
        container.settings.override(providers.Object(settings))
        install_tables(container)
        with world_on(settings) as world:
            container.clock.override(providers.Object(world.clock))
            try:
                yield Setup(
                    settings, world, container, container.notification_channels(), webhook, smtp, telegram
                )
            finally:
                container.store().close()
                container.shutdown_resources()


@pytest.fixture
def setup(postgres_settings: Settings) -> Iterator[Setup]:
    with _setup_on(postgres_settings) as ready:
        yield ready


@pytest.fixture
def embedded(sqlite_settings: Settings) -> Iterator[Setup]:
    """The same on the embedded default (SQLite files, polling)."""
    with _setup_on(sqlite_settings) as ready:
        yield ready


def _fill_an_order(world: World) -> UUID:
    bot_id = world.running_bot()
    order_id = world.place(bot_id, "o-1", "buy", "0.1", "50000")
    world.accept(order_id)
    world.fill(order_id, "t-1", "0.04", "50000")
    world.fill(order_id, "t-2", "0.06", "49990")
    return bot_id


def _bodies(webhook: WebhookReceiver) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in webhook.requests]


@pytest.mark.parametrize("store", ["postgres", "sqlite"])
def test_each_channel_gets_exactly_the_kinds_it_wants_signed_and_keyed(
    store: str, request: pytest.FixtureRequest
) -> None:
    setup: Setup = request.getfixturevalue("setup" if store == "postgres" else "embedded")
    setup.drain()  # the first run starts at the head: nothing before it is told
    setup.channels.add(ACTOR, "webhook", setup.webhook.url, SECRET, ["order_filled"], True)
    setup.channels.add(ACTOR, "email", "alice@example.com", None, ["bot_lifecycle"], True)
    setup.channels.add(ACTOR, "telegram", str(CHAT), None, ["order_filled"], True)
    setup.channels.add(ACTOR, "webhook", setup.webhook.url + "/off", SECRET, ["order_filled"], False)
    setup.channels.add("bob", "webhook", setup.webhook.url + "/bob", SECRET, ["order_filled"], True)
    _fill_an_order(setup.world)
    setup.drain()

    requests = setup.webhook.requests
    assert [r.path for r in requests] == ["/hook", "/hook"]  # not the disabled one, not bob's
    bodies = _bodies(setup.webhook)
    assert [b["kind"] for b in bodies] == ["order_filled", "order_filled"]
    assert [b["data"]["quantity"] for b in bodies] == ["0.04", "0.06"]
    assert bodies[1]["data"]["price"] == "49990" and bodies[1]["data"]["status"] == "filled"
    assert bodies[0]["title"] == "Order partly filled" and bodies[1]["title"] == "Order filled"
    for received in requests:
        headers = received.headers
        assert verify_signature(
            SECRET, headers["x-tbot-timestamp"], received.body, headers["x-tbot-signature"], time.time()
        )
        assert headers["idempotency-key"] == json.loads(received.body)["id"]
    assert len({r.headers["idempotency-key"] for r in requests}) == 2

    mails = setup.smtp.messages  # bot_lifecycle: the bot was created, then started
    assert [m.message["Subject"] for m in mails] == ["Bot created", "Bot started"]
    assert all(m.rcpt_tos == ("alice@example.com",) for m in mails)
    assert {m.message["X-Tbot-Kind"] for m in mails} == {"bot_lifecycle"}
    sent = setup.telegram.sent
    assert [m.chat_id for m in sent] == [CHAT, CHAT]
    assert "Bought 0.04 BTC at 50000 USDT" in sent[0].text

    rows = setup.channels.deliveries(ACTOR, None)
    assert {r.status for r in rows} == {"sent"} and len(rows) == 6
    assert setup.channels.deliveries("bob", None) == []


def _webhook_only(setup: Setup, kinds: list[str], path: str = "") -> UUID:
    setup.drain()
    return setup.channels.add(ACTOR, "webhook", setup.webhook.url + path, SECRET, kinds, True).id


def test_each_channel_gets_its_notifications_in_order_and_a_slow_one_holds_up_no_other(
    setup: Setup,
) -> None:
    _webhook_only(setup, ["bot_lifecycle"])
    with WebhookReceiver() as fast:
        setup.channels.add(ACTOR, "webhook", fast.url, SECRET, ["bot_lifecycle"], True)
        setup.webhook.delay(0.5, times=2)
        setup.world.running_bot()  # Bot.Created, Bot.Started
        setup.drain()
        slow_titles = [json.loads(r.body)["title"] for r in setup.webhook.requests]
        fast_titles = [json.loads(r.body)["title"] for r in fast.requests]
        assert slow_titles == fast_titles == ["Bot created", "Bot started"]
        # the fast channel was done before the slow one took its first
        assert fast.requests[-1].received_at < setup.webhook.requests[0].received_at + 0.5


def test_a_channel_failing_then_answering_is_retried_with_the_same_key(setup: Setup) -> None:
    channel_id = _webhook_only(setup, ["bot_lifecycle"])
    setup.webhook.respond(503, times=2)
    setup.world.running_bot()  # Bot.Created, Bot.Started
    setup.drain()
    requests = setup.webhook.requests
    assert [json.loads(r.body)["title"] for r in requests] == ["Bot created"] * 3 + ["Bot started"]
    assert len({r.headers["idempotency-key"] for r in requests[:3]}) == 1
    rows = sorted(setup.channels.deliveries(ACTOR, None), key=lambda r: r.position or 0)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 3), ("sent", 1)]
    delivery = setup.world.store.find(Delivery, delivery_id_for(rows[0].source, channel_id))
    assert delivery is not None and delivery.status == "sent" and delivery.attempts == 3


def test_a_permanent_failure_is_dead_lettered_and_the_worker_goes_on(setup: Setup) -> None:
    channel_id = _webhook_only(setup, ["bot_lifecycle"])
    setup.telegram.add_chat(77)
    setup.telegram.block(77)
    setup.channels.add(ACTOR, "telegram", "77", None, ["bot_lifecycle"], True)
    setup.webhook.respond(410)
    setup.world.running_bot()
    setup.drain()
    assert len(setup.webhook.requests) == 2  # the 410 once (never retried), then the next event
    [dead_hook, dead_chat1, dead_chat2] = sorted(
        setup.channels.deliveries(ACTOR, "dead"), key=lambda r: (r.position or 0, r.channel != "webhook")
    )
    assert dead_hook.channel == "webhook" and dead_hook.attempts == 1 and "410" in (dead_hook.error or "")
    assert SECRET not in (dead_hook.error or "") and setup.webhook.url not in (dead_hook.error or "")
    assert {dead_chat1.channel, dead_chat2.channel} == {"telegram"}
    recorded = setup.world.store.find(Delivery, delivery_id_for(dead_hook.source, channel_id))
    assert recorded is not None and recorded.status == "dead" and recorded.error == dead_hook.error
    assert [r.status for r in setup.channels.deliveries(ACTOR, "sent")] == ["sent"]


@pytest.mark.parametrize("store", ["postgres", "sqlite"])
def test_a_restarted_notifier_sends_nothing_twice(store: str, request: pytest.FixtureRequest) -> None:
    setup: Setup = request.getfixturevalue("setup" if store == "postgres" else "embedded")
    _webhook_only(setup, ["order_filled", "bot_lifecycle"])
    _fill_an_order(setup.world)
    setup.drain()
    sent = len(setup.webhook.requests)
    assert sent == 4
    setup.drain()  # a new process, the same tracking
    assert len(setup.webhook.requests) == sent
    setup.channels.track(NAME, 0)  # even with its tracking lost, what is recorded is not sent again
    setup.drain()
    assert len(setup.webhook.requests) == sent


def test_a_crash_between_sending_and_recording_sends_again_with_the_same_key(setup: Setup) -> None:
    _webhook_only(setup, ["bot_lifecycle"])
    setup.world.running_bot()
    job = setup.job()
    real_record = job.store.record

    def crash(*aggregates: Any) -> int:
        raise ConnectionError("the store went away after the webhook answered")

    job.store.record = crash  # type: ignore[method-assign]
    try:
        with pytest.raises(ConnectionError):
            job.drain()
    finally:
        job.store.record = real_record  # type: ignore[method-assign]
        job.close()
    sent = setup.webhook.requests
    assert len(sent) == 2  # Created and Started, sent as one batch whose records never got saved
    setup.drain()
    again = setup.webhook.requests[2:]
    assert [r.headers["idempotency-key"] for r in again] == [r.headers["idempotency-key"] for r in sent]
    assert [r.body for r in again] == [r.body for r in sent]
    assert len(setup.channels.deliveries(ACTOR, "sent")) == 2
    setup.drain()
    assert len(setup.webhook.requests) == 4  # recorded now: never again


def test_the_first_run_starts_at_the_head_unless_from_start(setup: Setup) -> None:
    setup.world.running_bot()
    setup.channels.add(ACTOR, "webhook", setup.webhook.url, SECRET, ["bot_lifecycle"], True)
    setup.drain()
    assert setup.webhook.requests == []
    with setup.channels.engine.begin() as conn:  # a first run again, this time with --from-start
        conn.execute(delete(TRACKING))
    job = setup.job(from_start=True)
    try:
        job.drain()
    finally:
        job.close()
    assert [json.loads(r.body)["title"] for r in setup.webhook.requests] == ["Bot created", "Bot started"]


def test_private_addresses_are_refused_unless_allowed(setup: Setup) -> None:
    setup.container.settings.override(
        providers.Object(changed(setup.settings, notify={"allow_private_urls": False}))
    )
    _webhook_only(setup, ["bot_lifecycle"])
    setup.world.running_bot()
    setup.drain()
    assert setup.webhook.requests == []
    dead = setup.channels.deliveries(ACTOR, "dead")
    assert len(dead) == 2 and all("private" in (d.error or "") for d in dead)


def test_every_read_model_passes_over_deliveries_and_the_feed_leaves_them_out(setup: Setup) -> None:
    _webhook_only(setup, ["bot_lifecycle"])
    setup.world.running_bot()
    setup.drain()
    head = setup.world.store.last_position()
    assert setup.world.event_names(head - 2)[-1] in ("Delivery.Sent", "Delivery.DeadLettered")
    assert drain_projections(setup.container, list(ALL_NAMES)) == {}
    live = setup.container.live_store().bound()
    assert live.position() == setup.world.store.last_position()
    feed = live.feed_window(0, 100).entries
    assert len(feed) == 2 and not any("Delivery" in json.dumps(entry) for entry in feed)


def test_the_daily_summary_goes_out_once_a_day_at_the_hour(setup: Setup) -> None:
    _webhook_only(setup, ["daily_pnl"])  # at 12:00 on 21 November: that day's summary (of the 20th) is done
    bot_id = _fill_an_order(setup.world)
    sell = setup.world.place(bot_id, "o-2", "sell", "0.1", "50500")
    setup.world.accept(sell)
    setup.world.fill(sell, "t-3", "0.1", "50500")
    assert drain_projections(setup.container, list(SQL_NAMES)) == {}
    setup.drain()
    assert setup.webhook.requests == []  # not before the hour
    setup.world.clock.set(datetime(2026, 11, 22, 0, 0, 5, tzinfo=UTC))
    setup.drain()
    [request] = setup.webhook.requests
    body = json.loads(request.body)
    assert body["kind"] == "daily_pnl"
    assert body["data"] == {
        "bot_id": str(bot_id),
        "bot_name": "test bot",
        "from": "2026-11-21T00:00:00+00:00",
        "to": "2026-11-22T00:00:00+00:00",
        "realized_pnl": "50.6",
        "fills": 3,
        "realized_pnl_total": "50.6",
    }
    assert (
        request.headers["idempotency-key"] == f"daily_pnl:2026-11-22:{bot_id}:{body['id'].rsplit(':', 1)[1]}"
    )
    setup.world.clock.set(datetime(2026, 11, 22, 23, 0, tzinfo=UTC))
    setup.drain()
    with setup.channels.engine.begin() as conn:  # its tracking lost: the recorded delivery still holds
        conn.execute(delete(TRACKING))
    setup.drain()
    assert len(setup.webhook.requests) == 1
    [row] = setup.channels.deliveries(ACTOR, "sent")
    assert row.kind == "daily_pnl" and row.position is None and row.source == f"daily_pnl:2026-11-22:{bot_id}"


def test_what_a_user_configured_wrongly_is_a_dead_letter_never_a_stopped_worker(setup: Setup) -> None:
    setup.container.settings.override(providers.Object(changed(setup.settings, notify={"smtp_host": None})))
    _webhook_only(setup, ["bot_lifecycle"])
    setup.channels.add(ACTOR, "email", "alice@example.com", None, ["bot_lifecycle"], True)
    unopenable = setup.channels.add(
        ACTOR, "webhook", setup.webhook.url + "/2", SECRET, ["bot_lifecycle"], True
    )
    with setup.channels.engine.begin() as conn:  # sealed under a key the notifier does not have
        conn.execute(update(CHANNELS).where(CHANNELS.c.id == unopenable.id).values(sealed="gAAAAAbogus"))
    setup.world.running_bot()
    setup.drain()
    assert [r.path for r in setup.webhook.requests] == ["/hook", "/hook"]
    dead = setup.channels.deliveries(ACTOR, "dead")
    assert sorted({d.error or "" for d in dead}) == [
        "email is not configured on this server",
        "the webhook's secret cannot be opened (was the key changed?)",
    ]
    # and the worker went on to the end, its own Delivery events included
    assert len(dead) == 4 and setup.channels.position(NAME) == setup.world.store.last_position()


def test_two_supervised_notifiers_deliver_each_event_once_woken_by_the_store(setup: Setup) -> None:
    _webhook_only(setup, ["bot_lifecycle", "order_filled"])
    slow_polls = changed(setup.settings, notify={"poll_seconds": 30})  # so only LISTEN/NOTIFY wakes them
    setup.container.settings.override(providers.Object(slow_polls))
    second = Container()
    second.settings.override(providers.Object(slow_polls))
    workers = [build_notifier(setup.container), build_notifier(second)]
    threads = [threading.Thread(target=worker.run, daemon=True) for worker in workers]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 10
        while not any(worker.started.is_set() for worker in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [worker.started.is_set() for worker in workers].count(True) == 1  # one holds the lock
        _fill_an_order(setup.world)
        setup.webhook.wait_for(4, timeout=10)
        time.sleep(0.5)  # time for a repeat to show, were there one
    finally:
        for worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(timeout=10)
        second.store().close()
        second.shutdown_resources()
    assert [json.loads(r.body)["title"] for r in setup.webhook.requests] == [
        "Bot created",
        "Bot started",
        "Order partly filled",
        "Order filled",
    ]
    assert len(setup.channels.deliveries(ACTOR, "sent")) == 4


def test_tbot_notifications_run_delivers_and_stops_cleanly_on_sigterm(setup: Setup) -> None:
    assert setup.settings.exchange.credentials_key is not None
    env = {
        "TBOT_CREDENTIALS_KEY": setup.settings.exchange.credentials_key.get_secret_value(),
        "TBOT_NOTIFY_ALLOW_PRIVATE_URLS": "true",
        "TBOT_NOTIFY_POLL_SECONDS": "0.2",
    }
    setup.channels.add(ACTOR, "webhook", setup.webhook.url, SECRET, ["bot_lifecycle"], True)
    setup.world.running_bot()  # before its first run: told only with --from-start
    process = start_tbot(setup.settings, "notifications", "run", "--from-start", **env)
    try:
        setup.webhook.wait_for(2, timeout=30)
    finally:
        stop(process)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert [json.loads(r.body)["title"] for r in setup.webhook.requests] == ["Bot created", "Bot started"]
