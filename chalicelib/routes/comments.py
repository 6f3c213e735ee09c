"""Comments: threads under a movie, replies at any depth, author edits, moderation."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import cursors, errors, failures, lists
from chalicelib.http import ResponseSpec, endpoint, json_response, next_page_headers
from chalicelib.presenters import public_comment, public_thread
from chalicelib.schemas import Message
from chalicelib.schemas.comments import CommentCreate, CommentPublic, CommentUpdate
from chalicelib.schemas.pages import SkipPage
from chalicelib.storage import comments

bp = Blueprint(__name__)

TAGS = ["Comments"]
# Where a new comment's id goes next (OpenAPI links: the docs, and Schemathesis' stateful runs).
COMMENT_LINKS = {
    "add_reply": {"parent_id": "id"},
    "edit_comment": {"comment_id": "id"},
    "delete_comment": {"comment_id": "id"},
    "list_threads": {"movie_id": "movie_id"},
}


@endpoint(
    bp,
    "/movies/{movie_id}/comments",
    methods=["POST"],
    authenticated=True,
    body=CommentCreate,
    responses={200: ResponseSpec(CommentPublic, links=COMMENT_LINKS)},
    errors=[errors.MovieNotFound],
    summary="Add comment",
    tags=TAGS,
)
def add_comment(movie_id: int, user_id: int, body: CommentCreate) -> Response:
    """A new top-level thread under the movie."""
    return json_response(public_comment(comments.add_comment(movie_id, user_id, body.comment_text)))


@endpoint(
    bp,
    "/movies/{movie_id}/comments",
    methods=["GET"],
    query=SkipPage,
    responses={
        200: ResponseSpec(
            list[CommentPublic],
            "Top-level threads, oldest first, each with its replies",
            headers=("X-Next-Cursor", "Link"),
        )
    },
    errors=[errors.MovieNotFound, *cursors.ERRORS],
    summary="Get comments",
    tags=TAGS,
)
def list_threads(movie_id: int, query: SkipPage) -> Response:
    """Top-level threads, oldest first, each with its whole reply tree; a bare list.

    ``skip``/``limit`` and ``cursor`` page the threads, not the comments; a
    cursor wins over ``skip``. An unknown movie is a 404 on every page: a
    first page's Query passes over the movie item, a later page reads it at once.
    """
    list_id = lists.comments(movie_id)
    start_key = cursors.decode(list_id, query.cursor)
    skip = 0 if start_key else query.skip
    page = comments.thread_page(movie_id, limit=query.limit, skip=skip, start_key=start_key)
    if page.movie is None:
        raise errors.MovieNotFound()
    cursor = cursors.encode(list_id, page.last_key)
    return json_response(
        [public_thread(node) for node in page.items],
        headers=next_page_headers(f"/movies/{movie_id}/comments", query.limit, cursor),
    )


@endpoint(
    bp,
    "/comments/{parent_id}/replies",
    methods=["POST"],
    authenticated=True,
    body=CommentCreate,
    responses={200: ResponseSpec(CommentPublic, links=COMMENT_LINKS)},
    errors=[errors.CommentNotFound, errors.MovieNotFound],
    summary="Add reply to comment",
    tags=TAGS,
)
def add_reply(parent_id: int, user_id: int, body: CommentCreate) -> Response:
    """A reply at any depth, under the parent's movie; a deleted parent is 404."""
    return json_response(public_comment(comments.add_reply(parent_id, user_id, body.comment_text)))


@endpoint(
    bp,
    "/comments/{comment_id}",
    methods=["PUT"],
    authenticated=True,
    body=CommentUpdate,
    responses={200: CommentPublic},
    errors=[failures.CommentNotFound(), failures.NotOwner("comment", "edit")],
    summary="Edit comment",
    tags=TAGS,
)
def edit_comment(comment_id: int, user_id: int, body: CommentUpdate) -> Response:
    """The author's edit. The edited comment alone (``replies: []``); the thread is on the list."""
    return json_response(
        public_comment(comments.edit_comment(comment_id, user_id, body.comment_text))
    )


@endpoint(
    bp,
    "/comments/{comment_id}",
    methods=["DELETE"],
    authenticated=True,
    responses={200: Message},
    errors=[failures.CommentNotFound(), failures.NotOwner("comment", "delete")],
    summary="Delete comment",
    tags=TAGS,
)
def delete_comment(comment_id: int, user_id: int) -> Response:
    """The author or the movie's owner; a comment with replies leaves a tombstone."""
    comments.delete_comment(comment_id, user_id)
    return json_response(Message())
