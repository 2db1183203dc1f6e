"""Why a read model stops, and an unknown name: what the models themselves raise."""

from __future__ import annotations


class ProjectionStopped(Exception):
    """A projection met an event it cannot apply; it stops rather than skip it."""

    def __init__(self, projection: str, position: int, event_type: str, reason: str) -> None:
        super().__init__(f"projection {projection} stopped at event #{position} ({event_type}): {reason}")
        self.projection = projection
        self.position = position
        self.event_type = event_type
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, int, str, str]]:  # crosses process boundaries
        return (type(self), (self.projection, self.position, self.event_type, self.reason))


class UnknownProjection(ValueError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown projection {name!r}: choose from {', '.join(known)}")
        self.name = name
