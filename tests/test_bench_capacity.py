"""The benchmark's request-unit arithmetic follows DynamoDB's published rules."""

from __future__ import annotations

import pytest

from bench.capacity import (
    INDEX_KEY,
    ITEM,
    PARTITION,
    Charge,
    TableShape,
    Write,
    item_size,
    number_size,
    read_units,
    value_size,
    write_units,
)

SHAPE_KEYS = [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
]
GSI1 = {
    "IndexName": "gsi1",
    "KeySchema": [
        {"AttributeName": "g1pk", "KeyType": "HASH"},
        {"AttributeName": "g1sk", "KeyType": "RANGE"},
    ],
    "Projection": {"ProjectionType": "ALL"},
}
SHAPE = TableShape.from_definition(
    {
        "KeySchema": SHAPE_KEYS,
        "GlobalSecondaryIndexes": [GSI1],
    }
)
MOVIE = {
    "pk": {"S": "MOVIE#1"},
    "sk": {"S": "MOVIE"},
    "g1pk": {"S": "MOVIES"},
    "g1sk": {"S": "0001"},
    "rating_count": {"N": "3"},
}


@pytest.mark.parametrize(
    ("number", "size"),
    [("7", 2), ("123", 3), ("1000", 2), ("-0.0012", 2), ("1.5e10", 2), ("0", 1)],
)
def test_a_number_takes_a_byte_per_two_significant_digits_plus_one(number: str, size: int) -> None:
    assert number_size(number) == size


def test_an_item_is_its_names_plus_its_values() -> None:
    assert item_size({"pk": {"S": "héllo"}, "n": {"N": "42"}, "b": {"BOOL": True}}) == (
        2 + 6 + 1 + 2 + 1 + 1
    )


def test_lists_and_maps_cost_three_bytes_and_one_per_element() -> None:
    assert value_size({"L": [{"S": "ab"}, {"NULL": True}]}) == 3 + (1 + 2) + (1 + 1)
    assert value_size({"M": {"k": {"S": "ab"}}}) == 3 + (1 + 1 + 2)


def test_read_units_are_4_kb_rounded_up_at_least_one_and_half_when_eventual() -> None:
    assert read_units(0, consistent=True) == 1
    assert read_units(4096, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(4097, consistent=False) == 1
    assert read_units(100, consistent=False) == 0.5


def test_write_units_are_1_kb_rounded_up_and_double_in_a_transaction() -> None:
    assert write_units(0) == 1
    assert write_units(1025) == 2
    assert write_units(1025, transactional=True) == 4


def test_an_index_write_follows_what_changed_in_the_index() -> None:
    renamed = {**MOVIE, "g1sk": {"S": "0002"}}
    recounted = {**MOVIE, "rating_count": {"N": "4"}}
    unindexed = {name: value for name, value in MOVIE.items() if not name.startswith("g1")}

    assert SHAPE.index_write_units(None, MOVIE) == 1  # enters the index
    assert SHAPE.index_write_units(MOVIE, None) == 1  # leaves it
    assert SHAPE.index_write_units(MOVIE, renamed) == 2  # old entry out, new one in
    assert SHAPE.index_write_units(MOVIE, recounted) == 1  # a projected attribute changed
    assert SHAPE.index_write_units(MOVIE, MOVIE) == 0
    assert SHAPE.index_write_units(None, unindexed) == 0


LSI_SHAPE = TableShape.from_definition(
    {
        "KeySchema": SHAPE_KEYS,
        "GlobalSecondaryIndexes": [GSI1],
        "LocalSecondaryIndexes": [
            {
                "IndexName": "lsi1",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "l1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }
)


def test_in_a_transaction_lsi_entries_cost_double_and_gsi_entries_do_not() -> None:
    indexed = {**MOVIE, "l1sk": {"S": "x"}}
    recounted = {**indexed, "rating_count": {"N": "4"}}

    assert LSI_SHAPE.index_write_units(indexed, recounted) == 2  # 1 GSI + 1 LSI
    assert LSI_SHAPE.index_write_units(indexed, recounted, transactional=True) == 3  # 1 + 2


def test_a_write_is_charged_to_its_item_its_lsi_bound_partition_and_each_gsi_key_value() -> None:
    indexed = {**MOVIE, "l1sk": {"S": "x"}}
    moved = {**indexed, "g1pk": {"S": "MOVIES#1"}, "rating_count": {"N": "4"}}
    write = Write("update", {"pk": MOVIE["pk"], "sk": MOVIE["sk"]}, transactional=True)

    charges = LSI_SHAPE.write_charges(write, indexed, moved, units=2)

    assert charges == [
        Charge(ITEM, "MOVIE#1 / MOVIE", 2),
        Charge(INDEX_KEY, "MOVIES", 1, index="gsi1"),  # the old entry leaves
        Charge(INDEX_KEY, "MOVIES#1", 1, index="gsi1"),  # the new one enters
        Charge(PARTITION, "MOVIE#1", 2 + 2),  # the item and its LSI entry, doubled
    ]


def test_without_an_lsi_a_write_lands_on_its_item_alone() -> None:
    write = Write("check", {"pk": MOVIE["pk"], "sk": MOVIE["sk"]}, transactional=True)

    charges = SHAPE.write_charges(write, MOVIE, MOVIE, units=2)

    assert charges == [Charge(ITEM, "MOVIE#1 / MOVIE", 2), Charge(PARTITION, "MOVIE#1 / MOVIE", 2)]


def test_a_query_is_charged_to_the_key_value_it_reads() -> None:
    on_index = {
        "IndexName": "gsi1",
        "KeyConditionExpression": "#0 = :0 AND begins_with(#1, :1)",
        "ExpressionAttributeNames": {"#0": "g1pk", "#1": "g1sk"},
        "ExpressionAttributeValues": {":0": {"S": "MOVIES"}, ":1": {"S": "0"}},
    }
    on_table = {
        "KeyConditionExpression": "#0 = :0",
        "ExpressionAttributeNames": {"#0": "pk"},
        "ExpressionAttributeValues": {":0": {"S": "MOVIE#1"}},
    }

    assert SHAPE.query_charges(on_index, 0.5) == [
        Charge(INDEX_KEY, "MOVIES", read_units=0.5, index="gsi1")
    ]
    assert SHAPE.query_charges(on_table, 1) == [Charge(PARTITION, "MOVIE#1", read_units=1)]
