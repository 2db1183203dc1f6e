"""The servers `make test` starts are real and reachable on 127.0.0.1."""

from __future__ import annotations

import psycopg
import redis


def test_postgres_is_a_real_server(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None and int(row[0]) >= 150000


def test_redis_is_a_real_server(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.set("tbot:test", "1")
        assert client.get("tbot:test") == b"1"
    finally:
        client.delete("tbot:test")
        client.close()
