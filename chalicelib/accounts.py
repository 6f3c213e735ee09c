"""The account flows with rules of their own: login, refresh, logout, password change.

Routes call these; storage does the reads and the conditional writes.

Refresh-token rotation
----------------------
Each refresh token is single-use. Presenting the session's current token
rotates it (one conditional write, ``storage.sessions.rotate``) and answers a
new access token and the next refresh token. Presenting any other token the
server issued for the session is reuse: two parties hold the session's
tokens, so the session ends and the answer is 401.

One exception keeps an honest client from being stranded when the answer to
its refresh was lost (a timeout, a dropped connection, two tabs refreshing
at once): within ``REFRESH_GRACE_SECONDS`` of a rotation, the token it
replaced answers the *same* next refresh token again (which the server can
compute from it, see ``chalicelib.security``), with a fresh access token, as
long as that next token has not been used itself. No second token chain is
ever created, and after the grace period the old token is reuse like any
other. The OAuth 2.0 security best current practice allows this grace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from chalicelib import errors, security
from chalicelib.settings import get_settings
from chalicelib.storage import sessions, users
from chalicelib.storage.table import SessionItem, utcnow

NEW_ID_TRIES = 3


@dataclass(frozen=True)
class Tokens:
    """What login and refresh answer."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


# ---------------------------------------------------------------- login


def login(name: str, password: str, *, client: str, user_agent: str | None) -> Tokens:
    """Check the password and start a session; repeated failures from ``client`` lock it out.

    Two calls: one BatchGetItem (credentials and recent failures), one
    transaction (the session, and forgetting the failures if there were any).
    """
    state = users.login_state(name, client)
    now = int(time.time())
    if state.locked_until and state.locked_until > now:
        raise errors.TooManyRequests(state.locked_until - now)
    password_hash = state.credentials.password_hash if state.credentials else None
    if not security.verify_password(password, password_hash) or state.credentials is None:
        lock_seconds = users.record_failed_login(name, client)
        if lock_seconds:
            raise errors.TooManyRequests(lock_seconds)
        raise errors.InvalidCredentials()
    credentials = state.credentials
    for _ in range(NEW_ID_TRIES):
        session_id = sessions.new_session_id()
        refresh = security.new_refresh_token(credentials.user_id, session_id)
        try:
            session = sessions.start(
                credentials.user_id,
                session_id,
                refresh_hash=refresh.hash,
                user_agent=user_agent,
                lifetime=_refresh_lifetime(),
                login=name,
                password_hash=credentials.password_hash,
                forget_failures_of=client if state.failures else None,
            )
        except sessions.SessionIdTaken:
            continue
        except sessions.CredentialsChanged:
            raise errors.InvalidCredentials() from None
        return _tokens(session, refresh)
    raise errors.ServiceUnavailable()


# ---------------------------------------------------------------- refresh


def refresh(token: str) -> Tokens:
    """Rotate the session's refresh token (see the module's docstring).

    Two calls: a consistent GetItem of the session named by the token, and
    the conditional rotation. When the rotation loses (another refresh with
    the same token, a resend of one whose answer was lost, or the session
    ended meanwhile), the session is read once more and judged again.
    """
    presented = security.parse_refresh_token(token)
    if presented is None:
        raise errors.InvalidRefreshToken()
    for _ in range(2):
        session = sessions.get(presented.user_id, presented.session_id)
        if session is None:
            break
        following = security.next_refresh_token(presented)
        if session.refresh_hash == presented.hash:
            try:
                sessions.rotate(
                    session,
                    presented_hash=presented.hash,
                    next_hash=following.hash,
                    lifetime=_refresh_lifetime(),
                )
            except sessions.RotationLost:
                continue
            return _tokens(session, following)
        if session.refresh_hash == following.hash and _within_grace(session):
            return _tokens(session, following)
        sessions.end(presented.user_id, presented.session_id)
        break
    raise errors.InvalidRefreshToken()


def _within_grace(session: SessionItem) -> bool:
    return time.time() < session.rotated_at + get_settings().refresh_grace_seconds


# ---------------------------------------------------------------- ending sessions


def logout(user_id: int, session_id: int) -> None:
    """End the caller's session (already ended: nothing to do)."""
    sessions.end(user_id, session_id)


def end_session(user_id: int, session_id: int) -> None:
    """End one of the caller's sessions; another user's is not found."""
    if not sessions.end(user_id, session_id):
        raise errors.SessionNotFound()


def end_other_sessions(user_id: int, current_session_id: int) -> None:
    sessions.end_all(user_id, keep=current_session_id)


def change_password(
    user_id: int, current_session_id: int, current_password: str, new_password: str
) -> None:
    """Replace the password and end every session of the user but the caller's, together.

    Read the user and their other sessions (one Query of their partition),
    then one transaction changes the hash and deletes them: a failure
    anywhere changes nothing. A login that verified the old hash commits its session
    only while that hash is still current, so a login after the change
    starts no session; one that commits between the Query and the
    transaction (a login concurrent with the change) is not ended.
    """
    user, others = sessions.user_and_others(user_id, keep=current_session_id)
    if user is None:
        raise errors.NotAuthenticated("Could not validate credentials")
    if not security.verify_password(current_password, user.password_hash):
        raise errors.BadRequest("Current password is incorrect")
    left = users.change_password(user, security.hash_password(new_password), others)
    sessions.end_these(left)


# ---------------------------------------------------------------- tokens


def _tokens(session: SessionItem, refresh: security.RefreshToken) -> Tokens:
    """A new access token for the session, and ``refresh`` with the time it has left."""
    access_token, expires_in = security.issue_access_token(session.user_id, session.id)
    left = session.expires_at - utcnow() if session.expires_at else timedelta(0)
    return Tokens(access_token, expires_in, refresh.token, max(0, int(left.total_seconds())))


def _refresh_lifetime() -> timedelta:
    return timedelta(seconds=get_settings().refresh_token_ttl_seconds)
