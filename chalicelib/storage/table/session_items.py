"""The sessions' entities: one per login, and the marker that sessions were ended together."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.storage import session_check
from chalicelib.storage.table.base import IntegerAttribute, TableItem, utcnow


class SessionItem(TableItem, discriminator="session"):
    """One login: ``pk = USER#<user>``, ``sk = SESSION#<session id>``.

    In the user's partition, just after the profile, so one Query reads the
    profile and the user's sessions (ids are time-ordered; the key format is
    ``session_check``'s, whose lean module the authorizer imports). The
    session is live while the profile's ``sessions`` lists it: an item the
    profile no longer lists is stale (ended together with others) and is
    ignored until the stream consumer deletes it. ``refresh_hash`` is the
    SHA-256 of the one refresh token that is current; ``rotated_at`` (epoch
    seconds) when it was issued, which starts the grace period for the token
    before it. ``expires_at`` (TTL, also checked on read) ends it when its
    refresh token runs out.
    """

    id = IntegerAttribute()
    user_id = IntegerAttribute()
    refresh_hash = UnicodeAttribute()
    rotated_at = IntegerAttribute()
    user_agent = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute()

    PREFIX: ClassVar[str] = session_check.SESSION_PREFIX

    @staticmethod
    def key(user_id: int, session_id: int) -> tuple[str, str]:
        return session_check.session_key(user_id, session_id)

    @staticmethod
    def partition(user_id: int) -> str:
        return session_check.user_partition(user_id)

    @classmethod
    def new(
        cls,
        user_id: int,
        session_id: int,
        *,
        refresh_hash: str,
        user_agent: str | None,
        lifetime: timedelta,
    ) -> SessionItem:
        now = utcnow()
        return cls(
            *cls.key(user_id, session_id),
            id=session_id,
            user_id=user_id,
            refresh_hash=refresh_hash,
            rotated_at=int(now.timestamp()),
            user_agent=user_agent,
            created_at=now,
            last_used_at=now,
            expires_at=now + lifetime,
        )

    def is_live(self, now: datetime) -> bool:
        """Not expired; whether it has ended is its profile's to say (``UserItem.sessions``)."""
        return self.expires_at is not None and self.expires_at > now


class SessionsEndedItem(TableItem, discriminator="sessions_ended"):
    """A marker that a user's sessions were ended together: ``USER#<user>`` / ``SESSIONS_ENDED``.

    Ending all of a user's sessions but one (and a password change) sets
    the profile's ``sessions`` to the one kept, in one write, and leaves the
    others' items behind. The same transaction puts this marker, whose
    stream record (the event source mapping's filter passes it) makes the
    stream consumer delete those items (``session_cleanup``). ``ended_at``
    differs with every put, so each one makes a record; TTL forgets it.
    """

    user_id = IntegerAttribute()
    ended_at = UTCDateTimeAttribute()

    SK: ClassVar[str] = "SESSIONS_ENDED"
    LIFETIME: ClassVar[timedelta] = timedelta(days=1)

    @classmethod
    def key(cls, user_id: int) -> tuple[str, str]:
        return session_check.user_partition(user_id), cls.SK

    @staticmethod
    def user_id_in(partition: str) -> int | None:
        """The user id of a user's partition key; ``None`` for any other partition."""
        prefix, _, number = partition.partition("#")
        return int(number) if prefix == "USER" and number.isdigit() else None

    @classmethod
    def new(cls, user_id: int) -> SessionsEndedItem:
        now = utcnow()
        return cls(*cls.key(user_id), user_id=user_id, ended_at=now, expires_at=now + cls.LIFETIME)
