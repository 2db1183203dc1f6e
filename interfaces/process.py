"""What every tbot process sets up first, from its settings: logs, traces, and for a worker
process its metrics endpoint."""

from __future__ import annotations

from infrastructure.logging import configure_logging
from infrastructure.metrics_exposition import serve_metrics
from infrastructure.settings import Settings
from infrastructure.tracing import configure_tracing
from interfaces.errors import fail_usage


def prepare_process(settings: Settings, service: str, *, metrics_endpoint: bool = True) -> None:
    """Structured logs as the settings say, and trace spans named after ``service``. With
    ``metrics_endpoint`` (a worker process; the API serves /metrics itself) and TBOT_METRICS_PORT
    set, Prometheus /metrics is served on that port, once for all the process's workers."""
    configure_logging(settings.observability.log_format, settings.observability.log_level)
    configure_tracing(settings, service)
    observability = settings.observability
    if metrics_endpoint and observability.metrics_port:
        try:
            serve_metrics(observability.metrics_host, observability.metrics_port)
        except OSError as error:
            fail_usage(
                f"metrics_port: cannot serve metrics on {observability.metrics_host} port "
                f"{observability.metrics_port} ({error.strerror or error}); choose another with "
                "TBOT_METRICS_PORT and TBOT_METRICS_HOST"
            )
