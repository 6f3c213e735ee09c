"""The one table: its keys, its indexes, and one PynamoDB model per entity.

Every entity is a subclass of ``TableItem`` told apart by the ``kind``
discriminator, so one Query over an item collection comes back as the right
Python classes. Keys belong to the entity: each model builds its own
``pk``/``sk`` (and index keys) in ``key()`` or ``new()``; nothing outside
this package formats a key string. See ``chalicelib.storage`` for the
access-pattern table.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import TableConnection
from pynamodb.constants import NUMBER
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.settings import Settings, get_settings

ID_WIDTH = 16  # 2**53 has 16 digits; zero-padding keeps string order = numeric order
ALL_MOVIES = "MOVIES"
MAX_COMMENT_DEPTH = 32  # a reply path of 33 ids still fits DynamoDB's 1,024-byte sort key


class IntegerAttribute(Attribute[int]):
    """A DynamoDB number that is always a Python ``int`` (ids, counters, ratings)."""

    attr_type = NUMBER

    def serialize(self, value: int) -> str:
        return str(int(value))

    def deserialize(self, value: str) -> int:
        return int(value)


def padded(value: int) -> str:
    return f"{value:0{ID_WIDTH}d}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class ByAllMovies(GlobalSecondaryIndex["TableItem"]):
    """GSI1: every movie, newest first (``gsi1pk = MOVIES``, ``gsi1sk`` = id)."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ByOwner(GlobalSecondaryIndex["TableItem"]):
    """GSI2: one user's movies, newest first (``gsi2pk = OWNER#<user>``)."""

    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class RatingsByTime(LocalSecondaryIndex["TableItem"]):
    """LSI1: a movie's ratings by last change, strongly consistent.

    The movie item carries ``lsi1sk = RATING#~``, which sorts after every
    rating, so a descending Query returns the movie first and then its
    ratings newest first: existence and a page in one call.
    """

    class Meta:
        index_name = "lsi1"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True)
    lsi1sk = UnicodeAttribute(range_key=True)


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
    lsi1sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_all_movies: ClassVar[ByAllMovies] = ByAllMovies()
    by_owner: ClassVar[ByOwner] = ByOwner()
    ratings_by_time: ClassVar[RatingsByTime] = RatingsByTime()

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


# ---------------------------------------------------------------- users


class UserItem(TableItem, discriminator="user"):
    """A user's profile. ``pk = USER#<id>``, ``sk = PROFILE``."""

    id = IntegerAttribute()
    username = UnicodeAttribute()
    email = UnicodeAttribute()
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    phone_number = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    @staticmethod
    def key(user_id: int) -> tuple[str, str]:
        return f"USER#{user_id}", "PROFILE"


class UsernameItem(TableItem, discriminator="username"):
    """Claims a username (lower-cased) for one user; carries what login needs.

    Written in the same transaction as the user with ``attribute_not_exists``
    so two signups for one name cannot both succeed, and read (consistently)
    by login: the password hash is copied here so login is one GetItem.
    """

    user_id = IntegerAttribute()
    password_hash = UnicodeAttribute()
    # A migrated user's names (both claims carry both), so that their first login can
    # replace the old hash on the user and both claims in one write; removed by it.
    username = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)

    @staticmethod
    def key(username: str) -> tuple[str, str]:
        return f"USERNAME#{username.lower()}", "USERNAME"


class EmailItem(TableItem, discriminator="email"):
    """Claims an e-mail address (lower-cased); the same role as ``UsernameItem``."""

    user_id = IntegerAttribute()
    password_hash = UnicodeAttribute()
    username = UnicodeAttribute(null=True)  # as on UsernameItem
    email = UnicodeAttribute(null=True)

    @staticmethod
    def key(email: str) -> tuple[str, str]:
        return f"EMAIL#{email.lower()}", "EMAIL"


class LoginThrottleItem(TableItem, discriminator="login_throttle"):
    """Recent failed logins for one login name from one client address.

    Keyed by the address too, so an attacker hammering a name locks out only
    themselves, not the user logging in from elsewhere. ``expires_at`` (TTL)
    forgets it; reads also check it, since DynamoDB deletes expired items
    lazily. ``last_failure_id`` names the failure counted last, so a resent
    update does not count it twice.
    """

    failures = IntegerAttribute(default=0)
    locked_until = IntegerAttribute(null=True)
    last_failure_id = UnicodeAttribute(null=True)

    @staticmethod
    def key(login: str, client: str) -> tuple[str, str]:
        return f"LOGIN#{login.lower()}", f"CLIENT#{client}"


# ---------------------------------------------------------------- movies


class MovieItem(TableItem, discriminator="movie"):
    """A movie and its rating counters. ``pk = MOVIE#<id>``, ``sk = MOVIE``."""

    id = IntegerAttribute()
    user_id = IntegerAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    release_date = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    rating_count = IntegerAttribute(default=0)
    rating_sum = IntegerAttribute(default=0)

    SK: ClassVar[str] = "MOVIE"
    LSI_SK: ClassVar[str] = "RATING#~"

    @classmethod
    def key(cls, movie_id: int) -> tuple[str, str]:
        return f"MOVIE#{movie_id}", cls.SK

    def average_rating(self) -> float | None:
        """The mean rating to two decimals, halves up, from the counters (``None``: unrated).

        Exact decimal arithmetic: ``round(53 / 8, 2)`` would give 6.62 (the
        float rounds half to even); people expect 6.63.
        """
        count = self.rating_count or 0
        if not count:
            return None
        mean = Decimal(self.rating_sum or 0) / Decimal(count)
        return float(mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

    @staticmethod
    def owner_partition(user_id: int) -> str:
        return f"OWNER#{user_id}"

    @classmethod
    def new(cls, movie_id: int, user_id: int, **fields: Any) -> MovieItem:
        now = utcnow()
        pk, sk = cls.key(movie_id)
        return cls(
            pk,
            sk,
            id=movie_id,
            user_id=user_id,
            created_at=now,
            updated_at=now,
            rating_count=0,
            rating_sum=0,
            gsi1pk=ALL_MOVIES,
            gsi1sk=padded(movie_id),
            gsi2pk=cls.owner_partition(user_id),
            gsi2sk=padded(movie_id),
            lsi1sk=cls.LSI_SK,
            **fields,
        )


class RatingItem(TableItem, discriminator="rating"):
    """One user's rating of one movie: ``pk = MOVIE#<id>``, ``sk = RATING#<user>``.

    Keyed by the user, so "one rating per user per movie" is the key itself;
    ``lsi1sk = RATING#<updated ms>#<user>`` orders them newest first.
    """

    id = IntegerAttribute()
    movie_id = IntegerAttribute()
    user_id = IntegerAttribute()
    rating = IntegerAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    PREFIX: ClassVar[str] = "RATING#"

    @classmethod
    def key(cls, movie_id: int, user_id: int) -> tuple[str, str]:
        return MovieItem.key(movie_id)[0], f"{cls.PREFIX}{padded(user_id)}"

    @classmethod
    def order_key(cls, user_id: int, changed_at: datetime) -> str:
        millis = int(changed_at.timestamp() * 1000)
        return f"{cls.PREFIX}{millis:015d}#{padded(user_id)}"


# ---------------------------------------------------------------- comments


class CommentItem(TableItem, discriminator="comment"):
    """A comment, stored in its movie's item collection.

    ``sk = MOVIE#C#<root id>#<child id>#...``: the materialised path from
    the thread's root. Ids are time-ordered and zero-padded, so sort-key
    order is depth-first, oldest first: a thread is one contiguous range
    that starts with its root, and the movie item (``sk = MOVIE``) sorts
    just before all of them.
    """

    id = IntegerAttribute()
    movie_id = IntegerAttribute()
    user_id = IntegerAttribute(null=True)
    parent_comment_id = IntegerAttribute(null=True)
    comment_text = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    deleted = BooleanAttribute(default=False)
    reply_count = IntegerAttribute(default=0)

    PREFIX: ClassVar[str] = "MOVIE#C#"

    @classmethod
    def path_key(cls, movie_id: int, ancestor_ids: list[int], comment_id: int) -> tuple[str, str]:
        path = "#".join(padded(i) for i in [*ancestor_ids, comment_id])
        return MovieItem.key(movie_id)[0], f"{cls.PREFIX}{path}"

    @classmethod
    def path_ids(cls, sk: str) -> list[int]:
        """The ids on the path from the root to this comment, inclusive."""
        return [int(part) for part in sk.removeprefix(cls.PREFIX).split("#")]


class CommentRefItem(TableItem, discriminator="comment_ref"):
    """Where comment ``<id>`` lives: ``pk = COMMENT#<id>``, ``sk = REF``.

    Written in the same transaction as the comment, so a reply or an edit
    right after finds it with a consistent GetItem (a GSI could lag). It
    mirrors what a write must decide before it is sent: the author
    (``user_id``), ``deleted`` and ``reply_count``. Every transaction that
    changes them on the comment changes them here too, so delete chooses
    between a tombstone and a removal from this one read.
    """

    movie_id = IntegerAttribute()
    comment_sk = UnicodeAttribute()
    user_id = IntegerAttribute(null=True)
    reply_count = IntegerAttribute(default=0)
    deleted = BooleanAttribute(default=False)

    @staticmethod
    def key(comment_id: int) -> tuple[str, str]:
        return f"COMMENT#{comment_id}", "REF"


ENTITIES: tuple[type[TableItem], ...] = (
    UserItem,
    UsernameItem,
    EmailItem,
    LoginThrottleItem,
    MovieItem,
    RatingItem,
    CommentItem,
    CommentRefItem,
)


# ---------------------------------------------------------------- connection


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
    for entity in ENTITIES:
        if "_connection" in vars(entity):
            delattr(entity, "_connection")
    TableItem._connection = None
    TableItem.configured = True


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
        "LocalSecondaryIndexes": schema["local_secondary_indexes"],
        "StreamSpecification": {
            "StreamEnabled": True,
            "StreamViewType": TableItem.Meta.stream_view_type,
        },
    }
    definition = _camel_keys(definition)
    for index in definition["GlobalSecondaryIndexes"] + definition["LocalSecondaryIndexes"]:
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
