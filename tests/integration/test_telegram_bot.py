"""The Telegram bot (`tbot telegram run`) through the real python-telegram-bot against the fake Bot
API (tests/support/fake_telegram.py), on PostgreSQL and the embedded store: a channel post in a
linked chat becomes a signal with its orders, the same post again changes nothing, an edit is
passed on; an owner chat's /status, /pause, /resume and /kill act through the bus with the API's
permissions; other chats and other users are refused and change nothing; by long polling and by
webhook; the token in no log line or reply."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import httpx
import pytest
from dependency_injector import providers

from application import commands as c
from application.results import SignalAck
from domain.bot import Bot, BotStatus
from domain.order import Order
from domain.signal import Signal
from infrastructure.adapters import PriceBook
from infrastructure.settings import Settings, SignalSettings
from infrastructure.telegram_links import TelegramLinks
from interfaces.composition import Container
from interfaces.tables import install_tables
from interfaces.telegram.app import (
    SECRET_HEADER,
    TokenRejected,
    Webhook,
    build_application,
    run_polling,
    run_webhook,
)
from interfaces.telegram.bot import NOT_LINKED, SignalDesk, TelegramBot
from interfaces.telegram.owner import OwnerDesk
from interfaces.workers.projections import drain_projections
from projections.models.catalog import ALL_NAMES
from tests.support.fake_llm import FREE_TEXT, FREE_TEXT_READING, FakeLlm
from tests.support.fake_telegram import TOKEN, FakeTelegram
from tests.support.world import BTC, ETH, LIMITS

pytestmark = pytest.mark.postgres

ZONE = "BTC/USDT LONG\nEntry: 49800 - 50000\nSL: 48000\nTP1: 52000\nTP2: 55000"
EDITED = "BTC/USDT LONG\nEntry: 49500 - 50000\nSL: 48000\nTP1: 52000"
CHANNEL, GROUP, ALICE_CHAT, BOB_CHAT, AUDREY_CHAT, STRANGER = -1001, -2002, 42, 43, 44, 99
T = TypeVar("T")


@dataclass
class RecordingBus:
    """The real bus, remembering each command and what it answered (or raised)."""

    bus: Any
    seen: list[tuple[Any, Any]] = field(default_factory=list)

    def dispatch(self, command: Any) -> Any:
        try:
            answer = self.bus.dispatch(command)
        except Exception as error:
            self.seen.append((command, error))
            raise
        self.seen.append((command, answer))
        return answer

    def signals(self) -> list[tuple[c.ReceiveSignal, Any]]:
        return [(command, answer) for command, answer in self.seen if isinstance(command, c.ReceiveSignal)]


@dataclass
class Desk:
    container: Container
    bus: RecordingBus
    alice_bot: UUID
    bob_bot: UUID
    signal_settings: SignalSettings = field(default_factory=SignalSettings)

    def bot(self, bot_id: UUID) -> Bot:
        found = self.container.store().find(Bot, bot_id)
        assert found is not None
        return found

    def telegram_bot(self) -> TelegramBot:
        container = self.container
        return TelegramBot(
            TelegramLinks(container.read_engine(), container.clock().now),
            SignalDesk(self.bus, container.store(), self.signal_settings),
            OwnerDesk(self.bus, container.store(), container.read_engine(), container.identity()),
        )

    def catch_up(self) -> None:
        assert drain_projections(self.container, list(ALL_NAMES)) == {}


def _bot(container: Container, owner: str, name: str) -> UUID:
    bus = container.bus()
    created = bus.dispatch(
        c.CreateBot(
            actor=owner,
            name=name,
            strategy="signals",
            params={"quote_amount": "1000"},
            allowed_symbols=["BTC/USDT", "ETH/USDT"],
            limits=LIMITS,
        )
    )
    bus.dispatch(c.StartBot(actor=owner, bot_id=created.aggregate_id))
    bot_id: UUID = created.aggregate_id
    return bot_id


@pytest.fixture
def desk(any_settings: Settings) -> Iterator[Desk]:
    """On PostgreSQL and on the embedded store."""
    container = Container()
    container.settings.override(providers.Object(any_settings))
    container.prices.override(providers.Object(PriceBook({BTC: Decimal("50000"), ETH: Decimal("2500")})))
    install_tables(container)
    identity = container.identity()
    for user, role in (("alice", "trader"), ("bob", "trader"), ("audrey", "auditor")):
        identity.create_user(user, role)
    alice_bot, bob_bot = _bot(container, "alice", "vip channel"), _bot(container, "bob", "bob's bot")
    links = TelegramLinks(container.read_engine(), container.clock().now)
    links.link_signals(CHANNEL, alice_bot)
    links.link_owner(ALICE_CHAT, "alice")
    links.link_owner(BOB_CHAT, "bob")
    links.link_owner(AUDREY_CHAT, "audrey")
    try:
        yield Desk(container, RecordingBus(container.bus()), alice_bot, bob_bot)
    finally:
        container.store().close()
        container.shutdown_resources()


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        for chat in (ALICE_CHAT, BOB_CHAT, AUDREY_CHAT, STRANGER):
            fake.add_chat(chat)
        yield fake


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(desk: Desk, telegram: FakeTelegram, webhook: Webhook | None = None) -> Iterator[None]:
    """The Telegram bot on a loop of its own in a thread, until the block ends."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failed: list[BaseException] = []
    application = build_application(telegram.token, telegram.url, desk.telegram_bot())

    async def serve() -> None:
        if webhook is None:
            await run_polling(application, stop, poll_timeout=1)
        else:
            await run_webhook(application, stop, webhook)

    def thread() -> None:
        try:
            loop.run_until_complete(serve())
        except BaseException as error:
            failed.append(error)
        finally:
            loop.close()

    runner = threading.Thread(target=thread, name="telegram-bot", daemon=True)
    runner.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        runner.join(timeout=20)
        assert not runner.is_alive(), "the bot did not stop"
    assert not failed, failed


def eventually(probe: Callable[[], T | None], seconds: float = 15.0) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found is not None and found is not False:
            return found
        time.sleep(0.05)
    raise AssertionError("not within the time")


def reply_to(telegram: FakeTelegram, chat_id: int, after: int) -> str:
    """The bot's next message to ``chat_id`` after the first ``after`` messages sent."""

    def probe() -> str | None:
        mine = [m.text for m in telegram.sent[after:] if m.chat_id == chat_id]
        return mine[0] if mine else None

    return eventually(probe)


def ask(telegram: FakeTelegram, chat_id: int, text: str) -> str:
    return reply_to(telegram, chat_id, len(telegram.sent)) if _queued(telegram, chat_id, text) else ""


def _queued(telegram: FakeTelegram, chat_id: int, text: str) -> bool:
    telegram.queue_message(chat_id, text)
    return True


def event_names(desk: Desk, since: int) -> list[str]:
    store = desk.container.store()
    notifications = store.recorder.select_notifications(start=since + 1, limit=10_000)
    return [type(store.mapper.to_domain_event(n)).__qualname__ for n in notifications]


def drained(telegram: FakeTelegram) -> bool:
    """Every queued update taken (confirmed by a later getUpdates, or acknowledged by the webhook)."""
    return not telegram.pending_updates


def test_a_channel_post_becomes_a_signal_once_and_its_edit_is_passed_on(
    desk: Desk, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with running(desk, telegram):
        post = telegram.queue_channel_post(CHANNEL, ZONE)
        command, ack = eventually(lambda: next(iter(desk.bus.signals()), None))
        assert isinstance(ack, SignalAck), ack
        assert (command.actor, command.bot_id, command.source, command.message_id, command.text) == (
            "alice",
            desk.alice_bot,
            f"telegram-{CHANNEL}",
            str(post.message_id),
            ZONE,
        )
        assert (ack.status, ack.changed, len(ack.placed), ack.denied) == ("executed", True, 2, ())
        store = desk.container.store()
        signal = store.find(Signal, ack.signal_id)
        assert signal is not None
        orders = [store.find(Order, order_id) for order_id in ack.placed]
        assert {(o.request.price, o.request.quantity) for o in orders if o is not None} == {
            (Decimal("49800"), Decimal("0.01004")),
            (Decimal("50000"), Decimal("0.01")),
        }
        head = store.last_position()

        # Telegram sends the same post again (a restart before its offset was confirmed)
        telegram.queue_channel_post(CHANNEL, ZONE, message_id=post.message_id)
        _, again = eventually(lambda: desk.bus.signals()[1] if len(desk.bus.signals()) > 1 else None)
        assert isinstance(again, SignalAck)
        assert (again.signal_id, again.changed) == (ack.signal_id, False)
        assert store.last_position() == head

        # an edit is the same message with its new text
        telegram.queue_edit(CHANNEL, post.message_id, EDITED)
        edit, edited = eventually(lambda: desk.bus.signals()[2] if len(desk.bus.signals()) > 2 else None)
        assert (edit.source, edit.message_id, edit.text) == (
            f"telegram-{CHANNEL}",
            str(post.message_id),
            EDITED,
        )
        # before any fill, the edit replaces the plan: the same signal, its entries cancelled, new ones
        assert isinstance(edited, SignalAck), edited
        assert (edited.signal_id, edited.changed) == (ack.signal_id, True), edited
        assert "Signal.Edited" in event_names(desk, head), event_names(desk, head)

        # a post the rules cannot read is recorded as rejected; the bot goes on
        telegram.queue_channel_post(CHANNEL, "Good morning traders! 🚀")
        _, chatter = eventually(lambda: desk.bus.signals()[3] if len(desk.bus.signals()) > 3 else None)
        assert isinstance(chatter, SignalAck)
        assert (chatter.status, chatter.reasons) == ("rejected", ("NOT_A_SIGNAL",))
        eventually(lambda: drained(telegram))
    assert TOKEN not in caplog.text
    assert "getUpdates" in caplog.text or "getupdates" in caplog.text.lower(), "httpx's lines were captured"


def test_a_free_text_post_is_read_by_the_configured_llm(desk: Desk, telegram: FakeTelegram) -> None:
    """The Telegram bot reads as the API does: the rules first, the LLM for what they cannot read."""
    with FakeLlm() as llm:
        desk.signal_settings = SignalSettings(llm_url=llm.url, llm_timeout_seconds=5)
        llm.answer(FREE_TEXT_READING)
        with running(desk, telegram):
            telegram.queue_channel_post(CHANNEL, FREE_TEXT)
            command, ack = eventually(lambda: next(iter(desk.bus.signals()), None))
            telegram.queue_channel_post(CHANNEL, ZONE)
            ruled, ruled_ack = eventually(lambda: [*desk.bus.signals(), None][1])
    assert isinstance(ack, SignalAck) and isinstance(ruled_ack, SignalAck), (ack, ruled_ack)
    assert (command.reader, ack.status, len(ack.placed)) == ("llm", "executed", 1)
    assert (ruled.reader, ruled_ack.status, len(llm.requests)) == ("rules", "executed", 1)


def test_the_owner_chat_reads_and_acts_through_the_bus(desk: Desk, telegram: FakeTelegram) -> None:
    desk.catch_up()
    with running(desk, telegram):
        status = ask(telegram, ALICE_CHAT, "/status")
        assert "vip channel: running, kill switch off" in status and "bob's bot" not in status

        assert ask(telegram, ALICE_CHAT, "/pause vip") == "vip channel: paused."
        assert desk.bot(desk.alice_bot).status is BotStatus.PAUSED
        assert ask(telegram, ALICE_CHAT, "/pause vip") == "Cannot pause vip channel: it is paused."

        assert ask(telegram, ALICE_CHAT, f"/resume {desk.alice_bot}") == "vip channel: resumed."
        assert desk.bot(desk.alice_bot).status is BotStatus.RUNNING

        assert ask(telegram, ALICE_CHAT, "/kill VIP channel") == "vip channel: kill switch tripped."
        assert desk.bot(desk.alice_bot).kill_switch

        desk.catch_up()
        assert "vip channel: running, kill switch ON (kill switch tripped from Telegram)" in ask(
            telegram, ALICE_CHAT, "/status"
        )
        assert ask(telegram, ALICE_CHAT, "/positions") == "No open positions."
        assert ask(telegram, ALICE_CHAT, "/pnl") == "vip channel: realized 0, unrealized 0"
        assert ask(telegram, ALICE_CHAT, "/pause") == "Which bot? /pause <bot id or the start of its name>"
        assert "Commands: /status" in ask(telegram, ALICE_CHAT, "hello")
    assert TOKEN not in " ".join(m.text for m in telegram.sent)


def test_other_chats_and_other_users_are_refused_and_change_nothing(
    desk: Desk, telegram: FakeTelegram
) -> None:
    desk.catch_up()
    store = desk.container.store()
    head = store.last_position()
    with running(desk, telegram):
        # a private chat nobody linked
        assert ask(telegram, STRANGER, f"/pause {desk.alice_bot}") == NOT_LINKED.format(chat_id=STRANGER)
        # another user's chat, by id and by name
        assert (
            ask(telegram, BOB_CHAT, f"/pause {desk.alice_bot}")
            == f"No bot of yours is named {desk.alice_bot}."
        )
        assert ask(telegram, BOB_CHAT, "/kill vip") == "No bot of yours is named vip."
        # an auditor reads but does not act
        assert "vip channel: running" in ask(telegram, AUDREY_CHAT, "/status")
        assert ask(telegram, AUDREY_CHAT, "/kill vip").startswith(
            "Sorry, your role (auditor) may read but not change anything"
        )
        # a group and a channel nobody linked: nothing answered, nothing taken as a signal
        sent = len(telegram.sent)
        telegram.queue_message(GROUP, f"/pause {desk.alice_bot}", chat_type="group", user_id=ALICE_CHAT)
        telegram.queue_channel_post(-3003, ZONE)
        eventually(lambda: drained(telegram))
        assert ask(telegram, ALICE_CHAT, "/status")  # the bot took everything before this
        assert [m.chat_id for m in telegram.sent[sent:]] == [ALICE_CHAT]
    assert desk.bus.signals() == []
    assert store.last_position() == head
    assert desk.bot(desk.alice_bot).status is BotStatus.RUNNING and not desk.bot(desk.alice_bot).kill_switch


def test_by_webhook_with_its_secret_token(desk: Desk, telegram: FakeTelegram) -> None:
    desk.catch_up()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram/updates"
    with running(desk, telegram, Webhook(url, "127.0.0.1", port, "s3cret-token")):
        eventually(lambda: any(call.method.lower() == "setwebhook" for call in telegram.calls))
        telegram.queue_channel_post(CHANNEL, ZONE)
        _, ack = eventually(lambda: next(iter(desk.bus.signals()), None))
        assert isinstance(ack, SignalAck) and ack.status == "executed"
        assert ask(telegram, ALICE_CHAT, "/pause vip channel") == "vip channel: paused."
        assert desk.bot(desk.alice_bot).status is BotStatus.PAUSED
        assert len(telegram.webhook_deliveries) == 2
        # without the secret, or with another, nothing is taken
        update = {
            "update_id": 1,
            "message": dict(telegram.webhook_deliveries[1]["message"], text="/resume vip"),
        }
        for headers in ({}, {SECRET_HEADER: "guess"}):
            answer = httpx.post(url, json=update, headers=headers)
            assert answer.status_code == 403
    assert desk.bot(desk.alice_bot).status is BotStatus.PAUSED


def test_a_rejected_token_ends_the_run_without_quoting_it(desk: Desk, telegram: FakeTelegram) -> None:
    wrong = "987654321:AAWrongTokenWrongTokenWrongTokenWrong"
    application = build_application(wrong, telegram.url, desk.telegram_bot())
    with pytest.raises(TokenRejected) as refused:
        asyncio.run(run_polling(application, asyncio.Event(), poll_timeout=1))
    assert wrong not in str(refused.value) and "TBOT_TELEGRAM_TOKEN" in str(refused.value)
