"""What this project relies on inside PynamoDB and Chalice, where they have no public hook.

Each use of a library's non-public attribute lives in one place
(``chalicelib/storage/table/base.py``'s connection section and its
``schema.py``, ``devtools/gateway.py``)
and is pinned here: when a release changes the behaviour, this file fails,
not the app in some quieter way. (The moto behaviour the embedded engine's
faster transactions rely on is pinned in ``test_stream_runner.py``.)
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

from chalice import Chalice
from chalice import test as chalice_test
from chalice.local import LocalChalice, LocalGateway
from chalice.test import Client
from pynamodb.attributes import UnicodeAttribute
from pynamodb.connection import TableConnection
from pynamodb.models import Model

from app import app
from chalicelib.storage.table import TableItem, table_definition
from devtools.gateway import ContractClient, ContractGateway, ContractHTTPClient


class Probe(Model):
    class Meta:
        table_name = "first"
        region = "us-east-1"

    pk = UnicodeAttribute(hash_key=True)


# ---------------------------------------------------------------- PynamoDB


def test_a_model_builds_its_connection_from_meta_and_caches_it_on_the_class() -> None:
    # TableItem._get_connection points Meta at the settings' table just before
    # PynamoDB's own _get_connection reads it; _point_at drops _connection to re-point.
    Probe._connection = None
    first = Probe._get_connection()
    assert isinstance(first, TableConnection)
    assert first.table_name == "first"
    assert Probe._connection is first
    assert Probe._get_connection() is first

    Probe._connection = None
    Probe.Meta.table_name = "second"
    try:
        assert Probe._get_connection().table_name == "second"
    finally:
        Probe.Meta.table_name = "first"
        Probe._connection = None


def test_the_schema_pynamodb_derives_is_what_the_table_definition_reads() -> None:
    schema: dict[str, Any] = TableItem._get_schema()
    assert {"key_schema", "attribute_definitions", "global_secondary_indexes"} <= set(schema)
    assert {"AttributeName": "pk", "KeyType": "HASH"} in schema["key_schema"]

    definition = table_definition("t")
    assert definition["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {index["IndexName"] for index in definition["GlobalSecondaryIndexes"]} == {
        "gsi1",
        "gsi2",
        "gsi3",
    }


# ---------------------------------------------------------------- Chalice


def test_local_chalice_keeps_the_current_request_per_thread() -> None:
    class Probed(LocalChalice):
        pass

    local = Probed(app_name="probe")
    seen: list[object] = []
    local.current_request = "main"  # type: ignore[assignment]

    def other() -> None:
        local.current_request = "other"  # type: ignore[assignment]
        seen.append(local.current_request)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen == ["other"]
    assert local.current_request == "main"


def test_the_tests_app_gets_thread_local_requests_without_touching_chalices_classes() -> None:
    with ContractClient(app):
        assert isinstance(app, LocalChalice)
        assert isinstance(app, Chalice)
    assert LocalChalice.__bases__ == (Chalice,)


def test_chalices_test_client_sends_requests_through_its_local_gateway() -> None:
    # ContractHTTPClient replaces TestHTTPClient._local_gateway; ContractClient replaces
    # Client.http using Client's _http_client, _app and _chalice_config.
    plain = Client(Chalice(app_name="probe"))
    assert isinstance(plain.http, chalice_test.TestHTTPClient)
    assert isinstance(plain.http._local_gateway, LocalGateway)
    assert {"_http_client", "_app"} <= set(vars(plain))
    assert isinstance(inspect.getattr_static(Client, "_chalice_config"), property)

    with ContractClient(app) as client:
        http = client.http
        assert isinstance(http, ContractHTTPClient)
        assert isinstance(http.gateway, ContractGateway)
        calls: list[str] = []
        original = http.gateway.handle_request

        def spy(**kwargs: Any) -> Any:
            calls.append(kwargs["path"])
            return original(**kwargs)

        http.gateway.handle_request = spy  # type: ignore[method-assign]
        response = http.get("/health")
    assert calls == ["/health"]
    assert response.status_code == 200
