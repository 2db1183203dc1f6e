"""Users and their API keys. Passwords are kept as argon2 hashes (slow on purpose); API keys are
random 256-bit secrets kept as SHA-256 digests (a fast hash is enough for a secret nobody can
guess) and shown once, when made. The tables live in the read-side database but are never part
of a rebuild."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cachetools import TTLCache
from sqlalchemy import Column, DateTime, Engine, ForeignKey, MetaData, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from application.access import Caller, Role
from domain.errors import InvalidInput
from domain.ids import UserId

METADATA = MetaData()
USERS = Table(
    "users",
    METADATA,
    Column("user_id", String, primary_key=True),
    Column("role", String, nullable=False),
    Column("password_hash", String),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
API_KEYS = Table(
    "api_keys",
    METADATA,
    Column("key_id", String, primary_key=True),
    Column("user_id", String, ForeignKey("users.user_id"), nullable=False),
    Column("secret_sha256", String, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
MAX_USER_ID, MIN_PASSWORD, MAX_PASSWORD = 63, 12, 1024
_USER_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,62}$")
_KEY = re.compile(r"^tbot_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_HASHER = PasswordHasher()


KEY_CACHE_SECONDS = 2.0
"""How long a process keeps an API key it has checked: every request names its key, and asking
the database each time was a tenth of a command's time. A key's user and role never change, so
the cache can only be stale about a key that stopped existing, for at most this long."""


class IdentityStore:
    def __init__(self, engine: Engine, now: Callable[[], datetime]) -> None:
        self.engine = engine
        self.now = now
        # checked keys by the digest of the whole key; refusals are not kept, so a new key works at once
        self._keys: TTLCache[str, Caller] = TTLCache(
            maxsize=10_000, ttl=KEY_CACHE_SECONDS, timer=time.monotonic
        )
        self._keys_lock = threading.Lock()

    def install(self) -> None:
        METADATA.create_all(self.engine)

    def create_user(self, user_id: str, role: str, password: str | None = None) -> Caller:
        if not _USER_ID.match(user_id):
            raise InvalidInput(
                "user_id", "2 to 63 of a-z, 0-9, '_', '.', '-', starting with a letter or digit"
            )
        try:
            chosen = Role(role)
        except ValueError:
            raise InvalidInput("role", f"must be one of {', '.join(r.value for r in Role)}") from None
        if password is not None and not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise InvalidInput("password", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
        row = {
            "user_id": user_id,
            "role": chosen.value,
            "password_hash": _HASHER.hash(password) if password is not None else None,
            "created_at": self.now(),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(USERS), row)
        except IntegrityError:
            raise InvalidInput("user_id", f"{user_id} already exists") from None
        return Caller(UserId(user_id), chosen)

    def create_key(self, user_id: str) -> str:
        """A new API key for the user; the only time the key itself is ever seen."""
        if self.user(user_id) is None:
            raise InvalidInput("user_id", f"no user {user_id}")
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                insert(API_KEYS),
                {
                    "key_id": key_id,
                    "user_id": user_id,
                    "secret_sha256": _digest(secret),
                    "created_at": self.now(),
                },
            )
        return f"tbot_{key_id}_{secret}"

    def user(self, user_id: str) -> Caller | None:
        if not _USER_ID.match(user_id):
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(USERS.c.role).where(USERS.c.user_id == user_id)).first()
        return Caller(UserId(user_id), Role(row.role)) if row is not None else None

    def by_password(self, user_id: str, password: str) -> Caller | None:
        row = None
        if _USER_ID.match(user_id):
            with self.engine.connect() as conn:
                row = conn.execute(select(USERS).where(USERS.c.user_id == user_id)).first()
        if row is None or row.password_hash is None:
            _HASHER.hash(password)  # the same work whether or not the user exists
            return None
        try:
            _HASHER.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return Caller(UserId(row.user_id), Role(row.role))

    def by_key(self, key: str) -> Caller | None:
        match = _KEY.match(key)
        if match is None:
            return None
        whole = _digest(key)
        with self._keys_lock:
            known = self._keys.get(whole)
        if known is not None:
            return known
        caller = self._checked_key(*match.groups())
        if caller is not None:
            with self._keys_lock:
                self._keys[whole] = caller
        return caller

    def _checked_key(self, key_id: str, secret: str) -> Caller | None:
        query = (
            select(API_KEYS.c.secret_sha256, USERS.c.user_id, USERS.c.role)
            .join(USERS, USERS.c.user_id == API_KEYS.c.user_id)
            .where(API_KEYS.c.key_id == key_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
            return None
        return Caller(UserId(row.user_id), Role(row.role))


def key_id_of(key: str) -> str | None:
    """The public part of an API key (for rate limits and logs), never the secret."""
    match = _KEY.match(key)
    return match.group(1) if match else None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
