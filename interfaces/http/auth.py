"""OAuth2 password flow: a user's name and password for a bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import OAuth2PasswordRequestForm

from interfaces.http.deps import Container
from interfaces.http.schemas import ERRORS, Token

router = APIRouter(prefix="/v1/auth", tags=["auth"], responses=ERRORS)


@router.post("/token", response_model=Token)
def issue_token(form: Annotated[OAuth2PasswordRequestForm, Depends()], box: Container) -> Token:
    caller = box.identity().by_password(form.username, form.password)
    if caller is None:
        raise HTTPException(401, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"})
    tokens = box.tokens()
    return Token(access_token=tokens.issue(caller.user_id), expires_in=int(tokens.ttl.total_seconds()))
