"""Movies: the original project's (the seed's) paths and their REST aliases.

A seed path with a REST alias has a view of its own, named like the
alias's with ``_seed`` (``read_movie_seed`` for ``GET /movie/{movie_id}``);
a view's name is its operationId, which clients are generated with, so
these names stay.
"""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import cursors, discovery, errors, failures, lists
from chalicelib.http import ResponseSpec, empty_response, endpoint, json_response
from chalicelib.http.operations import Declared
from chalicelib.presenters import public_movie, public_rating, public_thread, release_date
from chalicelib.schemas.discovery import GenrePublic, MovieListQuery, SearchQuery
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
from chalicelib.storage import listings, movies
from chalicelib.storage.pages import Page
from chalicelib.storage.table import MovieItem

bp = Blueprint(__name__)

TAGS = ["Movies"]
NOT_FOUND_SEED = errors.MovieNotFound("Movie not found!")
# Where a new movie's id goes next (OpenAPI links: the docs, and Schemathesis' stateful runs).
MOVIE_LINKS = {
    operation: {"movie_id": "id"}
    for operation in (
        "read_movie",
        "read_movie_seed",
        "update_movie_put",
        "update_movie_patch",
        "update_movie_seed",
        "delete_movie",
        "delete_movie_seed",
        "rate_movie",
        "list_ratings",
        "average_rating",
        "delete_rating",
        "add_comment",
        "list_threads",
    )
}
OWNER_ERRORS: list[Declared] = [failures.MovieNotFound(), failures.NotOwner("movie", "modify")]


@endpoint(
    bp,
    "/movies",
    methods=["GET"],
    query=MovieListQuery,
    responses={200: MovieList},
    errors=cursors.ERRORS,
    summary="List movies",
    tags=TAGS,
)
def list_movies(query: MovieListQuery) -> Response:
    """Newest first, or ``sort``-ed; of one ``genre`` or one ``year`` if asked.

    ``top_rated``: by the damped average ``(sum + 55) / (count + 10)``, then
    more ratings, then newest; ``most_rated``: more ratings, then newest;
    ``release_date``: latest release, then newest. The rated orders leave out
    unrated movies, ``release_date`` undated ones; their counters trail the
    exact ones by the stream's delay. ``next_cursor`` fetches the next page
    of the same list; ``offset`` (seed clients) only pages the plain list.
    """
    if query.plain:
        start_key = cursors.decode(lists.ALL_MOVIES, query.cursor)
        page = movies.list_movies(limit=query.limit, offset=query.offset, start_key=start_key)
        return json_response(_movie_list(page, lists.ALL_MOVIES))
    listing = listings.Listing(query.sort, query.genre, query.year)
    start_key = cursors.decode(listing.list_id, query.cursor)
    page = listings.list_page(listing, limit=query.limit, start_key=start_key)
    return json_response(_movie_list(page, listing.list_id))


@endpoint(
    bp,
    "/movies/search",
    methods=["GET"],
    query=SearchQuery,
    responses={200: MovieList},
    errors=cursors.ERRORS,
    summary="Search movies by title",
    tags=TAGS,
)
def search_movies(query: SearchQuery) -> Response:
    """Movies whose title has, for each word of ``q``, a word that begins with it.

    Case, accents and punctuation are ignored (``"quee gir"`` finds "Queen
    of Girls"); most rated first, then newest. A query of several words may
    answer a page shorter than ``limit`` with a ``next_cursor``: follow it.
    """
    list_id = lists.search(query.words)
    start_key = cursors.decode(list_id, query.cursor)
    page = listings.search_page(query.words, limit=query.limit, start_key=start_key)
    return json_response(_movie_list(page, list_id))


@endpoint(
    bp,
    "/genres",
    methods=["GET"],
    responses={200: list[GenrePublic]},
    uses_table=False,
    summary="List the genres",
    tags=TAGS,
)
def list_genres() -> Response:
    """The fixed set a movie's ``genres`` come from, in the order answers list them."""
    return json_response([GenrePublic(name=name) for name in discovery.GENRES])


@endpoint(
    bp,
    "/movies/user",
    methods=["GET"],
    authenticated=True,
    query=OffsetPage,
    responses={200: MovieList},
    errors=cursors.ERRORS,
    summary="List my movies",
    tags=TAGS,
)
def list_my_movies(user_id: int, query: OffsetPage) -> Response:
    """The caller's movies, newest first, paged like ``GET /movies``."""
    list_id = lists.owner_movies(user_id)
    start_key = cursors.decode(list_id, query.cursor)
    page = movies.list_owner_movies(
        user_id, limit=query.limit, offset=query.offset, start_key=start_key
    )
    return json_response(_movie_list(page, list_id))


@endpoint(
    bp,
    "/movie/{movie_id}",
    methods=["GET"],
    responses={200: MovieDetail},
    errors=[NOT_FOUND_SEED],
    summary="Get movie by id (seed path)",
    tags=TAGS,
)
def read_movie_seed(movie_id: int) -> Response:
    """The same as ``GET /movies/{movie_id}``.

    ``_seed``, as each view of a path kept from the original project (the
    seed) beside its REST alias is named: a view's name is its operationId
    in the OpenAPI document (``openapi.py``), by which generated clients
    call it (``movies.read_movie_seed``), so renaming it would break them.
    """
    return json_response(_detail(movie_id))


@endpoint(
    bp,
    "/movies/{movie_id}",
    methods=["GET"],
    responses={200: MovieDetail},
    errors=[NOT_FOUND_SEED],
    summary="Get movie by id",
    tags=TAGS,
)
def read_movie(movie_id: int) -> Response:
    """The movie with its exact counters, its first comment threads and its first ratings."""
    return json_response(_detail(movie_id))


@endpoint(
    bp,
    "/new_movies",
    methods=["POST"],
    authenticated=True,
    body=MovieCreate,
    responses={200: ResponseSpec(MoviePublic, links=MOVIE_LINKS)},
    summary="Create movie (seed path)",
    tags=TAGS,
)
def create_movie_seed(user_id: int, body: MovieCreate) -> Response:
    """The seed's create: 200 and no ``Location``."""
    return json_response(_create(user_id, body))


@endpoint(
    bp,
    "/movies",
    methods=["POST"],
    authenticated=True,
    body=MovieCreate,
    responses={
        201: ResponseSpec(
            MoviePublic, "The movie, created", headers=("Location",), links=MOVIE_LINKS
        )
    },
    summary="Create movie",
    tags=TAGS,
)
def create_movie(user_id: int, body: MovieCreate) -> Response:
    movie = _create(user_id, body)
    return json_response(movie, 201, {"Location": f"/movies/{movie.id}"})


@endpoint(
    bp,
    "/movie_update/{movie_id}",
    methods=["PUT"],
    authenticated=True,
    body=MovieUpdate,
    responses={200: MoviePublic},
    errors=OWNER_ERRORS,
    summary="Update movie (seed path)",
    tags=TAGS,
)
def update_movie_seed(movie_id: int, user_id: int, body: MovieUpdate) -> Response:
    """The owner's update; only the fields sent change, ``null`` clears an optional one."""
    return json_response(_update(movie_id, user_id, body))


@endpoint(
    bp,
    "/movies/{movie_id}",
    methods=["PUT", "PATCH"],
    authenticated=True,
    body=MovieUpdate,
    responses={200: MoviePublic},
    errors=OWNER_ERRORS,
    summary="Update movie",
    tags=TAGS,
)
def update_movie(movie_id: int, user_id: int, body: MovieUpdate) -> Response:
    """The owner's update; only the fields sent change, ``null`` clears an optional one."""
    return json_response(_update(movie_id, user_id, body))


@endpoint(
    bp,
    "/movie_delete/{movie_id}",
    methods=["DELETE"],
    authenticated=True,
    responses={200: MovieDeleted},
    errors=OWNER_ERRORS,
    summary="Delete movie (seed path)",
    tags=TAGS,
)
def delete_movie_seed(movie_id: int, user_id: int) -> Response:
    """The owner's delete; its comments and ratings go with it."""
    movie = movies.take_movie(movie_id, user_id)
    deleted = DeletedMovie(
        id=movie.id,
        title=movie.title,
        description=movie.description,
        release_date=release_date(movie),
        user_id=movie.user_id,
    )
    return json_response(MovieDeleted(data=deleted))


@endpoint(
    bp,
    "/movies/{movie_id}",
    methods=["DELETE"],
    authenticated=True,
    responses={204: ResponseSpec(None, "Deleted, with its comments and ratings")},
    errors=OWNER_ERRORS,
    summary="Delete movie",
    tags=TAGS,
)
def delete_movie(movie_id: int, user_id: int) -> Response:
    movies.delete_movie(movie_id, user_id)
    return empty_response(204)


def _detail(movie_id: int) -> MovieDetail:
    detail = movies.movie_detail(movie_id)
    if detail is None:
        raise errors.MovieNotFound(NOT_FOUND_SEED.detail)
    return MovieDetail(
        **public_movie(detail.movie, detail.counters).model_dump(),
        comments=[public_thread(node) for node in detail.threads.items],
        ratings=[public_rating(rating) for rating in detail.ratings.items],
        next_comments_cursor=cursors.encode(lists.comments(movie_id), detail.threads.last_key),
        next_ratings_cursor=cursors.encode(lists.ratings(movie_id), detail.ratings.last_key),
    )


def _create(user_id: int, body: MovieCreate) -> MoviePublic:
    return public_movie(movies.create_movie(user_id, body.model_dump()))


def _update(movie_id: int, user_id: int, body: MovieUpdate) -> MoviePublic:
    return public_movie(movies.update_movie(movie_id, user_id, body.changes()))


def _movie_list(page: Page[MovieItem], list_id: str) -> MovieList:
    return MovieList(
        data=[public_movie(movie) for movie in page.items],
        next_cursor=cursors.encode(list_id, page.last_key),
    )
