"""The JWT authorizer, and how a view learns who is calling.

Why the authorizer allows every route even for a bad token
----------------------------------------------------------
A Chalice built-in authorizer can only say "allow these routes" or raise.
Allowing no routes is a 403 (API Gateway, ``chalice local`` and the test
client alike), and raising crashes ``chalice local`` and the test client
(only deployed API Gateway turns it into a 401). The contract wants 401 with
``WWW-Authenticate: Bearer`` for every bad token, everywhere.

So the authorizer *authenticates* and the route *enforces*: it checks the
token, and that the session it names is still live (one strongly consistent
GetItem, ``storage.session_check``), and returns a policy for all routes
carrying either the caller's user and session ids or the reason the token
was refused. Every protected
route is registered through ``chalicelib.http.endpoint(authenticated=True)``,
which attaches this authorizer and answers 401 unless the context names a
user with an unexpired token. A policy for all routes is also what API
Gateway's per-token cache needs: it reuses one result for every route.
That cache is why an ended session's access tokens may keep working for up
to ``CACHE_SECONDS`` deployed; ``chalice local`` and the tests' client do not
cache, so there they fail at once.

When DynamoDB cannot say whether the session is live, the token is not
accepted: the route answers 503 with ``Retry-After`` (fail closed, but not a
401 that would send the client to log in again).

A request with no ``Authorization`` header at all never reaches the
authorizer: API Gateway answers it, with the gateway response the deploy
template shapes into the contract's 401 (``chalicelib.gateway``; the dev
server and the tests' client in ``devtools/`` apply the same responses).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from chalice.app import AuthRequest, AuthResponse, Blueprint

from chalicelib import errors, security
from chalicelib.settings import refuse_to_start_if_misconfigured
from chalicelib.storage import session_check

refuse_to_start_if_misconfigured()
bp = Blueprint(__name__)

ANONYMOUS = "anonymous"
BEARER = "bearer"
CACHE_SECONDS = 60
SESSION_CHECK_FAILED = "SessionCheckFailed"


@bp.authorizer(name="jwt_authorizer", ttl_seconds=CACHE_SECONDS)
def jwt_authorizer(auth_request: AuthRequest) -> AuthResponse:
    context = authenticate(auth_request.token)
    principal = str(context.get("user_id", ANONYMOUS))
    return AuthResponse(routes=["*"], principal_id=principal, context=context)


def authenticate(authorization: str | None) -> dict[str, Any]:
    """The authorizer context for an ``Authorization`` header value."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != BEARER or not token.strip():
        return {"auth_error": "MalformedAuthorizationHeader"}
    try:
        claims = security.decode_access_token(token.strip())
    except security.InvalidToken as exc:
        return {"auth_error": str(exc)}
    user_id, session_id = int(claims["sub"]), int(claims["sid"])
    try:
        live = session_check.is_live(user_id, session_id)
    except session_check.SessionCheckFailed:
        return {"auth_error": SESSION_CHECK_FAILED}
    if not live:
        return {"auth_error": "SessionEnded"}
    return {"user_id": user_id, "session_id": session_id, "expires_at": int(claims["exp"])}


def user_id_from_context(context: Mapping[str, Any]) -> int:
    """The caller's id, or ``NotAuthenticated`` (401).

    The expiry is checked again here because API Gateway caches an
    authorizer result for its TTL, which may outlive the token.
    """
    claims = context.get("authorizer") or {}
    if claims.get("auth_error") == SESSION_CHECK_FAILED:
        raise errors.ServiceUnavailable()
    user_id = claims.get("user_id")
    expires_at = claims.get("expires_at")
    if user_id is None or expires_at is None or int(expires_at) <= time.time():
        raise errors.NotAuthenticated("Could not validate credentials")
    return int(user_id)


def session_id_from_context(context: Mapping[str, Any]) -> int:
    """The caller's session id (call after ``user_id_from_context`` accepted the caller)."""
    session_id = (context.get("authorizer") or {}).get("session_id")
    if session_id is None:
        raise errors.NotAuthenticated("Could not validate credentials")
    return int(session_id)


def logged_user_id(context: Mapping[str, Any]) -> int | None:
    """The caller's id for the access log, if the authorizer accepted one."""
    user_id = (context.get("authorizer") or {}).get("user_id")
    return int(user_id) if user_id is not None else None
