"""Traces: one request's spans (HTTP, command, event-store append) form one trace, the append
carries the request's correlation id, which the events record, and the projection batch that
applies them names it. In process, on the embedded default, spans kept in memory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from infrastructure.event_store import create_tables
from infrastructure.settings import Settings
from interfaces.composition import Container
from interfaces.http.app import create_app
from interfaces.workers.projections import drain_projections
from projections.models.catalog import SQL_NAMES
from tests.support.api import LIMITS


class _WhileRecording(SimpleSpanProcessor):
    """Keeps spans only while a test asks for them (the provider is global to the process)."""

    recording = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.recording:
            super().on_end(span)


_EXPORTER = InMemorySpanExporter()
_PROCESSOR = _WhileRecording(_EXPORTER)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(_PROCESSOR)
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    _PROCESSOR.recording = True
    yield _EXPORTER
    _PROCESSOR.recording = False
    _EXPORTER.clear()


def test_a_request_its_command_its_append_and_its_projection_batch_are_linked(
    sqlite_settings: Settings, spans: InMemorySpanExporter
) -> None:
    container = Container()
    container.settings.override(providers.Object(sqlite_settings))
    create_tables(sqlite_settings)
    container.read_models().install()
    container.identity().install()
    container.identity().create_user("alice", "trader")
    key = container.identity().create_key("alice")
    body = {"name": "traced", "strategy": "manual", "allowed_symbols": ["BTC/USDT"], "limits": LIMITS}
    with TestClient(create_app(container)) as http:
        created = http.post("/v1/bots", json=body, headers={"X-API-Key": key, "X-Request-ID": "trace-1"})
        assert created.status_code == 201, created.text
        assert drain_projections(container, list(SQL_NAMES)) == {}
        [event] = container.store().recorder.select_notifications(start=1, limit=1)
        recorded = container.store().mapper.to_domain_event(event)

    finished = spans.get_finished_spans()
    [server] = [s for s in finished if s.attributes and s.attributes.get("tbot.request_id") == "trace-1"]
    [command] = [s for s in finished if s.name == "command CreateBot"]
    [append] = [s for s in finished if s.name == "event_store.append"]
    assert server.name == "POST /v1/bots"
    assert server in _ancestors(command, finished)  # FastAPI's own spans may lie between
    assert _ancestors(append, finished)[0] is command
    assert append.attributes is not None and append.attributes["tbot.correlation_id"] == "trace-1"
    assert append.attributes["tbot.position"] == created.json()["position"]
    assert recorded.meta.correlation_id == "trace-1"  # type: ignore[attr-defined]
    carried = [
        s.attributes.get("tbot.correlation_ids")
        for s in finished
        if s.name == "projection.batch" and s.attributes
    ]
    assert any(isinstance(ids, tuple) and "trace-1" in ids for ids in carried)


def _ancestors(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    """The span's parent, its parent's parent, and so on up to the root."""
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    found: list[ReadableSpan] = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        found.append(span)
    return found
