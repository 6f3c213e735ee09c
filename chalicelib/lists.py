"""The names of the paged lists, which a page cursor is bound to.

A cursor (``chalicelib.cursors``) carries the name of the list it came from
and is refused (400) on any other, so the names change when a list's order
or layout does: a cursor of the old one cannot then resume the new one.
"""

from __future__ import annotations

import hashlib

# Merged from GSI1's shards, the cursor holding a position per shard: the name is new
# with that layout, so a cursor of the old one-partition list is refused.
ALL_MOVIES = "movies:sharded"


def owner_movies(user_id: int) -> str:
    return f"movies:owner:{user_id}"


def comments(movie_id: int) -> str:
    return f"comments:{movie_id}"


def ratings(movie_id: int) -> str:
    # Ordered by user id since the layout without LSI1; newest-first cursors are refused.
    return f"ratings:{movie_id}:by-user"


def ranked(sort: str, genre: str | None, year: int | None) -> str:
    """A sorted or filtered list of all movies (``GET /movies?sort=&genre=&year=``).

    The id of ``storage.listings.Listing(sort, genre, year)`` (its
    ``list_id``; its ``name`` is its GSI3 key). Cursors clients hold carry
    this spelling, so it stays as it is while the list's order does.
    """
    return f"movies:{sort}:genre={genre or ''}:year={year or ''}"


def search(words: list[str]) -> str:
    """One search's results, named by a digest of its words as search compares them.

    A digest, not the words: 100 characters of some scripts decompose into
    hundreds, which would not fit in a cursor.
    """
    digest = hashlib.sha256(" ".join(words).encode()).hexdigest()[:32]
    return f"search:{digest}"


def user_ratings(user_id: int) -> str:
    """One user's ratings, newest first (``GET /users/me/ratings``)."""
    return f"ratings:rater:{user_id}"
