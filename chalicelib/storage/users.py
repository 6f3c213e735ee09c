"""Users, and the marker items that keep usernames and e-mails unique."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib import failures
from chalicelib.storage.engine import (
    ConditionFailed,
    RaceLost,
    Transaction,
    batch_get,
    condition_failed,
    item_or_none,
    new_id,
    retry_on_race,
    with_fresh_ids,
)
from chalicelib.storage.table import (
    ClaimItem,
    EmailItem,
    LoginThrottleItem,
    SessionsEndedItem,
    UserItem,
    UsernameItem,
    utcnow,
)

FAILURE_WINDOW_SECONDS = 15 * 60
FREE_FAILURES = 5
FIRST_LOCK_SECONDS = 30
MAX_LOCK_SECONDS = 15 * 60


@dataclass(frozen=True)
class Credentials:
    user_id: int
    password_hash: str
    names: tuple[str, str] | None = None  # (username, email) of a migrated user


def create_user(fields: dict[str, Any], password_hash: str) -> UserItem:
    """Store a new user and claim its username and e-mail, all or nothing.

    One transaction: the user plus two marker items, each written only if
    absent. Two signups racing for one name: exactly one commits.
    """

    def attempt() -> UserItem:
        user_id = new_id()
        now = utcnow()
        user = UserItem.new(user_id, fields, password_hash, created_at=now, updated_at=now)
        tx = Transaction()
        tx.put("user", user, condition=UserItem.pk.does_not_exist())
        _claim(tx, UsernameItem, "username", fields["username"], user_id, password_hash)
        _claim(tx, EmailItem, "email", fields["email"], user_id, password_hash)
        _commit_claims(tx)
        return user

    return with_fresh_ids(attempt, clash_label="user")


def get_user(user_id: int) -> UserItem | None:
    user: UserItem | None = item_or_none(UserItem, UserItem.key(user_id))
    return user


@dataclass(frozen=True)
class LoginState:
    credentials: Credentials | None
    failures: int
    locked_until: int | None


def login_state(login: str, client: str) -> LoginState:
    """Who ``login`` names, their hash, and recent failures: one BatchGetItem.

    ``login`` is a username or an e-mail (usernames cannot contain ``@``, so
    the two never overlap). Both items are read consistently: a user who
    has just signed up can log in at once.
    """
    marker = ClaimItem.of_login(login)
    keys = [marker.key(login), LoginThrottleItem.key(login, client)]
    credentials, failures, locked_until = None, 0, None
    for item in batch_get(keys):
        if isinstance(item, ClaimItem):
            names = (item.username, item.email) if item.username and item.email else None
            credentials = Credentials(item.user_id, item.password_hash, names)
        elif isinstance(item, LoginThrottleItem) and item.expires_at and item.expires_at > utcnow():
            failures, locked_until = item.failures or 0, item.locked_until
    return LoginState(credentials, failures, locked_until)


def record_failed_login(login: str, client: str) -> int | None:
    """Count a failure; past ``FREE_FAILURES`` lock the pair, doubling each time.

    Returns the lock's length in seconds if this failure set one. The
    count is forgotten ``FAILURE_WINDOW_SECONDS`` after the last failure and
    a lock never lasts more than ``MAX_LOCK_SECONDS``, so nobody is locked
    out for long.
    """
    now = _now()
    failure_id = uuid.uuid4().hex
    throttle = LoginThrottleItem(*LoginThrottleItem.key(login, client))
    try:
        throttle.update(
            [
                LoginThrottleItem.kind.set(LoginThrottleItem),
                LoginThrottleItem.failures.add(1),
                LoginThrottleItem.expires_at.set(
                    utcnow() + timedelta(seconds=FAILURE_WINDOW_SECONDS)
                ),
                LoginThrottleItem.last_failure_id.set(failure_id),
            ],
            condition=_not_counted_yet(failure_id),
        )
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        counted = item_or_none(LoginThrottleItem, LoginThrottleItem.key(login, client))
        if counted is None:  # expired (TTL) since this failure was counted: nothing to lock
            return None
        throttle = counted
    excess = int(throttle.failures or 0) - FREE_FAILURES
    if excess <= 0:
        return None
    lock_seconds = min(MAX_LOCK_SECONDS, FIRST_LOCK_SECONDS << (excess - 1))
    throttle.update([LoginThrottleItem.locked_until.set(now + lock_seconds)])
    return lock_seconds


def _not_counted_yet(failure_id: str) -> Condition:
    """Count this failure only once, even when botocore resends the update.

    botocore resends an UpdateItem whose answer was lost (a timeout, a 500);
    if the first one had landed, ``ADD failures 1`` would count the failure
    twice. The update carries the failure's id and is conditioned on the
    item not already holding it, so the resend fails instead, and the count
    is read back.
    """
    counted: Condition = LoginThrottleItem.last_failure_id.does_not_exist() | (
        LoginThrottleItem.last_failure_id != failure_id
    )
    return counted


@dataclass(frozen=True)
class HashUpgrade:
    """A new hash for a password just verified against an outdated one (a migrated bcrypt).

    Added to the login's transaction (``sessions.start``), so login stays
    two calls: it replaces ``old`` on both claims, each only while it still
    holds ``old``, and on the profile (whose update the login's transaction
    makes anyway, adding the session; the three hashes only ever change
    together, so the claims' condition covers it), and removes the names a
    migrated user's claims carry (they are there for this write only).
    """

    user_id: int
    old: str
    new: str
    names: tuple[str, str]  # username, e-mail

    def profile_actions(self) -> list[Action]:
        return [UserItem.password_hash.set(self.new)]

    def add_claims_to(self, tx: Transaction, label: str) -> None:
        markers: tuple[type[ClaimItem], ...] = (UsernameItem, EmailItem)
        for marker, value in zip(markers, self.names, strict=True):
            actions = [
                marker.password_hash.set(self.new),
                marker.username.remove(),
                marker.email.remove(),
            ]
            guard = (marker.user_id == self.user_id) & (marker.password_hash == self.old)
            tx.update(label, marker(*marker.key(value)), actions, guard)


def hash_upgrade(credentials: Credentials, new_hash: str) -> HashUpgrade | None:
    """The upgrade of ``credentials`` to ``new_hash``; ``None`` if the user is gone.

    A migrated user's claims name both claims. One whose claims carry no
    names (a hash outdated by a future change of argon2 parameters) is read
    first: one more call, on that user's next login only.
    """
    names = credentials.names
    if names is None:
        user = get_user(credentials.user_id)
        if user is None:
            return None
        names = (user.username, user.email)
    return HashUpgrade(credentials.user_id, credentials.password_hash, new_hash, names)


def _now() -> int:
    return int(time.time())


def update_profile(user_id: int, changes: dict[str, Any]) -> UserItem:
    """Apply ``changes``; move the username/e-mail markers if those change.

    Read the user, then one transaction that is conditional on the user not
    having changed since (``updated_at``), claims any new name with
    ``attribute_not_exists`` and releases the old one. Two calls.
    """

    def attempt() -> UserItem:
        user = get_user(user_id)
        if user is None:
            raise failures.UserNotFound()
        if not changes:
            return user
        seen = user.updated_at
        tx = Transaction()
        for field, marker in (("username", UsernameItem), ("email", EmailItem)):
            new_value = changes.get(field)
            old_value = getattr(user, field)
            if new_value is not None and new_value.lower() != old_value.lower():
                _claim(tx, marker, field, new_value, user_id, user.password_hash)
                old_marker = marker(*marker.key(old_value))
                tx.delete(f"release_{field}", old_marker, marker.user_id == user_id)
        now = utcnow()
        actions = [getattr(UserItem, name).set(value) for name, value in changes.items()]
        actions.append(UserItem.updated_at.set(now))
        tx.update("user", user, actions, condition=UserItem.updated_at == seen)
        try:
            _commit_claims(tx)
        except ConditionFailed as exc:
            raise RaceLost() from exc
        for name, value in changes.items():
            setattr(user, name, value)
        user.updated_at = now
        return user

    return retry_on_race(attempt)


class PasswordChangeLost(Exception):
    """The hash read was replaced first, or the session to keep has ended meanwhile."""


def change_password(user: UserItem, password_hash: str, keep: int | None = None) -> None:
    """Replace the hash on the user and on both claims, if it is still the one read, and
    end every session of the user but ``keep`` (``None``: every one), in one transaction.

    The caller has read ``user`` and checked the current password against
    it; the condition makes a concurrent change of password lose cleanly
    (``PasswordChangeLost``), and so does the end of ``keep`` in between
    (an ended session does not come back). Ending the sessions is the
    profile's ``sessions`` set to ``keep`` alone, in the same update as the
    hash, plus the ``SessionsEndedItem`` marker: four items written, however
    many sessions the user has (``storage.sessions``).
    """
    guard = UserItem.password_hash == user.password_hash
    if keep is not None:
        guard &= UserItem.session_entry(keep).exists()
    tx = Transaction()
    actions = [UserItem.password_hash.set(password_hash), UserItem.updated_at.set(utcnow())]
    tx.update("user", user, [*actions, UserItem.keeping_only(keep)], condition=guard)
    for marker, value in ((UsernameItem, user.username), (EmailItem, user.email)):
        tx.update(
            marker.__name__,
            marker(*marker.key(value)),
            [marker.password_hash.set(password_hash)],
            condition=marker.user_id == user.id,
        )
    tx.put("sessions ended", SessionsEndedItem.new(user.id))
    try:
        tx.commit()
    except ConditionFailed as exc:
        raise PasswordChangeLost() from exc


def _claim(
    tx: Transaction,
    marker: type[ClaimItem],
    label: str,
    value: str,
    user_id: int,
    password_hash: str,
) -> None:
    tx.put(label, marker.new(value, user_id, password_hash), condition=marker.pk.does_not_exist())


def _commit_claims(tx: Transaction) -> None:
    """Commit; a failed claim becomes the contract's 409."""
    try:
        tx.commit()
    except ConditionFailed as exc:
        if "username" in exc.labels:
            raise failures.NameTaken("username") from exc
        if "email" in exc.labels:
            raise failures.NameTaken("email") from exc
        raise
