"""A process asks the database about an API key once, then answers from memory for a moment; a key
it refused is asked about again every time, so a key made a moment ago works at once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event

from infrastructure.identity import IdentityStore


def test_a_checked_key_is_answered_from_memory_and_a_refused_one_is_asked_again(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'identity.sqlite3'}")
    identity = IdentityStore(engine, lambda: datetime(2026, 1, 1, tzinfo=UTC))
    identity.install()
    identity.create_user("alice", "trader")
    key = identity.create_key("alice")
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    first, second = identity.by_key(key), identity.by_key(key)
    assert first is not None and first == second and str(first.user_id) == "alice"
    assert len(statements) == 1
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert identity.by_key(wrong) is None and identity.by_key(wrong) is None
    assert len(statements) == 3, "a refused key is never kept"
    newer = identity.create_key("alice")
    assert identity.by_key(newer) is not None
