"""Delivering a notification: the backoff between attempts (grows, capped, jitter bounded, a receiver's
Retry-After honoured within the cap), permanent failures stopping at once, transient ones retried;
and the value types refusing what they must (bad keys, floats in data, non-http URLs, secrets in repr)."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    retry_delay,
    safe_error,
    webhook_url,
)
from domain.errors import InvalidInput

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
NOTE = Notification(
    key=notification_key("3f2a9c1e-0000-4000-8000-000000000001", "webhook"),
    kind="order_filled",
    title="Filled",
    text="Bought 0.5 BTC at 61000",
    data={"quantity": "0.5", "price": "61000"},
    occurred_at=NOW,
)


@dataclass
class Scripted:
    """A channel that answers from a script, recording what it was asked."""

    answers: Iterator[Delivery]
    calls: list[str] = field(default_factory=list)

    async def send(self, notification: Notification, destination: str) -> Delivery:
        self.calls.append(destination)
        return next(self.answers)


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def run(channel: Channel[str], policy: RetryPolicy | None = None, seed: int = 1) -> tuple[Delivery, Sleeps]:
    sleeps = Sleeps()
    result = asyncio.run(deliver(channel, NOTE, "there", policy, sleeps, random.Random(seed)))
    return result, sleeps


# the backoff


def test_the_delays_double_from_the_first_and_stop_at_the_cap() -> None:
    policy = RetryPolicy(attempts=10, first_delay_seconds=1.0, max_delay_seconds=60.0, jitter=0.0)
    rng = random.Random(0)
    delays = [retry_delay(policy, n, rng) for n in range(1, 11)]
    assert delays == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


def test_jitter_only_shortens_a_delay_and_by_at_most_its_fraction() -> None:
    policy = RetryPolicy(attempts=10, first_delay_seconds=1.0, max_delay_seconds=60.0, jitter=0.25)
    rng = random.Random(7)
    for attempt, full in [(2, 1.0), (4, 4.0), (9, 60.0)]:
        seen = [retry_delay(policy, attempt, rng) for _ in range(200)]
        assert all(full * 0.75 <= delay <= full for delay in seen)
        assert len(set(seen)) > 1  # it does vary


def test_the_same_seed_gives_the_same_delays() -> None:
    policy = RetryPolicy()
    first = [retry_delay(policy, n, random.Random(3)) for n in range(1, 6)]
    again = [retry_delay(policy, n, random.Random(3)) for n in range(1, 6)]
    assert first == again


def test_a_huge_attempt_number_is_just_the_cap() -> None:
    policy = RetryPolicy(jitter=0.0)
    assert retry_delay(policy, 10_000, random.Random(0)) == 60.0


def test_retry_after_is_honoured_when_longer_and_bounded_by_the_cap() -> None:
    policy = RetryPolicy(first_delay_seconds=1.0, max_delay_seconds=60.0, jitter=0.0)
    rng = random.Random(0)
    assert retry_delay(policy, 2, rng, retry_after=7.0) == 7.0
    assert retry_delay(policy, 2, rng, retry_after=3600.0) == 60.0
    assert retry_delay(policy, 5, rng, retry_after=2.0) == 8.0  # the backoff is already longer


@given(
    attempts=st.integers(1, 30),
    first=st.floats(0.0, 100.0),
    extra=st.floats(0.0, 1000.0),
    jitter=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32),
    retry_after=st.none() | st.floats(0.0, 1e6),
)
def test_the_total_wait_never_exceeds_attempts_times_the_cap(
    attempts: int, first: float, extra: float, jitter: float, seed: int, retry_after: float | None
) -> None:
    policy = RetryPolicy(attempts, first, first + extra, jitter)
    rng = random.Random(seed)
    delays = [retry_delay(policy, n, rng, retry_after) for n in range(1, attempts + 1)]
    assert all(0.0 <= delay <= policy.max_delay_seconds for delay in delays)
    assert sum(delays) <= attempts * policy.max_delay_seconds


@given(attempts=st.integers(2, 80), first=st.floats(0.0, 100.0), extra=st.floats(0.0, 1000.0))
def test_without_jitter_the_delays_never_shrink(attempts: int, first: float, extra: float) -> None:
    policy = RetryPolicy(attempts, first, first + extra, jitter=0.0)
    rng = random.Random(0)
    delays = [retry_delay(policy, n, rng) for n in range(1, attempts + 1)]
    assert delays == sorted(delays)
    below_cap = [d for d in delays[1:] if d < policy.max_delay_seconds]
    assert all(later == 2 * earlier for earlier, later in itertools.pairwise(below_cap))


# deliver


def test_delivered_at_once_sleeps_never() -> None:
    channel = Scripted(iter([Delivery.ok()]))
    result, sleeps = run(channel)
    assert result == Delivery(delivered=True, attempts=1, error=None)
    assert sleeps.waits == []


def test_a_permanent_failure_stops_at_once() -> None:
    channel = Scripted(iter([Delivery.refused("HTTP 400 Bad Request: no such hook")]))
    result, sleeps = run(channel)
    assert (result.delivered, result.permanent, result.attempts) == (False, True, 1)
    assert result.error == "HTTP 400 Bad Request: no such hook"
    assert channel.calls == ["there"]
    assert sleeps.waits == []


def test_transient_failures_are_retried_until_delivered() -> None:
    answers = [Delivery.transient("HTTP 500"), Delivery.transient("HTTP 502"), Delivery.ok()]
    channel = Scripted(iter(answers))
    result, sleeps = run(channel, RetryPolicy(jitter=0.0))
    assert (result.delivered, result.attempts, result.error) == (True, 3, None)
    assert sleeps.waits == [1.0, 2.0]


def test_a_permanent_failure_after_transient_ones_stops_there() -> None:
    answers = [Delivery.transient("timed out"), Delivery.refused("SMTP 550 mailbox unavailable")]
    result, sleeps = run(Scripted(iter(answers)), RetryPolicy(jitter=0.0))
    assert (result.delivered, result.permanent, result.attempts) == (False, True, 2)
    assert len(sleeps.waits) == 1


def test_out_of_attempts_gives_the_last_failure() -> None:
    channel = Scripted(iter([Delivery.transient(f"HTTP 50{n}") for n in range(5)]))
    result, sleeps = run(channel, RetryPolicy(attempts=4, jitter=0.0))
    assert (result.delivered, result.permanent, result.attempts) == (False, False, 4)
    assert result.error == "HTTP 503"
    assert sleeps.waits == [1.0, 2.0, 4.0]


def test_the_receivers_retry_after_decides_the_wait() -> None:
    answers = [Delivery.transient("HTTP 429", retry_after_seconds=5.0), Delivery.ok()]
    result, sleeps = run(Scripted(iter(answers)))
    assert result.delivered
    assert sleeps.waits == [5.0]


# the values


def test_a_delivery_error_is_cut_and_never_shows_a_secret_or_url() -> None:
    text = "failed at https://hooks.example/T0/secret-path?token=abc with s3cr3t\n" + "x" * 500
    error = safe_error(text, secrets=["s3cr3t"])
    assert len(error) <= 200
    assert "s3cr3t" not in error and "secret-path" not in error and "\n" not in error
    assert error.startswith("failed at <url> with <secret> x")
    assert len(Delivery.transient("y" * 1000).error or "") <= 200


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("ftp://example.com/hook", "must be an http:// or https:// URL"),
        ("file:///etc/passwd", "must be an http:// or https:// URL"),
        ("example.com/hook", "must be an http:// or https:// URL"),
        ("https:///hook", "must name a host"),
        ("https://exa mple.com/", "must not contain spaces or control characters"),
        ("https://example.com:99999/", "must be a well-formed URL"),
        ("https://example.com/" + "a" * 2100, "must be at most 2048 characters"),
    ],
)
def test_only_http_and_https_urls_are_webhooks(value: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        WebhookDestination(value, "secret")
    assert (caught.value.field, caught.value.rule) == ("url", rule)


def test_a_webhook_url_is_kept_as_given() -> None:
    assert webhook_url("https://example.com:8443/hooks/tbot?x=1") == "https://example.com:8443/hooks/tbot?x=1"


def test_destinations_do_not_show_their_secrets() -> None:
    destination = WebhookDestination("https://hooks.example.com/T0/B1/path-token?key=k", "whsec_123")
    shown = repr(destination)
    assert "whsec_123" not in shown and "path-token" not in shown and "key=k" not in shown
    assert "hooks.example.com" in shown


@pytest.mark.parametrize("value", ["", "no-at-sign", "a@b@c", "a b@example.com", "a@example.com\nBcc: x@y.z"])
def test_an_email_destination_needs_one_plain_address(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        EmailDestination(value)
    assert caught.value.field == "to"


def test_telegram_chat_ids() -> None:
    assert TelegramDestination(-1001234567890).chat_id == -1001234567890
    assert TelegramDestination("42").chat_id == 42
    assert TelegramDestination("@tbot_signals").chat_id == "@tbot_signals"
    for bad in (0, "", "@ab", "chat", True):
        with pytest.raises(InvalidInput):
            TelegramDestination(bad)


def test_a_notification_keeps_utc_and_frozen_json_ready_data() -> None:
    paris = timezone(timedelta(hours=1))
    data = {"fills": [{"price": "61000"}], "count": 2, "late": False, "note": None}
    note = Notification("e1:email", "order_filled", "t", "x", data, NOW.astimezone(paris))
    assert note.occurred_at == NOW and note.occurred_at.tzinfo == UTC
    assert len({note, note}) == 1  # hashable, so a worker can keep them in sets
    data["count"] = 3
    assert note.data["count"] == 2
    with pytest.raises(TypeError):
        note.data["count"] = 4  # type: ignore[index]


@pytest.mark.parametrize(
    ("field_name", "changes"),
    [
        ("key", {"key": ""}),
        ("key", {"key": "has space"}),
        ("key", {"key": "k" * 201}),
        ("occurred_at", {"occurred_at": datetime(2026, 1, 1)}),  # noqa: DTZ001 - naive on purpose
        ("data", {"data": {"pnl": 1.5}}),
        ("data", {"data": {"nested": {"at": NOW}}}),
        ("data", {"data": {1: "x"}}),
    ],
)
def test_a_notification_refuses_what_a_channel_could_not_send(
    field_name: str, changes: dict[str, object]
) -> None:
    fields: dict[str, object] = {
        "key": "e1:webhook",
        "kind": "order_filled",
        "title": "t",
        "text": "x",
        "data": {},
        "occurred_at": NOW,
    }
    with pytest.raises(InvalidInput) as caught:
        Notification(**{**fields, **changes})  # type: ignore[arg-type]
    assert caught.value.field == field_name
