"""OAuth2 password flow: a user's name and password for a bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException

from infrastructure.identity import MAX_PASSWORD, MAX_USER_ID
from interfaces.http.deps import Box
from interfaces.http.schemas import ERRORS, Token

router = APIRouter(prefix="/v1/auth", tags=["auth"], responses=ERRORS)

UserName = Annotated[str, Form(min_length=1, max_length=MAX_USER_ID)]
Password = Annotated[str, Form(min_length=1, max_length=MAX_PASSWORD)]
GrantType = Annotated[str | None, Form(pattern="^password$", description="OAuth2: password, or absent")]


@router.post("/token", response_model=Token)
def issue_token(username: UserName, password: Password, box: Box, grant_type: GrantType = None) -> Token:
    """OAuth2's password flow: the form's user name and password (other OAuth2 form fields, such as
    scope, are not used)."""
    caller = box.identity().by_password(username, password)
    if caller is None:
        raise HTTPException(401, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"})
    tokens = box.tokens()
    return Token(access_token=tokens.issue(caller.user_id), expires_in=int(tokens.ttl.total_seconds()))
