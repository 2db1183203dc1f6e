"""OpenTelemetry set-up: spans go nowhere (the default, and in tests), to the console, or to an
OTLP collector, as the settings say. Spans are made where the work is: per HTTP request, per
command, per event-store append, per projection batch."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from infrastructure.settings import Settings


def configure_tracing(settings: Settings, service: str) -> None:
    if settings.observability.otel_exporter == "none":
        return
    exporter: SpanExporter
    if settings.observability.otel_exporter == "console":
        exporter = ConsoleSpanExporter()
    elif settings.observability.otel_endpoint:
        exporter = OTLPSpanExporter(endpoint=settings.observability.otel_endpoint)
    else:
        exporter = OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_* environment variables, or localhost
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
