"""The table itself: its attribute types, its key helpers, its indexes and ``TableItem``.

``TableItem`` is the one PynamoDB model of the table; every entity
(``user_items``, ``movie_items``, ``comment_items``, ``session_items``) is a
subclass of it, and all of them share its one connection, which the
settings point at the table they name (``configure``).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar

from pynamodb.attributes import Attribute, DiscriminatorAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.connection import TableConnection
from pynamodb.constants import LIST, NUMBER
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.settings import Settings, get_settings

ID_WIDTH = 16  # 2**53 has 16 digits; zero-padding keeps string order = numeric order


class IntegerAttribute(Attribute[int]):
    """A DynamoDB number that is always a Python ``int`` (ids, counters, ratings)."""

    attr_type = NUMBER

    def serialize(self, value: int) -> str:
        return str(int(value))

    def deserialize(self, value: str) -> int:
        return int(value)


class StringListAttribute(Attribute[list[str]]):
    """A DynamoDB list of strings that is a Python ``list[str]`` (genres, title words)."""

    attr_type = LIST

    def serialize(self, value: list[str]) -> list[dict[str, str]]:
        return [{"S": str(item)} for item in value]

    def deserialize(self, value: list[dict[str, str]]) -> list[str]:
        return [item["S"] for item in value]


def padded(value: int) -> str:
    return f"{value:0{ID_WIDTH}d}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def spread(value: int, ways: int) -> int:
    """A stable hash of ``value`` into ``0 .. ways - 1`` (the same in every process)."""
    return zlib.crc32(padded(value).encode()) % ways


class ByAllMovies(GlobalSecondaryIndex["TableItem"]):
    """GSI1: every movie, newest first (``gsi1pk = MOVIES#<shard>``, ``gsi1sk`` = id)."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ByOwner(GlobalSecondaryIndex["TableItem"]):
    """GSI2: one user's own lists, newest first, ``gsi2sk`` = id.

    Their movies (``gsi2pk = OWNER#<user>``) and their ratings
    (``gsi2pk = RATER#<user>``): each key holds one user's items, and a
    rating change writes only its own rater's.
    """

    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class ByList(GlobalSecondaryIndex["TableItem"]):
    """GSI3: the movies of one list, best first (``gsi3pk = <list>#<shard>``, ``gsi3sk`` = rank).

    Its items are ``ListEntryItem``s, one per movie per list, so one index
    serves every ranked and filtered list and every search word.
    """

    class Meta:
        index_name = "gsi3"
        projection = AllProjection()

    gsi3pk = UnicodeAttribute(hash_key=True)
    gsi3sk = UnicodeAttribute(range_key=True)


class TableItem(Model):
    """The single table. Subclasses are the entities stored in it."""

    class Meta:
        table_name = "movies-local"
        region = "us-east-1"
        billing_mode = "PAY_PER_REQUEST"
        stream_view_type = "OLD_IMAGE"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_all_movies: ClassVar[ByAllMovies] = ByAllMovies()
    by_owner: ClassVar[ByOwner] = ByOwner()
    by_list: ClassVar[ByList] = ByList()

    configured: ClassVar[bool] = False

    @classmethod
    def _get_connection(cls) -> TableConnection:
        """The one connection every model shares, to the table the settings name.

        PynamoDB reads ``Meta.table_name`` and ``Meta.region`` when a model
        first talks to DynamoDB. Whatever that first call is (a fresh Lambda
        container may well start with a read), the models are pointed at the
        settings' table before it; ``Meta`` only holds placeholders. Every
        entity uses ``TableItem``'s connection, so there is one botocore
        client to build, and one place to hook into.
        """
        if not TableItem.configured:
            with _CONFIGURING:
                if not TableItem.configured:
                    _point_at(get_settings())
        return super(TableItem, TableItem)._get_connection()


# ---------------------------------------------------------------- connection
#
# PynamoDB has no public way to point models at a table chosen at run time, nor to read
# the schema it derives; this section (with ``TableItem._get_connection``) and
# ``schema.table_definition`` are the places that use its ``_get_connection``,
# ``_connection`` and ``_get_schema``, and ``tests/test_library_contracts.py`` pins how
# they behave.

_CONFIGURING = threading.Lock()


def configure(settings: Settings) -> TableConnection:
    """Point every model at the settings' table, over one shared connection.

    The endpoint is botocore's own: ``AWS_ENDPOINT_URL_DYNAMODB`` when set
    (moto's server in development), AWS otherwise.
    """
    with _CONFIGURING:
        _point_at(settings)
    return TableItem._get_connection()


def forget_configuration() -> None:
    """Let the next call read the settings again (tests)."""
    with _CONFIGURING:
        TableItem.configured = False


def _point_at(settings: Settings) -> None:
    TableItem.Meta.table_name = settings.table_name
    TableItem.Meta.region = settings.region
    for entity in _entities():
        if "_connection" in vars(entity):
            delattr(entity, "_connection")
    TableItem._connection = None
    TableItem.configured = True


def _entities(model: type[TableItem] = TableItem) -> Iterator[type[TableItem]]:
    """Every subclass of ``model``, at any depth (each could hold a connection of its own)."""
    for subclass in model.__subclasses__():
        yield subclass
        yield from _entities(subclass)
