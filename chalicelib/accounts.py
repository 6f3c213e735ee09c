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
from chalicelib.storage.engine import retry
from chalicelib.storage.table import SessionItem, utcnow

START_TRIES = 6  # of each: a new id after a clash; the eviction after racing logins (both rare)


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
    transaction (the session and its entry in the profile, forgetting the
    failures if there were any, and for a migrated user's first login the
    argon2id hash that replaces their bcrypt one). A user at the cap of
    live sessions (``UserItem.MAX_SESSIONS``) ends some to make room: their
    expired sessions, or else the least recently used one (two more calls,
    at the cap only). If two first logins of one migrated user race, the
    one whose upgrade lost checks the password again against the hash the
    other stored: two more calls, in that race only.
    """
    return retry(
        lambda: _login(name, password, client=client, user_agent=user_agent),
        again=lambda exc: isinstance(exc, _UpgradeLost),
        tries=2,  # the hash the loser reads is current: no upgrade to lose again
        pause=False,
    )


class _UpgradeLost(Exception):
    """The hash a login verified and was replacing was replaced first."""


def _login(name: str, password: str, *, client: str, user_agent: str | None) -> Tokens:
    state = users.login_state(name, client)
    now = int(time.time())
    if state.locked_until and state.locked_until > now:
        raise errors.TooManyRequests(state.locked_until - now)
    password_hash = state.credentials.password_hash if state.credentials else None
    matches, new_hash = security.check_password(password, password_hash)
    if not matches or state.credentials is None:
        lock_seconds = users.record_failed_login(name, client)
        if lock_seconds:
            raise errors.TooManyRequests(lock_seconds)
        raise errors.InvalidCredentials()
    credentials = state.credentials
    upgrade = users.hash_upgrade(credentials, new_hash) if new_hash else None
    forget = client if state.failures else None
    return _start_session(name, credentials, user_agent=user_agent, forget=forget, upgrade=upgrade)


def _start_session(
    name: str,
    credentials: users.Credentials,
    *,
    user_agent: str | None,
    forget: str | None,
    upgrade: users.HashUpgrade | None,
) -> Tokens:
    """Start the session: one transaction, or at the cap one Query and one more (eviction).

    At the cap the login reads which sessions to end (``sessions.eviction``)
    and starts its own ending them. If another login at the cap ended them
    first (logins racing there choose the same least recently used session),
    that start fails too: the eviction is read again and tried again, after
    a backoff (full jitter) so that the racers part and choose different ones.
    """

    def start(evicting: list[int]) -> Tokens:
        try:
            return _start_with_a_fresh_id(
                name, credentials, user_agent, forget, upgrade, evicting=evicting
            )
        except sessions.CredentialsChanged:
            if upgrade is not None:
                raise _UpgradeLost() from None
            raise errors.InvalidCredentials() from None

    def evict_and_start() -> Tokens:
        evicting = sessions.eviction(credentials.user_id)
        if evicting is None:  # the user is gone
            raise errors.InvalidCredentials()
        return start(evicting)

    try:
        return start([])
    except sessions.SessionLimitReached:
        pass
    return retry(
        evict_and_start,
        again=lambda exc: isinstance(exc, sessions.SessionLimitReached),
        tries=START_TRIES - 1,
        exhausted=errors.ServiceUnavailable,
    )


def _start_with_a_fresh_id(
    name: str,
    credentials: users.Credentials,
    user_agent: str | None,
    forget: str | None,
    upgrade: users.HashUpgrade | None,
    *,
    evicting: list[int],
) -> Tokens:
    """One ``sessions.start``, tried again at once with a new id on the rare clash."""

    def attempt() -> Tokens:
        session_id = sessions.new_session_id()
        refresh = security.new_refresh_token(credentials.user_id, session_id)
        session = sessions.start(
            credentials.user_id,
            session_id,
            refresh_hash=refresh.hash,
            user_agent=user_agent,
            lifetime=_refresh_lifetime(),
            login=name,
            password_hash=credentials.password_hash,
            forget_failures_of=forget,
            upgrade=upgrade,
            evicting=evicting,
        )
        return _tokens(session, refresh)

    return retry(
        attempt,
        again=lambda exc: isinstance(exc, sessions.SessionIdTaken),
        tries=START_TRIES,
        pause=False,
        exhausted=errors.ServiceUnavailable,
    )


# ---------------------------------------------------------------- refresh


def refresh(token: str) -> Tokens:
    """Rotate the session's refresh token (see the module's docstring).

    Two calls: a consistent BatchGetItem of the session named by the token
    and of its user's profile (which says whether it is live), and the
    conditional rotation. When the rotation loses (another refresh with the
    same token, a resend of one whose answer was lost, or the session ended
    meanwhile), the session is read once more and judged again.
    """
    presented = security.parse_refresh_token(token)
    if presented is None:
        raise errors.InvalidRefreshToken()
    return retry(
        lambda: _refresh_once(presented),
        again=lambda exc: isinstance(exc, sessions.RotationLost),
        tries=2,
        pause=False,
        exhausted=errors.InvalidRefreshToken,
    )


def _refresh_once(presented: security.RefreshToken) -> Tokens:
    """Judge ``presented`` against the session as read now; ``RotationLost`` if it changed."""
    session = sessions.get(presented.user_id, presented.session_id)
    if session is None:
        raise errors.InvalidRefreshToken()
    following = security.next_refresh_token(presented)
    if session.refresh_hash == presented.hash:
        sessions.rotate(
            session,
            presented_hash=presented.hash,
            next_hash=following.hash,
            lifetime=_refresh_lifetime(),
        )
        return _tokens(session, following)
    if session.refresh_hash == following.hash and _within_grace(session):
        return _tokens(session, following)
    sessions.end(presented.user_id, presented.session_id)
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
    """End every session of the caller but the current one: one write, however many."""
    try:
        sessions.end_all(user_id, keep=current_session_id)
    except sessions.SessionEnded:
        raise errors.NotAuthenticated("Could not validate credentials") from None


def change_password(
    user_id: int, current_session_id: int, current_password: str, new_password: str
) -> None:
    """Replace the password and end every session of the user but the caller's, together.

    Read the user (one GetItem), then one transaction changes the hash and
    sets the profile's live sessions to the caller's alone: a failure
    anywhere changes nothing, and the number of writes does not depend on
    the number of sessions. A login that verified the old hash commits its
    session only while that hash is still current, so a login after the
    change starts no session, and one that committed before it is ended by
    it. A change that loses a race (another change, or the caller's session
    ended meanwhile) reads the user once more to say which.
    """
    user = users.get_user(user_id)
    if user is None or current_session_id not in user.sessions:
        raise errors.NotAuthenticated("Could not validate credentials")
    if not security.verify_password(current_password, user.password_hash):
        raise errors.BadRequest("Current password is incorrect")
    try:
        users.change_password(user, security.hash_password(new_password), current_session_id)
    except users.PasswordChangeLost:
        now = users.get_user(user_id)
        if now is None or current_session_id not in now.sessions:
            raise errors.NotAuthenticated("Could not validate credentials") from None
        raise errors.Conflict("The password was changed by another request; try again") from None


# ---------------------------------------------------------------- tokens


def _tokens(session: SessionItem, refresh: security.RefreshToken) -> Tokens:
    """A new access token for the session, and ``refresh`` with the time it has left.

    The access token never outlives the session (whatever the stage's two
    lifetimes), which is why the authorizer need not check the session's
    expiry (``storage.session_check``).
    """
    left = session.expires_at - utcnow() if session.expires_at else timedelta(0)
    left_seconds = max(0, int(left.total_seconds()))
    access_token, expires_in = security.issue_access_token(
        session.user_id, session.id, at_most=left_seconds
    )
    return Tokens(access_token, expires_in, refresh.token, left_seconds)


def _refresh_lifetime() -> timedelta:
    return timedelta(seconds=get_settings().refresh_token_ttl_seconds)
