"""Comments: threads under a movie, replies at any depth, author edits, moderation."""

from __future__ import annotations

from urllib.parse import urlencode

from chalice.app import Blueprint, Response

from chalicelib import cursors, errors
from chalicelib.http import endpoint, json_response, parse_body, parse_query, path_id
from chalicelib.presenters import public_comment, public_thread
from chalicelib.routes.movies import comments_list_id
from chalicelib.schemas import Message
from chalicelib.schemas.comments import CommentCreate, CommentUpdate
from chalicelib.schemas.pages import SkipPage
from chalicelib.storage import comments

bp = Blueprint(__name__)


@endpoint(bp, "/movies/{movie_id}/comments", methods=["POST"], authenticated=True)
def add_comment(movie_id: str, user_id: int) -> Response:
    movie = path_id("movie_id", movie_id)
    text = parse_body(bp.current_request, CommentCreate).comment_text
    return json_response(public_comment(comments.add_comment(movie, user_id, text)))


@endpoint(bp, "/movies/{movie_id}/comments", methods=["GET"])
def list_threads(movie_id: str) -> Response:
    """Top-level threads, oldest first, each with its whole reply tree; a bare list.

    ``skip``/``limit`` and ``cursor`` page the threads, not the comments; a
    cursor wins over ``skip``. Only a first page can tell an unknown movie
    (its Query passes over the movie item); a cursor page trusts the cursor.
    """
    movie = path_id("movie_id", movie_id)
    query = parse_query(bp.current_request, SkipPage)
    list_id = comments_list_id(movie)
    start_key = cursors.decode(list_id, query.cursor)
    skip = 0 if start_key else query.skip
    page = comments.thread_page(movie, limit=query.limit, skip=skip, start_key=start_key)
    if start_key is None and page.movie is None:
        raise errors.MovieNotFound()
    cursor = cursors.encode(list_id, page.last_key)
    return json_response(
        [public_thread(node) for node in page.items],
        headers=_next_page_headers(movie, query.limit, cursor),
    )


@endpoint(bp, "/comments/{parent_id}/replies", methods=["POST"], authenticated=True)
def add_reply(parent_id: str, user_id: int) -> Response:
    parent = path_id("parent_id", parent_id)
    text = parse_body(bp.current_request, CommentCreate).comment_text
    return json_response(public_comment(comments.add_reply(parent, user_id, text)))


@endpoint(bp, "/comments/{comment_id}", methods=["PUT"], authenticated=True)
def edit_comment(comment_id: str, user_id: int) -> Response:
    """The edited comment alone (``replies: []``); the thread is on the list."""
    comment = path_id("comment_id", comment_id)
    text = parse_body(bp.current_request, CommentUpdate).comment_text
    return json_response(public_comment(comments.edit_comment(comment, user_id, text)))


@endpoint(bp, "/comments/{comment_id}", methods=["DELETE"], authenticated=True)
def delete_comment(comment_id: str, user_id: int) -> Response:
    comments.delete_comment(path_id("comment_id", comment_id), user_id)
    return json_response(Message())


def _next_page_headers(movie_id: int, limit: int, cursor: str | None) -> dict[str, str]:
    """``X-Next-Cursor`` and an RFC 8288 ``Link: <...>; rel="next"`` (none on the last page)."""
    if cursor is None:
        return {}
    query = urlencode({"limit": limit, "cursor": cursor})
    return {
        "X-Next-Cursor": cursor,
        "Link": f'</movies/{movie_id}/comments?{query}>; rel="next"',
    }
