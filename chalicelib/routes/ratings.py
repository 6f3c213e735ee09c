"""Ratings: one per user per movie, a list in user-id order, the exact average from counters,
and the caller's own ratings, newest first."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import cursors, errors, lists
from chalicelib.http import ResponseSpec, empty_response, endpoint, json_response, next_page_headers
from chalicelib.presenters import public_rating
from chalicelib.schemas.pages import CursorPage, SkipPage
from chalicelib.schemas.ratings import AverageRating, RatingCreate, RatingPublic
from chalicelib.storage import ratings

bp = Blueprint(__name__)

TAGS = ["Ratings"]
RATING_LINKS = {
    operation: {"movie_id": "movie_id"}
    for operation in ("list_ratings", "average_rating", "delete_rating")
}


@endpoint(
    bp,
    "/movies/{movie_id}/ratings",
    methods=["POST"],
    authenticated=True,
    body=RatingCreate,
    responses={200: ResponseSpec(RatingPublic, links=RATING_LINKS)},
    errors=[errors.MovieNotFound],
    summary="Rate a movie",
    tags=TAGS,
)
def rate_movie(movie_id: int, user_id: int, body: RatingCreate) -> Response:
    """One rating per user per movie: rating again replaces the old value."""
    return json_response(public_rating(ratings.rate_movie(movie_id, user_id, body.rating)))


@endpoint(
    bp,
    "/movies/{movie_id}/ratings",
    methods=["GET"],
    query=SkipPage,
    responses={
        200: ResponseSpec(
            list[RatingPublic],
            "Ordered by user id: a stable order that every page keeps",
            headers=("X-Next-Cursor", "Link"),
        )
    },
    errors=[errors.MovieNotFound, *cursors.ERRORS],
    summary="List ratings",
    tags=TAGS,
)
def list_ratings(movie_id: int, query: SkipPage) -> Response:
    """Ordered by user id; the next page's cursor is in ``X-Next-Cursor`` and ``Link``.

    Not newest first: keeping a newest-first order means rewriting an index
    entry in the movie's partition on every change, which would cap how fast
    one movie can be rated. An unknown movie is a 404 on every page: a first
    page's Query passes over a counter shard, a later page reads one at once.
    """
    list_id = lists.ratings(movie_id)
    start_key = cursors.decode(list_id, query.cursor)
    page = ratings.rating_page(movie_id, limit=query.limit, skip=query.skip, start_key=start_key)
    if not page.found:
        raise errors.MovieNotFound()
    cursor = cursors.encode(list_id, page.last_key)
    return json_response(
        [public_rating(rating) for rating in page.items],
        headers=next_page_headers(f"/movies/{movie_id}/ratings", query.limit, cursor),
    )


@endpoint(
    bp,
    "/movies/{movie_id}/ratings/average",
    methods=["GET"],
    responses={200: AverageRating},
    errors=[errors.MovieNotFound],
    summary="Get average rating",
    tags=TAGS,
)
def average_rating(movie_id: int) -> Response:
    """Two decimals, ``null`` without ratings; exact, summed from the counters, never a scan."""
    counted = ratings.counters(movie_id)
    if counted is None:
        raise errors.MovieNotFound()
    average = AverageRating(
        average_rating=counted.average_rating(), rating_count=counted.rating_count
    )
    return json_response(average)


@endpoint(
    bp,
    "/movies/{movie_id}/ratings",
    methods=["DELETE"],
    authenticated=True,
    responses={204: ResponseSpec(None, "The caller's rating is removed")},
    errors=[errors.MovieNotFound, errors.RatingNotFound],
    summary="Delete my rating",
    tags=TAGS,
)
def delete_rating(movie_id: int, user_id: int) -> Response:
    ratings.delete_rating(movie_id, user_id)
    return empty_response(204)


@endpoint(
    bp,
    "/users/me/ratings",
    methods=["GET"],
    authenticated=True,
    query=CursorPage,
    responses={
        200: ResponseSpec(
            list[RatingPublic],
            "The caller's ratings, newest first by when each movie was first rated",
            headers=("X-Next-Cursor", "Link"),
        )
    },
    errors=cursors.ERRORS,
    summary="List my ratings",
    tags=TAGS,
)
def list_my_ratings(user_id: int, query: CursorPage) -> Response:
    """Newest first by when the caller first rated each movie; re-rating keeps its place.

    Unrating and rating again puts it first. The next page's cursor is in
    ``X-Next-Cursor`` and ``Link``. Read from an index: a change shows
    here within about a second.
    """
    list_id = lists.user_ratings(user_id)
    start_key = cursors.decode(list_id, query.cursor)
    page = ratings.user_ratings(user_id, limit=query.limit, start_key=start_key)
    cursor = cursors.encode(list_id, page.last_key)
    return json_response(
        [public_rating(rating) for rating in page.items],
        headers=next_page_headers("/users/me/ratings", query.limit, cursor),
    )
