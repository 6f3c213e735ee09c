"""The one table: its keys, its indexes, and one PynamoDB model per entity.

Every entity is a subclass of ``TableItem`` told apart by the ``kind``
discriminator, so one Query over an item collection comes back as the right
Python classes. Keys belong to the entity: each model builds its own
``pk``/``sk`` (and index keys) in ``key()`` or ``new()``; nothing outside
this package formats a key string. See ``chalicelib.storage`` for the
access-pattern table.

One module per resource: ``base`` (the attribute types, the indexes,
``TableItem`` and its connection), ``user_items``, ``movie_items`` (movies,
counter shards, ratings, list entries, cleanup markers), ``comment_items``,
``session_items``, and ``schema`` (the CreateTable request derived from
them). Importing the package defines every entity, which the discriminator
needs to read any item back; the rest of the app imports from here.
"""

from chalicelib.storage.table.base import (
    ID_WIDTH,
    ByAllMovies,
    ByList,
    ByOwner,
    IntegerAttribute,
    StringListAttribute,
    TableItem,
    configure,
    forget_configuration,
    padded,
    spread,
    utcnow,
)
from chalicelib.storage.table.comment_items import MAX_COMMENT_DEPTH, CommentItem, CommentRefItem
from chalicelib.storage.table.movie_items import (
    ALL_MOVIES,
    ALL_MOVIES_SHARDS,
    COUNTER_SHARDS,
    LIST_SHARDS,
    CounterShardItem,
    ListEntryItem,
    MovieCleanupItem,
    MovieItem,
    RatingItem,
    mean_rating,
)
from chalicelib.storage.table.schema import table_definition, ttl_attribute_name
from chalicelib.storage.table.session_items import SessionItem, SessionsEndedItem
from chalicelib.storage.table.user_items import (
    ClaimItem,
    EmailItem,
    LoginThrottleItem,
    SessionIdsAttribute,
    UserItem,
    UsernameItem,
)

__all__ = [
    "ALL_MOVIES",
    "ALL_MOVIES_SHARDS",
    "COUNTER_SHARDS",
    "ID_WIDTH",
    "LIST_SHARDS",
    "MAX_COMMENT_DEPTH",
    "ByAllMovies",
    "ByList",
    "ByOwner",
    "ClaimItem",
    "CommentItem",
    "CommentRefItem",
    "CounterShardItem",
    "EmailItem",
    "IntegerAttribute",
    "ListEntryItem",
    "LoginThrottleItem",
    "MovieCleanupItem",
    "MovieItem",
    "RatingItem",
    "SessionIdsAttribute",
    "SessionItem",
    "SessionsEndedItem",
    "StringListAttribute",
    "TableItem",
    "UserItem",
    "UsernameItem",
    "configure",
    "forget_configuration",
    "mean_rating",
    "padded",
    "spread",
    "table_definition",
    "ttl_attribute_name",
    "utcnow",
]
