"""The movies' entities: movies, their counter shards, ratings, list entries and cleanup."""

from __future__ import annotations

import hashlib
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.storage.table.base import (
    IntegerAttribute,
    StringListAttribute,
    TableItem,
    padded,
    spread,
    utcnow,
)

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
