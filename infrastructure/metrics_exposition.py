"""Where a process's metrics are kept and how they are read out: in its memory (one process),
or, for several server processes, in files of a directory they share, which /metrics of any of
them adds up (prometheus_client's multi-process mode, PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
    start_http_server,
    values,
)

from infrastructure.metrics import metrics

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's variable: set, every process of the run keeps its values in files there."""


def share_between_processes(directory: Path | None) -> Path:
    """Makes this process, and the processes it forks, keep their metrics in files in
    ``directory`` (a new temporary one when None; emptied first: values of an earlier run would
    be added in). Called before the first metric is made (``infrastructure.metrics.metrics``);
    returns the directory."""
    if metrics.cache_info().currsize:  # values made already stay in this process's memory
        raise RuntimeError("metrics were made before the processes chose to share them")
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="tbot-metrics-"))
    else:
        directory.mkdir(parents=True, exist_ok=True)
        for left in directory.glob("*.db"):
            left.unlink()
    os.environ[MULTIPROCESS_DIRECTORY] = str(directory)
    # prometheus_client reads the variable once, when imported: choose its value store again
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    return directory


def process_ended(pid: int) -> None:
    """Drops the live gauges' values of a server process that ended (its counters stay counted)."""
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def exposition_registry() -> CollectorRegistry:
    """What /metrics shows: every process's values added up when they share a directory,
    otherwise this process's."""
    if not os.environ.get(MULTIPROCESS_DIRECTORY):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus's text format, with its content type."""
    return generate_latest(exposition_registry()), CONTENT_TYPE_LATEST


def serve_metrics(host: str, port: int) -> tuple[WSGIServer, Thread]:
    """Serves /metrics on ``host``:``port`` from a thread of its own (a worker process's)."""
    return start_http_server(port, addr=host, registry=exposition_registry())
