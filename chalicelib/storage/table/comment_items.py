"""The comments' entities: comments in their movie's collection, and where each one lives."""

from __future__ import annotations

from typing import ClassVar

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.storage.table.base import IntegerAttribute, TableItem, padded, utcnow
from chalicelib.storage.table.movie_items import MovieItem

MAX_COMMENT_DEPTH = 32  # a reply path of 33 ids still fits DynamoDB's 1,024-byte sort key


class CommentItem(TableItem, discriminator="comment"):
    """A comment, stored in its movie's item collection.

    ``sk = MOVIE#C#<root id>#<child id>#...``: the materialised path from
    the thread's root. Ids are time-ordered and zero-padded, so sort-key
    order is depth-first, oldest first: a thread is one contiguous range
    that starts with its root, and the movie item (``sk = MOVIE``) sorts
    just before all of them.
    """

    id = IntegerAttribute()
    movie_id = IntegerAttribute()
    user_id = IntegerAttribute(null=True)
    parent_comment_id = IntegerAttribute(null=True)
    comment_text = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    deleted = BooleanAttribute(default=False)
    reply_count = IntegerAttribute(default=0)

    PREFIX: ClassVar[str] = "MOVIE#C#"

    @classmethod
    def path_key(cls, movie_id: int, ancestor_ids: list[int], comment_id: int) -> tuple[str, str]:
        path = "#".join(padded(i) for i in [*ancestor_ids, comment_id])
        return MovieItem.partition(movie_id), f"{cls.PREFIX}{path}"

    @classmethod
    def path_ids(cls, sk: str) -> list[int]:
        """The ids on the path from the root to this comment, inclusive."""
        return [int(part) for part in sk.removeprefix(cls.PREFIX).split("#")]

    @classmethod
    def new(
        cls, movie_id: int, ancestors: list[int], comment_id: int, user_id: int | None, text: str
    ) -> CommentItem:
        now = utcnow()
        return cls(
            *cls.path_key(movie_id, ancestors, comment_id),
            id=comment_id,
            movie_id=movie_id,
            user_id=user_id,
            parent_comment_id=ancestors[-1] if ancestors else None,
            comment_text=text,
            created_at=now,
            updated_at=now,
            deleted=False,
            reply_count=0,
        )


class CommentRefItem(TableItem, discriminator="comment_ref"):
    """Where comment ``<id>`` lives: ``pk = COMMENT#<id>``, ``sk = REF``.

    Written in the same transaction as the comment, so a reply or an edit
    right after finds it with a consistent GetItem (a GSI could lag). It
    mirrors what a write must decide before it is sent: the author
    (``user_id``), ``deleted`` and ``reply_count``. Every transaction that
    changes them on the comment changes them here too, so delete chooses
    between a tombstone and a removal from this one read.
    """

    movie_id = IntegerAttribute()
    comment_sk = UnicodeAttribute()
    user_id = IntegerAttribute(null=True)
    reply_count = IntegerAttribute(default=0)
    deleted = BooleanAttribute(default=False)

    @staticmethod
    def key(comment_id: int) -> tuple[str, str]:
        return f"COMMENT#{comment_id}", "REF"

    @classmethod
    def new(cls, comment: CommentItem) -> CommentRefItem:
        return cls(
            *cls.key(comment.id),
            movie_id=comment.movie_id,
            comment_sk=comment.sk,
            user_id=comment.user_id,
            reply_count=comment.reply_count,
            deleted=comment.deleted,
        )
