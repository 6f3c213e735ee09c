"""The CreateTable request, derived from the models, so the table has one definition."""

from __future__ import annotations

from typing import Any

from chalicelib.storage.table.base import TableItem


def table_definition(table_name: str) -> dict[str, Any]:
    """The CreateTable request for the table, derived from the models above.

    Used by ``make run``, the tests and the deploy template, so the three
    cannot drift apart.
    """
    schema = TableItem._get_schema()
    definition: dict[str, Any] = {
        "TableName": table_name,
        "BillingMode": TableItem.Meta.billing_mode,
        "KeySchema": schema["key_schema"],
        "AttributeDefinitions": schema["attribute_definitions"],
        "GlobalSecondaryIndexes": schema["global_secondary_indexes"],
        "StreamSpecification": {
            "StreamEnabled": True,
            "StreamViewType": TableItem.Meta.stream_view_type,
        },
    }
    definition = _camel_keys(definition)
    # No local secondary index: one would pin each movie's item collection to one
    # partition (and 10 GB), capping how fast one movie can be rated.
    for index in definition["GlobalSecondaryIndexes"]:
        for extra in ("AttributeDefinitions", "ProvisionedThroughput"):
            index.pop(extra, None)
        index["KeySchema"].sort(key=lambda part: part["KeyType"] != "HASH")
    definition["KeySchema"].sort(key=lambda part: part["KeyType"] != "HASH")
    return definition


def ttl_attribute_name() -> str:
    return TableItem.expires_at.attr_name


def _camel_keys(value: Any) -> Any:
    """PynamoDB's schema uses snake_case keys; the DynamoDB API uses CamelCase."""
    if isinstance(value, dict):
        return {_camel(k): _camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_keys(v) for v in value]
    return value


def _camel(key: str) -> str:
    if "_" not in key:
        return key[:1].upper() + key[1:]
    return "".join(part.capitalize() for part in key.split("_"))
