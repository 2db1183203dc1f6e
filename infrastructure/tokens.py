"""Bearer tokens (JWT, HS256) for the OAuth2 password flow. A token names its user only; the
user's role is read afresh on every request, so a changed role takes effect at once."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import jwt

from infrastructure.settings import Settings

_ISSUER = "tbot"


class TokenIssuer:
    def __init__(self, settings: Settings, now: Callable[[], datetime]) -> None:
        configured = settings.api.jwt_secret.get_secret_value() if settings.api.jwt_secret else None
        self._secret = configured or secrets.token_urlsafe(48)
        self.ttl = timedelta(seconds=settings.api.jwt_ttl_seconds)
        self.now = now

    def issue(self, user_id: str) -> str:
        issued = self.now()
        claims = {"sub": user_id, "iss": _ISSUER, "iat": issued, "exp": issued + self.ttl}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def subject(self, token: str) -> str | None:
        """The user a valid, unexpired token was issued to; None for anything else."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                issuer=_ISSUER,
                options={"require": ["sub", "exp", "iat"], "verify_exp": False, "verify_iat": False},
                leeway=0,
            )
        except jwt.PyJWTError:
            return None
        if claims["exp"] < self.now().timestamp():  # our clock, not the machine's, decides
            return None
        return str(claims["sub"])
