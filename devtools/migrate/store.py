"""The migration's writes: batched puts, the users' claims, the import's state.

Here rather than in ``chalicelib.storage`` because they are the
operator's tool's (a Scan and DescribeTable among them, which no deployed
function is granted); the items themselves come from
``chalicelib.storage.imports``, built as the API builds them.

Items go through BatchWriteItem (``put_items``: the engine's
``batch_write``, which sends unprocessed items again with backoff), except
the username and e-mail claims: they must be conditional (a claim may not
take a name from a user this import did not write), so each is a
conditional PutItem (``put_users``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pynamodb.exceptions import PutError, TableDoesNotExist

from chalicelib.storage.engine import (
    BATCH_WRITE_ITEMS,
    batch_write,
    condition_failed,
    item_or_none,
    table_connection,
)
from chalicelib.storage.imports import (
    ImportedUser,
    ImportStateItem,
    progress_attribute,
    user_items,
)
from chalicelib.storage.table import ClaimItem, TableItem

BATCH_WRITE_LIMIT = BATCH_WRITE_ITEMS  # DynamoDB's cap on one BatchWriteItem


class ImportConflict(Exception):
    """A claim (username or e-mail) belongs to a user this import did not write."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = taken
        super().__init__(", ".join(sorted(taken)))


def put_items(items: Sequence[TableItem]) -> None:
    """Put any number of items, 25 a BatchWriteItem, one call after another.

    ``engine.batch_write``: DynamoDB may accept part of a batch and hand the
    rest back as ``UnprocessedItems``; those are sent again after a
    full-jitter backoff, a bounded number of times, and then the import
    stops (``failures.Unavailable``), to be resumed.
    """
    batch_write(items)


def put_users(users: Sequence[ImportedUser]) -> None:
    """Up to 25 users: their profiles in one batch, then each claim, conditionally.

    A claim is put only if it is free or already this user's (a resumed
    import writes it again), so a name that a user of the new API took in
    the meantime raises ``ImportConflict`` instead of being taken from
    them. Each claim is one item, so one conditional PutItem: no
    transaction (which would cost twice as much) is needed, since a run
    stopped between a profile and its claims is finished by the next.
    """
    if len(users) > BATCH_WRITE_LIMIT:
        raise ValueError(f"at most {BATCH_WRITE_LIMIT} users at a time")
    built = [user_items(user) for user in users]
    put_items([profile for profile, _, _ in built])
    taken: set[str] = set()
    for user, (_, username, email) in zip(users, built, strict=True):
        for claim, value in ((username, user.username), (email, user.email)):
            try:
                claim.save(condition=_free_or_ours(type(claim), user.id))
            except PutError as exc:
                if not condition_failed(exc):
                    raise
                taken.add(value)
    if taken:
        raise ImportConflict(taken)


def _free_or_ours(marker: type[ClaimItem], user_id: int) -> Any:
    return marker.pk.does_not_exist() | (marker.user_id == user_id)


# ---------------------------------------------------------------- state


def import_state(name: str) -> ImportStateItem | None:
    state: ImportStateItem | None = item_or_none(ImportStateItem, ImportStateItem.key(name))
    return state


def begin_import(name: str, fingerprint: str, rows: int, started_at: dt.datetime) -> bool:
    """Record a new import; ``False`` if another one got there first."""
    state = ImportStateItem(
        *ImportStateItem.key(name),
        fingerprint=fingerprint,
        started_at=started_at,
        rows=rows,
    )
    try:
        state.save(condition=ImportStateItem.pk.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def record_progress(state: ImportStateItem, phase: str, done: int) -> None:
    """``done`` items of ``phase`` (in the import's order) are written."""
    attribute = getattr(ImportStateItem, progress_attribute(phase))
    state.update([attribute.set(done)])


def complete_import(state: ImportStateItem, at: dt.datetime) -> None:
    state.update([ImportStateItem.completed_at.set(at)])


def table_exists() -> bool:
    try:
        table_connection().describe_table()
    except TableDoesNotExist:
        return False
    return True


def holds_other_items(name: str) -> bool:
    """Whether the table has any item besides this import's state (one short Scan)."""
    state_key = ImportStateItem.key(name)
    return any((item.pk, item.sk) != state_key for item in TableItem.scan(limit=2, page_size=2))
