"""Discovery: the ranked and filtered lists of movies and title search, on GSI3.

Every list but the plain newest-first one (GSI1) is a set of list entries
(``ListEntryItem``), one per movie in it, under one GSI3 key per list and
shard, ranked by ``gsi3sk``:

==================  ===================================  ==================================
list                ``gsi3pk`` (then ``#<shard>``)        rank (``gsi3sk``, read descending)
==================  ===================================  ==================================
newest by genre     ``NEW#G#<genre>``                     movie id
newest by year      ``NEW#Y#<year>``                      movie id
top rated           ``TOP``, ``TOP#G#..``, ``TOP#Y#..``   damped average, count, id
most rated          ``MOST``, ``MOST#G#..``, ...          count, id
release date        ``REL``, ``REL#G#..``, ...            release date, id
search              ``WORD#<prefix>``                     count, id (most rated, then newest)
==================  ===================================  ==================================

A page is one Query per shard, sent at once (one round trip), each reading
``limit + 1`` entries, so at most twice what it shows plus two; nothing is
filtered or sorted beyond what it read (``pages.merged_page``). Unrated
movies are in no rated list, undated ones in no release-date list.

Search: each word of the title (``discovery.words``) is filed under each of
its prefixes up to ``MAX_PREFIX`` characters (as many as ``RECOUNT_WCU``
allows), so "every word of the query begins a word of the title" is one key
for a query of one word. A query of several words reads the key of its
longest word (not a very common one, such as "the", when it has another)
and keeps the entries whose ``words`` match the others too: such a page
also reads at most ``2 * limit + 2`` entries, and may show fewer than
``limit`` (with a cursor to go on) rather than read on until it fills.

Entries are written only by the stream consumer, never on a request's path:
``sync`` makes a movie's entries what its item says now, after it was
created, changed or recounted. Its fan-out is bounded: at most 19 list
entries (4 sorts' overall, 3 genres' and one year's lists, less the plain
newest) and one per distinct title-word prefix, as many as fit with them
in ``RECOUNT_WCU`` (a recount rewrites them all). Each list key is split
over ``LIST_SHARDS`` by a hash of the movie id, so no list that all movies
share takes more than half the app's recounts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from chalicelib import discovery, lists
from chalicelib.storage.engine import RaceLost, batch_write, both, item_or_none, retry_on_race
from chalicelib.storage.pages import Key, Page, highest_first, key_of, merged_page
from chalicelib.storage.table import (
    ListEntryItem,
    MovieItem,
    TableItem,
    padded,
)

NEWEST = "newest"
TOP_RATED = "top_rated"
MOST_RATED = "most_rated"
RELEASE_DATE = "release_date"
SORTS = (NEWEST, TOP_RATED, MOST_RATED, RELEASE_DATE)
_LIST_PREFIX = {NEWEST: "NEW", TOP_RATED: "TOP", MOST_RATED: "MOST", RELEASE_DATE: "REL"}
MAX_PREFIX = 20  # longer query words are looked up by their first 20 characters
# A recount rewrites every entry of a movie (each shows the counters), all in the movie's
# partition, which takes 1,000 WCU a second: its entries must fit in that. Each copies the
# movie, so one costs 1 WCU for a short description and up to 11 for 5,000 accented
# characters. Search entries past what fits are left out, shortest prefixes kept first
# (every word's first letter, then first two, ...), so only a movie with both a long
# description and a long title loses its words' longest prefixes.
RECOUNT_WCU = 1_000
# Words so common in titles that their list holds nearly every movie: a query of several
# words is looked up by its longest other word, when it has one.
COMMON_WORDS = frozenset(
    {"a", "an", "and", "at", "de", "del", "der", "des", "di", "die", "das", "du", "el", "et"}
    | {"for", "il", "in", "la", "las", "le", "les", "lo", "los", "of", "on", "the", "to", "und"}
)
FIRST_YEAR, LAST_YEAR = 1870, 2100  # the years a list exists for
COUNT_WIDTH = 16
SCORE_WIDTH = 22  # discovery.damped_score is under 10 * SCORE_SCALE = 10**21
# What the consumer reads of the entries a movie has: enough to tell which changed.
HELD = [
    TableItem.pk.attr_name,
    TableItem.sk.attr_name,
    TableItem.kind.attr_name,
    ListEntryItem.digest.attr_name,
]
# What the consumer reads of the movie after writing: whether it changed meanwhile.
VERSION = [MovieItem.updated_at.attr_name, MovieItem.counted_version.attr_name]


@dataclass(frozen=True)
class Listing:
    """One list: a sort, and a genre or a year (or neither)."""

    sort: str
    genre: str | None = None
    year: int | None = None

    @property
    def name(self) -> str:
        """Its GSI3 key (before the shard)."""
        base = _LIST_PREFIX[self.sort]
        if self.genre is not None:
            return f"{base}#G#{self.genre}"
        if self.year is not None:
            return f"{base}#Y#{self.year}"
        return base

    @property
    def list_id(self) -> str:
        """The name its page cursors are bound to (``lists.ranked``)."""
        return lists.ranked(self.sort, self.genre, self.year)


def search_list(prefix: str) -> str:
    return f"WORD#{prefix}"


# ---------------------------------------------------------------- reading


def list_page(listing: Listing, *, limit: int, start_key: Key | None) -> Page[MovieItem]:
    """A page of one ranked or filtered list (not the plain newest: ``movies.list_movies``)."""
    return _page(listing.name, limit=limit, start_key=start_key)


def search_page(query_words: list[str], *, limit: int, start_key: Key | None) -> Page[MovieItem]:
    """Movies whose title has, for every query word, a word it begins; most rated first."""
    telling = [word for word in query_words if word not in COMMON_WORDS] or query_words
    key_word = max(telling, key=len)[:MAX_PREFIX]
    exact = all(key_word.startswith(word) for word in query_words)
    return _page(
        search_list(key_word),
        limit=limit,
        start_key=start_key,
        keep=None if exact else partial(_matches, query_words),
    )


def _matches(query_words: list[str], entry: ListEntryItem) -> bool:
    title_words = entry.words or []
    return all(any(word.startswith(part) for word in title_words) for part in query_words)


def _page(
    list_name: str,
    *,
    limit: int,
    start_key: Key | None,
    keep: Callable[[ListEntryItem], bool] | None = None,
) -> Page[MovieItem]:
    page = merged_page(
        [partial(_entries, partition) for partition in ListEntryItem.list_partitions(list_name)],
        rank=lambda entry: entry.gsi3sk or "",
        resume=lambda entry: key_of(entry, "pk", "sk", "gsi3pk", "gsi3sk"),
        limit=limit,
        start_key=start_key,
        keep=keep,
    )
    return Page([entry.as_movie() for entry in page.items], page.last_key)


def _entries(partition: str, start_key: Key | None, count: int) -> list[ListEntryItem]:
    return highest_first(ListEntryItem, TableItem.by_list, partition, start_key, count)


# ---------------------------------------------------------------- what a movie is in


def entries_for(movie: MovieItem) -> list[ListEntryItem]:
    """Every list entry ``movie`` should have, given what its item holds now."""
    ranked = list(_ranked_entries(movie))
    return [*ranked, *_search_entries(movie, RECOUNT_WCU - sum(map(write_units, ranked)))]


def write_units(item: TableItem) -> int:
    """What putting ``item`` costs, rounded up to DynamoDB's 1 KB units (a close upper bound)."""
    size = len(json.dumps(item.serialize(), ensure_ascii=False, separators=(",", ":")).encode())
    return -(-size // 1024)


def _ranked_entries(movie: MovieItem) -> Iterator[ListEntryItem]:
    genres = movie.genres or []
    year = int(movie.release_date[:4]) if movie.release_date else None
    filters = [Listing(NEWEST), *(Listing(NEWEST, genre=genre) for genre in genres)]
    if year is not None and FIRST_YEAR <= year <= LAST_YEAR:
        filters.append(Listing(NEWEST, year=year))
    for sort in SORTS:
        rank = _rank(sort, movie)
        if rank is None:
            continue
        for each in filters:
            listing = Listing(sort, each.genre, each.year)
            if listing != Listing(NEWEST):  # GSI1 holds the plain newest list
                yield ListEntryItem.new(movie, listing.name, rank)


def _rank(sort: str, movie: MovieItem) -> str | None:
    """Where ``movie`` goes in a ``sort`` list (highest first, as strings); ``None``: not in it."""
    count, total, newest = movie.rating_count or 0, movie.rating_sum or 0, padded(movie.id)
    if sort == NEWEST:
        return newest
    if sort == RELEASE_DATE:
        return f"{movie.release_date}#{newest}" if movie.release_date else None
    if not count:
        return None
    if sort == TOP_RATED:
        score = discovery.damped_score(count, total)
        return f"{score:0{SCORE_WIDTH}d}#{count:0{COUNT_WIDTH}d}#{newest}"
    return _most_rated(count, movie.id)


def _most_rated(count: int, movie_id: int) -> str:
    return f"{count:0{COUNT_WIDTH}d}#{padded(movie_id)}"


def _search_entries(movie: MovieItem, budget: int) -> Iterator[ListEntryItem]:
    title_words = list(dict.fromkeys(discovery.words(movie.title)))
    rank = _most_rated(movie.rating_count or 0, movie.id)
    for prefix in search_prefixes(title_words):
        entry = ListEntryItem.new(movie, search_list(prefix), rank, title_words)
        budget -= write_units(entry)
        if budget < 0:
            return
        yield entry


def search_prefixes(title_words: list[str]) -> list[str]:
    """The prefixes a title is filed under, shortest first: every word's first letter, ...

    Up to ``MAX_PREFIX`` letters of each word.
    """
    found: dict[str, None] = {}
    for length in range(1, MAX_PREFIX + 1):
        for word in title_words:
            if len(word) >= length:
                found.setdefault(word[:length])
    return list(found)


# ---------------------------------------------------------------- keeping them in step


def sync(movie_id: int) -> int:
    """Make the movie's list entries what its item says now; how many were written or deleted.

    Reads the movie and the digests of its entries at once (a consistent
    GetItem and a keys-only Query of its ``LIST#`` items), puts the entries
    that are missing or differ and deletes those it should no longer have
    (BatchWriteItem), then reads the movie's version again. A movie that
    changed meanwhile (or went) is synced again from the start, so entries
    written from an older read never outlast a newer one, whichever
    consumer ran last; one that is gone loses every entry, so a sync racing
    the deleted movie's cleanup leaves nothing behind. Idempotent: a second
    sync of an unchanged movie reads and writes nothing more.
    """
    return retry_on_race(partial(_sync_once, movie_id))


def _sync_once(movie_id: int) -> int:
    movie, held = both(
        partial(item_or_none, MovieItem, MovieItem.key(movie_id)), partial(_held, movie_id)
    )
    wanted = {entry.sk: entry for entry in entries_for(movie)} if movie is not None else {}
    puts = [entry for sk, entry in wanted.items() if held.get(sk) != entry.digest]
    deletes = [(MovieItem.partition(movie_id), sk) for sk in held if sk not in wanted]
    if not puts and not deletes:
        return 0
    written = batch_write(puts, deletes)
    if movie is not None and _version(movie_id) != _version_of(movie):
        raise RaceLost()
    return written


def _held(movie_id: int) -> dict[str, str]:
    """The movie's entries now: sort key to digest."""
    results = TableItem.query(
        MovieItem.partition(movie_id),
        TableItem.sk.startswith(ListEntryItem.PREFIX),
        consistent_read=True,
        attributes_to_get=HELD,
    )
    return {entry.sk: entry.digest for entry in results if isinstance(entry, ListEntryItem)}


def _version(movie_id: int) -> tuple[datetime | None, int | None] | None:
    """What tells one state of the movie item from another (``None``: it is gone)."""
    try:
        movie = MovieItem.get(
            *MovieItem.key(movie_id), consistent_read=True, attributes_to_get=VERSION
        )
    except MovieItem.DoesNotExist:
        return None
    return _version_of(movie)


def _version_of(movie: MovieItem) -> tuple[datetime | None, int | None]:
    # Every write of a movie item changes one: an update its ``updated_at``, a recount its
    # ``counted_version`` (which only grows).
    return movie.updated_at, movie.counted_version
