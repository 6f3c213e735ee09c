"""Sessions: one item per login, beside the user's profile.

Protocol
--------
* **Start** (login): one transaction that puts the session
  (``attribute_not_exists``: a clashing id is retried with a new one) and
  checks that the login name's claim item still holds the password hash the
  login verified. A password change that commits first makes the login fail
  instead of leaving a session the change did not see. After failed logins
  the same transaction forgets them.
* **Rotate** (refresh): one UpdateItem conditioned on ``refresh_hash`` being
  the presented token's hash and the session not having expired, never a
  read-then-write: of two refreshes with one token, at most one rotates, and
  a session deleted in between stays deleted (the condition fails on a
  missing item; UpdateItem would otherwise create it).
* **End**: delete the item. The authorizer's GetItem and the next refresh
  then find nothing. Ending all of a user's sessions (but one) is one Query
  of the user's ``SESSION#`` range, keys only, then BatchWriteItem deletes,
  25 a call; a password change puts the deletes in its own transaction
  (``users.change_password``), so the two happen together or not at all.
* Expired sessions linger until DynamoDB's TTL deletes them (up to a few
  days late), so every read checks ``expires_at`` too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib.storage.engine import (
    ConditionFailed,
    Transaction,
    condition_failed,
    item_or_none,
    new_id,
)
from chalicelib.storage.table import (
    EmailItem,
    LoginThrottleItem,
    SessionItem,
    TableItem,
    UserItem,
    UsernameItem,
    utcnow,
)

MAX_LISTED = 100
USER_AGENT_CHARS = 256


class SessionIdTaken(Exception):
    """A new session's id was already used in the user's partition (try another)."""


class CredentialsChanged(Exception):
    """The password changed between the login's read and its session's write."""


class RotationLost(Exception):
    """The session's current token is no longer the one presented, or it ended."""


def new_session_id() -> int:
    return new_id()


def start(
    user_id: int,
    session_id: int,
    *,
    refresh_hash: str,
    user_agent: str | None,
    lifetime: timedelta,
    login: str,
    password_hash: str,
    forget_failures_of: str | None = None,
) -> SessionItem:
    """Store a new session for a login that was checked against ``password_hash``.

    ``forget_failures_of``: the client address whose failed logins of
    ``login`` this success clears, in the same transaction.
    """
    session = SessionItem.new(
        user_id,
        session_id,
        refresh_hash=refresh_hash,
        user_agent=(user_agent or None) and user_agent[:USER_AGENT_CHARS],
        lifetime=lifetime,
    )
    claim: type[UsernameItem] | type[EmailItem] = EmailItem if "@" in login else UsernameItem
    tx = Transaction()
    tx.check("credentials", claim, claim.key(login), claim.password_hash == password_hash)
    tx.put("session", session, condition=SessionItem.pk.does_not_exist())
    if forget_failures_of is not None:
        throttle = LoginThrottleItem(*LoginThrottleItem.key(login, forget_failures_of))
        tx.delete("throttle", throttle)
    try:
        tx.commit()
    except ConditionFailed as exc:
        if "credentials" in exc.labels:
            raise CredentialsChanged() from exc
        raise SessionIdTaken() from exc
    return session


def get(user_id: int, session_id: int) -> SessionItem | None:
    """The session, if it exists and has not expired (one consistent GetItem)."""
    session: SessionItem | None = item_or_none(SessionItem, SessionItem.key(user_id, session_id))
    if session is None or not session.is_live(utcnow()):
        return None
    return session


def rotate(
    session: SessionItem, *, presented_hash: str, next_hash: str, lifetime: timedelta
) -> None:
    """Make ``next_hash`` current if ``presented_hash`` still is; else ``RotationLost``."""
    now = utcnow()
    try:
        session.update(
            [
                SessionItem.refresh_hash.set(next_hash),
                SessionItem.rotated_at.set(int(now.timestamp())),
                SessionItem.last_used_at.set(now),
                SessionItem.expires_at.set(now + lifetime),
            ],
            condition=(SessionItem.refresh_hash == presented_hash) & (SessionItem.expires_at > now),
        )
    except UpdateError as exc:
        if condition_failed(exc):
            raise RotationLost() from exc
        raise


def end(user_id: int, session_id: int) -> bool:
    """Delete the session; ``False`` if there was no live one."""
    session = SessionItem(*SessionItem.key(user_id, session_id))
    try:
        session.delete(condition=SessionItem.expires_at > utcnow())
    except DeleteError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def list_live(user_id: int) -> list[SessionItem]:
    """The user's live sessions, newest first, at most ``MAX_LISTED`` (one Query)."""
    now = utcnow()
    found = SessionItem.query(
        SessionItem.partition(user_id),
        SessionItem.sk.startswith(SessionItem.PREFIX),
        scan_index_forward=False,
        consistent_read=True,
        limit=MAX_LISTED,
    )
    return [session for session in found if session.is_live(now)]


def end_all(user_id: int, *, keep: int | None = None) -> int:
    """End every session of the user but ``keep``; how many were ended.

    One Query (a page holds about 3,000 session keys; more pages only past
    that) and one BatchWriteItem per 25 sessions.
    """
    return end_these(others(user_id, keep=keep))


def others(user_id: int, *, keep: int | None = None) -> list[SessionItem]:
    """The keys of every session of the user but ``keep`` (one keys-only Query)."""
    return [session for session in _sessions_of(user_id) if session.id != keep]


def user_and_others(user_id: int, *, keep: int) -> tuple[UserItem | None, list[SessionItem]]:
    """The user's profile and every session of theirs but ``keep``, in one Query.

    Both live in the user's partition, and the profile (``PROFILE``) sorts
    just before the sessions (``SESSION#...``), so one consistent Query from
    the one through the other reads them together.
    """
    partition, profile_sk = UserItem.key(user_id)
    user: UserItem | None = None
    others: list[SessionItem] = []
    for item in TableItem.query(  # the base model: a subclass's Query filters on its kind
        partition,
        TableItem.sk.between(profile_sk, f"{SessionItem.PREFIX}~"),
        consistent_read=True,
    ):
        if isinstance(item, UserItem):
            user = item
        elif isinstance(item, SessionItem) and item.id != keep:
            others.append(item)
    return user, others


def end_these(ending: Sequence[SessionItem]) -> int:
    """Delete these sessions, 25 a BatchWriteItem (none for an empty list)."""
    with SessionItem.batch_write() as batch:
        for session in ending:
            batch.delete(session)
    return len(ending)


def _sessions_of(user_id: int) -> Iterator[SessionItem]:
    yield from SessionItem.query(
        SessionItem.partition(user_id),
        SessionItem.sk.startswith(SessionItem.PREFIX),
        consistent_read=True,
        attributes_to_get=["pk", "sk", "id", "kind"],
    )
