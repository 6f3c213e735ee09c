"""Ratings: one per user per movie, a newest-first list, the average from counters."""

from __future__ import annotations

from urllib.parse import urlencode

from chalice.app import Blueprint, Response

from chalicelib import cursors, errors
from chalicelib.http import (
    empty_response,
    endpoint,
    json_response,
    parse_body,
    parse_query,
    path_id,
)
from chalicelib.presenters import public_rating
from chalicelib.routes.movies import ratings_list_id
from chalicelib.schemas.pages import SkipPage
from chalicelib.schemas.ratings import AverageRating, RatingCreate
from chalicelib.storage import movies, ratings

bp = Blueprint(__name__)


@endpoint(bp, "/movies/{movie_id}/ratings", methods=["POST"], authenticated=True)
def rate_movie(movie_id: str, user_id: int) -> Response:
    movie = path_id("movie_id", movie_id)
    value = parse_body(bp.current_request, RatingCreate).rating
    return json_response(public_rating(ratings.rate_movie(movie, user_id, value)))


@endpoint(bp, "/movies/{movie_id}/ratings", methods=["GET"])
def list_ratings(movie_id: str) -> Response:
    """A bare list; the next page's cursor is in ``X-Next-Cursor`` and ``Link``.

    Only a first page can tell an unknown movie (its Query passes over the
    movie item); a cursor was issued for a movie that existed, so a later
    page of a movie deleted since shows what is left of its ratings.
    """
    movie = path_id("movie_id", movie_id)
    query = parse_query(bp.current_request, SkipPage)
    list_id = ratings_list_id(movie)
    start_key = cursors.decode(list_id, query.cursor)
    page = ratings.rating_page(movie, limit=query.limit, skip=query.skip, start_key=start_key)
    if start_key is None and page.movie is None:
        raise errors.MovieNotFound()
    cursor = cursors.encode(list_id, page.last_key)
    return json_response(
        [public_rating(rating) for rating in page.items],
        headers=_next_page_headers(movie, query.limit, cursor),
    )


@endpoint(bp, "/movies/{movie_id}/ratings/average", methods=["GET"])
def average_rating(movie_id: str) -> Response:
    movie = movies.get_movie(path_id("movie_id", movie_id))
    if movie is None:
        raise errors.MovieNotFound()
    average = AverageRating(
        average_rating=movie.average_rating(), rating_count=movie.rating_count or 0
    )
    return json_response(average)


@endpoint(bp, "/movies/{movie_id}/ratings", methods=["DELETE"], authenticated=True)
def delete_rating(movie_id: str, user_id: int) -> Response:
    ratings.delete_rating(path_id("movie_id", movie_id), user_id)
    return empty_response(204)


def _next_page_headers(movie_id: int, limit: int, cursor: str | None) -> dict[str, str]:
    """``X-Next-Cursor`` and an RFC 8288 ``Link: <...>; rel="next"`` (none on the last page)."""
    if cursor is None:
        return {}
    query = urlencode({"limit": limit, "cursor": cursor})
    return {
        "X-Next-Cursor": cursor,
        "Link": f'</movies/{movie_id}/ratings?{query}>; rel="next"',
    }
