"""Sessions: the refresh request and the session list."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from chalicelib.schemas import RequestModel, ResponseModel, Timestamp

MAX_REFRESH_TOKEN_CHARS = 256


class RefreshRequest(RequestModel):
    """JSON ``{"refresh_token"}``, or OAuth2's form ``grant_type=refresh_token&refresh_token=``."""

    grant_type: Literal["refresh_token"] | None = None
    refresh_token: Annotated[str, Field(min_length=1, max_length=MAX_REFRESH_TOKEN_CHARS)]


class SessionPublic(ResponseModel):
    id: int
    created_at: Timestamp
    last_used_at: Annotated[Timestamp, Field(description="the last login or refresh")]
    user_agent: str | None
    current: Annotated[bool, Field(description="the session of the token that asked")]
