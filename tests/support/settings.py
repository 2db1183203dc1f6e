"""Settings for a test: the embedded store in a folder of its own, and a copy of some settings with
fields of some of their groups changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infrastructure.settings import Settings, StoreSettings


def embedded_store(folder: Path) -> StoreSettings:
    """The embedded default on SQLite files of its own in ``folder``."""
    return StoreSettings(sqlite_path=folder / "events.sqlite3", read_sqlite_path=folder / "read.sqlite3")


def changed(settings: Settings, **groups: dict[str, Any]) -> Settings:
    """``settings`` with the given fields of each named group replaced, unvalidated like
    ``model_copy``: ``changed(settings, redis={"url": SecretStr(url)}, feed={"max_length": 50})``."""
    return settings.model_copy(
        update={name: getattr(settings, name).model_copy(update=fields) for name, fields in groups.items()}
    )
