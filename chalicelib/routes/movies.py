"""Movies: the seed's paths and their REST aliases."""

from __future__ import annotations

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
from chalicelib.presenters import public_movie, public_rating, public_thread, release_date
from chalicelib.schemas.movies import (
    DeletedMovie,
    MovieCreate,
    MovieDeleted,
    MovieDetail,
    MovieList,
    MoviePublic,
    MovieUpdate,
)
from chalicelib.schemas.pages import OffsetPage
from chalicelib.storage import movies
from chalicelib.storage.pages import Page
from chalicelib.storage.table import MovieItem

bp = Blueprint(__name__)

ALL_MOVIES_LIST = "movies"


@endpoint(bp, "/movies", methods=["GET"])
def list_movies() -> Response:
    query = parse_query(bp.current_request, OffsetPage)
    start_key = cursors.decode(ALL_MOVIES_LIST, query.cursor)
    page = movies.list_movies(limit=query.limit, offset=query.offset, start_key=start_key)
    return json_response(_movie_list(page, ALL_MOVIES_LIST))


@endpoint(bp, "/movies/user", methods=["GET"], authenticated=True)
def list_my_movies(user_id: int) -> Response:
    query = parse_query(bp.current_request, OffsetPage)
    list_id = f"movies:owner:{user_id}"
    start_key = cursors.decode(list_id, query.cursor)
    page = movies.list_owner_movies(
        user_id, limit=query.limit, offset=query.offset, start_key=start_key
    )
    return json_response(_movie_list(page, list_id))


@endpoint(bp, "/movie/{movie_id}", methods=["GET"])
def read_movie_seed(movie_id: str) -> Response:
    return json_response(_detail(path_id("movie_id", movie_id)))


@endpoint(bp, "/movies/{movie_id}", methods=["GET"])
def read_movie(movie_id: str) -> Response:
    return json_response(_detail(path_id("movie_id", movie_id)))


@endpoint(bp, "/new_movies", methods=["POST"], authenticated=True)
def create_movie_seed(user_id: int) -> Response:
    return json_response(_create(user_id))


@endpoint(bp, "/movies", methods=["POST"], authenticated=True)
def create_movie(user_id: int) -> Response:
    movie = _create(user_id)
    return json_response(movie, 201, {"Location": f"/movies/{movie.id}"})


@endpoint(bp, "/movie_update/{movie_id}", methods=["PUT"], authenticated=True)
def update_movie_seed(movie_id: str, user_id: int) -> Response:
    return json_response(_update(movie_id, user_id))


@endpoint(bp, "/movies/{movie_id}", methods=["PUT", "PATCH"], authenticated=True)
def update_movie(movie_id: str, user_id: int) -> Response:
    return json_response(_update(movie_id, user_id))


@endpoint(bp, "/movie_delete/{movie_id}", methods=["DELETE"], authenticated=True)
def delete_movie_seed(movie_id: str, user_id: int) -> Response:
    movie = movies.delete_movie(path_id("movie_id", movie_id), user_id)
    deleted = DeletedMovie(
        id=movie.id,
        title=movie.title,
        description=movie.description,
        release_date=release_date(movie),
        user_id=movie.user_id,
    )
    return json_response(MovieDeleted(data=deleted))


@endpoint(bp, "/movies/{movie_id}", methods=["DELETE"], authenticated=True)
def delete_movie(movie_id: str, user_id: int) -> Response:
    movies.delete_movie(path_id("movie_id", movie_id), user_id)
    return empty_response(204)


def _detail(movie_id: int) -> MovieDetail:
    detail = movies.movie_detail(movie_id)
    if detail is None:
        raise errors.MovieNotFound("Movie not found!")
    return MovieDetail(
        **public_movie(detail.movie).model_dump(),
        comments=[public_thread(node) for node in detail.threads.items],
        ratings=[public_rating(rating) for rating in detail.ratings.items],
        next_comments_cursor=cursors.encode(comments_list_id(movie_id), detail.threads.last_key),
        next_ratings_cursor=cursors.encode(ratings_list_id(movie_id), detail.ratings.last_key),
    )


def comments_list_id(movie_id: int) -> str:
    return f"comments:{movie_id}"


def ratings_list_id(movie_id: int) -> str:
    return f"ratings:{movie_id}"


def _create(user_id: int) -> MoviePublic:
    body = parse_body(bp.current_request, MovieCreate)
    return public_movie(movies.create_movie(user_id, body.model_dump()))


def _update(raw_movie_id: str, user_id: int) -> MoviePublic:
    movie_id = path_id("movie_id", raw_movie_id)
    changes = parse_body(bp.current_request, MovieUpdate).changes()
    return public_movie(movies.update_movie(movie_id, user_id, changes))


def _movie_list(page: Page[MovieItem], list_id: str) -> MovieList:
    return MovieList(
        data=[public_movie(movie) for movie in page.items],
        next_cursor=cursors.encode(list_id, page.last_key),
    )
