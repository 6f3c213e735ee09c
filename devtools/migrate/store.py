"""The migration's writes: batched puts, the users' transactions, the import's state.

Here rather than in ``chalicelib.storage`` because they need DynamoDB
actions that no deployed function is granted (BatchWriteItem, Scan,
DescribeTable); the items themselves come from ``chalicelib.storage.imports``,
built as the API builds them.

Most items go through BatchWriteItem (``put_batch``), whose unprocessed
items are asked again with backoff. Only the username and e-mail claims
must be conditional (a claim may not take a name from a user this import
did not write), so users go in transactions (``put_users``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pynamodb.exceptions import PutError, TableDoesNotExist

from chalicelib.storage.engine import (
    MAX_ATTEMPTS,
    ConditionFailed,
    Transaction,
    backoff,
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
from chalicelib.storage.table import EmailItem, TableItem, UsernameItem

BATCH_WRITE_LIMIT = 25  # DynamoDB's cap on one BatchWriteItem
USERS_PER_TRANSACTION = 33  # three actions each, under DynamoDB's 100


class ImportConflict(Exception):
    """A claim (username or e-mail) belongs to a user this import did not write."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = taken
        super().__init__(", ".join(sorted(taken)))


def put_batch(items: Sequence[TableItem], *, tries: int = MAX_ATTEMPTS) -> None:
    """Put up to 25 items in one BatchWriteItem; unprocessed ones again, with backoff.

    botocore retries a throttled call whole; DynamoDB may also accept part
    of a batch and hand the rest back as ``UnprocessedItems``, which
    PynamoDB's ``batch_write`` would resend at once, for as long as they
    come back. Here they are resent after a full-jitter backoff, ``tries``
    times, then the import stops (and can be resumed).
    """
    if len(items) > BATCH_WRITE_LIMIT:
        raise ValueError(f"at most {BATCH_WRITE_LIMIT} items in one batch")
    table = table_connection()
    pending: Any = [item.serialize() for item in items]
    for attempt in range(tries):
        if attempt:
            backoff(attempt - 1)
        data = table.batch_write_item(put_items=pending)
        unprocessed = data.get("UnprocessedItems", {}).get(table.table_name) or []
        pending = [request["PutRequest"]["Item"] for request in unprocessed]
        if not pending:
            return
    raise RuntimeError(f"{len(pending)} items still unprocessed after {tries} tries")


def put_users(users: Sequence[ImportedUser]) -> None:
    """Users with their claims, up to 33 per transaction.

    A claim is put only if it is free or already this user's (a resumed
    import writes it again): a name that a user of the new API took in the
    meantime raises ``ImportConflict`` instead of being taken from them.
    """
    if len(users) > USERS_PER_TRANSACTION:
        raise ValueError(f"at most {USERS_PER_TRANSACTION} users in one transaction")
    tx = Transaction()
    for user in users:
        profile, username, email = user_items(user)
        tx.put(f"user {user.id}", profile)
        tx.put(f"username {user.username}", username, _free_or_ours(UsernameItem, user.id))
        tx.put(f"email {user.email}", email, _free_or_ours(EmailItem, user.id))
    try:
        tx.commit()
    except ConditionFailed as exc:
        raise ImportConflict(exc.labels) from exc


def _free_or_ours(marker: type[UsernameItem] | type[EmailItem], user_id: int) -> Any:
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
