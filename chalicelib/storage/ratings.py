"""Ratings: one per user per movie, with the movie's counters kept exact."""

from __future__ import annotations

from chalicelib.storage.pages import CollectionPage, Key, key_of
from chalicelib.storage.table import MovieItem, RatingItem, TableItem


def rating_page(movie_id: int, *, limit: int, start_key: Key | None) -> CollectionPage[RatingItem]:
    """A movie's ratings, newest first, in one strongly consistent Query (LSI1).

    The movie item sorts after every rating in LSI1, so the first page of a
    descending Query starts with it: the page also says whether the movie
    exists.
    """
    partition = MovieItem.key(movie_id)[0]
    wanted = limit + 1 + (0 if start_key else 1)
    results = TableItem.ratings_by_time.query(
        partition,
        TableItem.lsi1sk.startswith(RatingItem.PREFIX),
        scan_index_forward=False,
        consistent_read=True,
        limit=wanted,
        page_size=wanted,
        last_evaluated_key=start_key,
    )
    movie: MovieItem | None = None
    ratings: list[RatingItem] = []
    for item in results:
        if isinstance(item, MovieItem):
            movie = item
        elif isinstance(item, RatingItem):
            ratings.append(item)
    page = ratings[:limit]
    last_key = key_of(page[-1], "pk", "sk", "lsi1sk") if len(ratings) > limit else None
    return CollectionPage(movie, page, last_key)
