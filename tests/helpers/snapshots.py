"""The whole table as DynamoDB holds it, to tell whether a request wrote anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from chalicelib.settings import get_settings
from tests.helpers.table import dynamodb_client

T = TypeVar("T")
Key = tuple[str, str]
Snapshot = dict[Key, dict[str, Any]]


def table_items() -> Snapshot:
    """Every item, by ``(pk, sk)``, in DynamoDB's JSON.

    Read from moto's table itself rather than with a Scan: the same items,
    but a hundred times cheaper than serialising them over the wire, and
    tests take thousands of snapshots.
    """
    settings = get_settings()
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings.region]
    table = backend.get_table(settings.table_name)
    return {
        (item.hash_key.value, item.range_key.value): item.to_json()["Attributes"]
        for item in table.all_items()
    }


def changed_keys(before: Snapshot, after: Snapshot) -> set[Key]:
    """The keys added, removed or changed between two snapshots."""
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


def restore(snapshot: Snapshot) -> None:
    """Put the table back as ``snapshot`` had it (items only: cheap for a small table)."""
    client = dynamodb_client()
    table = get_settings().table_name
    now = table_items()
    for key in now.keys() - snapshot.keys():
        client.delete_item(TableName=table, Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}})
    for key, item in snapshot.items():
        if now.get(key) != item:
            client.put_item(TableName=table, Item=item)


def load(snapshot: Snapshot) -> None:
    """Put every item of ``snapshot`` into the (empty) table."""
    client = dynamodb_client()
    table = get_settings().table_name
    items = list(snapshot.values())
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        client.batch_write_item(RequestItems={table: batch})


_BUILT: dict[str, tuple[Snapshot, Any]] = {}


def built_once(name: str, build: Callable[[], T]) -> T:
    """``build()`` in the first test that asks, and what it left in the table for later ones.

    Building a world through the API costs password hashes for every user.
    Later tests get the same items put straight into their fresh table, so
    the same ids, and tokens that are still valid (they last 15 minutes).
    """
    if name in _BUILT:
        items, value = _BUILT[name]
        load(items)
        return value  # type: ignore[no-any-return]
    value = build()
    _BUILT[name] = (table_items(), value)
    return value
