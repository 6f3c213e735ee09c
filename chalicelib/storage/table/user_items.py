"""The users' entities: profiles, the claims on login names, and failed-login throttles."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Self

from pynamodb.attributes import Attribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.constants import MAP
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action

from chalicelib.storage import session_check
from chalicelib.storage.table.base import IntegerAttribute, TableItem


class SessionIdsAttribute(Attribute[frozenset[int]]):
    """A set of session ids stored as a map ``{"<id>": true}``.

    A map, not a number set: one entry can be added or removed by its path
    (``sessions.<id>``), conditioned on its existence, and read alone by a
    projection, which is what the authorizer's one GetItem needs.
    """

    attr_type = MAP

    def serialize(self, value: frozenset[int]) -> dict[str, Any]:
        return {session_check.map_key(i): {"BOOL": True} for i in value}

    def deserialize(self, value: dict[str, Any]) -> frozenset[int]:
        return frozenset(int(key) for key in value)


class UserItem(TableItem, discriminator="user"):
    """A user's profile. ``pk = USER#<id>``, ``sk = PROFILE``.

    ``sessions`` is the set of the user's live sessions, the truth that the
    authorizer and refresh read (``session_check``): login adds its session,
    ending one removes it, ending all others sets it to the caller's alone.
    At most ``MAX_SESSIONS`` entries, so that the profile, read whole by the
    authorizer's GetItem, stays within one read unit (4 KB) even with every
    field at its longest (``tests/test_session_cap.py`` computes the size).
    """

    id = IntegerAttribute()
    username = UnicodeAttribute()
    email = UnicodeAttribute()
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    phone_number = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    sessions = SessionIdsAttribute(attr_name=session_check.SESSIONS_MAP, default=frozenset)

    MAX_SESSIONS: ClassVar[int] = 100

    @staticmethod
    def key(user_id: int) -> tuple[str, str]:
        return session_check.profile_key(user_id)

    @classmethod
    def new(
        cls,
        user_id: int,
        fields: dict[str, Any],
        password_hash: str,
        *,
        created_at: datetime,
        updated_at: datetime,
    ) -> UserItem:
        """A profile (signup, and the migration): ``fields`` are the user's own details."""
        return cls(
            *cls.key(user_id),
            id=user_id,
            password_hash=password_hash,
            created_at=created_at,
            updated_at=updated_at,
            sessions=frozenset(),  # logins add to it: it must exist as a map
            **fields,
        )

    @staticmethod
    def session_entry(session_id: int) -> Path:
        """The path of one session's entry in ``sessions`` (for conditions and updates)."""
        return UserItem.sessions[session_check.map_key(session_id)]

    @staticmethod
    def listing_sessions() -> Action:
        """The update that gives a profile without a ``sessions`` map an empty one.

        ``if_not_exists``: a map that exists is left as it is.
        """
        path = Path(UserItem.sessions)
        return path.set(path | {MAP: {}})

    @staticmethod
    def keeping_only(keep: int | None) -> Action:
        """The update that ends every session of the user but ``keep`` (``None``: every one)."""
        kept = frozenset() if keep is None else frozenset({keep})
        # Already serialized: PynamoDB serializes only a dict as a map's new value.
        return Path(UserItem.sessions).set({MAP: UserItem.sessions.serialize(kept)})


class ClaimItem(TableItem):
    """Claims a login name (lower-cased) for one user; carries what login needs.

    Written in the same transaction as the user with ``attribute_not_exists``
    so two signups for one name cannot both succeed, and read (consistently)
    by login: the password hash is copied here so login is one GetItem. The
    two kinds of name are ``UsernameItem`` and ``EmailItem``.
    """

    user_id = IntegerAttribute()
    password_hash = UnicodeAttribute()
    # A migrated user's names (both claims carry both), so that their first login can
    # replace the old hash on the user and both claims in one write; removed by it.
    username = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)

    PREFIX: ClassVar[str]

    @staticmethod
    def of_login(login: str) -> type[ClaimItem]:
        """The claim a login name reads: an e-mail's if it has ``@`` (no username has)."""
        return EmailItem if "@" in login else UsernameItem

    @classmethod
    def key(cls, name: str) -> tuple[str, str]:
        return f"{cls.PREFIX}#{name.lower()}", cls.PREFIX

    @classmethod
    def new(
        cls, name: str, user_id: int, password_hash: str, names: tuple[str, str] | None = None
    ) -> Self:
        """The claim of ``name`` for ``user_id``, with the hash login reads.

        ``names`` (username, e-mail): for a migrated user, whose first login
        replaces the hash on both claims (``users.HashUpgrade``).
        """
        username, email = names or (None, None)
        return cls(
            *cls.key(name),
            user_id=user_id,
            password_hash=password_hash,
            username=username,
            email=email,
        )


class UsernameItem(ClaimItem, discriminator="username"):
    """Claims a username: ``pk = USERNAME#<username>``, ``sk = USERNAME``."""

    PREFIX: ClassVar[str] = "USERNAME"


class EmailItem(ClaimItem, discriminator="email"):
    """Claims an e-mail address: ``pk = EMAIL#<email>``, ``sk = EMAIL``."""

    PREFIX: ClassVar[str] = "EMAIL"


class LoginThrottleItem(TableItem, discriminator="login_throttle"):
    """Recent failed logins for one login name from one client address.

    Keyed by the address too, so an attacker hammering a name locks out only
    themselves, not the user logging in from elsewhere. ``expires_at`` (TTL)
    forgets it; reads also check it, since DynamoDB deletes expired items
    lazily. ``last_failure_id`` names the failure counted last, so a resent
    update does not count it twice.
    """

    failures = IntegerAttribute(default=0)
    locked_until = IntegerAttribute(null=True)
    last_failure_id = UnicodeAttribute(null=True)

    @staticmethod
    def key(login: str, client: str) -> tuple[str, str]:
        return f"LOGIN#{login.lower()}", f"CLIENT#{client}"
