"""What every SQL read model is: tables of its own, a handler per event type it turns into rows,
an explicit list of the event types it passes over. Handlers see the rows of one batch through
``Rows``; the engine (projections/engine) loads them, runs the handlers and writes the batch."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

from sqlalchemy import MetaData, Table

from projections.models.envelope import Envelope
from projections.models.errors import ProjectionStopped

Handler = Callable[[Any, "Rows", Envelope], None]
F = TypeVar("F", bound=Callable[..., None])


def handles(*event_types: type) -> Callable[[F], F]:
    """Marks a projection method as the handler of these event types (and their subclasses)."""

    def mark(method: F) -> F:
        method._handles = event_types  # type: ignore[attr-defined]
        return method

    return mark


class Rows(Protocol):
    """What a handler sees of a batch: the rows of its tables, read in bulk before the handlers
    run, changed in memory, and written by the engine once the batch is applied."""

    def preload(self, name: str, keys: Iterable[Any]) -> None:
        """Reads the existing rows of these primary keys once, so handlers work in memory."""
        ...

    def row(self, name: str, key: Any) -> dict[str, Any] | None:
        """A row loaded by ``preload`` or put in this batch; None if there is none."""
        ...

    def put(self, name: str, key: Any, row: dict[str, Any]) -> None:
        """A keyed row, new or changed."""
        ...

    def append(self, name: str, row: dict[str, Any]) -> None:
        """A row that is only ever inserted (a time series)."""
        ...


class Projection(ABC):
    """A read model. ``define`` builds its tables for one generation (the name suffix); the public
    ones are queried through views named without the suffix."""

    name: ClassVar[str]
    public: ClassVar[tuple[str, ...]]
    time_columns: ClassVar[Mapping[str, str]] = {}
    ignores: ClassVar[frozenset[type]]
    _handlers: ClassVar[dict[type, Handler]]
    _resolved: ClassVar[dict[type, Handler | None]]  # handler_for's answers, per event type

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._handlers = {}
        cls._resolved = {}
        for attribute in vars(cls).values():
            for event_type in getattr(attribute, "_handles", ()):
                cls._handlers[event_type] = attribute

    @staticmethod
    @abstractmethod
    def define(metadata: MetaData, suffix: str) -> dict[str, Table]:
        """This projection's tables, named ``<name><suffix>``."""

    @abstractmethod
    def preload(self, batch: Rows, envelopes: Sequence[Envelope]) -> None:
        """Reads, in bulk, the rows the handlers will need for these events."""

    def handler_for(self, event_type: type) -> Handler | None:
        """The handler of this event type; None if it is ignored on purpose."""
        try:
            return self._resolved[event_type]
        except KeyError:
            pass
        for cls in event_type.__mro__:
            if cls in self._handlers or cls in self.ignores:
                self._resolved[event_type] = self._handlers.get(cls)
                return self._resolved[event_type]
        raise LookupError("neither handled nor ignored by this projection")

    def apply(self, batch: Rows, envelopes: Sequence[Envelope]) -> None:
        """Applies events in order; any event it cannot apply stops it with the event named."""
        plan: list[tuple[Handler, Envelope]] = []
        for envelope in envelopes:
            try:
                handler = self.handler_for(type(envelope.event))
            except LookupError as error:
                raise ProjectionStopped(
                    self.name, envelope.position, envelope.type_name, str(error)
                ) from None
            if handler is not None:
                plan.append((handler, envelope))
        self.preload(batch, [envelope for _, envelope in plan])
        for handler, envelope in plan:
            try:
                handler(self, batch, envelope)
            except Exception as error:
                reason = f"{type(error).__name__}: {error}"
                raise ProjectionStopped(self.name, envelope.position, envelope.type_name, reason) from error


def stamp(row: dict[str, Any], envelope: Envelope) -> dict[str, Any]:
    """Marks a keyed row as last changed by this event."""
    row["updated_at"] = envelope.at
    row["version"] = envelope.version
    row["event_position"] = envelope.position
    return row
