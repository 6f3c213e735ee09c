"""Sessions: one item per login beside the user's profile, and the profile's set of live ones.

Where the truth is
------------------
A session is live while its id is in its user's profile map ``sessions``
(``UserItem.sessions``) and its item has not expired. The item
(``USER#<id>`` / ``SESSION#<id>``) holds what the list shows and the current
refresh token's hash; the map entry is what makes it live. So ending any
number of sessions is one write to the profile, and deleting the profile
ends them all. The authorizer reads only the map entry
(``session_check``); refresh reads both.

A user has at most ``UserItem.MAX_SESSIONS`` live sessions: the profile,
which the authorizer reads whole, stays within one read unit.

Protocol
--------
* **Start** (login): one transaction that puts the session item
  (``attribute_not_exists``: a clashing id is retried with a new one), adds
  its entry to the map on condition that the map has room
  (``size(sessions) < MAX_SESSIONS``, which also fails on a missing
  profile), and checks that the login name's claim item still holds the
  password hash the login verified (a password change that commits first
  makes the login fail instead of leaving a session the change did not
  see). After failed logins the same transaction forgets them; a migrated
  user's first login replaces their outdated hash in it too
  (``users.HashUpgrade``). At the cap (``SessionLimitReached``) the caller
  reads the partition once (``eviction``) and starts again evicting: the
  victims' entries are removed and their items deleted in the new session's
  transaction, on condition that the entries are still there.
* **Rotate** (refresh): one UpdateItem of the session item conditioned on
  ``refresh_hash`` being the presented token's hash and the session not
  having expired, never a read-then-write: of two refreshes with one
  token, at most one rotates, and a session whose item was deleted in
  between stays deleted (the condition fails on a missing item). It is
  read first with its profile (``get``, one BatchGetItem), so an ended
  session is refused. A rotation that races an "end all" and lands after
  it mints tokens for a session the map no longer lists: the authorizer and
  the next refresh refuse them, as they would had the end come first.
* **End one** (logout, ``DELETE /users/me/sessions/{id}``, a reused
  refresh token): one transaction that removes the entry (on condition it
  is there) and deletes the unexpired item.
* **End all but one** (``DELETE /users/me/sessions``; a password change,
  in its own transaction, ``users.change_password``): one transaction that
  sets the map to the one kept, on condition that it is still there (an
  ended caller does not come back), and puts the ``SessionsEndedItem``
  marker. Two items written, whatever the number of sessions. The other
  sessions' items are then stale: every read ignores them, and the stream
  consumer deletes them (``session_cleanup``), on the marker's record.
* Expired sessions linger until DynamoDB's TTL deletes their items (up to a
  few days late), so every read checks ``expires_at`` too; their entries go
  when a login at the cap evicts them (expired ones first).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition, size
from pynamodb.expressions.update import Action

from chalicelib.storage.engine import (
    ConditionFailed,
    Transaction,
    batch_get,
    condition_failed,
    new_id,
    updated,
)
from chalicelib.storage.table import (
    ClaimItem,
    LoginThrottleItem,
    SessionItem,
    SessionsEndedItem,
    TableItem,
    UserItem,
    utcnow,
)
from chalicelib.storage.users import HashUpgrade

USER_AGENT_CHARS = 256
# A login at the cap evicts every expired session at once, up to this many (its
# transaction holds 100 actions), or else the least recently used one.
MAX_EVICTED = 50


class SessionIdTaken(Exception):
    """A new session's id was already used in the user's partition (try another)."""


class CredentialsChanged(Exception):
    """The password changed between the login's read and its session's write."""


class SessionLimitReached(Exception):
    """The user's profile lists ``MAX_SESSIONS`` sessions already (or the user is gone)."""


class RotationLost(Exception):
    """The session's current token is no longer the one presented, or it ended."""


class SessionEnded(Exception):
    """The session to keep has ended (or its user is gone)."""


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
    upgrade: HashUpgrade | None = None,
    evicting: Sequence[int] = (),
) -> SessionItem:
    """Store a new session for a login that was checked against ``password_hash``.

    ``forget_failures_of``: the client address whose failed logins of
    ``login`` this success clears, in the same transaction. ``upgrade``:
    the hash that replaces ``password_hash``, in the same transaction too,
    on the same condition. ``evicting``: sessions to end to make room
    (``eviction``).
    """
    session = SessionItem.new(
        user_id,
        session_id,
        refresh_hash=refresh_hash,
        user_agent=(user_agent or None) and user_agent[:USER_AGENT_CHARS],
        lifetime=lifetime,
    )
    claim = ClaimItem.of_login(login)
    tx = Transaction()
    if upgrade is None:
        tx.check("credentials", claim, claim.key(login), claim.password_hash == password_hash)
    else:
        upgrade.add_claims_to(tx, "credentials")
    tx.put("session", session, condition=SessionItem.pk.does_not_exist())
    actions: list[Action] = [UserItem.session_entry(session_id).set(True)]
    actions += [UserItem.session_entry(victim).remove() for victim in evicting]
    actions += upgrade.profile_actions() if upgrade is not None else []
    tx.update("profile", UserItem(*UserItem.key(user_id)), actions, _room_for_one(evicting))
    for victim in evicting:
        tx.delete(f"evicted {victim}", SessionItem(*SessionItem.key(user_id, victim)))
    if forget_failures_of is not None:
        throttle = LoginThrottleItem(*LoginThrottleItem.key(login, forget_failures_of))
        tx.delete("throttle", throttle)
    try:
        _commit_listing_if_unlisted(tx, user_id)
    except ConditionFailed as exc:
        if "credentials" in exc.labels:
            raise CredentialsChanged() from exc
        if "profile" in exc.labels:
            raise SessionLimitReached() from exc
        raise SessionIdTaken() from exc
    return session


def _commit_listing_if_unlisted(tx: Transaction, user_id: int) -> None:
    """Commit ``tx``; if DynamoDB refused it because the profile has no map yet, make one
    and commit again (with a new token: it is a new request)."""
    try:
        tx.commit()
    except TransactWriteError:
        if not start_listing(user_id):
            raise
        tx.token = str(uuid.uuid4())
        tx.commit()


def _room_for_one(evicting: Sequence[int]) -> Condition:
    """The map has room for one more once ``evicting`` (all still listed) are gone."""
    listed = size(UserItem.sessions)  # type: ignore[no-untyped-call]  # PynamoDB's is untyped
    room: Condition = listed < UserItem.MAX_SESSIONS + len(evicting)
    for victim in evicting:
        room &= UserItem.session_entry(victim).exists()
    return room


def start_listing(user_id: int) -> bool:
    """Give a profile written before sessions were listed on it an empty ``sessions`` map.

    A login adds its entry by its path in the map, which DynamoDB refuses
    while the map does not exist: ``start`` then calls this and tries once
    more, so such a user's first login costs two more calls, and ``make
    backfill`` spares them. One conditional UpdateItem; ``False`` when it
    changed nothing (the map exists, or the profile is gone).
    """
    profile = UserItem(*UserItem.key(user_id))
    unlisted = UserItem.pk.exists() & UserItem.sessions.does_not_exist()
    return updated(profile, [UserItem.listing_sessions()], unlisted)


def eviction(user_id: int) -> list[int] | None:
    """The sessions a login at the cap ends to make room: one consistent Query.

    Every listed session that has expired (its item may be gone already,
    deleted by TTL), up to ``MAX_EVICTED``; if none has, the least recently
    used one (the oldest ``last_used_at``: the last login or refresh). An
    empty list: there is room again (a session ended meanwhile). ``None``:
    the user is gone.
    """
    found = partition(user_id)
    if found.profile is None:
        return None
    listed = found.profile.sessions
    if len(listed) < UserItem.MAX_SESSIONS:
        return []
    now = utcnow()
    items = {session.id: session for session in found.sessions}
    expired = sorted(i for i in listed if i not in items or not items[i].is_live(now))
    if expired:
        return expired[:MAX_EVICTED]
    oldest = min((items[i] for i in listed), key=lambda s: (s.last_used_at, s.id))
    return [oldest.id]


def get(user_id: int, session_id: int) -> SessionItem | None:
    """The session, if its profile lists it and it has not expired (one BatchGetItem).

    Both items are read consistently: the session item (the refresh hash)
    and the profile (is it live?).
    """
    session: SessionItem | None = None
    profile: UserItem | None = None
    for item in batch_get([SessionItem.key(user_id, session_id), UserItem.key(user_id)]):
        if isinstance(item, SessionItem):
            session = item
        elif isinstance(item, UserItem):
            profile = item
    if session is None or profile is None or session_id not in profile.sessions:
        return None
    return session if session.is_live(utcnow()) else None


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
    """End one session: its entry and its item, in one transaction; ``False`` if not live."""
    tx = Transaction()
    entry = UserItem.session_entry(session_id)
    tx.update("profile", UserItem(*UserItem.key(user_id)), [entry.remove()], entry.exists())
    session = SessionItem(*SessionItem.key(user_id, session_id))
    tx.delete("session", session, SessionItem.expires_at > utcnow())
    try:
        tx.commit()
    except ConditionFailed:
        return False
    return True


def end_all(user_id: int, *, keep: int) -> None:
    """End every session of the user but ``keep``: two items written, however many there are.

    ``SessionEnded`` if ``keep`` itself has ended (nothing is written).
    """
    tx = Transaction()
    profile = UserItem(*UserItem.key(user_id))
    still_live = UserItem.session_entry(keep).exists()
    tx.update("profile", profile, [UserItem.keeping_only(keep)], still_live)
    tx.put("sessions ended", SessionsEndedItem.new(user_id))
    try:
        tx.commit()
    except ConditionFailed as exc:
        raise SessionEnded() from exc


@dataclass(frozen=True)
class Partition:
    """A user's profile (``None``: no such user) and every session item of theirs."""

    profile: UserItem | None
    sessions: list[SessionItem]

    def live(self) -> list[SessionItem]:
        """The sessions the profile lists that have not expired, newest first."""
        listed = self.profile.sessions if self.profile is not None else frozenset()
        now = utcnow()
        found = [s for s in self.sessions if s.id in listed and s.is_live(now)]
        return sorted(found, key=lambda session: session.id, reverse=True)

    def stale(self) -> list[SessionItem]:
        """The session items the profile no longer lists (ended together, or their user gone)."""
        listed = self.profile.sessions if self.profile is not None else frozenset()
        return [session for session in self.sessions if session.id not in listed]


def partition(user_id: int) -> Partition:
    """The user's profile and session items, in one consistent Query.

    Both live in the user's partition, and the profile (``PROFILE``) sorts
    just before the sessions (``SESSION#...``), so one Query from the one
    through the other reads them together (and nothing else: the
    ``SESSIONS_ENDED`` marker sorts after them). It reads the live sessions
    (at most ``MAX_SESSIONS``), the expired ones TTL has not deleted yet, and
    the stale ones the stream consumer has not deleted yet.
    """
    profile_sk = UserItem.key(user_id)[1]
    profile: UserItem | None = None
    found: list[SessionItem] = []
    for item in TableItem.query(  # the base model: a subclass's Query filters on its kind
        SessionItem.partition(user_id),
        TableItem.sk.between(profile_sk, f"{SessionItem.PREFIX}~"),
        consistent_read=True,
    ):
        if isinstance(item, UserItem):
            profile = item
        elif isinstance(item, SessionItem):
            found.append(item)
    return Partition(profile, found)


def list_live(user_id: int) -> list[SessionItem]:
    """The user's live sessions, newest first (one Query)."""
    return partition(user_id).live()
