"""The notification channels through their real client libraries (httpx, smtplib,
python-telegram-bot) against local servers speaking the real protocols (tests/support): what arrives,
what is retried and what is not, and that no secret ever shows in an error or a repr. Also that
python-telegram-bot accepts everything the fake Telegram answers, as the Telegram bot will rely on it."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import hashlib
import hmac
import ipaddress
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import TypeVar

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from telegram import Update
from telegram.error import Conflict, InvalidToken, TelegramError

from application.notifications.ports import (
    Channel,
    Delivery,
    EmailDestination,
    Notification,
    RetryPolicy,
    TelegramDestination,
    WebhookDestination,
    deliver,
    notification_key,
)
from infrastructure.notify.email import EmailChannel, message_id
from infrastructure.notify.telegram import MESSAGE_LIMIT, TelegramChannel
from infrastructure.notify.webhook import WebhookChannel, sign, verify_signature, webhook_body
from tests.support.fake_telegram import FakeTelegram
from tests.support.smtp_server import SmtpServer
from tests.support.webhook_receiver import WebhookReceiver

T = TypeVar("T")
D = TypeVar("D")
SECRET = "whsec_9f8e7d6c5b4a"
OCCURRED = dt.datetime(2026, 11, 21, 12, 0, 5, tzinfo=dt.UTC)


def note(
    channel: str, title: str = "Order filled", text: str = "Bought 0.5 BTC at 61000 USDT"
) -> Notification:
    return Notification(
        key=notification_key("0b7e0d6a-4a45-4c0e-9a51-2f5d1f7c0001", channel),
        kind="order_filled",
        title=title,
        text=text,
        data={"symbol": "BTC/USDT", "quantity": "0.5", "price": "61000", "fees": [{"BTC": "0.0005"}]},
        occurred_at=OCCURRED,
    )


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def run(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine

    return asyncio.run(main())


async def retried(
    channel: Channel[D], notification: Notification, destination: D, sleeps: Sleeps, attempts: int = 5
) -> Delivery:
    policy = RetryPolicy(attempts=attempts, first_delay_seconds=1.0, max_delay_seconds=60.0, jitter=0.0)
    return await deliver(channel, notification, destination, policy, sleeps, random.Random(0))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# webhooks


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def test_a_webhook_arrives_signed_so_the_receiver_can_verify_it(receiver: WebhookReceiver) -> None:
    notification = note("webhook")

    async def send() -> Delivery:
        async with WebhookChannel() as channel:
            return await channel.send(notification, WebhookDestination(receiver.url, SECRET))

    assert run(send()) == Delivery(delivered=True, attempts=1, error=None)
    [request] = receiver.requests
    assert request.method == "POST" and request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == notification.key
    assert orjson.loads(request.body) == {
        "id": notification.key,
        "kind": "order_filled",
        "title": "Order filled",
        "text": "Bought 0.5 BTC at 61000 USDT",
        "data": {"symbol": "BTC/USDT", "quantity": "0.5", "price": "61000", "fees": [{"BTC": "0.0005"}]},
        "occurred_at": "2026-11-21T12:00:05+00:00",
    }
    assert request.body == webhook_body(notification)
    timestamp, signature = request.headers["x-tbot-timestamp"], request.headers["x-tbot-signature"]
    assert abs(int(timestamp) - time.time()) < 30
    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64
    now = time.time()
    assert verify_signature(SECRET, timestamp, request.body, signature, now)
    assert not verify_signature("whsec_wrong", timestamp, request.body, signature, now)
    assert not verify_signature(SECRET, timestamp, request.body.replace(b"0.5", b"5.0"), signature, now)
    assert not verify_signature(SECRET, str(int(timestamp) + 1), request.body, signature, now)
    assert not verify_signature(SECRET, timestamp, request.body, signature, now + 301)
    assert not verify_signature(SECRET, "soon", request.body, signature, now)


def test_the_signature_is_the_documented_hmac() -> None:
    # HMAC-SHA256("whsec_9f8e7d6c5b4a", b"1700000000.{}"), as a receiver in any language computes it
    expected = hmac.new(SECRET.encode(), b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign(SECRET, 1_700_000_000, b"{}") == f"sha256={expected}"


def test_a_500_then_200_is_delivered_on_the_second_attempt_with_the_same_key(
    receiver: WebhookReceiver,
) -> None:
    receiver.respond(500, body=b"upstream down")
    sleeps = Sleeps()

    async def send() -> Delivery:
        async with WebhookChannel() as channel:
            return await retried(channel, note("webhook"), WebhookDestination(receiver.url, SECRET), sleeps)

    result = run(send())
    assert (result.delivered, result.attempts, result.error) == (True, 2, None)
    assert sleeps.waits == [1.0]
    keys = [request.headers["idempotency-key"] for request in receiver.requests]
    assert keys == [note("webhook").key] * 2
    assert len({request.body for request in receiver.requests}) == 1  # the same body, signed anew


def test_every_retry_carries_the_same_idempotency_key_until_attempts_run_out(
    receiver: WebhookReceiver,
) -> None:
    receiver.respond(503, times=3)
    receiver.respond(502)
    sleeps = Sleeps()

    async def send() -> Delivery:
        async with WebhookChannel() as channel:
            destination = WebhookDestination(receiver.url, SECRET)
            return await retried(channel, note("webhook"), destination, sleeps, attempts=4)

    result = run(send())
    assert (result.delivered, result.permanent, result.attempts) == (False, False, 4)
    assert result.error == "HTTP 502 Bad Gateway"
    assert sleeps.waits == [1.0, 2.0, 4.0]
    assert {request.headers["idempotency-key"] for request in receiver.requests} == {note("webhook").key}
    assert len(receiver.requests) == 4


def test_429_retry_after_is_honoured(receiver: WebhookReceiver) -> None:
    receiver.respond(429, headers={"Retry-After": "7"}, body=b'{"error": "slow down"}')
    sleeps = Sleeps()

    async def send() -> Delivery:
        async with WebhookChannel() as channel:
            return await retried(channel, note("webhook"), WebhookDestination(receiver.url, SECRET), sleeps)

    result = run(send())
    assert (result.delivered, result.attempts) == (True, 2)
    assert sleeps.waits == [7.0]


def test_a_retry_after_date_and_a_huge_one_are_bounded(receiver: WebhookReceiver) -> None:
    now = 1_800_000_000.0
    receiver.respond(503, headers={"Retry-After": email.utils.formatdate(now + 20, usegmt=True)})
    receiver.respond(429, headers={"Retry-After": "86400"})
    sleeps = Sleeps()

    async def send() -> Delivery:
        async with WebhookChannel(clock=lambda: now) as channel:
            return await retried(channel, note("webhook"), WebhookDestination(receiver.url, SECRET), sleeps)

    assert run(send()).delivered
    assert sleeps.waits == [20.0, 60.0]
    assert receiver.requests[0].headers["x-tbot-timestamp"] == "1800000000"


def test_400_is_permanent_after_one_attempt_and_the_error_is_short(receiver: WebhookReceiver) -> None:
    receiver.respond(400, body=b'{"error": "unknown hook"}' + b" " + b"x" * 5000)
    sleeps = Sleeps()

    async def send() -> Delivery:
        async with WebhookChannel() as channel:
            return await retried(channel, note("webhook"), WebhookDestination(receiver.url, SECRET), sleeps)

    result = run(send())
    assert (result.delivered, result.permanent, result.attempts) == (False, True, 1)
    assert result.error is not None
    assert result.error.startswith('HTTP 400 Bad Request: {"error": "unknown hook"} xxx')
    assert len(result.error) <= 200
    assert sleeps.waits == [] and len(receiver.requests) == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses(receiver: WebhookReceiver, status: int) -> None:
    receiver.respond(status)

    async def send() -> Delivery:
        async with WebhookChannel() as channel:
            return await channel.send(note("webhook"), WebhookDestination(receiver.url, SECRET))

    result = run(send())
    assert (result.delivered, result.permanent) == (False, False)


@pytest.mark.parametrize("status", [401, 403, 404, 410, 422])
def test_permanent_statuses(receiver: WebhookReceiver, status: int) -> None:
    receiver.respond(status)

    async def send() -> Delivery:
        async with WebhookChannel() as channel:
            return await channel.send(note("webhook"), WebhookDestination(receiver.url, SECRET))

    assert run(send()).permanent


def test_a_redirect_is_not_followed(receiver: WebhookReceiver) -> None:
    receiver.respond(302, headers={"Location": receiver.url + "/elsewhere"})

    async def send() -> Delivery:
        async with WebhookChannel() as channel:
            return await channel.send(note("webhook"), WebhookDestination(receiver.url, SECRET))

    result = run(send())
    assert result.permanent and result.error == "HTTP 302 Found: redirects are not followed"
    assert [request.path for request in receiver.requests] == ["/hook"]


def test_a_slow_receiver_times_out_as_transient(receiver: WebhookReceiver) -> None:
    receiver.delay(3.0)

    async def send() -> Delivery:
        async with WebhookChannel(total_timeout=0.3) as channel:
            return await channel.send(note("webhook"), WebhookDestination(receiver.url, SECRET))

    started = time.monotonic()
    result = run(send())
    assert time.monotonic() - started < 2.5
    assert (result.delivered, result.permanent, result.error) == (False, False, "timed out after 0.3 s")


def test_nobody_listening_is_transient_and_the_url_stays_out_of_the_error() -> None:
    url = f"http://127.0.0.1:{closed_port()}/hooks/T000/B000/path-token-1234?key=query-token-5678"

    async def send() -> Delivery:
        async with WebhookChannel() as channel:
            return await channel.send(note("webhook"), WebhookDestination(url, SECRET))

    result = run(send())
    assert (result.delivered, result.permanent) == (False, False)
    assert result.error is not None and result.error.startswith("connection failed: ConnectError")
    for secret in ("path-token-1234", "query-token-5678", SECRET):
        assert secret not in result.error
        assert secret not in repr(WebhookDestination(url, SECRET))


# email


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def email_channel(server: SmtpServer, **settings: object) -> EmailChannel:
    fixed = dt.datetime(2026, 11, 21, 12, 0, 9, tzinfo=dt.UTC)
    return EmailChannel(
        host=server.host,
        port=server.port,
        sender="tbot <alerts@tbot.example>",
        timeout=5.0,
        clock=lambda: fixed,
        **settings,  # type: ignore[arg-type]
    )


def test_an_email_arrives_with_subject_body_and_a_message_id_from_the_key(smtp: SmtpServer) -> None:
    notification = note("email", title="Order filled:\nBTC/USDT")
    channel = email_channel(smtp)
    destination = EmailDestination("ann@example.com")
    assert run(channel.send(notification, destination)) == Delivery(True, 1, None)
    assert run(channel.send(notification, destination)).delivered  # a retry after a lost answer
    first, second = smtp.messages
    assert first.mail_from == "alerts@tbot.example" and first.rcpt_tos == ("ann@example.com",)
    message = first.message
    assert message["Subject"] == "Order filled: BTC/USDT"
    assert message["From"] == "tbot <alerts@tbot.example>" and message["To"] == "ann@example.com"
    assert message["Date"] == "Sat, 21 Nov 2026 12:00:09 +0000"
    assert message["Message-ID"] == message_id(notification.key, "tbot.example")
    assert message["Message-ID"].endswith("@tbot.example>")
    assert second.message["Message-ID"] == message["Message-ID"]
    assert message["X-Tbot-Key"] == notification.key
    assert message.get_content_type() == "text/plain"
    assert message.get_content().strip() == "Bought 0.5 BTC at 61000 USDT"
    assert first.login is None


def test_email_with_auth_logs_in_and_a_wrong_password_is_permanent() -> None:
    with SmtpServer(username="alerts", password="pa55-w0rd-secret") as server:
        good = email_channel(server, username="alerts", password="pa55-w0rd-secret")
        assert run(good.send(note("email"), EmailDestination("ann@example.com"))).delivered
        assert [mail.login for mail in server.messages] == ["alerts"]

        bad = email_channel(server, username="alerts", password="not-the-pa55-w0rd")
        sleeps = Sleeps()
        result = run(retried(bad, note("email"), EmailDestination("ann@example.com"), sleeps))
        assert (result.delivered, result.permanent, result.attempts) == (False, True, 1)
        assert result.error is not None and result.error.startswith("SMTP authentication failed: 535")
        assert "not-the-pa55-w0rd" not in result.error
        assert "pa55" not in repr(bad) and "pa55" not in repr(good)

        anonymous = email_channel(server)
        refused = run(anonymous.send(note("email"), EmailDestination("ann@example.com")))
        assert refused.permanent and refused.error is not None and "530" in refused.error
        assert len(server.messages) == 1


def test_451_at_rcpt_is_retried_then_delivered(smtp: SmtpServer) -> None:
    smtp.reject("RCPT", 451, "4.3.0 greylisted, try again later")
    sleeps = Sleeps()
    result = run(retried(email_channel(smtp), note("email"), EmailDestination("ann@example.com"), sleeps))
    assert (result.delivered, result.attempts) == (True, 2)
    assert sleeps.waits == [1.0]
    assert len(smtp.messages) == 1


def test_451_at_data_is_transient(smtp: SmtpServer) -> None:
    smtp.reject("DATA", 451, "4.3.0 local error in processing")
    result = run(email_channel(smtp).send(note("email"), EmailDestination("ann@example.com")))
    assert (result.delivered, result.permanent) == (False, False)
    assert result.error == "SMTP 451 4.3.0 local error in processing"


@pytest.mark.parametrize(
    ("stage", "code", "text"),
    [
        ("RCPT", 550, "5.1.1 mailbox unavailable"),
        ("RCPT", 553, "5.1.3 bad address"),
        ("DATA", 554, "5.7.1 no"),
    ],
)
def test_5xx_is_permanent_after_one_attempt(smtp: SmtpServer, stage: str, code: int, text: str) -> None:
    smtp.reject(stage, code, text)  # type: ignore[arg-type]
    sleeps = Sleeps()
    result = run(retried(email_channel(smtp), note("email"), EmailDestination("ann@example.com"), sleeps))
    assert (result.delivered, result.permanent, result.attempts) == (False, True, 1)
    assert result.error is not None and f"{code} {text}" in result.error
    assert sleeps.waits == [] and smtp.messages == []


def test_no_smtp_server_is_transient() -> None:
    channel = EmailChannel(host="127.0.0.1", port=closed_port(), sender="alerts@tbot.example", timeout=2)
    result = run(channel.send(note("email"), EmailDestination("ann@example.com")))
    assert (result.delivered, result.permanent) == (False, False)
    assert result.error is not None and "ConnectionRefusedError" in result.error


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.pem", directory / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_email_over_tls_with_auth(tmp_path: Path, mode: str) -> None:
    cert, key = _certificate(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    implicit = mode == "ssl"
    with SmtpServer(
        username="alerts", password="pw-secret", tls_context=server_context, implicit_tls=implicit
    ) as server:
        tls = {"starttls": not implicit, "ssl": implicit}
        channel = email_channel(server, username="alerts", password="pw-secret", ssl_context=trusting, **tls)
        assert run(channel.send(note("email"), EmailDestination("ann@example.com"))).delivered
        assert [mail.login for mail in server.messages] == ["alerts"]

        distrusting = email_channel(server, username="alerts", password="pw-secret", **tls)
        result = run(distrusting.send(note("email"), EmailDestination("ann@example.com")))
        assert result.permanent and result.error == "TLS certificate of the SMTP server does not verify"
        assert len(server.messages) == 1


def test_starttls_asked_of_a_server_without_it_is_permanent(smtp: SmtpServer) -> None:
    result = run(email_channel(smtp, starttls=True).send(note("email"), EmailDestination("a@example.com")))
    assert result.permanent and result.error is not None and "STARTTLS" in result.error


# Telegram


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def telegram_channel(fake: FakeTelegram, token: str | None = None, **timeouts: float) -> TelegramChannel:
    return TelegramChannel(token or fake.token, api_url=fake.url, **timeouts)


def test_a_telegram_message_arrives_with_the_title_in_bold_and_everything_escaped(
    telegram: FakeTelegram,
) -> None:
    telegram.add_chat(4242)
    notification = note("telegram", title="Filled <BTC/USDT>", text="Bought 0.5 BTC & paid <b>0.1</b> fee")

    async def send() -> Delivery:
        async with telegram_channel(telegram) as channel:
            return await channel.send(notification, TelegramDestination(4242))

    assert run(send()) == Delivery(True, 1, None)
    [sent] = telegram.sent
    assert sent.chat_id == 4242 and sent.parse_mode == "HTML"
    assert sent.text == "<b>Filled &lt;BTC/USDT&gt;</b>\nBought 0.5 BTC &amp; paid &lt;b&gt;0.1&lt;/b&gt; fee"


def test_a_long_telegram_message_is_cut_to_the_limit(telegram: FakeTelegram) -> None:
    telegram.add_chat(4242)

    async def send() -> Delivery:
        async with telegram_channel(telegram) as channel:
            return await channel.send(note("telegram", text="€" * 5000), TelegramDestination(4242))

    assert run(send()).delivered
    [sent] = telegram.sent
    assert sent.text.endswith("…")
    assert len(sent.text) - len("<b></b>") == MESSAGE_LIMIT


@pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")  # PTB 22's own RetryAfter
def test_telegram_flood_control_is_honoured(telegram: FakeTelegram) -> None:
    telegram.add_chat(4242)
    telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    sleeps = Sleeps()

    async def send() -> Delivery:
        async with telegram_channel(telegram) as channel:
            return await retried(channel, note("telegram"), TelegramDestination(4242), sleeps)

    result = run(send())
    assert (result.delivered, result.attempts) == (True, 2)
    assert sleeps.waits == [3.0]
    assert [call.method for call in telegram.calls] == ["sendMessage", "sendMessage"]


def test_telegram_server_errors_are_retried(telegram: FakeTelegram) -> None:
    telegram.add_chat(4242)
    telegram.fail_next("sendMessage", 500, "Internal Server Error")
    telegram.fail_next("sendMessage", 502, "Bad Gateway")
    sleeps = Sleeps()

    async def send() -> Delivery:
        async with telegram_channel(telegram) as channel:
            return await retried(channel, note("telegram"), TelegramDestination(4242), sleeps)

    result = run(send())
    assert (result.delivered, result.attempts) == (True, 3)
    assert sleeps.waits == [1.0, 2.0]


def test_chat_not_found_and_a_blocked_bot_are_permanent(telegram: FakeTelegram) -> None:
    telegram.add_chat(4242)
    telegram.block(4242)
    telegram.fail_next(
        "sendMessage",
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-1009999,
    )
    sleeps = Sleeps()

    async def send() -> list[Delivery]:
        async with telegram_channel(telegram) as channel:
            return [
                await retried(channel, note("telegram"), TelegramDestination(-100555), sleeps),
                await retried(channel, note("telegram"), TelegramDestination(777), sleeps),
                await retried(channel, note("telegram"), TelegramDestination(4242), sleeps),
            ]

    migrated, not_found, blocked = run(send())
    assert all(
        (r.delivered, r.permanent, r.attempts) == (False, True, 1) for r in (migrated, not_found, blocked)
    )
    assert migrated.error == "Telegram: the group is now a supergroup with chat id -1009999"
    assert not_found.error == "Telegram bad request: Chat not found"
    assert blocked.error == "Telegram refused: Forbidden: bot was blocked by the user"
    assert sleeps.waits == [] and telegram.sent == []


def test_the_bot_token_never_shows(telegram: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    token = telegram.token
    telegram.add_chat(4242)
    telegram.fail_next("sendMessage", 500, f"Internal error near /bot{token}/sendMessage")
    caplog.set_level(logging.DEBUG)

    async def send() -> list[Delivery]:
        results = []
        async with telegram_channel(telegram) as channel:
            assert token not in repr(channel)
            results.append(await channel.send(note("telegram"), TelegramDestination(4242)))  # echoes it
            results.append(await channel.send(note("telegram"), TelegramDestination(4242)))  # delivered
            results.append(await channel.send(note("telegram"), TelegramDestination(999)))  # not found
        wrong = "987654321:AAWrongTokenWrongTokenWrongToken123"
        async with telegram_channel(telegram, token=wrong) as channel:
            results.append(await channel.send(note("telegram"), TelegramDestination(4242)))
            assert wrong not in repr(channel)
        unreachable = TelegramChannel(token, api_url=f"http://127.0.0.1:{closed_port()}")
        async with unreachable as channel:
            results.append(await channel.send(note("telegram"), TelegramDestination(4242)))
        return results

    echoed, delivered, missing, rejected, unreachable = run(send())
    assert delivered.delivered and missing.permanent
    assert (echoed.permanent, echoed.error) == (
        False,
        "Telegram network error: Internal error near /bot<secret>/sendMessage",
    )
    assert (rejected.permanent, rejected.error) == (True, "Telegram rejected the bot token")
    assert (unreachable.delivered, unreachable.permanent) == (False, False)
    for result in (echoed, missing, rejected, unreachable):
        assert result.error is not None and token not in result.error and "127.0.0.1" not in result.error
    assert repr(TelegramDestination(4242)) == "TelegramDestination(chat_id=4242)"
    logged = [record.getMessage() for record in caplog.records]
    assert any("sendMessage" in line for line in logged)  # httpx and PTB did log the requests...
    assert not [line for line in logged if token in line]  # ...with the token masked


def test_a_slow_telegram_times_out_as_transient(telegram: FakeTelegram) -> None:
    telegram.add_chat(4242)
    telegram.delay_next("sendMessage", 2.0)

    async def send() -> Delivery:
        async with telegram_channel(telegram, total_timeout=0.3) as channel:
            return await channel.send(note("telegram"), TelegramDestination(4242))

    started = time.monotonic()
    result = run(send())
    assert time.monotonic() - started < 1.5
    assert (result.delivered, result.permanent, result.error) == (
        False,
        False,
        "Telegram timed out after 0.3 s",
    )


# the fake Telegram, as python-telegram-bot sees it


def test_python_telegram_bot_reads_the_fakes_updates(telegram: FakeTelegram) -> None:
    private = telegram.queue_message(42, "/status", username="ann")
    post = telegram.queue_channel_post(
        -1001234, "BUY BTC/USDT 0.01", title="Signals", username="tbot_signals"
    )
    edit = telegram.queue_edit(-1001234, post.message_id, "BUY ETH/USDT 0.1")
    edited_private = telegram.queue_edit(42, private.message_id, "/status all")

    async def read() -> tuple[object, tuple[Update, ...], tuple[Update, ...]]:
        async with telegram.bot() as bot:
            me = await bot.get_me()
            updates = await bot.get_updates(timeout=0)
            after = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
            return me, updates, after

    me, updates, after = run(read())
    assert getattr(me, "username", None) == "tbot_test_bot"
    assert [u.update_id for u in updates] == [
        private.update_id,
        post.update_id,
        edit.update_id,
        edited_private.update_id,
    ]
    first, second, third, fourth = updates
    assert first.message is not None and first.message.text == "/status"
    assert first.message.chat.type == "private" and first.message.chat.id == 42
    assert first.message.from_user is not None and first.message.from_user.username == "ann"
    assert first.message.message_id == private.message_id
    assert second.channel_post is not None and second.channel_post.chat.type == "channel"
    assert second.channel_post.chat.title == "Signals" and second.channel_post.chat.username == "tbot_signals"
    assert second.channel_post.sender_chat is not None and second.channel_post.from_user is None
    assert third.edited_channel_post is not None and third.edited_channel_post.text == "BUY ETH/USDT 0.1"
    assert third.edited_channel_post.message_id == post.message_id
    assert third.edited_channel_post.edit_date is not None
    assert fourth.edited_message is not None and fourth.edited_message.text == "/status all"
    assert after == ()
    assert telegram.pending_updates == []  # the offset confirmed them


def test_get_updates_long_polls(telegram: FakeTelegram) -> None:
    async def poll() -> tuple[float, tuple[Update, ...], float, tuple[Update, ...]]:
        async with telegram.bot() as bot:
            started = time.monotonic()
            empty = await bot.get_updates(timeout=1)
            waited = time.monotonic() - started
            threading.Timer(0.3, lambda: telegram.queue_message(7, "hello")).start()
            started = time.monotonic()
            woken = await bot.get_updates(timeout=10)
            return waited, empty, time.monotonic() - started, woken

    waited, empty, woke_after, woken = run(poll())
    assert empty == () and 0.9 <= waited < 5
    assert [u.message.text for u in woken if u.message] == ["hello"] and woke_after < 5


def test_the_fake_sends_updates_to_a_webhook(telegram: FakeTelegram, receiver: WebhookReceiver) -> None:
    receiver.respond(500)  # the first push fails: the fake tries again

    async def hook() -> tuple[object, object, object]:
        async with telegram.bot() as bot:
            assert await bot.set_webhook(receiver.url, secret_token="hook-secret")
            info = await bot.get_webhook_info()
            telegram.queue_message(42, "via webhook")
            for _ in range(100):
                if telegram.webhook_deliveries:
                    break
                await asyncio.sleep(0.05)
            with pytest.raises(Conflict):
                await bot.get_updates(timeout=0)
            after = await bot.get_webhook_info()
            assert await bot.delete_webhook()
            telegram.queue_message(42, "polled")
            return info, after, await bot.get_updates(timeout=0)

    info, after, polled = run(hook())
    assert getattr(info, "url", None) == receiver.url and getattr(info, "pending_update_count", None) == 0
    assert (
        getattr(after, "last_error_message", None)
        == "Wrong response from the webhook: 500 Internal Server Error"
    )
    pushed = receiver.requests
    assert len(pushed) == 2 and pushed[0].body == pushed[1].body
    assert pushed[1].headers["x-telegram-bot-api-secret-token"] == "hook-secret"
    assert orjson.loads(pushed[1].body)["message"]["text"] == "via webhook"
    assert [u.message.text for u in polled if u.message] == ["polled"]  # type: ignore[attr-defined]


def test_a_wrong_token_and_an_unknown_method(telegram: FakeTelegram) -> None:
    async def calls() -> None:
        async with telegram.bot() as bot:  # 404, as Telegram answers: EndPointNotFound (PTB 22)
            with pytest.raises(TelegramError, match=r"(?i)not found"):
                await bot.do_api_request("noSuchMethod")
        with pytest.raises(InvalidToken):
            async with telegram.bot(token="1:wrong") as bot:
                await bot.get_me()

    run(calls())
