"""Storage items to response models, field by field and on purpose.

They are not the same thing: items carry keys, counters and hashes that no
response may show, and responses carry derived values (an average, a
tombstone's text) that no item stores.
"""

from __future__ import annotations

import datetime as dt

from chalicelib.accounts import Tokens
from chalicelib.schemas.comments import CommentPublic
from chalicelib.schemas.movies import MoviePublic
from chalicelib.schemas.ratings import RatingPublic
from chalicelib.schemas.sessions import SessionPublic
from chalicelib.schemas.users import Token, UserPublic
from chalicelib.storage.comments import CommentNode
from chalicelib.storage.ratings import Counters
from chalicelib.storage.table import CommentItem, MovieItem, RatingItem, SessionItem, UserItem

TOMBSTONE_TEXT = "[deleted]"


def public_user(user: UserItem) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        phone_number=user.phone_number,
        email=user.email,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def public_movie(movie: MovieItem, counters: Counters | None = None) -> MoviePublic:
    """The movie with ``counters`` (exact, from its shards) or else the item's copy of them.

    The copy is the stream consumer's and may trail the shards by the
    batching window; list items show it, the detail shows the exact ones.
    """
    if counters is not None:
        average, count = counters.average_rating(), counters.rating_count
    else:
        average, count = movie.average_rating(), movie.rating_count or 0
    return MoviePublic(
        id=movie.id,
        title=movie.title,
        description=movie.description,
        release_date=release_date(movie),
        genres=list(movie.genres or []),
        user_id=movie.user_id,
        average_rating=average,
        rating_count=count,
        created_at=movie.created_at,
        updated_at=movie.updated_at,
    )


def release_date(movie: MovieItem) -> dt.date | None:
    return dt.date.fromisoformat(movie.release_date) if movie.release_date else None


def public_rating(rating: RatingItem) -> RatingPublic:
    return RatingPublic(
        id=rating.id,
        movie_id=rating.movie_id,
        user_id=rating.user_id,
        rating=rating.rating,
        created_at=rating.created_at,
        updated_at=rating.updated_at,
    )


def public_comment(
    comment: CommentItem, replies: list[CommentPublic] | None = None
) -> CommentPublic:
    deleted = bool(comment.deleted)
    return CommentPublic(
        id=comment.id,
        movie_id=comment.movie_id,
        user_id=None if deleted else comment.user_id,
        parent_comment_id=comment.parent_comment_id,
        comment_text=TOMBSTONE_TEXT if deleted else comment.comment_text,
        created_at=comment.created_at,
        updated_at=comment.updated_at,
        deleted=deleted,
        replies=replies or [],
    )


def public_thread(node: CommentNode) -> CommentPublic:
    return public_comment(node.comment, [public_thread(reply) for reply in node.replies])


def public_session(session: SessionItem, current_session_id: int) -> SessionPublic:
    return SessionPublic(
        id=session.id,
        created_at=session.created_at,
        last_used_at=session.last_used_at,
        user_agent=session.user_agent,
        current=session.id == current_session_id,
    )


def public_tokens(tokens: Tokens) -> Token:
    return Token(
        access_token=tokens.access_token,
        expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
        refresh_expires_in=tokens.refresh_expires_in,
    )
