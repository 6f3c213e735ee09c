"""The one table: its keys, its indexes, and one PynamoDB model per entity.

Every entity is a subclass of ``TableItem`` told apart by the ``kind``
discriminator, so one Query over an item collection comes back as the right
Python classes. Keys belong to the entity: each model builds its own
``pk``/``sk`` (and index keys) in ``key()`` or ``new()``; nothing outside
this package formats a key string. See ``chalicelib.storage`` for the
access-pattern table.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zlib
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar, Self

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import TableConnection
from pynamodb.constants import LIST, MAP, NUMBER
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.settings import Settings, get_settings
from chalicelib.storage import session_check

ID_WIDTH = 16  # 2**53 has 16 digits; zero-padding keeps string order = numeric order
ALL_MOVIES = "MOVIES"
# GSI1 is the one index every movie shares, so its key is split this many ways
# (``MOVIES#0``, ``MOVIES#1``) by a hash of the movie id; lists read every part at once.
ALL_MOVIES_SHARDS = 2
# Each movie's rating counters are split over this many items, so one movie takes
# 10,000 rating changes a second without any one item passing 1,000 write units.
COUNTER_SHARDS = 32
# GSI3 holds every other list of movies (by genre, year, rating, release, search word),
# each key split this many ways like GSI1, for the same reason.
LIST_SHARDS = 2
MAX_COMMENT_DEPTH = 32  # a reply path of 33 ids still fits DynamoDB's 1,024-byte sort key


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


class SessionIdsAttribute(Attribute[frozenset[int]]):
    """A set of session ids stored as a map ``{"<id>": true}``.

    A map, not a number set: one entry can be added or removed by its path
    (``sessions.<id>``), conditioned on its existence, and read alone by a
    projection, which is what the authorizer's one GetItem needs.
    """

    attr_type = MAP

    def serialize(self, value: frozenset[int]) -> dict[str, Any]:
        return {session_check.map_key(i): {"BOOL": True} for i in value}

    def deserialize(self, value: dict[str, Any]) -> frozenset[int]:
        return frozenset(int(key) for key in value)


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


# ---------------------------------------------------------------- users


class UserItem(TableItem, discriminator="user"):
    """A user's profile. ``pk = USER#<id>``, ``sk = PROFILE``.

    ``sessions`` is the set of the user's live sessions, the truth that the
    authorizer and refresh read (``session_check``): login adds its session,
    ending one removes it, ending all others sets it to the caller's alone.
    At most ``MAX_SESSIONS`` entries, so that the profile, read whole by the
    authorizer's GetItem, stays within one read unit (4 KB) even with every
    field at its longest (``tests/test_session_cap.py`` computes the size).
    """

    id = IntegerAttribute()
    username = UnicodeAttribute()
    email = UnicodeAttribute()
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    phone_number = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    sessions = SessionIdsAttribute(attr_name=session_check.SESSIONS_MAP, default=frozenset)

    MAX_SESSIONS: ClassVar[int] = 100

    @staticmethod
    def key(user_id: int) -> tuple[str, str]:
        return session_check.profile_key(user_id)

    @classmethod
    def new(
        cls,
        user_id: int,
        fields: dict[str, Any],
        password_hash: str,
        *,
        created_at: datetime,
        updated_at: datetime,
    ) -> UserItem:
        """A profile (signup, and the migration): ``fields`` are the user's own details."""
        return cls(
            *cls.key(user_id),
            id=user_id,
            password_hash=password_hash,
            created_at=created_at,
            updated_at=updated_at,
            sessions=frozenset(),  # logins add to it: it must exist as a map
            **fields,
        )

    @staticmethod
    def session_entry(session_id: int) -> Path:
        """The path of one session's entry in ``sessions`` (for conditions and updates)."""
        return UserItem.sessions[session_check.map_key(session_id)]

    @staticmethod
    def listing_sessions() -> Action:
        """The update that gives a profile without a ``sessions`` map an empty one.

        ``if_not_exists``: a map that exists is left as it is.
        """
        path = Path(UserItem.sessions)
        return path.set(path | {MAP: {}})

    @staticmethod
    def keeping_only(keep: int | None) -> Action:
        """The update that ends every session of the user but ``keep`` (``None``: every one)."""
        kept = frozenset() if keep is None else frozenset({keep})
        # Already serialized: PynamoDB serializes only a dict as a map's new value.
        return Path(UserItem.sessions).set({MAP: UserItem.sessions.serialize(kept)})


class ClaimItem(TableItem):
    """Claims a login name (lower-cased) for one user; carries what login needs.

    Written in the same transaction as the user with ``attribute_not_exists``
    so two signups for one name cannot both succeed, and read (consistently)
    by login: the password hash is copied here so login is one GetItem. The
    two kinds of name are ``UsernameItem`` and ``EmailItem``.
    """

    user_id = IntegerAttribute()
    password_hash = UnicodeAttribute()
    # A migrated user's names (both claims carry both), so that their first login can
    # replace the old hash on the user and both claims in one write; removed by it.
    username = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)

    PREFIX: ClassVar[str]

    @staticmethod
    def of_login(login: str) -> type[ClaimItem]:
        """The claim a login name reads: an e-mail's if it has ``@`` (no username has)."""
        return EmailItem if "@" in login else UsernameItem

    @classmethod
    def key(cls, name: str) -> tuple[str, str]:
        return f"{cls.PREFIX}#{name.lower()}", cls.PREFIX

    @classmethod
    def new(
        cls, name: str, user_id: int, password_hash: str, names: tuple[str, str] | None = None
    ) -> Self:
        """The claim of ``name`` for ``user_id``, with the hash login reads.

        ``names`` (username, e-mail): for a migrated user, whose first login
        replaces the hash on both claims (``users.HashUpgrade``).
        """
        username, email = names or (None, None)
        return cls(
            *cls.key(name),
            user_id=user_id,
            password_hash=password_hash,
            username=username,
            email=email,
        )


class UsernameItem(ClaimItem, discriminator="username"):
    """Claims a username: ``pk = USERNAME#<username>``, ``sk = USERNAME``."""

    PREFIX: ClassVar[str] = "USERNAME"


class EmailItem(ClaimItem, discriminator="email"):
    """Claims an e-mail address: ``pk = EMAIL#<email>``, ``sk = EMAIL``."""

    PREFIX: ClassVar[str] = "EMAIL"


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


def mean_rating(count: int, total: int) -> float | None:
    """The mean rating to two decimals, halves up (``None``: unrated).

    Exact decimal arithmetic: ``round(53 / 8, 2)`` would give 6.62 (the
    float rounds half to even); people expect 6.63.
    """
    if not count:
        return None
    mean = Decimal(total) / Decimal(count)
    return float(mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


class MovieItem(TableItem, discriminator="movie"):
    """A movie. ``pk = MOVIE#<id>``, ``sk = MOVIE``.

    ``rating_count``/``rating_sum`` are a *copy* of the sums of the movie's
    counter shards (``CounterShardItem``), there for the list items that
    GSI1 and GSI2 project. Only the stream consumer writes them, with
    ``counted_version`` (the shards' total of changes) so that an older or
    redelivered recount never overwrites a newer one. A rating change never
    writes this item, so it never writes a GSI key that movies share.
    """

    id = IntegerAttribute()
    user_id = IntegerAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    release_date = UnicodeAttribute(null=True)
    genres = StringListAttribute(null=True)  # canonical, in the set's order
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    rating_count = IntegerAttribute(default=0)
    rating_sum = IntegerAttribute(default=0)
    counted_version = IntegerAttribute(null=True)

    SK: ClassVar[str] = "MOVIE"
    # What a list entry copies of its movie, to show it in a list without reading it.
    SHOWN: ClassVar[tuple[str, ...]] = (
        "id",
        "user_id",
        "title",
        "description",
        "release_date",
        "genres",
        "created_at",
        "updated_at",
        "rating_count",
        "rating_sum",
    )

    @staticmethod
    def partition(movie_id: int) -> str:
        """The movie's item collection: the movie, its comments, counter shards and ratings."""
        return f"MOVIE#{movie_id}"

    @classmethod
    def key(cls, movie_id: int) -> tuple[str, str]:
        return cls.partition(movie_id), cls.SK

    @staticmethod
    def id_in(partition: str) -> int | None:
        """The movie id of a movie's partition key; ``None`` for any other partition."""
        prefix, _, number = partition.partition("#")
        return int(number) if prefix == "MOVIE" and number.isdigit() else None

    def average_rating(self) -> float | None:
        """The mean of the copied counters (list items); exact values come from the shards."""
        return mean_rating(self.rating_count or 0, self.rating_sum or 0)

    @staticmethod
    def owner_partition(user_id: int) -> str:
        return f"OWNER#{user_id}"

    @staticmethod
    def all_movies_partitions() -> list[str]:
        """GSI1's partitions, one per shard of the all-movies list."""
        return [f"{ALL_MOVIES}#{shard}" for shard in range(ALL_MOVIES_SHARDS)]

    @classmethod
    def all_movies_partition(cls, movie_id: int) -> str:
        return cls.all_movies_partitions()[spread(movie_id, ALL_MOVIES_SHARDS)]

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
            gsi1pk=cls.all_movies_partition(movie_id),
            gsi1sk=padded(movie_id),
            gsi2pk=cls.owner_partition(user_id),
            gsi2sk=padded(movie_id),
            **fields,
        )


class CounterShardItem(TableItem, discriminator="rating_counter"):
    """One of a movie's ``COUNTER_SHARDS`` rating counters: ``sk = RATING#C#<nn>``.

    A rating change adds to one shard (the caller's, by a hash of the user
    id) in the same transaction as the rating; the movie's exact counters
    are the sums over its shards, read in one Query. ``changes`` counts the
    changes a shard took, so the sum of ``changes`` is a version that only
    grows. The shards exist exactly as long as the movie (they are written
    in its create and delete transactions), so "the shard exists" is the
    rating change's check that the movie exists, without touching the movie
    item. They sort just before the ratings (``RATING#U#...``): a Query that
    starts at the last shard says whether the movie exists and goes straight
    on into its ratings. Nothing else is stored on a shard (its movie and
    number are in its key): 32 of them are about 3 KB, one read unit.
    """

    rating_count = IntegerAttribute(default=0)
    rating_sum = IntegerAttribute(default=0)
    changes = IntegerAttribute(default=0)

    PREFIX: ClassVar[str] = "RATING#C#"

    @classmethod
    def key(cls, movie_id: int, shard: int) -> tuple[str, str]:
        return MovieItem.partition(movie_id), f"{cls.PREFIX}{shard:02d}"

    @classmethod
    def key_for(cls, movie_id: int, user_id: int) -> tuple[str, str]:
        """The shard that ``user_id``'s rating changes add to."""
        return cls.key(movie_id, spread(user_id, COUNTER_SHARDS))

    @classmethod
    def head_key(cls, movie_id: int) -> tuple[str, str]:
        """The last shard, which sorts right before the ratings."""
        return cls.key(movie_id, COUNTER_SHARDS - 1)

    @classmethod
    def all_new(cls, movie_id: int) -> list[CounterShardItem]:
        """The shards of a new movie, all at zero."""
        return [
            cls(*cls.key(movie_id, n), rating_count=0, rating_sum=0, changes=0)
            for n in range(COUNTER_SHARDS)
        ]


class RatingItem(TableItem, discriminator="rating"):
    """One user's rating of one movie: ``pk = MOVIE#<id>``, ``sk = RATING#U#<user>``.

    Keyed by the user, so "one rating per user per movie" is the key itself,
    and a movie's ratings list in user-id order. In GSI2 under its rater
    (``gsi2pk = RATER#<user>``, ``gsi2sk`` = the rating's id): ids are
    time-ordered, so the rater's list is newest first by when they first
    rated; a re-rate keeps the id, and its place.
    """

    id = IntegerAttribute()
    movie_id = IntegerAttribute()
    user_id = IntegerAttribute()
    rating = IntegerAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    PREFIX: ClassVar[str] = "RATING#U#"
    LAST_SK: ClassVar[str] = "RATING#U#~"  # after every user id: the end of the ratings

    @classmethod
    def key(cls, movie_id: int, user_id: int) -> tuple[str, str]:
        return MovieItem.partition(movie_id), f"{cls.PREFIX}{padded(user_id)}"

    @staticmethod
    def rater_partition(user_id: int) -> str:
        return f"RATER#{user_id}"

    @classmethod
    def new(cls, movie_id: int, user_id: int, value: int, rating_id: int) -> RatingItem:
        now = utcnow()
        return cls(
            *cls.key(movie_id, user_id),
            id=rating_id,
            movie_id=movie_id,
            user_id=user_id,
            rating=value,
            created_at=now,
            updated_at=now,
        ).with_rater_keys()

    def rater_keys(self) -> dict[str, str]:
        """Its place in its rater's list (GSI2), by attribute: the rater, then the rating id."""
        return {"gsi2pk": self.rater_partition(self.user_id), "gsi2sk": padded(self.id)}

    def with_rater_keys(self) -> RatingItem:
        for name, value in self.rater_keys().items():
            setattr(self, name, value)
        return self


class MovieCleanupItem(TableItem, discriminator="movie_cleanup"):
    """How far the cleanup of a deleted movie's collection has got: ``sk = CLEANUP#<step>``.

    A deleted movie's comments and ratings are removed by the stream consumer
    a bounded number at a time (``changes.clean_up``). While some are left,
    this one item marks the next step: each step replaces it with the next
    step's marker in one transaction, and that Put's stream record is what
    hands the work on to the next invocation. The step number is in the key,
    so a record names the step it stands for (the stream's records carry keys
    and, for removals and changes, the old image only) and a stale or
    redelivered one is recognised as such. It sorts first in the collection
    ("C" before "MOVIE" and "RATING"), so the Query that finds the next items
    to delete finds the current marker first.
    """

    deleted = IntegerAttribute(default=0)

    PREFIX: ClassVar[str] = "CLEANUP#"
    STEP_WIDTH: ClassVar[int] = 10

    @classmethod
    def key(cls, movie_id: int, step: int) -> tuple[str, str]:
        return MovieItem.partition(movie_id), f"{cls.PREFIX}{step:0{cls.STEP_WIDTH}d}"

    @classmethod
    def step_in(cls, sort_key: str) -> int | None:
        """The step a marker's sort key names; ``None`` for any other sort key."""
        number = sort_key.removeprefix(cls.PREFIX)
        return int(number) if sort_key.startswith(cls.PREFIX) and number.isdigit() else None

    @property
    def step(self) -> int:
        found = self.step_in(self.sk)
        if found is None:
            raise ValueError(f"not a cleanup marker's sort key: {self.sk!r}")
        return found

    @classmethod
    def new(cls, movie_id: int, step: int, deleted: int) -> MovieCleanupItem:
        return cls(*cls.key(movie_id, step), deleted=deleted)


class ListEntryItem(TableItem, discriminator="list_entry"):
    """A movie's place in one list: ``pk = MOVIE#<id>``, ``sk = LIST#<list>``.

    One per list the movie is in (``storage.listings`` names them: its
    genres' and its year's newest, the ranked orders overall and by genre
    and by year, and one per prefix of each word of its title, for search).
    Written only by the stream consumer (``listings.sync``), in the movie's
    own collection, so the deleted movie's cleanup removes them with the
    rest. ``gsi3pk``/``gsi3sk`` place it in GSI3: its list (split over
    ``LIST_SHARDS`` by a hash of the movie id) and its rank there. It copies
    what a list item shows (``MovieItem.SHOWN``), so a page is one Query;
    search entries also hold the title's ``words``, which a query of several
    words is checked against. ``digest`` sums up everything else it holds,
    so the consumer tells what changed from a keys-only read. They sort
    after a cleanup marker and before the movie item (``L``).
    """

    id = IntegerAttribute()
    user_id = IntegerAttribute()
    title = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    release_date = UnicodeAttribute(null=True)
    genres = StringListAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    rating_count = IntegerAttribute(default=0)
    rating_sum = IntegerAttribute(default=0)
    words = StringListAttribute(null=True)
    digest = UnicodeAttribute()

    PREFIX: ClassVar[str] = "LIST#"

    @classmethod
    def key(cls, movie_id: int, list_name: str) -> tuple[str, str]:
        return MovieItem.partition(movie_id), f"{cls.PREFIX}{list_name}"

    @staticmethod
    def list_partitions(list_name: str) -> list[str]:
        """GSI3's partitions of one list, one per shard."""
        return [f"{list_name}#{shard}" for shard in range(LIST_SHARDS)]

    @classmethod
    def new(
        cls, movie: MovieItem, list_name: str, rank: str, words: list[str] | None = None
    ) -> ListEntryItem:
        entry = cls(
            *cls.key(movie.id, list_name),
            gsi3pk=cls.list_partitions(list_name)[spread(movie.id, LIST_SHARDS)],
            gsi3sk=rank,
            words=words,
            digest="",
            **{name: getattr(movie, name) for name in MovieItem.SHOWN},
        )
        entry.digest = hashlib.sha256(
            json.dumps(entry.serialize(), sort_keys=True).encode()
        ).hexdigest()[:32]
        return entry

    def as_movie(self) -> MovieItem:
        """The movie as this entry shows it (what a list item needs, no more)."""
        return MovieItem(
            *MovieItem.key(self.id), **{name: getattr(self, name) for name in MovieItem.SHOWN}
        )


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
        return MovieItem.partition(movie_id), f"{cls.PREFIX}{path}"

    @classmethod
    def path_ids(cls, sk: str) -> list[int]:
        """The ids on the path from the root to this comment, inclusive."""
        return [int(part) for part in sk.removeprefix(cls.PREFIX).split("#")]

    @classmethod
    def new(
        cls, movie_id: int, ancestors: list[int], comment_id: int, user_id: int | None, text: str
    ) -> CommentItem:
        now = utcnow()
        return cls(
            *cls.path_key(movie_id, ancestors, comment_id),
            id=comment_id,
            movie_id=movie_id,
            user_id=user_id,
            parent_comment_id=ancestors[-1] if ancestors else None,
            comment_text=text,
            created_at=now,
            updated_at=now,
            deleted=False,
            reply_count=0,
        )


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

    @classmethod
    def new(cls, comment: CommentItem) -> CommentRefItem:
        return cls(
            *cls.key(comment.id),
            movie_id=comment.movie_id,
            comment_sk=comment.sk,
            user_id=comment.user_id,
            reply_count=comment.reply_count,
            deleted=comment.deleted,
        )


# ---------------------------------------------------------------- sessions


class SessionItem(TableItem, discriminator="session"):
    """One login: ``pk = USER#<user>``, ``sk = SESSION#<session id>``.

    In the user's partition, just after the profile, so one Query reads the
    profile and the user's sessions (ids are time-ordered; the key format is
    ``session_check``'s, whose lean module the authorizer imports). The
    session is live while the profile's ``sessions`` lists it: an item the
    profile no longer lists is stale (ended together with others) and is
    ignored until the stream consumer deletes it. ``refresh_hash`` is the
    SHA-256 of the one refresh token that is current; ``rotated_at`` (epoch
    seconds) when it was issued, which starts the grace period for the token
    before it. ``expires_at`` (TTL, also checked on read) ends it when its
    refresh token runs out.
    """

    id = IntegerAttribute()
    user_id = IntegerAttribute()
    refresh_hash = UnicodeAttribute()
    rotated_at = IntegerAttribute()
    user_agent = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute()

    PREFIX: ClassVar[str] = session_check.SESSION_PREFIX

    @staticmethod
    def key(user_id: int, session_id: int) -> tuple[str, str]:
        return session_check.session_key(user_id, session_id)

    @staticmethod
    def partition(user_id: int) -> str:
        return session_check.user_partition(user_id)

    @classmethod
    def new(
        cls,
        user_id: int,
        session_id: int,
        *,
        refresh_hash: str,
        user_agent: str | None,
        lifetime: timedelta,
    ) -> SessionItem:
        now = utcnow()
        return cls(
            *cls.key(user_id, session_id),
            id=session_id,
            user_id=user_id,
            refresh_hash=refresh_hash,
            rotated_at=int(now.timestamp()),
            user_agent=user_agent,
            created_at=now,
            last_used_at=now,
            expires_at=now + lifetime,
        )

    def is_live(self, now: datetime) -> bool:
        """Not expired; whether it has ended is its profile's to say (``UserItem.sessions``)."""
        return self.expires_at is not None and self.expires_at > now


class SessionsEndedItem(TableItem, discriminator="sessions_ended"):
    """A marker that a user's sessions were ended together: ``USER#<user>`` / ``SESSIONS_ENDED``.

    Ending all of a user's sessions but one (and a password change) sets
    the profile's ``sessions`` to the one kept, in one write, and leaves the
    others' items behind. The same transaction puts this marker, whose
    stream record (the event source mapping's filter passes it) makes the
    stream consumer delete those items (``session_cleanup``). ``ended_at``
    differs with every put, so each one makes a record; TTL forgets it.
    """

    user_id = IntegerAttribute()
    ended_at = UTCDateTimeAttribute()

    SK: ClassVar[str] = "SESSIONS_ENDED"
    LIFETIME: ClassVar[timedelta] = timedelta(days=1)

    @classmethod
    def key(cls, user_id: int) -> tuple[str, str]:
        return session_check.user_partition(user_id), cls.SK

    @staticmethod
    def user_id_in(partition: str) -> int | None:
        """The user id of a user's partition key; ``None`` for any other partition."""
        prefix, _, number = partition.partition("#")
        return int(number) if prefix == "USER" and number.isdigit() else None

    @classmethod
    def new(cls, user_id: int) -> SessionsEndedItem:
        now = utcnow()
        return cls(*cls.key(user_id), user_id=user_id, ended_at=now, expires_at=now + cls.LIFETIME)


ENTITIES: tuple[type[TableItem], ...] = (
    UserItem,
    UsernameItem,
    EmailItem,
    LoginThrottleItem,
    MovieItem,
    MovieCleanupItem,
    ListEntryItem,
    CounterShardItem,
    RatingItem,
    CommentItem,
    CommentRefItem,
    SessionItem,
    SessionsEndedItem,
)


# ---------------------------------------------------------------- connection
#
# PynamoDB has no public way to point models at a table chosen at run time, nor to read
# the schema it derives; this section (with ``TableItem._get_connection``) is the one
# place that uses its ``_get_connection``, ``_connection`` and ``_get_schema``, and
# ``tests/test_library_contracts.py`` pins how they behave.

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
