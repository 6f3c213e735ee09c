"""What each DynamoDB call reads and writes, and the request units it would cost.

moto returns no consumed capacity for transactions (and only rough figures
elsewhere), so the units are computed here from the payloads, with
DynamoDB's published rules:

* Item size: the sum over attributes of the name's UTF-8 length plus the
  value's size. A string is its UTF-8 length; a number about one byte per
  two significant digits plus one; a boolean or null one byte; a list or map
  three bytes plus, per element, one byte and the element (and, in a map,
  its name).
* Reads: 4 KB per read unit, rounded up, at least one; half for an
  eventually consistent read. A GetItem or BatchGetItem rounds each item
  (a key that is not found still costs the minimum); a Query rounds the sum
  of the items it read.
* Writes: 1 KB per write unit, rounded up, at least one, on the larger of
  the item's sizes before and after the write; a transaction costs double,
  and a transaction's ConditionCheck is charged like a write of the checked
  item.
* Index writes: an item that enters, leaves or changes in an index writes
  the index entry too (both the old and the new entry when an index key
  changes), at 1 KB per unit of the projected entry. A local secondary
  index is written with its item, synchronously and in the same partition,
  so inside a transaction its entries cost double like the item; a global
  secondary index is written asynchronously, at the standard rate. (This is
  the rule that reproduces the ceilings measured for issue 12: ~125 first
  ratings a second on one movie, ~1,000 rating changes a second app-wide;
  ``ReturnConsumedCapacity=INDEXES`` on AWS is the way to confirm it.)

Every unit is also charged to the keys that carry it (``Charge``), which is
what the capacity model (``bench.scale``) adds up per key:

* the *item* (its table key), for its write or read units;
* the *partition*: with a local secondary index the whole item collection
  of a partition key is one partition (DynamoDB cannot split it), so it
  carries its items' units and their LSI entries; without one, DynamoDB
  splits a hot partition key by sort key, so a write is charged to its item
  alone. A Query is charged to the partition key it reads, in either case
  (the model cannot see where DynamoDB split it);
* the *index key value*: each GSI entry's units to its GSI partition key
  value (the old one and the new one when it changes), a GSI Query to the
  value it reads.

Put, Update and Delete payloads do not carry the whole item, so the
``Recorder`` reads each written item before and after the call, consistently,
through a client of its own (whose calls are not recorded). That is why it
is used only to count, never while timing.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Item = Mapping[str, Mapping[str, Any]]
"""An item in DynamoDB's JSON: ``{"name": {"S": "value"}, ...}``."""

Fetch = Callable[[Item], Item | None]
"""Reads the whole current item for a key (``None``: there is none)."""

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
CONTAINER_OVERHEAD = 3
ELEMENT_OVERHEAD = 1
READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


# ---------------------------------------------------------------- sizes and units


def number_size(text: str) -> int:
    """One byte per two significant digits, plus one."""
    mantissa = text.strip().lstrip("+-").lower().split("e")[0]
    digits = mantissa.replace(".", "").strip("0")
    return math.ceil(len(digits) / 2) + 1


def value_size(value: Mapping[str, Any]) -> int:
    """The size of one attribute value in DynamoDB's JSON (``{"S": "x"}``)."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        return number_size(str(data))
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(part).encode()) for part in data)
    if kind == "NS":
        return sum(number_size(str(part)) for part in data)
    if kind == "BS":
        return sum(len(part) for part in data)
    if kind == "L":
        return CONTAINER_OVERHEAD + sum(ELEMENT_OVERHEAD + value_size(part) for part in data)
    if kind == "M":
        return CONTAINER_OVERHEAD + sum(
            ELEMENT_OVERHEAD + len(name.encode()) + value_size(part) for name, part in data.items()
        )
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Item | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def read_units(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def write_units(size: int, *, transactional: bool = False) -> int:
    units = max(1, math.ceil(size / WRITE_UNIT_BYTES))
    return units * 2 if transactional else units


# ---------------------------------------------------------------- where units land

ITEM = "item"
PARTITION = "partition"
INDEX_KEY = "index key"


@dataclass(frozen=True)
class Charge:
    """Units that one call spends on one key: an item, a partition or an index key value."""

    level: str
    key: str
    write_units: float = 0.0
    read_units: float = 0.0
    index: str = ""
    """The GSI an index key value belongs to (empty for the table's items and partitions)."""

    @property
    def label(self) -> str:
        return f"{self.index} {self.key}" if self.index else self.key


def _text(value: Mapping[str, Any]) -> str:
    ((_, data),) = value.items()
    return str(data)


# ---------------------------------------------------------------- the table's shape


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str
    included: tuple[str, ...] = ()
    local: bool = False


@dataclass(frozen=True)
class TableShape:
    """The key and index layout a write's index cost depends on."""

    keys: tuple[str, ...]
    indexes: tuple[Index, ...]

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> TableShape:
        """From a CreateTable request (``table_definition``)."""
        indexes = [
            Index(
                name=index["IndexName"],
                keys=tuple(part["AttributeName"] for part in index["KeySchema"]),
                projection=index["Projection"]["ProjectionType"],
                included=tuple(index["Projection"].get("NonKeyAttributes", ())),
                local=local,
            )
            for local, group in (
                (False, definition.get("GlobalSecondaryIndexes", ())),
                (True, definition.get("LocalSecondaryIndexes", ())),
            )
            for index in group
        ]
        keys = tuple(part["AttributeName"] for part in definition["KeySchema"])
        return cls(keys, tuple(indexes))

    def key_of(self, item: Item) -> dict[str, Any]:
        return {name: item[name] for name in self.keys}

    def entry(self, item: Item | None, index: Index) -> dict[str, Any] | None:
        """The item's entry in ``index`` (``None``: the item is not in it)."""
        if not item or any(name not in item for name in index.keys):
            return None
        if index.projection == "ALL":
            return dict(item)
        wanted = {*self.keys, *index.keys, *index.included}
        return {name: value for name, value in item.items() if name in wanted}

    @property
    def has_local_index(self) -> bool:
        return any(index.local for index in self.indexes)

    def index(self, name: str) -> Index | None:
        return next((index for index in self.indexes if index.name == name), None)

    def item_key(self, key: Item) -> str:
        return " / ".join(_text(key[name]) for name in self.keys if name in key)

    def partition_of_write(self, key: Item) -> str:
        """The partition a write lands on: the whole collection with an LSI, else the item."""
        if self.has_local_index:
            return _text(key[self.keys[0]])
        return self.item_key(key)

    def index_write_units(
        self, before: Item | None, after: Item | None, *, transactional: bool = False
    ) -> int:
        return sum(
            units
            for index in self.indexes
            for _, units in self.index_entry_writes(before, after, index, transactional)
        )

    def index_entry_writes(
        self, before: Item | None, after: Item | None, index: Index, transactional: bool
    ) -> list[tuple[str, int]]:
        """Each index entry written: its index partition key value, and its units."""
        doubled = transactional and index.local
        old, new = self.entry(before, index), self.entry(after, index)
        if old == new:
            return []
        if old is not None and new is not None and all(old[k] == new[k] for k in index.keys):
            size = max(item_size(old), item_size(new))
            return [(_text(new[index.keys[0]]), write_units(size, transactional=doubled))]
        return [
            (_text(entry[index.keys[0]]), write_units(item_size(entry), transactional=doubled))
            for entry in (old, new)
            if entry is not None
        ]

    def write_charges(
        self, write: Write, before: Item | None, after: Item | None, units: int
    ) -> list[Charge]:
        """Where one written (or checked) item's units land."""
        item = self.item_key(write.key)
        charges = [Charge(ITEM, item, write_units=units)]
        on_partition = float(units)
        if write.action != "check":
            for index in self.indexes:
                for value, entry_units in self.index_entry_writes(
                    before, after, index, write.transactional
                ):
                    if index.local:
                        on_partition += entry_units
                    else:
                        charges.append(Charge(INDEX_KEY, value, entry_units, index=index.name))
        charges.append(Charge(PARTITION, self.partition_of_write(write.key), on_partition))
        return charges

    def item_read_charges(self, key: Item, units: float) -> list[Charge]:
        item = self.item_key(key)
        partition = self.partition_of_write(key)
        return [
            Charge(ITEM, item, read_units=units),
            Charge(PARTITION, partition, read_units=units),
        ]

    def query_charges(self, params: Mapping[str, Any], units: float) -> list[Charge]:
        """A Query's units, on the partition key value (of the table, an LSI or a GSI) it reads."""
        index = self.index(str(params.get("IndexName", "")))
        hash_key = index.keys[0] if index is not None else self.keys[0]
        value = _queried_value(params, hash_key)
        if index is not None and not index.local:
            return [Charge(INDEX_KEY, value, read_units=units, index=index.name)]
        return [Charge(PARTITION, value, read_units=units)]


def _queried_value(params: Mapping[str, Any], attribute: str) -> str:
    """The partition key value of a Query, from its key condition (``#n = :v``)."""
    names = {name: real for name, real in params.get("ExpressionAttributeNames", {}).items()}
    values = params.get("ExpressionAttributeValues", {})
    condition = str(params.get("KeyConditionExpression", ""))
    for left, right in re.findall(r"([#\w]+)\s*=\s*(:\w+)", condition):
        if names.get(left, left) == attribute and right in values:
            return _text(values[right])
    return "?"


# ---------------------------------------------------------------- costs


@dataclass
class Cost:
    """What one request (or one call) read and wrote, and its request units."""

    calls: int = 0
    operations: Counter[str] = field(default_factory=Counter)
    items_read: int = 0
    bytes_read: int = 0
    read_units: float = 0.0
    items_written: int = 0
    bytes_written: int = 0
    write_units: int = 0
    index_write_units: int = 0
    failed_calls: int = 0
    charges: list[Charge] = field(default_factory=list)

    def add(self, other: Cost) -> None:
        self.calls += other.calls
        self.operations.update(other.operations)
        self.items_read += other.items_read
        self.bytes_read += other.bytes_read
        self.read_units += other.read_units
        self.items_written += other.items_written
        self.bytes_written += other.bytes_written
        self.write_units += other.write_units
        self.index_write_units += other.index_write_units
        self.failed_calls += other.failed_calls
        self.charges.extend(other.charges)

    def operations_text(self) -> str:
        return ", ".join(
            name if count == 1 else f"{name} x{count}"
            for name, count in sorted(self.operations.items())
        )


def read_cost(
    operation: str,
    params: Mapping[str, Any],
    parsed: Mapping[str, Any],
    shape: TableShape | None = None,
) -> Cost:
    """Items, bytes and read units of a successful read call (charged to keys, given ``shape``)."""
    cost = Cost()
    if operation == "GetItem":
        item = parsed.get("Item")
        cost.items_read = 1 if item else 0
        cost.bytes_read = item_size(item)
        cost.read_units = read_units(cost.bytes_read, consistent=_consistent(params))
        if shape is not None:
            cost.charges = shape.item_read_charges(params["Key"], cost.read_units)
    elif operation == "BatchGetItem":
        for table, request in params.get("RequestItems", {}).items():
            found = parsed.get("Responses", {}).get(table, [])
            _batch_read(cost, request, found, shape)
    elif operation in ("Query", "Scan"):
        items = parsed.get("Items", [])
        cost.items_read = len(items)
        cost.bytes_read = sum(item_size(item) for item in items)
        cost.read_units = read_units(cost.bytes_read, consistent=_consistent(params))
        if shape is not None:
            cost.charges = (
                shape.query_charges(params, cost.read_units)
                if operation == "Query"
                else [Charge(PARTITION, "(a Scan: every partition)", read_units=cost.read_units)]
            )
    return cost


def _batch_read(
    cost: Cost, request: Mapping[str, Any], found: list[Item], shape: TableShape | None
) -> None:
    """One table's part of a BatchGetItem: each key rounds up on its own, found or not."""
    consistent = _consistent(request)
    sizes = [item_size(item) for item in found]
    missing = len(request.get("Keys", [])) - len(found)
    cost.items_read += len(found)
    cost.bytes_read += sum(sizes)
    cost.read_units += sum(read_units(size, consistent=consistent) for size in sizes)
    cost.read_units += max(0, missing) * read_units(0, consistent=consistent)
    if shape is None:
        return
    by_key = {shape.item_key(shape.key_of(item)): item_size(item) for item in found}
    for key in request.get("Keys", []):
        size = by_key.get(shape.item_key(key), 0)
        cost.charges += shape.item_read_charges(key, read_units(size, consistent=consistent))


def _consistent(params: Mapping[str, Any]) -> bool:
    return bool(params.get("ConsistentRead", False))


# ---------------------------------------------------------------- writes


@dataclass(frozen=True)
class Write:
    """One item a write call touches: ``put``, ``update``, ``delete`` or ``check``."""

    action: str
    key: dict[str, Any]
    transactional: bool


def writes_of(operation: str, params: Mapping[str, Any], shape: TableShape) -> list[Write]:
    """The items a write call puts, updates, deletes or (in a transaction) checks."""
    if operation == "PutItem":
        return [Write("put", shape.key_of(params["Item"]), False)]
    if operation == "UpdateItem":
        return [Write("update", dict(params["Key"]), False)]
    if operation == "DeleteItem":
        return [Write("delete", dict(params["Key"]), False)]
    if operation == "BatchWriteItem":
        return [
            _batch_write(request, shape)
            for requests in params.get("RequestItems", {}).values()
            for request in requests
        ]
    if operation == "TransactWriteItems":
        return [_transact_write(action, shape) for action in params.get("TransactItems", [])]
    return []


def _batch_write(request: Mapping[str, Any], shape: TableShape) -> Write:
    if "PutRequest" in request:
        return Write("put", shape.key_of(request["PutRequest"]["Item"]), False)
    return Write("delete", dict(request["DeleteRequest"]["Key"]), False)


def _transact_write(action: Mapping[str, Any], shape: TableShape) -> Write:
    ((kind, body),) = action.items()
    if kind == "Put":
        return Write("put", shape.key_of(body["Item"]), True)
    names = {"Update": "update", "Delete": "delete", "ConditionCheck": "check"}
    return Write(names[kind], dict(body["Key"]), True)


def write_cost(
    writes: Iterable[Write],
    before: list[Item | None],
    after: list[Item | None],
    shape: TableShape,
) -> Cost:
    """Items, bytes and write units (table and indexes) of a successful write call."""
    cost = Cost()
    for write, old, new in zip(writes, before, after, strict=True):
        size = max(item_size(old), item_size(new))
        units = write_units(size, transactional=write.transactional)
        cost.write_units += units
        cost.charges += shape.write_charges(write, old, new, units)
        if write.action == "check":
            continue
        cost.items_written += 1
        cost.bytes_written += size
        cost.index_write_units += shape.index_write_units(
            old, new, transactional=write.transactional
        )
    return cost


# ---------------------------------------------------------------- the recorder


@dataclass
class _Pending:
    operation: str
    params: Mapping[str, Any]
    writes: list[Write]
    before: list[Item | None]


class Recorder:
    """Records the cost of every DynamoDB call made through one botocore client.

    ``attach`` registers botocore event hooks on the client's event system;
    ``take`` returns what was recorded since the last ``take``. Concurrent
    calls (the movie detail's two Queries) are kept apart by botocore's
    per-call ``context``.
    """

    KEY = "bench.capacity"

    def __init__(self, shape: TableShape, fetch: Fetch) -> None:
        self._shape = shape
        self._fetch = fetch
        self._lock = threading.Lock()
        self._cost = Cost()

    def attach(self, events: Any) -> None:
        events.register("before-parameter-build.dynamodb", self._before)
        events.register("before-call.dynamodb", self._count_call)
        events.register("after-call.dynamodb", self._after)
        events.register("after-call-error.dynamodb", self._error)

    def detach(self, events: Any) -> None:
        events.unregister("before-parameter-build.dynamodb", self._before)
        events.unregister("before-call.dynamodb", self._count_call)
        events.unregister("after-call.dynamodb", self._after)
        events.unregister("after-call-error.dynamodb", self._error)

    def take(self) -> Cost:
        with self._lock:
            cost, self._cost = self._cost, Cost()
        return cost

    def _before(
        self, model: Any, params: Mapping[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        writes = writes_of(model.name, params, self._shape)
        before = [self._fetch(write.key) for write in writes]
        context[self.KEY] = _Pending(model.name, params, writes, before)

    def _count_call(self, model: Any, **_: Any) -> None:
        """One call to DynamoDB (botocore's retries of it are not counted again)."""
        self._record(Cost(calls=1, operations=Counter({model.name: 1})))

    def _after(
        self, http_response: Any, parsed: Mapping[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        pending: _Pending | None = context.get(self.KEY)
        if pending is None:
            return
        if http_response.status_code >= 300:
            self._record(Cost(failed_calls=1))
        elif pending.operation in WRITES:
            after = [self._fetch(write.key) for write in pending.writes]
            self._record(write_cost(pending.writes, pending.before, after, self._shape))
        else:
            self._record(read_cost(pending.operation, pending.params, parsed, self._shape))

    def _error(self, context: dict[str, Any], **_: Any) -> None:
        if context.get(self.KEY) is not None:
            self._record(Cost(failed_calls=1))

    def _record(self, cost: Cost) -> None:
        with self._lock:
            self._cost.add(cost)
