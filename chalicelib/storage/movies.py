"""Movies: create, owner-only update and delete, newest-first lists."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError

from chalicelib import errors
from chalicelib.storage.comments import CommentNode, thread_page
from chalicelib.storage.engine import build_client, item_or_none, new_id, table_connection
from chalicelib.storage.pages import CollectionPage, Key, Page, key_of
from chalicelib.storage.ratings import rating_page
from chalicelib.storage.table import (
    ALL_MOVIES,
    CommentItem,
    CommentRefItem,
    MovieItem,
    RatingItem,
    TableItem,
    utcnow,
)

ID_TRIES = 3
DETAIL_THREADS = 10
DETAIL_RATINGS = 10
_detail_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="movie-detail")


@dataclass(frozen=True)
class MovieDetail:
    movie: MovieItem
    threads: CollectionPage[CommentNode]
    ratings: CollectionPage[RatingItem]


def create_movie(user_id: int, fields: dict[str, Any]) -> MovieItem:
    """One PutItem, conditional on the new id being free (a clash retries)."""
    for _ in range(ID_TRIES):
        movie = MovieItem.new(new_id(), user_id, **_stored(fields))
        try:
            movie.save(condition=MovieItem.pk.does_not_exist())
        except PutError as exc:
            if not _condition_failed(exc):
                raise
            if _landed_before(movie):
                return movie
        else:
            return movie
    raise errors.ServiceUnavailable()


def _landed_before(movie: MovieItem) -> bool:
    """Whether the movie holding the new id is this very one, already written.

    botocore resends a PutItem whose answer was lost (a timeout, a 500); if
    the first one had landed, the resend fails the free-id condition, and
    taking that for a clash would write the movie twice. One read, on this
    rare path only: the same owner and creation time (to the microsecond)
    mean it is ours.
    """
    stored = get_movie(movie.id)
    return (
        stored is not None
        and stored.user_id == movie.user_id
        and stored.created_at == movie.created_at
    )


def get_movie(movie_id: int) -> MovieItem | None:
    movie: MovieItem | None = item_or_none(MovieItem, MovieItem.key(movie_id))
    return movie


def movie_detail(movie_id: int) -> MovieDetail | None:
    """The movie, its first page of comment threads and its newest ratings.

    Two Queries of the movie's item collection, sent at the same time, so
    the request waits for one round trip. They cannot be one: the threads
    are read oldest first from the base table and the ratings newest first
    from LSI1, and either list can be long, so no single contiguous key
    range holds the movie and a bounded page of both. Each Query starts at
    the movie item, so either one tells whether the movie exists.
    """
    build_client()
    threads = _detail_pool.submit(thread_page, movie_id, limit=DETAIL_THREADS)
    ratings = _detail_pool.submit(rating_page, movie_id, limit=DETAIL_RATINGS, start_key=None)
    # Both, even when one fails: a Query left running would outlive the request (in
    # Lambda, into the next one), still retrying.
    queries: list[Future[Any]] = [threads, ratings]
    wait(queries)
    thread_result, rating_result = threads.result(), ratings.result()
    movie = thread_result.movie or rating_result.movie
    if movie is None:
        return None
    return MovieDetail(movie, thread_result, rating_result)


def update_movie(movie_id: int, user_id: int, changes: dict[str, Any]) -> MovieItem:
    """One UpdateItem: the owner check is its condition, not a read before it."""
    movie = MovieItem(*MovieItem.key(movie_id))
    stored = _stored(changes)
    actions = [
        getattr(MovieItem, name).remove() if value is None else getattr(MovieItem, name).set(value)
        for name, value in stored.items()
    ]
    actions.append(MovieItem.updated_at.set(utcnow()))
    try:
        movie.update(actions, condition=_owned_by(user_id))
    except UpdateError as exc:
        if _condition_failed(exc):
            raise _not_found_or_forbidden(movie_id) from exc
        raise
    return movie


def delete_movie(movie_id: int, user_id: int) -> MovieItem:
    """One DeleteItem, conditional on the owner; returns the deleted movie.

    Its comments and ratings go with it asynchronously: the table's stream
    delivers the removal to ``chalicelib.cleanup``, which deletes the rest of
    the item collection. The request's cost does not depend on how many
    there are.
    """
    try:
        data = table_connection().delete_item(
            *MovieItem.key(movie_id), condition=_owned_by(user_id), return_values="ALL_OLD"
        )
    except DeleteError as exc:
        if _condition_failed(exc):
            raise _not_found_or_forbidden(movie_id) from exc
        raise
    return MovieItem.from_raw_data(data["Attributes"])


def list_movies(*, limit: int, offset: int, start_key: Key | None) -> Page[MovieItem]:
    """All movies, newest first (GSI1)."""
    return _page(
        MovieItem.by_all_movies, ALL_MOVIES, ("gsi1pk", "gsi1sk"), limit, offset, start_key
    )


def list_owner_movies(
    user_id: int, *, limit: int, offset: int, start_key: Key | None
) -> Page[MovieItem]:
    """One user's movies, newest first (GSI2)."""
    partition = MovieItem.owner_partition(user_id)
    return _page(MovieItem.by_owner, partition, ("gsi2pk", "gsi2sk"), limit, offset, start_key)


def _page(
    index: Any,
    partition: str,
    index_keys: tuple[str, str],
    limit: int,
    offset: int,
    start_key: Key | None,
) -> Page[MovieItem]:
    """``limit`` items after ``offset`` ones, or after a cursor, in one Query.

    With a cursor the Query starts where the last page ended and reads
    ``limit + 1`` items (the extra one says whether there is a next page).
    ``offset`` (for seed clients) has to read the rows it skips.
    """
    skip = 0 if start_key else offset
    wanted = skip + limit + 1
    results = index.query(
        partition,
        scan_index_forward=False,
        limit=wanted,
        page_size=wanted,
        last_evaluated_key=start_key,
    )
    items: list[MovieItem] = list(results)
    page = items[skip : skip + limit]
    has_more = len(items) == wanted
    last_key = key_of(page[-1], "pk", "sk", *index_keys) if has_more and page else None
    return Page(page, last_key)


def _owned_by(user_id: int) -> Any:
    return MovieItem.pk.exists() & (MovieItem.user_id == user_id)


def _not_found_or_forbidden(movie_id: int) -> errors.ApiError:
    """Why an owner-conditioned write failed: one read, on the error path only."""
    if get_movie(movie_id) is None:
        return errors.MovieNotFound()
    return errors.Forbidden("Not authorized to modify this movie")


def _stored(fields: dict[str, Any]) -> dict[str, Any]:
    """Dates are stored as ISO strings."""
    return {
        name: value.isoformat() if name == "release_date" and value is not None else value
        for name, value in fields.items()
    }


def _condition_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def delete_movie_children(movie_id: int) -> int:
    """Delete what is left of a deleted movie: its ratings, comments and their refs.

    Called from the table's stream after the movie item is gone, so nothing
    new can join the collection (every rating and comment write checks that
    the movie exists in its transaction). Idempotent: a retried batch finds
    less to delete. Returns the number of items deleted.
    """
    partition = MovieItem.key(movie_id)[0]
    deleted = 0
    with TableItem.batch_write() as batch:
        for item in TableItem.query(partition, consistent_read=True):
            batch.delete(item)
            deleted += 1
            if isinstance(item, CommentItem):
                batch.delete(CommentRefItem(*CommentRefItem.key(item.id)))
                deleted += 1
    return deleted
