"""The strategies a bot may use: the built-ins and every installed plug-in, with the JSON schema of
their parameters (what ``params`` of a new bot must satisfy)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from interfaces.http.deps import Box, CallerDep
from interfaces.http.schemas import ERRORS

router = APIRouter(prefix="/v1", tags=["strategies"], responses=ERRORS)


class StrategyInfo(BaseModel):
    """A strategy a bot may name as its ``strategy``."""

    name: str = Field(examples=["sma_cross"])
    description: str
    timeframe: str | None = Field(
        examples=["1m"],
        description="the candles it decides on with its default parameters; null when it has required "
        "parameters (then its `timeframe` parameter, where it has one, says)",
    )
    params_schema: dict[str, Any] = Field(
        description="JSON schema of its parameters: decimals are strings (or integers), never JSON fractions"
    )


@router.get("/strategies", response_model=list[StrategyInfo])
def list_strategies(caller: CallerDep, box: Box) -> list[StrategyInfo]:
    """Every strategy installed, by name: what it does, its timeframe and its parameters' schema.
    Any authenticated caller may read it."""
    return [StrategyInfo(**described.plain()) for described in box.strategies().describe()]
