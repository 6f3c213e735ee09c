"""Sessions: refreshing tokens, logging out, listing and ending the caller's sessions."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import accounts, auth, errors
from chalicelib.http import ResponseSpec, empty_response, endpoint, json_response
from chalicelib.presenters import public_session, public_tokens
from chalicelib.schemas.sessions import RefreshRequest, SessionPublic
from chalicelib.schemas.users import Token
from chalicelib.storage import sessions

bp = Blueprint(__name__)

FORM_OR_JSON = ["application/x-www-form-urlencoded", "application/json"]
TAGS = ["Sessions"]
ENDED = ResponseSpec(description="The session has ended")


@endpoint(
    bp,
    "/token/refresh",
    methods=["POST"],
    content_types=FORM_OR_JSON,
    body=RefreshRequest,
    responses={200: Token},
    errors=[errors.InvalidRefreshToken],
    summary="Refresh tokens",
    tags=TAGS,
)
def refresh(body: RefreshRequest) -> Response:
    """Exchange a refresh token for a new access token and a new refresh token.

    Single-use: a refresh token that was already used ends its session. The
    same token presented again within a few seconds (its answer was lost)
    gets the same new refresh token back. JSON or OAuth2's form
    (``grant_type=refresh_token``).
    """
    return json_response(public_tokens(accounts.refresh(body.refresh_token)))


@endpoint(
    bp,
    "/logout",
    methods=["POST"],
    authenticated=True,
    responses={204: ENDED},
    summary="Log out",
    tags=TAGS,
)
def logout(user_id: int) -> Response:
    """End the caller's session: its refresh token and access tokens stop working."""
    accounts.logout(user_id, _current_session())
    return empty_response()


@endpoint(
    bp,
    "/users/me/sessions",
    methods=["GET"],
    authenticated=True,
    responses={200: ResponseSpec(list[SessionPublic], "The caller's live sessions, newest first")},
    summary="List my sessions",
    tags=TAGS,
)
def list_sessions(user_id: int) -> Response:
    """The caller's live sessions, newest first (at most 100)."""
    current = _current_session()
    return json_response([public_session(s, current) for s in sessions.list_live(user_id)])


@endpoint(
    bp,
    "/users/me/sessions",
    methods=["DELETE"],
    authenticated=True,
    responses={204: ResponseSpec(description="Every other session has ended")},
    summary="End my other sessions",
    tags=TAGS,
)
def end_other_sessions(user_id: int) -> Response:
    """End every session of the caller but the current one."""
    accounts.end_other_sessions(user_id, _current_session())
    return empty_response()


@endpoint(
    bp,
    "/users/me/sessions/{session_id}",
    methods=["DELETE"],
    authenticated=True,
    responses={204: ENDED},
    errors=[errors.SessionNotFound],
    summary="End a session",
    tags=TAGS,
)
def end_session(user_id: int, session_id: int) -> Response:
    """End one of the caller's sessions (the current one too: that is a logout)."""
    accounts.end_session(user_id, session_id)
    return empty_response()


def _current_session() -> int:
    return auth.session_id_from_context(bp.current_request.context)
