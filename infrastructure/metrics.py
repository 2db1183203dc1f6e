"""Every metric tbot exports (Prometheus, docs/operations.md "Metrics"), and the adapter of the
core's metrics ports (application/metrics.py). Labels take values from small, fixed sets (command
types, outcomes, reason codes, projection, worker and strategy names, exchange ids, error kinds),
never a bot, user or order id, so the number of series stays bounded.

Several server processes (`tbot serve --workers N`) keep their values in files that /metrics of
any of them adds up (infrastructure/metrics_exposition.py); a gauge says how: ``livesum`` adds
the live processes' values, ``livemin`` takes the lowest."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from application.metrics import CommandOutcome

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The metrics of one process, registered in ``registry`` (the default one, which the
    workers' endpoint and a single API process expose)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        # the command path (application/bus.py)
        self.commands = Counter(
            "tbot_commands",
            "Commands handled, by command type and outcome (ok, denied, conflict, refused, error)",
            ["command", "outcome"],
            registry=registry,
        )
        self.command_seconds = Histogram(
            "tbot_command_duration_seconds",
            "Time a command took in its handler, retries and waits for its bot's turn included",
            ["command", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.risk_denials = Counter(
            "tbot_risk_denials",
            "Orders the risk rules refused, once per reason code the denial carried",
            ["reason"],
            registry=registry,
        )
        self.signals = Counter(
            "tbot_signals",
            "Signal messages received, by what became of them (parsed, rejected, executed, called_off)",
            ["outcome"],
            registry=registry,
        )
        self.decisions = Counter(
            "tbot_strategy_decisions",
            "Decisions recorded by the strategy runtime, by strategy and decision (act: orders asked "
            "for; hold: none)",
            ["strategy", "decision"],
            registry=registry,
        )
        self.strategy_leases = Gauge(
            "tbot_strategy_leases",
            "Bots whose strategy the runtimes of these processes run (the leases they hold)",
            multiprocess_mode="livesum",
            registry=registry,
        )
        # the live feed (interfaces/http/feed_hub.py, feed.py)
        self.feed_subscribers = Gauge(
            "tbot_feed_subscribers",
            "Live feed clients subscribed now",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.feed_disconnects = Counter(
            "tbot_feed_disconnects",
            "Live feed connections ended, by reason (client_closed, slow_consumer, live_unavailable, "
            "server_stopping)",
            ["reason"],
            registry=registry,
        )
        # exchanges (infrastructure/metered_gateways.py)
        self.exchange_orders = Counter(
            "tbot_exchange_orders",
            "Orders sent to an exchange, by exchange and outcome (answered, refused, outcome_unknown, "
            "unavailable, error)",
            ["exchange", "outcome"],
            registry=registry,
        )
        self.exchange_order_seconds = Histogram(
            "tbot_exchange_order_duration_seconds",
            "Time an exchange took to answer an order sent to it, retries included",
            ["exchange"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.exchange_errors = Counter(
            "tbot_exchange_errors",
            "Exchange requests that failed, by exchange, operation and kind (refused, order_unknown, "
            "outcome_unknown, unavailable, other)",
            ["exchange", "operation", "kind"],
            registry=registry,
        )
        # workers (interfaces/workers/supervisor.py)
        self.worker_healthy = Gauge(
            "tbot_worker_healthy",
            "1 while a worker is healthy (starting, standing by or running), 0 while not; the lowest "
            "of the processes running it",
            ["worker"],
            multiprocess_mode="livemin",
            registry=registry,
        )
        self.worker_active = Gauge(
            "tbot_worker_active",
            "Processes doing a worker's work now: holding its lock (0 while standing by), or running "
            "one that needs none",
            ["worker"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.worker_failed_turns = Counter(
            "tbot_worker_failed_turns",
            "Worker turns that failed and were retried after a pause",
            ["worker"],
            registry=registry,
        )

    def command_done(self, command: str, outcome: CommandOutcome, seconds: float) -> None:
        self.commands.labels(command, outcome).inc()
        self.command_seconds.labels(command, outcome).observe(seconds)

    def risk_denied(self, reasons: Iterable[str]) -> None:
        for reason in reasons:
            self.risk_denials.labels(reason).inc()

    def signal_received(self, outcome: str) -> None:
        self.signals.labels(outcome).inc()

    def decided(self, strategy: str, acted: bool) -> None:
        self.decisions.labels(strategy, "act" if acted else "hold").inc()


@dataclass(frozen=True)
class ProjectionLag:
    projection: str
    events: int
    seconds: float | None  # None: the oldest event waiting cannot be decoded


def projection_lag_families(lags: Iterable[ProjectionLag]) -> list[GaugeMetricFamily]:
    """How far behind each projection is, read when scraped (interfaces/workers/projection_lag.py)."""
    events = GaugeMetricFamily(
        "tbot_projection_lag_events",
        "Events in the store a projection has not applied yet",
        labels=["projection"],
    )
    seconds = GaugeMetricFamily(
        "tbot_projection_lag_seconds",
        "How long the oldest event a projection has not applied has been waiting",
        labels=["projection"],
    )
    for lag in lags:
        events.add_metric([lag.projection], lag.events)
        if lag.seconds is not None:
            seconds.add_metric([lag.projection], lag.seconds)
    return [events, seconds]


@cache
def metrics() -> Metrics:
    """This process's metrics, made on first use: after a server process chose to share them
    with the others (infrastructure/metrics_exposition.py), so that their values go to its files."""
    return Metrics()
