"""Deleting the session items that ending sessions together left behind, through the stream.

Ending every session of a user but one (and a password change) is one write
to the profile's map of live sessions (``storage.sessions``), whatever their
number; the ended sessions' items stay, stale: no read accepts or shows them,
but the session list's Query would read them. The same transaction puts the
``SessionsEndedItem`` marker, whose ``INSERT``/``MODIFY`` record is the only
one of a user's partition that ``FILTER_PATTERNS`` lets through. For each
user in a batch, ``clean`` then reads the partition once and deletes every
session item the profile no longer lists: one transaction per 25, each with a
ConditionCheck that the profile still lists none of them. The Query is not a
snapshot, so a login that commits between its read of the profile and of its
own item would look stale; the check makes that delete fail instead, and
``clean`` reads again. Deleting is idempotent: a redelivered record finds
nothing left to delete. A deleted profile makes every session item of its
user stale, so the same cleanup removes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.storage.engine import ConditionFailed, Transaction, retry
from chalicelib.storage.sessions import partition
from chalicelib.storage.table import SessionItem, SessionsEndedItem, UserItem

DELETES_PER_TRANSACTION = 25
TRIES = 3

# Lambda's event filter pattern: the marker's records (a TTL deletion is a REMOVE, not passed).
FILTER_PATTERNS: tuple[dict[str, Any], ...] = (
    {
        "eventName": ["INSERT", "MODIFY"],
        "dynamodb": {"Keys": {"sk": {"S": [SessionsEndedItem.SK]}}},
    },
)


@dataclass(frozen=True)
class SessionsEnded:
    """A stream record saying that a user's sessions were ended together."""

    user_id: int
    sequence_number: str


def decode(event_name: str, keys: Mapping[str, Any], sequence_number: str) -> SessionsEnded | None:
    """What a record means for sessions (``keys`` in DynamoDB's JSON); ``None``: nothing."""
    pk, sk = keys.get("pk", {}).get("S", ""), keys.get("sk", {}).get("S", "")
    user_id = SessionsEndedItem.user_id_in(pk)
    if user_id is None or sk != SessionsEndedItem.SK or event_name not in ("INSERT", "MODIFY"):
        return None
    return SessionsEnded(user_id, sequence_number)


def by_user(records: Iterable[SessionsEnded | None]) -> dict[int, list[str]]:
    """The batch's sequence numbers of ended sessions, by user, in order of first appearance."""
    grouped: dict[int, list[str]] = {}
    for record in records:
        if record is not None:
            grouped.setdefault(record.user_id, []).append(record.sequence_number)
    return grouped


def clean(user_id: int) -> int:
    """Delete the user's stale session items; how many were deleted.

    One consistent Query of the partition, then one transaction per
    ``DELETES_PER_TRANSACTION`` stale items. A transaction whose check
    fails (a session that started while the partition was read) is
    followed by a fresh read, at most ``TRIES`` times in all; then the
    error goes up and the record is delivered again.
    """
    deleted = 0

    def attempt() -> int:
        nonlocal deleted
        stale = [session.id for session in partition(user_id).stale()]
        for start in range(0, len(stale), DELETES_PER_TRANSACTION):
            chunk = stale[start : start + DELETES_PER_TRANSACTION]
            _delete(user_id, chunk)
            deleted += len(chunk)
        return deleted

    return retry(
        attempt, again=lambda exc: isinstance(exc, ConditionFailed), tries=TRIES, pause=False
    )


def _delete(user_id: int, session_ids: Sequence[int]) -> None:
    tx = Transaction()
    tx.check("profile", UserItem, UserItem.key(user_id), _lists_none_of(session_ids))
    for session_id in session_ids:
        tx.delete(f"session {session_id}", SessionItem(*SessionItem.key(user_id, session_id)))
    tx.commit()


def _lists_none_of(session_ids: Sequence[int]) -> Condition:
    entries = [UserItem.session_entry(session_id).does_not_exist() for session_id in session_ids]
    condition = entries[0]
    for entry in entries[1:]:
        condition &= entry
    return condition
