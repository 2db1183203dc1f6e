"""What every tbot process sets up first, from its settings: logs and traces."""

from __future__ import annotations

from infrastructure.logging import configure_logging
from infrastructure.settings import Settings
from infrastructure.tracing import configure_tracing


def prepare_process(settings: Settings, service: str) -> None:
    """Structured logs as the settings say, and trace spans named after ``service``."""
    configure_logging(settings.observability.log_format, settings.observability.log_level)
    configure_tracing(settings, service)
