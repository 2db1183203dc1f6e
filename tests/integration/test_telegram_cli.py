"""`tbot telegram link-signals|link-owner|unlink|links` on the embedded store and PostgreSQL, and
`tbot telegram run` as a real process answering an owner chat by long polling until SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID, uuid4

import pytest
from dependency_injector import providers

from application import commands as c
from infrastructure.settings import Settings
from infrastructure.telegram_links import LinkKind, TelegramLinks
from interfaces.composition import Container
from interfaces.tables import install_tables
from tests.integration.cli_support import assert_user_error, invoke
from tests.support.fake_telegram import TOKEN, FakeTelegram
from tests.support.processes import settings_env, start_tbot, tbot
from tests.support.world import LIMITS


@contextmanager
def prepared_on(settings: Settings) -> Iterator[tuple[Container, dict[str, UUID]]]:
    container = Container()
    container.settings.override(providers.Object(settings))
    install_tables(container)
    container.identity().create_user("alice", "trader")
    bots = {}
    for strategy in ("signals", "manual"):
        created = container.bus().dispatch(
            c.CreateBot(
                actor="alice",
                name=f"{strategy} bot",
                strategy=strategy,
                params={"quote_amount": "1000"} if strategy == "signals" else {},
                allowed_symbols=["BTC/USDT"],
                limits=LIMITS,
            )
        )
        bots[strategy] = created.aggregate_id
    try:
        yield container, bots
    finally:
        container.store().close()
        container.shutdown_resources()


@pytest.fixture
def prepared(any_settings: Settings) -> Iterator[tuple[Container, dict[str, UUID]]]:
    with prepared_on(any_settings) as made:
        yield made


def test_links_are_made_listed_replaced_and_removed(
    any_settings: Settings, prepared: tuple[Container, dict[str, UUID]]
) -> None:
    container, bots = prepared
    env = settings_env(any_settings)
    made = invoke("telegram", "link-signals", str(bots["signals"]), "-1001234567890", **env)
    assert made.exit_code == 0, made.output
    assert "chat -1001234567890 linked" in made.stdout
    assert invoke("telegram", "link-owner", "alice", "42", **env).exit_code == 0
    links = TelegramLinks(container.read_engine(), container.clock().now)
    assert [(link.chat_id, link.kind, link.bot_id, link.user_id) for link in links.all()] == [
        (-1001234567890, LinkKind.SIGNALS, bots["signals"], None),
        (42, LinkKind.OWNER, None, "alice"),
    ]
    listed = invoke("telegram", "links", **env)
    assert listed.exit_code == 0 and "-1001234567890" in listed.stdout and "alice" in listed.stdout
    # a chat has one link: linking it again replaces it
    assert invoke("telegram", "link-signals", str(bots["signals"]), "42", **env).exit_code == 0
    assert links.link(42) is not None and links.link(42).kind is LinkKind.SIGNALS  # type: ignore[union-attr]
    removed = invoke("telegram", "unlink", "-1001234567890", **env)
    assert removed.exit_code == 0 and "unlinked" in removed.stdout
    again = invoke("telegram", "unlink", "-1001234567890", **env)
    assert again.exit_code == 0 and "was not linked" in again.stdout
    assert [link.chat_id for link in links.all()] == [42]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("link-signals", "not-a-uuid", "-100"), ("BOT_ID", "UUID")),
        (("link-signals", "{unknown}", "-100"), ("BOT_ID", "no bot")),
        (("link-signals", "{manual}", "-100"), ("BOT_ID", "strategy manual")),
        (("link-signals", "{signals}", "channel"), ("CHAT_ID", "whole number")),
        (("link-signals", "{signals}", "0"), ("CHAT_ID", "non-zero")),
        (("link-owner", "nobody", "42"), ("USER", "no user nobody")),
        (("link-owner", "alice", "-1001"), ("CHAT_ID", "private chat")),
        (("unlink", "x"), ("CHAT_ID", "whole number")),
    ],
)
def test_bad_input_exits_2_naming_the_argument(
    sqlite_settings: Settings, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    with prepared_on(sqlite_settings) as (container, bots):
        names = {"unknown": str(uuid4()), **{k: str(v) for k, v in bots.items()}}
        result = invoke("telegram", *(a.format(**names) for a in args), **settings_env(sqlite_settings))
        assert_user_error(result.exit_code, result.stderr, "error: ", *words)
        assert TelegramLinks(container.read_engine(), container.clock().now).all() == []


def test_run_needs_a_token(sqlite_settings: Settings) -> None:
    result = invoke("telegram", "run", **settings_env(sqlite_settings))
    assert_user_error(result.exit_code, result.stderr, "TBOT_TELEGRAM_TOKEN", "must be set")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--webhook", "ftp://bot.example.com/hook"), ("--webhook", "https://")),
        (
            ("--webhook", "https://bot.example.com/hook", "--polling"),
            ("--polling and --webhook", "choose one"),
        ),
    ],
)
def test_run_refuses_bad_options(
    sqlite_settings: Settings, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    result = invoke("telegram", "run", *args, **settings_env(sqlite_settings, TBOT_TELEGRAM_TOKEN=TOKEN))
    assert_user_error(result.exit_code, result.stderr, *words)


def test_run_on_a_busy_webhook_port_exits_2_before_asking_telegram(sqlite_settings: Settings) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = tbot(
            sqlite_settings,
            "telegram",
            "run",
            "--webhook",
            "https://bot.example.com/hook",
            "--port",
            str(port),
            TBOT_TELEGRAM_TOKEN=TOKEN,
            TBOT_TELEGRAM_API_URL="http://127.0.0.1:9",
        )
    assert_user_error(result.returncode, result.stderr, "--port", f"port {port} on 127.0.0.1 is in use")
    assert TOKEN not in result.stdout + result.stderr


def test_run_without_the_bot_api_exits_1_in_one_line(sqlite_settings: Settings) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = tbot(
        sqlite_settings,
        "telegram",
        "run",
        TBOT_TELEGRAM_TOKEN=TOKEN,
        TBOT_TELEGRAM_API_URL=f"http://127.0.0.1:{port}",
    )
    assert result.returncode == 1, result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: cannot reach the Telegram Bot API at http://127.0.0.1:{port}")
    )
    assert "Traceback" not in result.stderr and TOKEN not in result.stdout + result.stderr


@pytest.mark.postgres
def test_run_answers_an_owner_chat_by_long_polling_until_sigterm(postgres_settings: Settings) -> None:
    with prepared_on(postgres_settings) as (container, bots):
        TelegramLinks(container.read_engine(), container.clock().now).link_owner(42, "alice")
    with FakeTelegram() as telegram:
        telegram.add_chat(42)
        process = start_tbot(
            postgres_settings,
            "telegram",
            "run",
            "--polling",
            stdout=subprocess.PIPE,
            TBOT_TELEGRAM_TOKEN=TOKEN,
            TBOT_TELEGRAM_API_URL=telegram.url,
            TBOT_TELEGRAM_POLL_TIMEOUT_SECONDS="1",
        )
        try:
            telegram.queue_message(42, f"/pause {bots['signals']}")  # by id: no projection runs here
            deadline = time.monotonic() + 30
            while not telegram.sent and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.1)
            assert [m.text for m in telegram.sent] == ["Cannot pause signals bot: it is created."]
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert TOKEN not in out + err
